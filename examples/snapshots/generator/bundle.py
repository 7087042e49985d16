"""A bundle under construction: the simulated cluster plus everything captured from it.

Scenarios add nodes, pods, objects, events and signals; `write` renders the directory laid out
in ../README.md. Every random draw comes from `rng_for(key)`, a stream per key, so changing one
pod leaves the numbers of every other pod as they were.
"""

import ipaddress
import json
import random
import shutil
from pathlib import Path

from . import events, k8s, metrics, yamlout
from .clock import HOUR, SECOND, grid, iso, ms
from .ids import Ids
from .logs import LogBook

FORMAT = "eks-ops-mcp/snapshot/v1"

# vCPU, memory GiB and max pods (VPC CNI without prefix delegation) per instance type.
INSTANCE_TYPES = {
    "m6i.xlarge": (4, 16, 58), "m6a.xlarge": (4, 16, 58), "m5.xlarge": (4, 16, 58),
    "m6i.2xlarge": (8, 32, 58), "c6i.xlarge": (4, 8, 58), "c6i.2xlarge": (8, 16, 58),
    "c6i.4xlarge": (16, 32, 234), "r6i.xlarge": (4, 32, 58), "m6i.large": (2, 8, 29),
}


class Bundle:
    def __init__(self, name, *, cluster, region, captured_at, description, seed, account="123456789012",
                 step_seconds=60, window_hours=2):
        self.name, self.cluster, self.region, self.account = name, cluster, region, account
        self.description, self.seed = description, seed
        self.end = ms(captured_at)
        self.start = self.end - window_hours * HOUR
        self.grid = grid(self.start, self.end, step_seconds * SECOND)
        self.rng = self.rng_for("bundle")
        self.ids = Ids(self.rng_for("ids"), rv_base=48_000_000 + seed * 1_000_000)
        self.nodes, self.pods, self.objects = [], [], {}
        self.events = events.Recorder()
        self.app_namespaces = set()
        self.service_series, self.cloudwatch_series = [], []
        self.eks, self.cost, self.expected = {}, {}, {}
        self._images = {}
        self._ips = set()

    def rng_for(self, key):
        return random.Random(f"{self.name}/{self.seed}/{key}")

    # --- building -------------------------------------------------------------------------

    def add(self, obj):
        ns = obj["metadata"].get("namespace") or "_cluster"
        self.objects.setdefault((ns, obj["kind"]), []).append(obj)
        return obj

    def add_pod(self, pod):
        pod.uid = pod.uid or self.ids.uid()
        pod.scheduled = pod.scheduled or pod.created + 40
        if pod.node is None and pod.unschedulable is None:
            raise ValueError(f"pod {pod.name} has no node and no reason it is unscheduled")
        if pod.deleted is not None and pod.gone is None:
            pod.gone = pod.deleted + 2 * SECOND
        for c in pod.containers:
            c.image_id = c.image_id or self.image_id(c.spec["image"])
            for run in c.runs:
                run.id = run.id or self.ids.container_id()
            if pod.deleted is not None and c.runs and c.runs[-1].end is None:
                last = c.runs[-1]
                last.end, last.reason, last.exit_code = pod.deleted + SECOND, "Completed", 0
        self.pods.append(pod)
        return pod

    def pod_ip(self, node):
        """A free secondary address from the node's subnet, as the VPC CNI assigns."""
        net = ipaddress.ip_network(node.subnet)
        while True:
            ip = str(net.network_address + self.rng.randrange(10, net.num_addresses - 2))
            if ip not in self._ips and ip != node.ip:
                self._ips.add(ip)
                return ip

    def image_id(self, image):
        repo = image.rsplit(":", 1)[0]
        if image not in self._images:
            self._images[image] = (f"{repo}@{self.ids.digest()}", self.rng.randrange(40, 420) * 2**20
                                   + self.rng.randrange(2**20))
        return self._images[image][0]

    def image_size(self, image):
        self.image_id(image)
        return self._images[image][1]

    def capacity(self, node):
        cpu, mem_gib, _ = INSTANCE_TYPES[node.instance_type]
        return {"cpu": cpu, "memory": mem_gib * 2**30 * 0.947}

    def service(self, namespace, name, fn):
        """Request signals of a Service: `fn(t, rng)` returns {signal: value} per grid time."""
        rng = self.rng_for(f"service/{namespace}/{name}")
        rows = [(t, fn(t, rng)) for t in self.grid]
        labels = {"namespace": namespace, "service": name}
        for signal in ("request_rate", "error_rate", "latency_p50_seconds", "latency_p90_seconds",
                       "latency_p99_seconds"):
            self.service_series.append(metrics.series(signal, labels, [(t, v[signal]) for t, v in rows]))

    def first_above(self, service, signal, threshold):
        """First sample time at which a Service signal exceeds `threshold`."""
        row = next(r for r in self.service_series
                   if r["name"] == signal and r["labels"]["service"] == service)
        return next(t for t, v in zip(row["timestamps"], row["values"]) if v > threshold)

    def pod_by_name(self, name):
        return next(p for p in self.pods if p.name == name)

    # --- writing --------------------------------------------------------------------------

    def write(self, root):
        out = Path(root) / self.name
        if out.exists():
            shutil.rmtree(out)
        files = self.render()
        for rel, text in sorted(files.items()):
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return out, files

    def render(self):
        """{relative path: text} of the whole bundle."""
        files = {"manifest.yaml": yamlout.dump(self.manifest())}
        for pod in self.pods:
            events.pod_lifecycle(self.events, self, pod)
            if pod.exists_at(self.end):
                self.add(k8s.pod_object(self, pod, self.end))
        for (ns, kind), objs in sorted(self.objects.items()):
            objs.sort(key=lambda o: o["metadata"]["name"])
            files[f"objects/{ns}/{kind}.yaml"] = yamlout.dump_stream(objs, sort_keys=True)
        for ns, evs in sorted(self.events.objects(self, self.end).items()):
            files[f"events/{ns}.yaml"] = yamlout.dump_stream(evs, sort_keys=True)
        logbook = LogBook(self)
        files.update(logbook.kubectl_files())
        group = f"/aws/containerinsights/{self.cluster}/application"
        files[f"cloudwatch-logs/{group.replace('/', '__')}.log"] = logbook.cloudwatch()
        files.update(self._metric_files())
        files["cost/cost_and_usage.json"] = _cost_json(self.cost)
        files["eks/cluster.yaml"] = yamlout.dump(self.eks)
        files["expected.yaml"] = yamlout.dump(self.expected)
        return files

    def _metric_files(self):
        samples = metrics.sample_containers(self)
        nodes = metrics.node_samples(self, samples)
        workload = metrics.workload_series(self, samples) + metrics.node_series(self, nodes)
        cloudwatch = metrics.container_insights(self, samples, nodes) + self.cloudwatch_series
        return {"metrics/workload.jsonl": _jsonl(workload),
                "metrics/service.jsonl": _jsonl(self.service_series),
                "metrics/cloudwatch.jsonl": _jsonl(cloudwatch)}

    def manifest(self):
        return {
            "format": FORMAT, "cluster": self.cluster,
            "context": f"arn:aws:eks:{self.region}:{self.account}:cluster/{self.cluster}",
            "region": self.region, "account": self.account, "captured_at": iso(self.end),
            "window": {"start": iso(self.start), "end": iso(self.end)},
            "description": self.description,
        }


def _jsonl(rows):
    return "".join(json.dumps(row, separators=(",", ":"), allow_nan=False) + "\n" for row in rows)


def _cost_json(cost):
    """The GetCostAndUsage document with one day per line, so a diff shows which day changed."""
    days = ",\n".join(json.dumps(day, separators=(",", ":")) for day in cost["ResultsByTime"])
    head = json.dumps(cost["GroupDefinitions"], separators=(",", ":"))
    return (f'{{"GroupDefinitions":{head},"ResultsByTime":[\n{days}\n],'
            f'"DimensionValueAttributes":[]}}\n')
