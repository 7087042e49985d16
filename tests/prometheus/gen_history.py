#!/usr/bin/env python3
"""Writes 7 days of Kubernetes metric history for namespace `shop` as OpenMetrics text.

The output is what `promtool tsdb create-blocks-from openmetrics` backfills before the test
Prometheus starts. The story and the anchor times that tests may rely on are in README.md beside
this file; `--anchors` writes those times (unix seconds) as JSON for the run.

Values are deterministic for a given `--end`: noise comes from a seeded generator, so two runs
with the same end time write identical files.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

STEP = 60
DAY = 86400
NS = "shop"
MIB = 1024 * 1024

NODES = {
    "ip-10-0-1-23.eu-west-1.compute.internal": "10.0.1.23",
    "ip-10-0-2-47.eu-west-1.compute.internal": "10.0.2.47",
}
NODE_A, NODE_B = NODES

# A label value with quotes, a backslash, SQL-looking text and `drop`: PromQL handling must escape
# it, and a server that filters on substrings would reject it.
HOSTILE_ROUTE = '/search?q=o\'brien "x" \\ ; -- drop table pods'

HIST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True)
class Anchors:
    """Times in the story, as unix seconds on the minute grid."""

    end: int

    @property
    def start(self) -> int:
        return self.end - 7 * DAY

    @property
    def deploy(self) -> int:
        """checkout v2.4.0 rolls out: pods 7c9f replace 6d4b8 and start leaking memory."""
        return self.end - 6 * 3600

    @property
    def oom(self) -> int:
        """checkout-7c9f-abcde reaches its memory limit and is OOMKilled."""
        return self.end - 90 * 60

    @property
    def error_burst(self) -> tuple[int, int]:
        """checkout answers 5xx while its pod restarts."""
        return self.oom - 5 * 60, self.oom + 10 * 60

    def as_dict(self) -> dict[str, int]:
        burst = self.error_burst
        return {
            "start": self.start,
            "end": self.end,
            "step_seconds": STEP,
            "deploy": self.deploy,
            "oom": self.oom,
            "cpu_counter_reset": self.oom,
            "error_burst_start": burst[0],
            "error_burst_end": burst[1],
        }


@dataclass(frozen=True)
class Pod:
    name: str
    workload: str
    node: str
    cpu_cores: float
    memory_mib: float
    memory_limit_mib: int
    cpu_limit_cores: float
    born: int
    dies: int | None = None

    def alive(self, t: int) -> bool:
        return self.born <= t and (self.dies is None or t < self.dies)


def pods(a: Anchors) -> list[Pod]:
    return [
        Pod("frontend-5d8b9-x2k4p", "frontend", NODE_A, 0.25, 150, 256, 1.0, a.start),
        Pod("frontend-5d8b9-q7m3n", "frontend", NODE_B, 0.22, 145, 256, 1.0, a.start),
        Pod("checkout-6d4b8-m2n4p", "checkout", NODE_A, 0.18, 190, 512, 1.0, a.start, a.deploy),
        Pod("checkout-6d4b8-r5t7v", "checkout", NODE_B, 0.17, 185, 512, 1.0, a.start, a.deploy),
        Pod("checkout-7c9f-abcde", "checkout", NODE_A, 0.2, 180, 512, 1.0, a.deploy),
        Pod("checkout-7c9f-fghij", "checkout", NODE_B, 0.19, 175, 512, 1.0, a.deploy),
        Pod("cart-6b7d-k9s2t", "cart", NODE_B, 0.12, 220, 384, 0.5, a.start),
        Pod("payments-84f6-w3z8r", "payments", NODE_A, 0.08, 120, 256, 0.5, a.start),
    ]


def diurnal(t: int) -> float:
    """Traffic shape: 1.0 on average, peaking at 14:00 UTC, lowest at 02:00 UTC."""
    hour = (t % DAY) / 3600
    return 1 + 0.45 * math.sin(2 * math.pi * (hour - 8) / 24)


def labels(pairs: dict[str, str]) -> str:
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return ",".join(f'{k}="{esc(v)}"' for k, v in pairs.items())


class Writer:
    """Emits one metric family at a time, as OpenMetrics requires."""

    def __init__(self, out, anchors: Anchors) -> None:
        self.out = out
        self.a = anchors
        self.rng = random.Random(anchors.end)

    def family(self, name: str, kind: str, help_text: str, unit: str = "") -> None:
        self.out.write(f"# TYPE {name} {kind}\n# HELP {name} {help_text}\n")
        if unit:
            self.out.write(f"# UNIT {name} {unit}\n")

    def series(self, name: str, lbls: dict[str, str], points: Iterator[tuple[int, float]]) -> None:
        head = f"{name}{{{labels(lbls)}}} "
        self.out.writelines(f"{head}{fmt(v)} {t}\n" for t, v in points)

    def times(self, born: int | None = None, dies: int | None = None) -> range:
        lo = max(self.a.start, born if born is not None else self.a.start)
        hi = min(self.a.end, dies - STEP if dies is not None else self.a.end)
        return range(lo, hi + 1, STEP)


def fmt(v: float) -> str:
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6f}"


def counter(times: range, rate: Callable[[int], float], reset_at: int | None = None):
    """Integrates a per-second rate into a counter; it restarts from 0 at `reset_at`."""
    total = 0.0
    for t in times:
        if reset_at is not None and t == reset_at:
            total = 0.0
        total += max(rate(t), 0.0) * STEP
        yield t, total


def memory_mib(pod: Pod, a: Anchors, t: int) -> float:
    """Working set: flat for most pods; the 7c9f checkout pods leak linearly from start-up."""
    if not pod.name.startswith("checkout-7c9f"):
        return pod.memory_mib
    if pod.name.endswith("abcde"):
        # Reaches the 512 MiB limit exactly at the OOM anchor, then starts over from the baseline.
        slope = (pod.memory_limit_mib - pod.memory_mib) / (a.oom - a.deploy)
        since = t - a.deploy if t < a.oom else t - a.oom - STEP
        return pod.memory_mib + slope * max(since, 0)
    return pod.memory_mib + 290 * (t - a.deploy) / (a.end - a.deploy)


def write_containers(w: Writer) -> None:
    a, rng = w.a, w.rng
    w.family(
        "container_cpu_usage_seconds",
        "counter",
        "Cumulative cpu time consumed (cAdvisor).",
        "seconds",
    )
    for pod in pods(a):
        lbls = pod_labels(pod)
        reset = a.oom if pod.name == "checkout-7c9f-abcde" else None

        def rate(t: int, p: Pod = pod) -> float:
            return p.cpu_cores * diurnal(t) * rng.uniform(0.9, 1.1)

        w.series(
            "container_cpu_usage_seconds_total",
            lbls,
            counter(w.times(pod.born, pod.dies), rate, reset),
        )

    w.family(
        "container_memory_working_set_bytes", "gauge", "Current working set (cAdvisor).", "bytes"
    )
    for pod in pods(a):
        # Noise never lifts the working set to the limit: reaching it is what the OOM kill means.
        ceiling = pod.memory_limit_mib - 0.5
        pts = (
            (t, round(min(memory_mib(pod, a, t) + rng.uniform(-3, 3), ceiling) * MIB))
            for t in w.times(pod.born, pod.dies)
        )
        w.series("container_memory_working_set_bytes", pod_labels(pod), pts)


def pod_labels(pod: Pod) -> dict[str, str]:
    return {
        "namespace": NS,
        "pod": pod.name,
        "container": pod.workload,
        "node": pod.node,
        "job": "kubelet",
        "image": f"registry.example.com/shop/{pod.workload}:v2",
    }


def write_kube_state(w: Writer) -> None:
    a = w.a
    w.family(
        "kube_pod_container_status_restarts", "counter", "Container restarts (kube-state-metrics)."
    )
    for pod in pods(a):
        lbls = {
            "namespace": NS,
            "pod": pod.name,
            "container": pod.workload,
            "job": "kube-state-metrics",
        }
        old = 2 if pod.workload == "cart" else 0
        oomed = pod.name == "checkout-7c9f-abcde"
        pts = ((t, old + (1 if oomed and t >= a.oom else 0)) for t in w.times(pod.born, pod.dies))
        w.series("kube_pod_container_status_restarts_total", lbls, pts)

    w.family(
        "kube_pod_container_resource_limits", "gauge", "Container limits (kube-state-metrics)."
    )
    for pod in pods(a):
        for resource, unit, value in (
            ("memory", "byte", pod.memory_limit_mib * MIB),
            ("cpu", "core", pod.cpu_limit_cores),
        ):
            lbls = {
                "namespace": NS,
                "pod": pod.name,
                "container": pod.workload,
                "node": pod.node,
                "resource": resource,
                "unit": unit,
                "job": "kube-state-metrics",
            }
            w.series(
                "kube_pod_container_resource_limits",
                lbls,
                ((t, value) for t in w.times(pod.born, pod.dies)),
            )


# Requests per second per service at the diurnal mean, and the share of 500s in normal times.
SERVICES = {
    "frontend": (48.0, 0.002),
    "checkout": (6.0, 0.004),
    "cart": (14.0, 0.001),
    "payments": (5.0, 0.003),
}


def error_share(w: Writer, service: str, t: int) -> float:
    lo, hi = w.a.error_burst
    if service == "checkout" and lo <= t < hi:
        return 0.35
    return SERVICES[service][1]


def write_http(w: Writer) -> None:
    rng = w.rng
    w.family("http_requests", "counter", "HTTP requests served, by status code.")
    base = {"namespace": NS, "job": "shop-apps"}
    for service, (rps, _) in SERVICES.items():
        for code in ("200", "500"):

            def rate(t, s=service, c=code, r=rps):
                share = error_share(w, s, t)
                return (
                    r * diurnal(t) * rng.uniform(0.95, 1.05) * (share if c == "500" else 1 - share)
                )

            lbls = {**base, "service": service, "code": code}
            w.series("http_requests_total", lbls, counter(w.times(), rate))
    for route, rps in (("/search", 9.0), (HOSTILE_ROUTE, 0.2)):
        lbls = {**base, "service": "search", "code": "200", "route": route}
        w.series("http_requests_total", lbls, counter(w.times(), lambda t, r=rps: r * diurnal(t)))


def latency_median(w: Writer, service: str, t: int) -> float:
    """Median latency in seconds; checkout slows as the leaking pod nears its limit."""
    a = w.a
    base = {"frontend": 0.045, "checkout": 0.08}[service]
    if service == "checkout" and a.oom - 3600 <= t < a.oom + 10 * 60:
        return base * (1 + 5 * min(1.0, (t - (a.oom - 3600)) / 3600))
    return base


def lognormal_cdf(x: float, median: float, sigma: float = 0.6) -> float:
    return 0.5 * (1 + math.erf(math.log(x / median) / (sigma * math.sqrt(2))))


def write_histogram(w: Writer) -> None:
    name = "http_request_duration_seconds"
    w.family(name, "histogram", "HTTP request latency.", "seconds")
    for service in ("frontend", "checkout"):
        rows = histogram_rows(w, service)
        base = {"namespace": NS, "service": service, "job": "shop-apps"}
        for i, le in enumerate(HIST_BUCKETS + (math.inf,)):
            le_text = "+Inf" if le == math.inf else repr(le)
            w.series(f"{name}_bucket", {**base, "le": le_text}, ((t, r[0][i]) for t, r in rows))
        w.series(f"{name}_count", base, ((t, r[0][-1]) for t, r in rows))
        w.series(f"{name}_sum", base, ((t, r[1]) for t, r in rows))


def histogram_rows(w: Writer, service: str) -> list[tuple[int, tuple[list[int], float]]]:
    """Cumulative bucket counts and sum per minute; rounding keeps buckets monotonic both ways."""
    rps = SERVICES[service][0]
    cum = [0.0] * (len(HIST_BUCKETS) + 1)
    total_sum = 0.0
    rows = []
    for t in w.times():
        n = rps * diurnal(t) * STEP
        med = latency_median(w, service, t)
        for i, le in enumerate(HIST_BUCKETS):
            cum[i] += n * lognormal_cdf(le, med)
        cum[-1] += n
        total_sum += n * med * math.exp(0.6**2 / 2)
        rows.append((t, ([round(c) for c in cum], total_sum)))
    return rows


def write_nodes(w: Writer) -> None:
    rng = w.rng
    w.family(
        "node_cpu_seconds",
        "counter",
        "Seconds the CPUs spent in each mode (node-exporter).",
        "seconds",
    )
    shares = {"user": 0.18, "system": 0.06, "iowait": 0.01}
    for node, ip in NODES.items():
        for cpu in ("0", "1"):
            for mode in ("idle", "user", "system", "iowait"):
                lbls = {
                    "node": node,
                    "instance": f"{ip}:9100",
                    "job": "node-exporter",
                    "cpu": cpu,
                    "mode": mode,
                }

                def rate(t, m=mode):
                    busy = {k: s * diurnal(t) * rng.uniform(0.9, 1.1) for k, s in shares.items()}
                    return 1 - sum(busy.values()) if m == "idle" else busy[m]

                w.series("node_cpu_seconds_total", lbls, counter(w.times(), rate))


def generate(out, anchors: Anchors) -> None:
    w = Writer(out, anchors)
    write_containers(w)
    write_kube_state(w)
    write_http(w)
    write_histogram(w)
    write_nodes(w)
    out.write("# EOF\n")


def default_end(now: float) -> int:
    """Two whole minutes before now, so an instant query at `now` still sees the last sample."""
    return int(now // STEP) * STEP - 2 * STEP


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="OpenMetrics file to write")
    p.add_argument("--anchors", help="JSON file for the story's anchor times")
    p.add_argument(
        "--end", type=int, help="last sample, unix seconds (default: now, minus 2 minutes)"
    )
    args = p.parse_args()
    end = args.end if args.end is not None else default_end(time.time())
    anchors = Anchors(end - end % STEP)
    with open(args.out, "w", encoding="utf-8") as f:
        generate(f, anchors)
    if args.anchors:
        with open(args.anchors, "w", encoding="utf-8") as f:
            json.dump(anchors.as_dict(), f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
