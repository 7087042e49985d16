"""Checkout v2.4.0's memory leak, simulated second by second across its replicas.

Each request leaves ~14 KiB in the new promo cache, which nothing evicts. The cache is also
written through to Redis and, on start, a pod restores up to 150 000 entries from it, so a
restarted pod begins close to its limit and is killed again within minutes. Traffic follows
pooled keep-alive connections: when a pod dies its connections move to the ready pods at once,
while a new pod wins connections only as pools churn (five-minute connection lifetime). That is
what turns the first OOM kill into a crash loop and leaves the Service short of endpoints.
"""

from ..model import Backoff, Run
from ..clock import SECOND
from ..signals import MIB

LIMIT = 512 * MIB
JVM_BASE = 265 * MIB  # warmed-up JVM: metaspace, code cache, thread stacks, live heap
GC_SAW = 18 * MIB
CHURN_SECONDS = 300.0
# Above this share of the limit the heap is nearly full and G1 runs back-to-back collections.
THRASH = 0.86


class Replica:
    """One pod. An old-version pod (`leaks=False`) only serves until `deleted`."""

    def __init__(self, start, ready_after, *, leaks=True, deleted=None):
        self.runs = [Run(start, ready_after=ready_after)]
        self.leaks, self.deleted = leaks, deleted
        self.retained = 0.0
        self.weight = 0.0
        self.backoff = Backoff()
        self.next_start = None
        self.memory = {}  # second -> working set bytes, while running
        self.served = {}  # second -> requests per second routed to this pod

    def ready(self, t):
        run = self.runs[-1]
        alive = self.deleted is None or t < self.deleted
        return alive and run.end is None and run.start <= t and t >= run.start + run.ready_after

    def running(self, t):
        run = self.runs[-1]
        return run.end is None and run.start <= t


class LeakSimulation:
    """`rate(t)` is checkout's request rate without retries; `leak` bytes per request."""

    def __init__(self, replicas, rate, *, leak, restore_bytes, rng, since, until):
        self.replicas, self.rate, self.leak = replicas, rate, leak
        self.restore_bytes, self.rng, self.since, self.until = restore_bytes, rng, since, until
        self.ready_count, self.served, self.failed, self.thrashing = {}, {}, {}, {}

    def run(self):
        t = max(self.since, min(r.runs[0].start for r in self.replicas)) // SECOND * SECOND
        failing = 0.0
        while t <= self.until:
            ready = [r for r in self.replicas if r.ready(t)]
            self._rebalance(ready, t)
            # Clients retry failed checkouts, so an outage adds load to whoever is left.
            demand = self.rate(t) * (1.0 + 0.8 * failing)
            failing = 0.0 if ready else 1.0
            self.ready_count[t], self.served[t] = len(ready), demand if ready else 0.0
            self.failed[t] = demand if not ready else 0.0
            for r in self.replicas:
                self._step(r, t, demand if r in ready else 0.0)
            self.thrashing[t] = sum(r.weight for r in ready if r.memory.get(t, 0) > THRASH * LIMIT)
            t += SECOND
        return self

    def _rebalance(self, ready, t):
        for r in self.replicas:
            if r not in ready:
                r.weight = 0.0
        total = sum(r.weight for r in ready)
        for r in ready:
            r.weight = r.weight / total if total > 0 else 1.0 / len(ready)
            r.weight += (1.0 / len(ready) - r.weight) / CHURN_SECONDS

    def _step(self, r, t, demand):
        r.served[t] = demand * r.weight
        if not r.leaks:
            return
        run = r.runs[-1]
        if run.end is not None:
            if t < r.next_start:
                return
            run = Run(t, ready_after=int((29 + 6 * self.rng.random()) * SECOND))
            r.runs.append(run)
            r.retained = 0.0
        if run.start > t:
            return
        r.retained += self.leak * demand * r.weight
        age = t - run.start
        warm = JVM_BASE * (0.57 + 0.43 * min(1.0, age / 60_000))
        restored = self.restore_bytes * min(1.0, age / 12_000) if len(r.runs) > 1 else 0.0
        saw = GC_SAW * ((t / 47_000 + len(r.runs) * 0.37) % 1.0)
        ws = warm + restored + r.retained + saw
        r.memory[t] = ws
        if ws >= LIMIT:
            run.end, run.reason, run.exit_code = t, "OOMKilled", 137
            r.next_start = t + r.backoff.after_crash(t) + int(self.rng.random() * 3 * SECOND)
