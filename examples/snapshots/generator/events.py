"""core/v1 Events: recorded as occurrences, written aggregated the way the event recorder does.

Identical events (same object, reason and message) collapse into one Event with a count and
first/last timestamps. The API server deletes events an hour after their last update, so a
capture only holds those seen in the hour before it.
"""

from .clock import HOUR, SECOND, iso

EVENT_TTL = HOUR


class Recorder:
    def __init__(self):
        self._events = {}

    def record(self, involved, reason, message, times, *, type="Normal", component="kubelet",
               host=None):
        """`involved` is an ObjectReference (kind, name, namespace, uid, apiVersion, fieldPath)."""
        key = (involved.get("namespace", "default"), involved["kind"], involved["name"],
               involved.get("fieldPath", ""), reason, message)
        entry = self._events.setdefault(key, {"involved": involved, "reason": reason,
                                              "message": message, "type": type,
                                              "component": component, "host": host, "times": []})
        entry["times"].extend(times)

    def objects(self, b, captured_at):
        """Events alive at capture, grouped by namespace, oldest first."""
        by_ns = {}
        for (ns, *_), entry in sorted(self._events.items(), key=lambda kv: _first(kv[1])):
            times = sorted(t for t in entry["times"] if t <= captured_at)
            if not times or times[-1] < captured_at - EVENT_TTL:
                continue
            by_ns.setdefault(ns, []).append(_event_object(b, ns, entry, times))
        return by_ns


def _first(entry):
    return min(entry["times"]) if entry["times"] else 0


def _event_object(b, ns, entry, times):
    involved = dict(sorted(entry["involved"].items()))
    involved.setdefault("namespace", ns)
    source = {"component": entry["component"]}
    if entry["host"]:
        source["host"] = entry["host"]
    # The recorder names an event after its object and the first occurrence, in hex nanoseconds.
    name = f"{involved['name']}.{times[0] * 1_000_000 + b.ids.rng.randrange(10**6):x}"
    return {
        "apiVersion": "v1",
        "count": len(times),
        "eventTime": None,
        "firstTimestamp": iso(times[0]),
        "involvedObject": dict(sorted(involved.items())),
        "kind": "Event",
        "lastTimestamp": iso(times[-1]),
        "message": entry["message"],
        "metadata": {"creationTimestamp": iso(times[0]), "name": name, "namespace": ns,
                     "resourceVersion": b.ids.rv(times[-1]), "uid": b.ids.uid()},
        "reason": entry["reason"],
        "reportingComponent": entry["component"],
        "reportingInstance": entry["host"] or "",
        "source": source,
        "type": entry["type"],
    }


def ref(obj_or_pod, kind=None, api_version="v1", field_path=None):
    """ObjectReference to an API object dict, or to a simulated Pod."""
    if isinstance(obj_or_pod, dict):
        md = obj_or_pod["metadata"]
        out = {"apiVersion": obj_or_pod["apiVersion"], "kind": obj_or_pod["kind"],
               "name": md["name"], "uid": md["uid"]}
        if md.get("namespace"):
            out["namespace"] = md["namespace"]
        out["resourceVersion"] = md["resourceVersion"]
    else:
        out = {"apiVersion": api_version, "kind": kind or "Pod", "name": obj_or_pod.name,
               "namespace": obj_or_pod.namespace, "uid": obj_or_pod.uid}
    if field_path:
        out["fieldPath"] = field_path
    return out


def pod_lifecycle(rec, b, pod):
    """Scheduler and kubelet events for a pod, from its simulated runs."""
    if not pod.events:
        return
    if not pod.node:
        return
    rec.record(ref(pod), "Scheduled",
               f"Successfully assigned {pod.namespace}/{pod.name} to {pod.node.name}",
               [pod.scheduled], component="default-scheduler")
    for c in pod.containers:
        _container_events(rec, b, pod, c)
    if pod.deleted is not None:
        for c in pod.containers:
            last = c.runs[-1] if c.runs else None
            # Only a container still running when the pod is deleted gets stopped.
            if last and last.start <= pod.deleted and (last.end is None or last.end > pod.deleted):
                rec.record(ref(pod, field_path=f"spec.containers{{{c.name}}}"), "Killing",
                           f"Stopping container {c.name}", [pod.deleted], host=pod.node.name)


def _container_events(rec, b, pod, c):
    host = pod.node.name
    target = ref(pod, field_path=f"spec.containers{{{c.name}}}")
    image = c.spec["image"]
    for i, run in enumerate(c.runs):
        created = run.start - 300
        if i == 0 and c.pulled_in:
            pull = int(c.pulled_in * SECOND)
            rec.record(target, "Pulling", f'Pulling image "{image}"', [created - pull], host=host)
            size = b.image_size(image)
            rec.record(target, "Pulled",
                       f'Successfully pulled image "{image}" in {c.pulled_in:.3f}s '
                       f"({c.pulled_in:.3f}s including waiting). Image size: {size} bytes.",
                       [created - 40], host=host)
        else:
            rec.record(target, "Pulled",
                       f'Container image "{image}" already present on machine',
                       [created - 40], host=host)
        rec.record(target, "Created", f"Created container: {c.name}", [created], host=host)
        rec.record(target, "Started", f"Started container {c.name}", [run.start], host=host)
        _probe_failures(rec, pod, c, run, target, host)
    _backoff_events(rec, pod, c, target, host, b.end)


def _probe_failures(rec, pod, c, run, target, host):
    """Readiness probes that fail while the application is still starting."""
    probe = c.spec.get("readinessProbe", {})
    get = probe.get("httpGet")
    if not get or not pod.ip:
        return
    period = probe["periodSeconds"] * SECOND
    first = run.start + probe["initialDelaySeconds"] * SECOND + 700
    end = run.start + run.ready_after if run.end is None else min(run.end, run.start + run.ready_after)
    times = list(range(first, end - period // 2, period))
    port, path = get["port"], get["path"]
    message = (f'Readiness probe failed: Get "http://{pod.ip}:{port}{path}": '
               f"dial tcp {pod.ip}:{port}: connect: connection refused")
    if times:
        rec.record(target, "Unhealthy", message, times, type="Warning", host=host)


def _backoff_events(rec, pod, c, target, host, captured_at):
    """The kubelet reports BackOff on every pod sync while it holds a crashed container back."""
    if pod.restart_policy == "Never":
        return
    message = f"Back-off restarting failed container {c.name} in pod {pod.name}_{pod.namespace}({pod.uid})"
    times = []
    for run, following in zip(c.runs, c.runs[1:] + [None]):
        if run.end is None or (pod.restart_policy == "OnFailure" and run.exit_code == 0):
            continue
        if pod.deleted is not None and run.end >= pod.deleted:
            continue
        resume = following.start if following else min(pod.gone or captured_at, captured_at)
        t = run.end + 2 * SECOND
        while t < resume - 2 * SECOND:
            times.append(t)
            t += 10 * SECOND if resume - run.end <= 20 * SECOND else 30 * SECOND
    if times:
        rec.record(target, "BackOff", message, times, type="Warning", host=host)
