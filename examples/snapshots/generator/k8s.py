"""Kubernetes API objects as the API server returns them, built from the simulation records."""

from .clock import SECOND, iso
from .model import backoff_after

TOLERATIONS = [
    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists",
     "tolerationSeconds": 300},
    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists",
     "tolerationSeconds": 300},
]


def meta(b, name, namespace, created, *, labels=None, annotations=None, owner=None,
         uid=None, updated=None, generation=None):
    out = {}
    if annotations:
        out["annotations"] = dict(sorted(annotations.items()))
    out["creationTimestamp"] = iso(created)
    if generation is not None:
        out["generation"] = generation
    if labels:
        out["labels"] = dict(sorted(labels.items()))
    out["name"] = name
    if namespace:
        out["namespace"] = namespace
    if owner:
        out["ownerReferences"] = [owner]
    out["resourceVersion"] = b.ids.rv(updated or created)
    out["uid"] = uid or b.ids.uid()
    return out


def owner_ref(api_version, kind, name, uid):
    return {"apiVersion": api_version, "blockOwnerDeletion": True, "controller": True,
            "kind": kind, "name": name, "uid": uid}


def container(name, image, *, requests, limits=None, ports=(), env=(), probes=None, args=None,
              command=None, mounts=()):
    """A container spec with the defaults the API server fills in."""
    spec = {}
    if args:
        spec["args"] = list(args)
    if command:
        spec["command"] = list(command)
    if env:
        spec["env"] = list(env)
    spec["image"] = image
    spec["imagePullPolicy"] = "IfNotPresent"
    spec.update(probes or {})
    spec["name"] = name
    if ports:
        spec["ports"] = [{"containerPort": p, "name": n, "protocol": "TCP"} for n, p in ports]
    spec["resources"] = {"requests": requests, **({"limits": limits} if limits else {})}
    spec["terminationMessagePath"] = "/dev/termination-log"
    spec["terminationMessagePolicy"] = "File"
    spec["volumeMounts"] = list(mounts)
    return dict(sorted(spec.items()))


def http_probe(path, port, *, period=10, failure=3, initial=0, timeout=1):
    return {"failureThreshold": failure, "httpGet": {"path": path, "port": port, "scheme": "HTTP"},
            "initialDelaySeconds": initial, "periodSeconds": period, "successThreshold": 1,
            "timeoutSeconds": timeout}


def env_value(name, value):
    return {"name": name, "value": value}


def env_from_configmap(name, configmap, key):
    return {"name": name, "valueFrom": {"configMapKeyRef": {"key": key, "name": configmap}}}


def env_field(name, path):
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}


def pod_spec(b, pod):
    token = f"kube-api-access-{b.ids.suffix()}"
    containers = []
    for c in pod.containers:
        spec = dict(c.spec)
        spec["volumeMounts"] = spec["volumeMounts"] + [
            {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": token,
             "readOnly": True}]
        containers.append(spec)
    spec = {
        "containers": containers,
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": pod.restart_policy,
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "serviceAccount": "default",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
        "tolerations": TOLERATIONS,
        "volumes": [_token_volume(token)],
    }
    if pod.node:
        spec["nodeName"] = pod.node.name
    for key, value in pod.spec.items():
        spec[key] = value + spec[key] if key == "volumes" else value
    if "serviceAccountName" in pod.spec:
        spec["serviceAccount"] = pod.spec["serviceAccountName"]
    return dict(sorted(spec.items()))


def _token_volume(name):
    return {"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
        {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1",
                                                 "fieldPath": "metadata.namespace"},
                                    "path": "namespace"}]}},
    ]}}


def qos_class(pod):
    res = [c.spec["resources"] for c in pod.containers]
    if not any(r.get("requests") or r.get("limits") for r in res):
        return "BestEffort"
    guaranteed = all(
        r.get("limits", {}).get(k) and r.get("requests", {}).get(k, r["limits"][k]) == r["limits"][k]
        for r in res for k in ("cpu", "memory"))
    return "Guaranteed" if guaranteed else "Burstable"


def _terminated(run):
    return {"containerID": run.id, "exitCode": run.exit_code, "finishedAt": iso(run.end),
            "reason": run.reason, "startedAt": iso(run.start)}


