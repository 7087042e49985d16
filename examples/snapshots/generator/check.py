"""Validation of a written bundle: format, internal consistency, and the expected answer.

Every YAML file must parse (PyYAML, when installed) to data that re-emits byte for byte, so no
reader can take a quoted time or version for anything but a string. Metric, log and event files
must follow ../README.md. Each `evidence` entry of expected.yaml must hold in the bundle, so the
answer the tests assert against is backed by the data.
"""

import json
import math
import re
from pathlib import Path

from . import yamlout
from .clock import HOUR, day, ms
from .metrics import UNITS

try:
    import yaml
except ImportError:  # the generator itself needs only the standard library
    yaml = None

RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")
WORKLOAD_SIGNALS = {n for n in UNITS if not n.startswith(("request_", "error_", "latency_"))}
SERVICE_SIGNALS = {"request_rate", "error_rate", "latency_p50_seconds", "latency_p90_seconds",
                   "latency_p99_seconds"}


class Problems(list):
    def add(self, where, what):
        self.append(f"{where}: {what}")


def bundle(root):
    """Problems found in the bundle at `root` (an empty list when it is sound)."""
    root, problems = Path(root), Problems()
    docs = _yaml_files(root, problems)
    manifest = (docs.get("manifest.yaml") or [{}])[0]
    end = ms(manifest["captured_at"])
    start = ms(manifest["window"]["start"])
    if end - start != 2 * HOUR or ms(manifest["window"]["end"]) != end:
        problems.add("manifest.yaml", "window must be the two hours before captured_at")
    objects = _objects(docs, problems)
    _events(docs, objects, start, end, problems)
    _logs(root, objects, start, end, problems)
    series = _metrics(root, start, end, problems)
    _restarts_agree(objects, series, problems)
    _cost(root, end, problems)
    _eks(docs.get("eks/cluster.yaml", [{}])[0], manifest, problems)
    _expected(root, docs, objects, series, end, problems)
    return problems


def _yaml_files(root, problems):
    docs = {}
    for path in sorted(root.rglob("*.yaml")):
        rel = str(path.relative_to(root))
        text = path.read_text()
        if yaml is None:
            continue
        try:
            parsed = [d for d in yaml.safe_load_all(text)]
        except yaml.YAMLError as err:
            problems.add(rel, f"does not parse: {err}")
            continue
        try:
            again = yamlout.dump_stream(parsed, sort_keys=rel.startswith(("objects/", "events/")))
        except (TypeError, ValueError):
            again = None  # a timestamp or special float the emitter would never write
        if again != text:
            problems.add(rel, "does not round-trip: some scalar reads back as another type")
        docs[rel] = parsed
    return docs


def _objects(docs, problems):
    """{(namespace or '', kind, name): object}, checking where each object is filed."""
    out = {}
    for rel, items in docs.items():
        if not rel.startswith("objects/"):
            continue
        _, ns, kind_file = rel.split("/")
        for obj in items:
            md = obj.get("metadata", {})
            where = f"{rel} {md.get('name')}"
            if obj.get("kind") != kind_file[:-5] or not obj.get("apiVersion"):
                problems.add(where, "kind or apiVersion does not match the file")
            if (md.get("namespace") or "_cluster") != ns:
                problems.add(where, "namespace does not match the directory")
            for key in ("name", "uid", "resourceVersion", "creationTimestamp"):
                if not md.get(key):
                    problems.add(where, f"metadata.{key} missing")
            out[(md.get("namespace", ""), obj["kind"], md.get("name"))] = obj
    for (ns, kind, name), obj in out.items():
        for owner in obj["metadata"].get("ownerReferences", []):
            target = out.get((ns, owner["kind"], owner["name"]))
            if not target or target["metadata"]["uid"] != owner["uid"]:
                problems.add(f"{kind} {ns}/{name}", f"owner {owner['kind']}/{owner['name']} not in bundle")
        if kind == "Pod" and obj["spec"].get("nodeName"):
            if ("", "Node", obj["spec"]["nodeName"]) not in out:
                problems.add(f"Pod {ns}/{name}", "nodeName is not a Node of the bundle")
    return out


