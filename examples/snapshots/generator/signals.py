"""Shapes of the synthetic signals: traffic with a daily cycle, container resource profiles.

Noise is drawn from the RNG the caller passes, so each series has its own reproducible stream.
"""

import math

from .clock import HOUR, hour_of_day

MIB = 2**20
GIB = 2**30


def diurnal(t, peak_hour, swing):
    """Traffic factor around 1.0 that peaks at `peak_hour` UTC; `swing` is the half-amplitude."""
    return 1.0 + swing * math.cos(2 * math.pi * (hour_of_day(t) - peak_hour) / 24.0)


def wobble(t, period_ms, phase):
    """A slow, smooth deviation in [-1, 1], for noise that is not white."""
    return math.sin(2 * math.pi * (t / period_ms) + phase)


def jitter(rng, sd):
    """Multiplicative noise around 1.0, clipped so a value never flips sign."""
    return max(0.05, 1.0 + rng.gauss(0.0, sd))


class Profile:
    """Resource use of a container while it runs.

    `load(t)` scales CPU and network with traffic. Memory warms up for the first 90 s of a run,
    then holds at `mem` plus a drift of `mem_per_hour` from `drift_since` (default: the run's
    start), and, for JVMs, a garbage-collection
    sawtooth of `saw_bytes` every `saw_period` ms. `hook(t, run_index, run, values)` lets a
    scenario bend any of it (a leak, a noisy neighbour).
    """

    def __init__(self, cpu, mem, *, load=None, rx=0.0, tx=0.0, cpu_limit=None, noise=0.06,
                 mem_per_hour=0.0, saw_bytes=0.0, saw_period=10 * 60_000, throttle=0.0,
                 hook=None, phase=0.0, drift_since=None):
        self.cpu, self.mem, self.load = cpu, mem, load or (lambda t: 1.0)
        self.rx, self.tx, self.cpu_limit, self.noise = rx, tx, cpu_limit, noise
        self.mem_per_hour, self.saw_bytes, self.saw_period = mem_per_hour, saw_bytes, saw_period
        self.throttle, self.hook, self.phase = throttle, hook, phase
        self.drift_since = drift_since

    def values(self, t, run_index, run, rng):
        load = self.load(t)
        out = {
            "cpu_usage_cores": self.cpu * load * jitter(rng, self.noise),
            "memory_working_set_bytes": self._memory(t, run, rng),
        }
        if self.rx or self.tx:
            out["network_rx_bytes_per_second"] = self.rx * load * jitter(rng, self.noise * 1.5)
            out["network_tx_bytes_per_second"] = self.tx * load * jitter(rng, self.noise * 1.5)
        if self.cpu_limit:
            out["cpu_throttled_ratio"] = self._throttled(out["cpu_usage_cores"], rng)
        if self.hook:
            self.hook(t, run_index, run, out, rng)
        if self.cpu_limit:
            out["cpu_usage_cores"] = min(out["cpu_usage_cores"], self.cpu_limit)
        return out

    def _memory(self, t, run, rng):
        age = t - run.start
        warm = min(1.0, 0.55 + 0.45 * age / 90_000)
        since = max(run.start, self.drift_since or run.start)
        mem = self.mem * warm + self.mem_per_hour * max(0, t - since) / HOUR
        if self.saw_bytes:
            mem += self.saw_bytes * ((t / self.saw_period + self.phase) % 1.0)
        return mem * jitter(rng, 0.004)

    def _throttled(self, cpu, rng):
        busy = max(0.0, cpu / self.cpu_limit - 0.55)
        return min(0.95, max(0.0, self.throttle + 1.4 * busy * busy + rng.gauss(0, 0.004)))


def steady_service(rate, p50, *, errors=0.0003, p90=2.2, p99=6.0):
    """Request signals of a healthy Service: `rate(t)` requests/s, a trickle of errors, latency
    quantiles at fixed multiples of the median."""
    def fn(t, rng):
        return {"request_rate": rate(t) * (1 + rng.gauss(0, 0.03)),
                "error_rate": max(0.0, errors + rng.gauss(0, errors / 3)),
                "latency_p50_seconds": p50 * rng.lognormvariate(0, 0.05),
                "latency_p90_seconds": p50 * p90 * rng.lognormvariate(0, 0.07),
                "latency_p99_seconds": p50 * p99 * rng.lognormvariate(0, 0.12)}
    return fn
