"""Identifiers that look like the ones Kubernetes and AWS hand out, drawn from a seeded RNG."""

import uuid

# Kubernetes' rand.String alphabet: no vowels and no look-alikes, so names never spell words.
K8S_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


class Ids:
    def __init__(self, rng, rv_base):
        self.rng = rng
        self._rv_base = rv_base
        self._rv_seq = 0

    def uid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def suffix(self, length=5):
        return "".join(self.rng.choice(K8S_ALPHABET) for _ in range(length))

    def template_hash(self):
        return self.suffix(self.rng.choice((9, 10)))

    def hex(self, length):
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(length))

    def container_id(self):
        return "containerd://" + self.hex(64)

    def digest(self):
        return "sha256:" + self.hex(64)

    def instance_id(self):
        return "i-0" + self.hex(16)

    def rv(self, t_ms):
        """A resourceVersion that grows with the time of the object's last write."""
        self._rv_seq += 1
        return str(self._rv_base + t_ms // 1000 % 10_000_000 * 3 + self._rv_seq)