def _events(docs, objects, start, end, problems):
    for rel, items in docs.items():
        if not rel.startswith("events/"):
            continue
        for ev in items:
            where = f"{rel} {ev.get('metadata', {}).get('name')}"
            missing = [k for k in ("involvedObject", "reason", "message", "type", "count",
                                   "firstTimestamp", "lastTimestamp") if k not in ev]
            if missing:
                problems.add(where, f"missing {missing}")
                continue
            first, last = ms(ev["firstTimestamp"]), ms(ev["lastTimestamp"])
            if not first <= last <= end or last < end - HOUR or ev["count"] < 1:
                problems.add(where, "timestamps or count out of order")


def _logs(root, objects, start, end, problems):
    for path in sorted((root / "logs").rglob("*.log")):
        rel = path.relative_to(root)
        _, ns, pod, _ = rel.parts
        if (ns, "Pod", pod) not in objects:
            problems.add(str(rel), "pod is not in objects/")
        _timestamped(rel, path.read_text().splitlines(), start, end, problems)
    for path in sorted((root / "cloudwatch-logs").glob("*.log")):
        lines = path.read_text().splitlines()
        _timestamped(path.relative_to(root), lines, start, end, problems)
        for n, line in enumerate(lines, 1):
            parts = line.split(" ", 2)
            try:
                json.loads(parts[2])
            except (IndexError, ValueError):
                problems.add(f"{path.name}:{n}", "not `<time> <stream> <json message>`")
                break


def _timestamped(rel, lines, start, end, problems):
    previous = 0
    for n, line in enumerate(lines, 1):
        stamp = line.split(" ", 1)[0]
        if not RFC3339.fullmatch(stamp):
            problems.add(f"{rel}:{n}", "line does not start with an RFC 3339 time")
            return
        t = ms(stamp[:23] + "Z" if len(stamp) > 24 else stamp)
        if t < previous or not start <= t <= end:
            problems.add(f"{rel}:{n}", "time out of order or outside the window")
            return
        previous = t


def _metrics(root, start, end, problems):
    out = {}
    for family in ("workload", "service", "cloudwatch"):
        path = root / "metrics" / f"{family}.jsonl"
        rows = out[family] = []
        for n, line in enumerate(path.read_text().splitlines(), 1):
            row = json.loads(line)
            rows.append(row)
            where = f"metrics/{family}.jsonl:{n} {row.get('name')}"
            ts, vs = row.get("timestamps", []), row.get("values", [])
            if not ts or len(ts) != len(vs) or any(b <= a for a, b in zip(ts, ts[1:])):
                problems.add(where, "timestamps empty, unsorted or not matching values")
            elif ts[0] < start or ts[-1] > end:
                problems.add(where, "samples outside the window")
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vs):
                problems.add(where, "non-finite value")
            _metric_labels(family, row, where, problems)
    return out


def _metric_labels(family, row, where, problems):
    labels, name = row.get("labels", {}), row.get("name")
    if family == "workload":
        need = {"node"} if name.startswith("node_") else {"namespace", "pod", "container", "workload"}
        if name not in WORKLOAD_SIGNALS:
            problems.add(where, "not a workload signal of the README")
    elif family == "service":
        need = {"namespace", "service"}
        if name not in SERVICE_SIGNALS:
            problems.add(where, "not a service signal of the README")
    else:
        need = {"Namespace"}
    if not need <= labels.keys():
        problems.add(where, f"labels lack {sorted(need - labels.keys())}")


def _restarts_agree(objects, series, problems):
    """The last `restarts` sample of a live pod equals its restartCount."""
    counts = {}
    for row in series["workload"]:
        if row["name"] == "restarts":
            lb = row["labels"]
            counts[(lb["namespace"], lb["pod"], lb["container"])] = row["values"][-1]
    for (ns, kind, name), obj in objects.items():
        if kind != "Pod":
            continue
        for cs in obj["status"].get("containerStatuses", []):
            seen = counts.get((ns, name, cs["name"]))
            if seen is not None and seen != cs["restartCount"]:
                problems.add(f"Pod {ns}/{name}", f"restarts series ends at {seen}, "
                                                 f"restartCount is {cs['restartCount']}")


def _cost(root, end, problems):
    cost = json.loads((root / "cost" / "cost_and_usage.json").read_text())
    days = cost["ResultsByTime"]
    if len(days) != 30 or days[-1]["TimePeriod"]["Start"] != day(end):
        problems.add("cost/cost_and_usage.json", "must hold the 30 days up to the capture day")
    for result in days:
        for group in result["Groups"]:
            float(group["Metrics"]["UnblendedCost"]["Amount"])