def container_status(b, pod, c, t):
    out = {"image": c.spec["image"], "imageID": c.image_id if c.runs else "",
           "name": c.name, "ready": c.ready_at(t), "restartCount": c.restarts_at(t)}
    runs = [r for r in c.runs if r.start <= t]
    if not runs:
        reason, message = c.waiting or ("ContainerCreating", None)
        out["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        out["lastState"], out["started"] = {}, False
        return dict(sorted(out.items()))
    last = runs[-1]
    out["containerID"] = last.id
    previous = runs[-2] if len(runs) > 1 else None
    if last.end is None or last.end > t:
        out["state"] = {"running": {"startedAt": iso(last.start)}}
        out["lastState"] = {"terminated": _terminated(previous)} if previous else {}
        out["started"] = True
    elif pod.restart_policy == "Always" or (pod.restart_policy == "OnFailure" and last.exit_code):
        wait = backoff_after(runs) // SECOND
        out["state"] = {"waiting": {
            "message": f"back-off {_duration(wait)} restarting failed container={c.name} "
                       f"pod={pod.name}_{pod.namespace}({pod.uid})",
            "reason": "CrashLoopBackOff"}}
        out["lastState"] = {"terminated": _terminated(last)}
        out["started"] = False
    else:
        out["state"] = {"terminated": _terminated(last)}
        out["lastState"] = {"terminated": _terminated(previous)} if previous else {}
        out["started"] = False
    return dict(sorted(out.items()))


def _duration(seconds):
    """Go's time.Duration text, as the back-off message prints it."""
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def pod_phase(pod, t):
    states = [container_status_kind(c, t) for c in pod.containers]
    if "running" in states:
        return "Running"
    if all(s == "never" for s in states):
        return "Pending"
    if pod.restart_policy == "Always" or "crashed" in states:
        return "Running"
    return "Succeeded" if all(s == "done" for s in states) else "Failed"


def container_status_kind(c, t):
    runs = [r for r in c.runs if r.start <= t]
    if not runs:
        return "never"
    last = runs[-1]
    if last.end is None or last.end > t:
        return "running"
    return "done" if last.exit_code == 0 else "crashed"


def _ready_since(pod, t):
    """When the pod's Ready condition last changed, and its value."""
    ready = all(c.ready_at(t) for c in pod.containers)
    times = []
    for c in pod.containers:
        runs = [r for r in c.runs if r.start <= t]
        if not runs:
            continue
        last = runs[-1]
        if ready:
            times.append(last.start + last.ready_after)
        else:
            times.append(last.end if last.end is not None and last.end <= t else last.start)
    return ready, max(times) if times else pod.scheduled


def pod_conditions(pod, t):
    ready, since = _ready_since(pod, t)
    sandbox = bool(pod.ip)
    started = pod.scheduled + SECOND
    not_ready = [c.name for c in pod.containers if not c.ready_at(t)]
    ready_cond = {"lastProbeTime": None, "lastTransitionTime": iso(since),
                  "status": "True" if ready else "False", "type": "Ready"}
    if not ready:
        ready_cond["message"] = f"containers with unready status: [{' '.join(not_ready)}]"
        ready_cond["reason"] = "ContainersNotReady"
    containers_ready = dict(ready_cond, type="ContainersReady")
    if pod_phase(pod, t) == "Succeeded":
        ready_cond = dict(ready_cond, reason="PodCompleted")
        containers_ready = dict(containers_ready, reason="PodCompleted")
        ready_cond.pop("message", None)
        containers_ready.pop("message", None)
    return [
        {"lastProbeTime": None, "lastTransitionTime": iso(started + 2 * SECOND),
         "status": "True" if sandbox and pod_phase(pod, t) != "Succeeded" else "False",
         "type": "PodReadyToStartContainers"},
        {"lastProbeTime": None, "lastTransitionTime": iso(started), "status": "True",
         "type": "Initialized"},
        ready_cond,
        containers_ready,
        {"lastProbeTime": None, "lastTransitionTime": iso(pod.scheduled), "status": "True",
         "type": "PodScheduled"},
    ]


def pod_status(b, pod, t):
    if not pod.node:
        return _unscheduled_status(pod)
    status = {"conditions": pod_conditions(pod, t),
              "containerStatuses": [container_status(b, pod, c, t) for c in pod.containers]}
    if pod.node:
        status["hostIP"] = pod.node.ip
        status["hostIPs"] = [{"ip": pod.node.ip}]
    status["phase"] = pod_phase(pod, t)
    if pod.ip:
        status["podIP"] = pod.ip
        status["podIPs"] = [{"ip": pod.ip}]
    status["qosClass"] = qos_class(pod)
    status["startTime"] = iso(pod.scheduled + SECOND)
    return status


def _unscheduled_status(pod):
    """A pod the scheduler could not place: one condition and no container statuses."""
    reason, message = pod.unschedulable
    return {"conditions": [{"lastProbeTime": None, "lastTransitionTime": iso(pod.created + 30),
                            "message": message, "reason": reason, "status": "False",
                            "type": "PodScheduled"}],
            "phase": "Pending", "qosClass": qos_class(pod)}


def pod_object(b, pod, t):
    metadata = meta(b, pod.name, pod.namespace, pod.created, labels=pod.labels,
                    annotations=pod.annotations, owner=pod.owner, uid=pod.uid,
                    updated=_last_change(pod, t))
    if pod.owner and pod.owner["kind"] in ("ReplicaSet", "Job", "DaemonSet", "StatefulSet"):
        metadata["generateName"] = _generate_name(pod)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": dict(sorted(metadata.items())),
            "spec": pod_spec(b, pod), "status": pod_status(b, pod, t)}


def _generate_name(pod):
    if pod.owner["kind"] == "StatefulSet":
        return pod.owner["name"] + "-"
    return pod.name[: pod.name.rindex("-") + 1]


def _last_change(pod, t):
    times = [pod.created]
    for c in pod.containers:
        for r in c.runs:
            times += [x for x in (r.start, r.start + r.ready_after, r.end) if x is not None and x <= t]
    return max(times)
