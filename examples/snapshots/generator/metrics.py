"""The metric families of a bundle: workload, node, service and CloudWatch series.

Container signals are sampled from each container's profile only while a run is active, as
cAdvisor reports them; `restarts` and `memory_limit_bytes` exist for the pod's whole life, as
kube-state-metrics reports them. Node signals are sums over the pods on the node, so a busy pod
shows up in its node's utilisation.
"""

import re

from .clock import MINUTE

UNITS = {
    "cpu_usage_cores": ("cores", 4),
    "cpu_throttled_ratio": ("ratio", 4),
    "memory_working_set_bytes": ("Bytes", 0),
    "memory_limit_bytes": ("Bytes", 0),
    "restarts": ("count", 0),
    "network_rx_bytes_per_second": ("Bytes/Second", 0),
    "network_tx_bytes_per_second": ("Bytes/Second", 0),
    "node_cpu_utilization": ("Percent", 2),
    "node_memory_utilization": ("Percent", 2),
    "node_filesystem_utilization": ("Percent", 2),
    "node_pod_count": ("count", 0),
    "request_rate": ("requests/s", 3),
    "error_rate": ("ratio", 5),
    "latency_p50_seconds": ("seconds", 4),
    "latency_p90_seconds": ("seconds", 4),
    "latency_p99_seconds": ("seconds", 4),
}
CONTAINER_SIGNALS = ("cpu_usage_cores", "cpu_throttled_ratio", "memory_working_set_bytes",
                     "network_rx_bytes_per_second", "network_tx_bytes_per_second")

_QUANTITY = re.compile(r"([0-9.]+)([a-zA-Z]*)")
_SUFFIX = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
           "Ti": 2**40}


def quantity(text):
    number, suffix = _QUANTITY.fullmatch(str(text)).groups()
    return float(number) * _SUFFIX[suffix]


def series(name, labels, points, unit=None, digits=None):
    """One line of a metrics file, in the engine's `Series` shape."""
    default_unit, default_digits = UNITS.get(name, (None, 4))
    digits = default_digits if digits is None else digits
    values = [_round(v, digits) for _, v in points]
    out = {"name": name, "labels": dict(sorted(labels.items()))}
    if unit or default_unit:
        out["unit"] = unit or default_unit
    out["timestamps"] = [t for t, _ in points]
    out["values"] = values
    return out


def _round(value, digits):
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("bundles never hold NaN or infinite samples")
    return int(round(value)) if digits == 0 else round(value, digits)


def sample_containers(b):
    """{(pod name, container name): {t: {signal: value}}} on the bundle's grid."""
    samples = {}
    for pod in b.pods:
        for c in pod.containers:
            if not c.profile:
                continue
            rng = b.rng_for(f"metrics/{pod.name}/{c.name}")
            points = {}
            for t in b.grid:
                i = c.run_at(t)
                if i is not None and pod.exists_at(t):
                    points[t] = c.profile.values(t, i, c.runs[i], rng)
            samples[(pod.name, c.name)] = points
    return samples


def workload_series(b, samples):
    out = []
    for pod in b.pods:
        for c in pod.containers:
            labels = {"namespace": pod.namespace, "pod": pod.name, "container": c.name,
                      "workload": pod.workload}
            if pod.node:
                labels["node"] = pod.node.name
            points = samples.get((pod.name, c.name), {})
            for name in CONTAINER_SIGNALS:
                pts = [(t, v[name]) for t, v in sorted(points.items()) if name in v]
                if pts:
                    out.append(series(name, labels, pts))
            # kube-state-metrics reports containers only once the pod has a node.
            alive = [t for t in b.grid if pod.exists_at(t) and pod.node]
            if alive:
                out.append(series("restarts", labels, [(t, c.restarts_at(t)) for t in alive]))
            limit = c.spec["resources"].get("limits", {}).get("memory")
            if alive and limit:
                out.append(series("memory_limit_bytes", labels,
                                  [(t, quantity(limit)) for t in alive]))
    return out


def pods_on(b, node, t):
    """Pods bound to `node` at `t` that still hold resources (not finished)."""
    return [p for p in b.pods if p.node is node and p.exists_at(t) and not _finished(p, t)]


def _finished(pod, t):
    return all(c.runs and c.runs[-1].end is not None and c.runs[-1].end <= t
               and (pod.restart_policy != "Always")
               for c in pod.containers)