def _eks(eks, manifest, problems):
    cluster = eks.get("cluster", {})
    if cluster.get("name") != manifest.get("cluster") or not eks.get("nodegroups") \
            or not eks.get("addons"):
        problems.add("eks/cluster.yaml", "cluster name, node groups or add-ons missing")


def _expected(root, docs, objects, series, end, problems):
    expected = docs.get("expected.yaml", [None])[0]
    if not expected:
        problems.add("expected.yaml", "missing")
        return
    cause = expected["root_cause"]
    comp = cause["component"]
    if not _component_exists(comp, objects, docs.get("eks/cluster.yaml", [{}])[0]):
        problems.add("expected.yaml", f"root cause {comp} is not in the bundle")
    for key in ("onset", "first_failure"):
        if key in cause and not ms(cause[key]) <= end:
            problems.add("expected.yaml", f"{key} after the capture")
    for n, item in enumerate(expected.get("evidence", []), 1):
        if not EVIDENCE[item["kind"]](item, root, docs, objects, series):
            problems.add("expected.yaml", f"evidence {n} ({item['kind']}) does not hold: {item}")


def _component_exists(comp, objects, eks):
    """A Kubernetes object, or an AWS resource of eks/cluster.yaml (Subnet, Nodegroup)."""
    if comp["kind"] == "Subnet":
        return any(s["SubnetId"] == comp["name"] for s in eks.get("subnets", []))
    if comp["kind"] == "Nodegroup":
        return any(n["nodegroupName"] == comp["name"] for n in eks.get("nodegroups", []))
    return (comp.get("namespace", ""), comp["kind"], comp["name"]) in objects


def _event_holds(item, root, docs, objects, series):
    for rel, items in docs.items():
        if not rel.startswith("events/"):
            continue
        for ev in items:
            inv = ev["involvedObject"]
            if ev["reason"] == item["reason"] and \
                    inv["name"].startswith(item.get("object_prefix", "")) and \
                    item.get("message_contains", "") in ev["message"] and \
                    ev["count"] >= item.get("min_count", 1):
                return True
    return False


def _container_holds(item, root, docs, objects, series):
    for (ns, kind, name), obj in objects.items():
        if kind != "Pod" or ns != item["namespace"] or not name.startswith(item["pod_prefix"]):
            continue
        for cs in obj["status"].get("containerStatuses", []):
            for state in (cs.get("state", {}), cs.get("lastState", {})):
                for key, detail in state.items():
                    if key == item["state"] and detail.get("reason") == item["reason"] and \
                            detail.get("exitCode", item.get("exit_code")) == item.get("exit_code"):
                        return True
    return False


def _field_holds(item, root, docs, objects, series):
    """`path` of an object equals `equals`, or, with `absent: true`, is not set."""
    obj = objects.get((item.get("namespace", ""), item["object_kind"], item["name"]))
    if obj is None:
        return False
    value = obj
    for part in item["path"].split("."):
        match = re.fullmatch(r"(\w+)\[(\w+)=([\w-]+)\]", part)
        if value is None:
            break
        if match:
            key, field, want = match.groups()
            value = next((x for x in value.get(key, []) if x.get(field) == want), None)
        else:
            value = value.get(part) if isinstance(value, dict) else None
    return value is None if item.get("absent") else value == item["equals"]


def _metric_holds(item, root, docs, objects, series):
    """Some matching series' mean after `at` is at least `factor` times its mean before; with
    `max_factor` instead, every matching series stays below that many times its mean before."""
    at = ms(item["at"])
    ratios = []
    for row in series[item["family"]]:
        if row["name"] != item["name"] or not item["labels"].items() <= row["labels"].items():
            continue
        before = [v for t, v in zip(row["timestamps"], row["values"]) if t < at]
        after = [v for t, v in zip(row["timestamps"], row["values"]) if t >= at]
        if before and after:
            mean_before = sum(before) / len(before)
            ratios.append(sum(after) / len(after) / mean_before if mean_before else math.inf)
    if "max_factor" in item:
        return bool(ratios) and max(ratios) <= item["max_factor"]
    return any(r >= item["factor"] for r in ratios)


def _log_holds(item, root, docs, objects, series):
    paths = list((root / "logs").rglob("*.log")) + list((root / "cloudwatch-logs").glob("*.log"))
    return any(item["contains"] in p.read_text() and item.get("path_contains", "") in str(p)
               for p in paths)


EVIDENCE = {"event": _event_holds, "container": _container_holds, "field": _field_holds,
            "metric": _metric_holds, "log": _log_holds}