def node_samples(b, samples):
    """{node name: {t: {signal: value}}}: node signals from the pods on each node."""
    out = {}
    for node in b.nodes:
        rng = b.rng_for(f"node/{node.name}")
        cap = b.capacity(node)
        points = {}
        for t in b.grid:
            pods = pods_on(b, node, t)
            cpu = node.system_cores * (1 + rng.gauss(0, 0.08))
            mem = node.system_bytes * (1 + rng.gauss(0, 0.01))
            for pod in pods:
                for c in pod.containers:
                    v = samples.get((pod.name, c.name), {}).get(t)
                    if v:
                        cpu += v["cpu_usage_cores"]
                        mem += v["memory_working_set_bytes"]
            points[t] = {
                "node_cpu_utilization": min(100.0, 100 * cpu / cap["cpu"]),
                "node_memory_utilization": min(100.0, 100 * mem / cap["memory"]),
                "node_filesystem_utilization": node.filesystem_percent + rng.gauss(0, 0.03)
                + 0.4 * (t - b.start) / (b.end - b.start),
                "node_pod_count": len(pods),
            }
        out[node.name] = points
    return out


def node_series(b, nodes):
    out = []
    for node in b.nodes:
        points = nodes[node.name]
        for name in ("node_cpu_utilization", "node_memory_utilization",
                     "node_filesystem_utilization", "node_pod_count"):
            out.append(series(name, {"node": node.name},
                              [(t, v[name]) for t, v in sorted(points.items())]))
    return out


def per_minute(points):
    """Average 30 s samples into the 60 s periods CloudWatch reports, stamped at period start."""
    buckets = {}
    for t, v in points:
        buckets.setdefault(t - t % MINUTE, []).append(v)
    return [(t, sum(vs) / len(vs)) for t, vs in sorted(buckets.items())]


def container_insights(b, samples, nodes):
    """ContainerInsights metrics for nodes, workloads, namespaces and the cluster."""
    base = {"Namespace": "ContainerInsights", "ClusterName": b.cluster}
    out = []
    for node in b.nodes:
        dims = dict(base, NodeName=node.name, InstanceId=node.instance_id)
        points = sorted(nodes[node.name].items())
        for ci, ours, unit in (("node_cpu_utilization", "node_cpu_utilization", "Percent"),
                               ("node_memory_utilization", "node_memory_utilization", "Percent"),
                               ("node_filesystem_utilization", "node_filesystem_utilization",
                                "Percent"),
                               ("node_number_of_running_pods", "node_pod_count", "Count")):
            out.append(series(ci, dims, per_minute([(t, v[ours]) for t, v in points]), unit, 2))
    out += _workload_insights(b, samples, base)
    out.append(series("cluster_node_count", base, per_minute([(t, len(b.nodes)) for t in b.grid]),
                      "Count", 0))
    out.append(series("cluster_failed_node_count", base,
                      per_minute([(t, 0) for t in b.grid]), "Count", 0))
    return out


def _workload_insights(b, samples, base):
    groups = {}
    for pod in b.pods:
        if pod.namespace in b.app_namespaces:
            groups.setdefault((pod.namespace, pod.workload), []).append(pod)
    out = []
    for (ns, workload), pods in sorted(groups.items()):
        dims = dict(base, PodName=workload, **{"Dimension.Namespace": ns})
        cpu, mem, restarts = [], [], []
        for t in b.grid:
            live = [p for p in pods if p.exists_at(t) and p.node]
            if not live:
                continue
            cpu.append((t, _mean_share(b, samples, live, t, "cpu_usage_cores", "cpu")))
            mem.append((t, _mean_share(b, samples, live, t, "memory_working_set_bytes", "memory")))
            restarts.append((t, sum(c.restarts_at(t) for p in live for c in p.containers)))
        for name, pts, unit in (("pod_cpu_utilization", cpu, "Percent"),
                                ("pod_memory_utilization", mem, "Percent"),
                                ("pod_number_of_container_restarts", restarts, "Count")):
            if pts:
                out.append(series(name, dims, per_minute(pts), unit, 2 if unit == "Percent" else 0))
    return out


def _mean_share(b, samples, pods, t, signal, resource):
    shares = []
    for pod in pods:
        used = sum(samples.get((pod.name, c.name), {}).get(t, {}).get(signal, 0.0)
                   for c in pod.containers)
        shares.append(100 * used / b.capacity(pod.node)[resource])
    return sum(shares) / len(shares)
