"""Controllers and what they own: Deployments with ReplicaSet revisions, StatefulSets,
DaemonSets, CronJobs with their Jobs, Services with EndpointSlices, HPAs and ConfigMaps.

Each builder creates the simulated pods, then renders the controller objects and the
controller events from those pods, so replica counts and events agree with the pods.
"""

from dataclasses import dataclass, field

from .clock import MINUTE, SECOND, iso, ms
from .events import ref
from .k8s import meta, owner_ref
from .model import Container, Pod, Run


def _spec_containers(containers, specs):
    """Simulated containers from {name: {runs, profile, logs, waiting, pulled_in}}."""
    out = []
    for spec in specs:
        opts = containers.get(spec["name"], {})
        out.append(Container(spec=spec, runs=opts.get("runs", []), waiting=opts.get("waiting"),
                             profile=opts.get("profile"), logs=opts.get("logs"),
                             pulled_in=opts.get("pulled_in", 0.0)))
    return out


def _template(labels, annotations, specs, pod_spec):
    md = {"creationTimestamp": None, "labels": dict(sorted(labels.items()))}
    if annotations:
        md = {"annotations": dict(sorted(annotations.items())), **md}
    spec = {"containers": specs, "dnsPolicy": "ClusterFirst", "restartPolicy": "Always",
            "schedulerName": "default-scheduler", "securityContext": {},
            "terminationGracePeriodSeconds": 30, **pod_spec}
    return {"metadata": md, "spec": dict(sorted(spec.items()))}


def _ready(pod, t):
    return pod.exists_at(t) and all(c.ready_at(t) for c in pod.containers)


def _live(pod, t):
    """Counted by its controller: exists and is not being deleted."""
    return pod.created <= t and (pod.deleted is None or t < pod.deleted)


@dataclass
class Revision:
    number: int
    created: int
    hash: str
    specs: list
    labels: dict
    annotations: dict
    pod_spec: dict
    change_cause: str | None
    rs_name: str = ""
    uid: str = ""
    pods: list = field(default_factory=list)
    object: dict | None = None


class Deployment:
    def __init__(self, b, namespace, name, *, replicas, created, labels=None, annotations=None,
                 max_surge="25%", max_unavailable="25%"):
        self.b, self.namespace, self.name, self.replicas = b, namespace, name, replicas
        self.created, self.uid = created, b.ids.uid()
        self.selector = {"app.kubernetes.io/name": name}
        self.labels = {**self.selector, **(labels or {})}
        self.annotations = annotations or {}
        self.max_surge, self.max_unavailable = max_surge, max_unavailable
        self.revisions = []

    def revision(self, number, created, specs, *, pod_labels=None, pod_annotations=None,
                 pod_spec=None, change_cause=None):
        rev = Revision(number, created, self.b.ids.template_hash(), specs,
                       {**self.selector, **(pod_labels or {})}, pod_annotations or {},
                       pod_spec or {}, change_cause, uid=self.b.ids.uid())
        rev.labels = {**rev.labels, "pod-template-hash": rev.hash}
        rev.rs_name = f"{self.name}-{rev.hash}"
        self.revisions.append(rev)
        return rev

    def pod(self, rev, node, created, containers, *, ip="", deleted=None, name=None,
            unschedulable=None):
        pod = Pod(name=name or f"{rev.rs_name}-{self.b.ids.suffix()}", namespace=self.namespace,
                  node=node, created=created, workload=self.name,
                  containers=_spec_containers(containers, rev.specs),
                  owner=owner_ref("apps/v1", "ReplicaSet", rev.rs_name, rev.uid),
                  labels=rev.labels, annotations=rev.annotations, spec=rev.pod_spec, ip=ip,
                  deleted=deleted, unschedulable=unschedulable)
        rev.pods.append(self.b.add_pod(pod))
        return pod

    def pods(self):
        return [p for rev in self.revisions for p in rev.pods]

    def finish(self, *, progressing=None, generation=None):
        """Render the Deployment, its ReplicaSets and the controllers' events."""
        for rev in self.revisions:
            rev.object = self.b.add(self._replicaset(rev))
        dep = self.b.add(self._deployment(progressing, generation))
        self._events(dep)
        return dep

    def _deployment(self, progressing, generation):
        b, t, latest = self.b, self.b.end, self.revisions[-1]
        annotations = {**self.annotations, "deployment.kubernetes.io/revision": str(latest.number)}
        if latest.change_cause:
            annotations["kubernetes.io/change-cause"] = latest.change_cause
        generation = generation or len(self.revisions) + 2
        md = meta(b, self.name, self.namespace, self.created, labels=self.labels,
                  annotations=annotations, uid=self.uid, updated=self._last_change(),
                  generation=generation)
        live = [p for p in self.pods() if _live(p, t)]
        ready = [p for p in live if _ready(p, t)]
        status = {"availableReplicas": len(ready),
                  "conditions": [self._available(len(ready)), progressing or self._progressed()],
                  "observedGeneration": generation, "readyReplicas": len(ready),
                  "replicas": len(live),
                  "updatedReplicas": len([p for p in live if p in latest.pods])}
        if self.replicas - len(ready) > 0:
            status["unavailableReplicas"] = self.replicas - len(ready)
        status = {k: v for k, v in sorted(status.items()) if v != 0 or k == "replicas"}
        spec = {"progressDeadlineSeconds": 600, "replicas": self.replicas,
                "revisionHistoryLimit": 10, "selector": {"matchLabels": self.selector},
                "strategy": {"rollingUpdate": {"maxSurge": self.max_surge,
                                               "maxUnavailable": self.max_unavailable},
                             "type": "RollingUpdate"},
                "template": _template({k: v for k, v in latest.labels.items()
                                       if k != "pod-template-hash"},
                                      latest.annotations, latest.specs, latest.pod_spec)}
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md, "spec": spec,
                "status": status}

    def _unavailable_allowed(self):
        text = self.max_unavailable
        return int(self.replicas * int(text[:-1]) / 100) if text.endswith("%") else int(text)

    def _available(self, ready):
        ok = ready >= self.replicas - self._unavailable_allowed()
        since = self._last_flip(lambda t: self._ready_count(t) >= self.replicas - self._unavailable_allowed())
        return {"lastTransitionTime": iso(since), "lastUpdateTime": iso(since),
                "message": "Deployment has minimum availability." if ok
                else "Deployment does not have minimum availability.",
                "reason": "MinimumReplicasAvailable" if ok else "MinimumReplicasUnavailable",
                "status": "True" if ok else "False", "type": "Available"}

    def _ready_count(self, t):
        return sum(1 for p in self.pods() if _live(p, t) and _ready(p, t))

    def _last_flip(self, predicate):
        """Last time `predicate` changed value, scanning the window at 5 s steps; when it held
        all window, when the pods serving at the window's start became ready."""
        t, now = self.b.end, predicate(self.b.end)
        while t > self.b.start and predicate(t - 5 * SECOND) == now:
            t -= 5 * SECOND
        if t > self.b.start:
            return t
        ready = [r.start + r.ready_after for p in self.pods() if _live(p, self.b.start)
                 for c in p.containers for r in c.runs[:1]]
        return max(ready) if ready else self.created

    def _progressed(self):
        latest = self.revisions[-1]
        done = max([latest.created] + [p.created + 40 * SECOND for p in latest.pods])
        return {"lastTransitionTime": iso(latest.created), "lastUpdateTime": iso(done),
                "message": f'ReplicaSet "{latest.rs_name}" has successfully progressed.',
                "reason": "NewReplicaSetAvailable", "status": "True", "type": "Progressing"}

    def _last_change(self):
        return max(rev.created for rev in self.revisions)

    def _replicaset(self, rev):
        b, t = self.b, self.b.end
        live = [p for p in rev.pods if _live(p, t)]
        ready = [p for p in live if _ready(p, t)]
        annotations = {"deployment.kubernetes.io/desired-replicas": str(self.replicas),
                       "deployment.kubernetes.io/max-replicas": str(self.replicas + self._surge()),
                       "deployment.kubernetes.io/revision": str(rev.number)}
        if rev.change_cause:
            annotations["kubernetes.io/change-cause"] = rev.change_cause
        changes = [rev.created] + [x for p in rev.pods for x in (p.created, p.deleted) if x and x <= t]
        md = meta(b, rev.rs_name, self.namespace, rev.created, labels=rev.labels,
                  annotations=annotations, uid=rev.uid, updated=max(changes),
                  owner=owner_ref("apps/v1", "Deployment", self.name, self.uid),
                  generation=2 if rev is not self.revisions[-1] else 1)
        status = {"availableReplicas": len(ready), "fullyLabeledReplicas": len(live),
                  "observedGeneration": md["generation"], "readyReplicas": len(ready),
                  "replicas": len(live)}
        status = {k: v for k, v in status.items() if v != 0 or k == "replicas"}
        spec = {"replicas": len(live),
                "selector": {"matchLabels": {**self.selector, "pod-template-hash": rev.hash}},
                "template": _template(rev.labels, rev.annotations, rev.specs, rev.pod_spec)}
        return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": md, "spec": spec,
                "status": status}

    def _surge(self):
        text = self.max_surge
        return -(-self.replicas * int(text[:-1]) // 100) if text.endswith("%") else int(text)

    def _events(self, dep):
        rec = self.b.events
        for rev in self.revisions:
            rs = ref(rev.object)
            for p in rev.pods:
                rec.record(rs, "SuccessfulCreate", f"Created pod: {p.name}", [p.created],
                           component="replicaset-controller")
                if p.deleted is not None:
                    rec.record(rs, "SuccessfulDelete", f"Deleted pod: {p.name}", [p.deleted],
                               component="replicaset-controller")
            for t, before, after in _scale_steps(rev.pods):
                verb = "up" if after > before else "down"
                rec.record(ref(dep), "ScalingReplicaSet",
                           f"Scaled {verb} replica set {rev.rs_name} from {before} to {after}", [t],
                           component="deployment-controller")


def _scale_steps(pods):
    """(time, before, after) for each change of a ReplicaSet's desired count; changes within two
    seconds are one scaling decision."""
    changes = sorted([(p.created, 1) for p in pods] + [(p.deleted, -1) for p in pods if p.deleted])
    steps, count = [], 0
    for t, delta in changes:
        if steps and t - steps[-1][0] <= 2 * SECOND and (steps[-1][2] - steps[-1][1] > 0) == (delta > 0):
            steps[-1] = (steps[-1][0], steps[-1][1], steps[-1][2] + delta)
        else:
            steps.append((t, count, count + delta))
        count += delta
    return steps


def daemonset(b, namespace, name, nodes, specs, containers_for, *, created, labels,
              pod_spec=None, tolerations=None):
    """A DaemonSet with one pod per node; `containers_for(node)` gives the simulated runs."""
    uid, rev_hash = b.ids.uid(), b.ids.template_hash()
    pod_labels = {**labels, "controller-revision-hash": rev_hash, "pod-template-generation": "1"}
    extra = dict(pod_spec or {})
    extra["tolerations"] = tolerations or [{"operator": "Exists"}]
    for node in nodes:
        affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": [node.name]}]}]}}}
        pod = Pod(name=f"{name}-{b.ids.suffix()}", namespace=namespace, node=node,
                  created=max(created, node.created + 20 * SECOND), workload=name,
                  containers=_spec_containers(containers_for(node), specs),
                  owner=owner_ref("apps/v1", "DaemonSet", name, uid), labels=pod_labels,
                  spec={**extra, "affinity": affinity},
                  ip=node.ip if extra.get("hostNetwork") else "")
        b.add_pod(pod)
    n = len(nodes)
    md = meta(b, name, namespace, created, labels=labels, uid=uid, generation=1,
              annotations={"deprecated.daemonset.template.generation": "1"})
    status = {"currentNumberScheduled": n, "desiredNumberScheduled": n, "numberAvailable": n,
              "numberMisscheduled": 0, "numberReady": n, "observedGeneration": 1,
              "updatedNumberScheduled": n}
    spec = {"revisionHistoryLimit": 10, "selector": {"matchLabels": labels},
            "template": _template(labels, {}, specs, extra),
            "updateStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "10%"},
                               "type": "RollingUpdate"}}
    return b.add({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": md, "spec": spec,
                  "status": status})


def statefulset(b, namespace, name, node, specs, containers, *, created, pod_created, ip,
                labels, storage="20Gi", pvc_created=None):
    """A one-replica StatefulSet with its PVC and the PV the EBS CSI driver provisioned."""
    uid, rev = b.ids.uid(), f"{name}-{b.ids.template_hash()}"
    pod_labels = {**labels, "apps.kubernetes.io/pod-index": "0", "controller-revision-hash": rev,
                  "statefulset.kubernetes.io/pod-name": f"{name}-0"}
    claim = f"data-{name}-0"
    pod = b.add_pod(Pod(name=f"{name}-0", namespace=namespace, node=node, created=pod_created,
                        workload=name, containers=_spec_containers(containers, specs),
                        owner=owner_ref("apps/v1", "StatefulSet", name, uid), labels=pod_labels,
                        spec={"hostname": f"{name}-0", "subdomain": name, "volumes": [
                            {"name": "data", "persistentVolumeClaim": {"claimName": claim}}]},
                        ip=ip))
    ready = 1 if all(c.ready_at(b.end) for c in pod.containers) else 0
    md = meta(b, name, namespace, created, labels=labels, uid=uid, generation=1)
    template = _template(labels, {}, specs, {})
    spec = {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "podManagementPolicy": "OrderedReady", "replicas": 1, "revisionHistoryLimit": 10,
            "selector": {"matchLabels": labels}, "serviceName": name, "template": template,
            "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"},
            "volumeClaimTemplates": [_pvc_template(storage)]}
    status = {"availableReplicas": ready, "collisionCount": 0, "currentReplicas": 1,
              "currentRevision": rev, "observedGeneration": 1, "readyReplicas": ready,
              "replicas": 1, "updateRevision": rev, "updatedReplicas": 1}
    b.add({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": md, "spec": spec,
           "status": status})
    _volume(b, namespace, claim, node, storage, pvc_created or created, labels)
    return pod


def _pvc_template(storage):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"creationTimestamp": None, "name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}},
                     "storageClassName": "gp3", "volumeMode": "Filesystem"},
            "status": {"phase": "Pending"}}


def _volume(b, namespace, claim, node, storage, created, labels):
    pvc_uid = b.ids.uid()
    pv_name = f"pvc-{pvc_uid}"
    pvc_md = meta(b, claim, namespace, created, labels=labels, uid=pvc_uid, annotations={
        "pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
        "volume.beta.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
        "volume.kubernetes.io/selected-node": node.name,
        "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com"})
    pvc_md["finalizers"] = ["kubernetes.io/pvc-protection"]
    b.add({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": pvc_md,
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}},
                    "storageClassName": "gp3", "volumeMode": "Filesystem", "volumeName": pv_name},
           "status": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": storage},
                      "phase": "Bound"}})
    pv_md = meta(b, pv_name, None, created + 3 * SECOND, annotations={
        "pv.kubernetes.io/provisioned-by": "ebs.csi.aws.com",
        "volume.kubernetes.io/provisioner-deletion-secret-name": "",
        "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""})
    pv_md["finalizers"] = ["external-provisioner.volume.kubernetes.io/finalizer",
                           "kubernetes.io/pv-protection", "external-attacher/ebs-csi-aws-com"]
    b.add({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": pv_md, "spec": {
        "accessModes": ["ReadWriteOnce"], "capacity": {"storage": storage},
        "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": claim,
                     "namespace": namespace, "resourceVersion": pvc_md["resourceVersion"],
                     "uid": pvc_uid},
        "csi": {"driver": "ebs.csi.aws.com", "fsType": "ext4",
                "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity":
                                     "1763000000000-8081-ebs.csi.aws.com"},
                "volumeHandle": "vol-0" + b.ids.hex(16)},
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [node.zone]}]}]}},
        "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "gp3",
        "volumeMode": "Filesystem"}, "status": {"lastPhaseTransitionTime": iso(created + 3 * SECOND),
                                                "phase": "Bound"}})


def service(b, namespace, name, pods, *, port, target_port, created, port_name="http",
            headless=False, labels=None):
    """A ClusterIP Service and the EndpointSlice that lists its pods at capture."""
    selector = {"app.kubernetes.io/name": name}
    uid = b.ids.uid()
    ip = "None" if headless else f"172.20.{b.rng.randrange(0, 255)}.{b.rng.randrange(2, 254)}"
    md = meta(b, name, namespace, created, labels={**selector, **(labels or {})}, uid=uid)
    spec = {"clusterIP": ip, "clusterIPs": [ip], "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "ports": [{"name": port_name, "port": port, "protocol": "TCP", "targetPort": target_port}],
            "selector": selector, "sessionAffinity": "None", "type": "ClusterIP"}
    svc = b.add({"apiVersion": "v1", "kind": "Service", "metadata": md, "spec": spec,
                 "status": {"loadBalancer": {}}})
    b.add(_endpoint_slice(b, svc, pods, target_port, port_name))
    return svc


def _endpoint_slice(b, svc, pods, target_port, port_name):
    t, name, ns = b.end, svc["metadata"]["name"], svc["metadata"]["namespace"]
    live = sorted((p for p in pods if p.exists_at(t) and p.ip), key=lambda p: p.ip)
    endpoints = []
    for p in live:
        ready = _ready(p, t)
        terminating = p.deleted is not None and p.deleted <= t
        endpoints.append({"addresses": [p.ip], "conditions": {
            "ready": ready and not terminating, "serving": ready, "terminating": terminating},
            "nodeName": p.node.name, "targetRef": {"kind": "Pod", "name": p.name,
                                                   "namespace": ns, "uid": p.uid},
            "zone": p.node.zone})
    last = max([b.start] + [x for p in live for c in p.containers for r in c.runs
                            for x in (r.start + r.ready_after, r.end) if x and x <= t])
    md = meta(b, f"{name}-{b.ids.suffix()}", ns, ms(svc["metadata"]["creationTimestamp"]), updated=last,
              labels={"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                      "kubernetes.io/service-name": name, **svc["metadata"]["labels"]},
              annotations={"endpoints.kubernetes.io/last-change-trigger-time": iso(last)},
              owner=owner_ref("v1", "Service", name, svc["metadata"]["uid"]), generation=1)
    md["generateName"] = f"{name}-"
    return {"addressType": "IPv4", "apiVersion": "discovery.k8s.io/v1", "endpoints": endpoints,
            "kind": "EndpointSlice", "metadata": dict(sorted(md.items())),
            "ports": [{"name": port_name, "port": target_port if isinstance(target_port, int)
                       else 8080, "protocol": "TCP"}]}


def configmap(b, namespace, name, data, *, created, updated=None, manager="kubectl-client-side-apply",
              labels=None, annotations=None, history=()):
    """A ConfigMap with the managedFields entries of its writers; `history` lists earlier
    (manager, time, keys) writes that still own fields."""
    md = meta(b, name, namespace, created, labels=labels, annotations=annotations,
              updated=updated or created)
    writes = list(history) + [(manager, updated or created, sorted(data))]
    md["managedFields"] = [_managed(m, t, keys, bool(annotations)) for m, t, keys in writes]
    md = dict(sorted(md.items()))
    return b.add({"apiVersion": "v1", "data": dict(sorted(data.items())), "kind": "ConfigMap",
                  "metadata": md})


def _managed(manager, t, keys, annotations):
    fields = {"f:data": {".": {}, **{f"f:{k}": {} for k in keys}}}
    if annotations:
        fields["f:metadata"] = {"f:annotations": {
            ".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}}
    return {"apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": fields, "manager": manager,
            "operation": "Update", "time": iso(t)}


def completing_run(container_name, seconds, profile, logs):
    """`run_for` of a CronJob whose one container runs for `seconds` (a (low, high) range drawn
    per Job) and exits 0."""
    def run_for(i, start, rng):
        duration = int(rng.uniform(*seconds) * SECOND)
        return {container_name: {"runs": [Run(start, start + duration, "Completed", 0)],
                                 "profile": profile, "logs": logs}}
    return run_for


def cronjob(b, namespace, name, *, schedule, every_minutes, created, specs, run_for, node_for,
            ip_for, history=3, restart_policy="OnFailure"):
    """A CronJob, its Jobs in the window and the pods they ran.

    `run_for(job_index, start, rng)` returns {container: {runs, profile, logs}} for one Job;
    the controller keeps the last `history` successful Jobs and deletes older ones.
    """
    uid = b.ids.uid()
    period = every_minutes * MINUTE
    first = (b.start - history * period) // period * period + period
    jobs = []
    owner = owner_ref("batch/v1", "CronJob", name, uid)
    for i, start in enumerate(range(first, b.end, period)):
        job_name = f"{name}-{start // MINUTE}"
        jobs.append(job(b, namespace, job_name, start=start, specs=specs,
                        containers=run_for(i, start + 1500, b.rng_for(f"job/{job_name}")),
                        node=node_for(i), ip=ip_for(i), labels={"app.kubernetes.io/name": name},
                        owner=owner, restart_policy=restart_policy, workload=name,
                        annotations={"batch.kubernetes.io/cronjob-scheduled-timestamp": iso(start)}))
    _retire_jobs(b, jobs, history)
    last = jobs[-1]
    done = [j for j in jobs if j["completed"] and j["completed"] <= b.end]
    md = meta(b, name, namespace, created, uid=uid, generation=1,
              labels={"app.kubernetes.io/name": name}, updated=last["start"])
    status = {"lastScheduleTime": iso(last["start"])}
    if done:
        status["lastSuccessfulTime"] = iso(done[-1]["completed"])
    active = [j for j in jobs if not j["completed"] or j["completed"] > b.end]
    if active:
        status["active"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": j["name"],
                             "namespace": namespace, "resourceVersion": b.ids.rv(j["start"]),
                             "uid": j["uid"]} for j in active]
    spec = {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": 1,
            "jobTemplate": {"metadata": {"creationTimestamp": None}, "spec": {
                "backoffLimit": 2, "template": _template({"app.kubernetes.io/name": name}, {},
                                                         specs, {"restartPolicy": restart_policy})}},
            "schedule": schedule, "successfulJobsHistoryLimit": history, "suspend": False}
    cj = b.add({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": md, "spec": spec,
                "status": dict(sorted(status.items()))})
    for j in jobs:
        b.events.record(ref(cj), "SuccessfulCreate", f"Created job {j['name']}", [j["start"]],
                        component="cronjob-controller")
        if j["completed"]:
            b.events.record(ref(cj), "SawCompletedJob",
                            f"Saw completed job: {j['name']}, condition: Complete",
                            [j["completed"] + SECOND], component="cronjob-controller")
        if j.get("deleted"):
            b.events.record(ref(cj), "SuccessfulDelete", f"Deleted job {j['name']}",
                            [j["deleted"]], component="cronjob-controller")
    return jobs


def job(b, namespace, name, *, start, specs, containers, node, ip, labels=None, owner=None,
        annotations=None, restart_policy="Never", workload=None):
    """A Job with its one pod, as a record for `render_job`; `owner` is its CronJob's reference,
    if it has one. `containers` is {container: {runs, profile, logs}}."""
    uid = b.ids.uid()
    job_labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
                  "controller-uid": uid, "job-name": name, **(labels or {})}
    pod = b.add_pod(Pod(name=f"{name}-{b.ids.suffix()}", namespace=namespace, node=node,
                        created=start + 200, workload=workload or name,
                        containers=_spec_containers(containers, specs),
                        owner=owner_ref("batch/v1", "Job", name, uid), labels=job_labels,
                        ip=ip, restart_policy=restart_policy))
    ends = [c.runs[-1].end for c in pod.containers if c.runs]
    completed = max(ends) + SECOND if ends and all(e is not None for e in ends) else None
    return {"name": name, "uid": uid, "start": start, "pod": pod, "completed": completed,
            "labels": job_labels, "owner": owner, "annotations": annotations or {},
            "namespace": namespace, "specs": specs, "restart_policy": restart_policy}


def render_job(b, record):
    """The Job object, unless it was deleted before the capture, and the job controller's events."""
    if record.get("deleted") is None or record["deleted"] > b.end:
        b.add(_job_object(b, record))
    rec_ref = {"apiVersion": "batch/v1", "kind": "Job", "name": record["name"],
               "namespace": record["namespace"], "uid": record["uid"]}
    b.events.record(rec_ref, "SuccessfulCreate", f"Created pod: {record['pod'].name}",
                    [record["pod"].created], component="job-controller")
    if record["completed"]:
        b.events.record(rec_ref, "Completed", "Job completed", [record["completed"]],
                        component="job-controller")


def _retire_jobs(b, jobs, history):
    """Delete Jobs beyond the history limit (with their pods), then render those that remain."""
    for i, record in enumerate(jobs):
        newer_done = [j for j in jobs[i + 1:] if j["completed"]]
        if len(newer_done) >= history:
            record["deleted"] = newer_done[history - 1]["completed"] + SECOND
            record["pod"].deleted = record["deleted"]
            record["pod"].gone = record["deleted"] + SECOND
        render_job(b, record)


def _job_object(b, record):
    done = record["completed"] and record["completed"] <= b.end
    md = meta(b, record["name"], record["namespace"], record["start"], labels=record["labels"],
              uid=record["uid"], owner=record["owner"], generation=1,
              updated=record["completed"] if done else record["start"],
              annotations=record["annotations"])
    status = {"ready": 0 if done else 1, "startTime": iso(record["start"]), "terminating": 0,
              "uncountedTerminatedPods": {}}
    if done:
        status.update({"completionTime": iso(record["completed"]), "succeeded": 1, "conditions": [
            {"lastProbeTime": iso(record["completed"]), "lastTransitionTime": iso(record["completed"]),
             "message": "Reached expected number of succeeded pods", "reason": "CompletionsReached",
             "status": "True", "type": "SuccessCriteriaMet"},
            {"lastProbeTime": iso(record["completed"]), "lastTransitionTime": iso(record["completed"]),
             "message": "Reached expected number of succeeded pods", "reason": "CompletionsReached",
             "status": "True", "type": "Complete"}]})
    else:
        status["active"] = 1
    spec = {"backoffLimit": 2, "completionMode": "NonIndexed", "completions": 1,
            "manualSelector": False, "parallelism": 1, "podReplacementPolicy": "TerminatingOrFailed",
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": record["uid"]}},
            "suspend": False,
            "template": _template(record["labels"], {}, record["specs"],
                                  {"restartPolicy": record["restart_policy"]})}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": md, "spec": spec,
            "status": dict(sorted(status.items()))}


def hpa(b, namespace, name, target, *, created, min_replicas, max_replicas, target_cpu,
        current_cpu, current, desired, last_scale, conditions):
    md = meta(b, name, namespace, created, uid=b.ids.uid(), updated=b.end - 15 * SECOND)
    spec = {"maxReplicas": max_replicas, "metrics": [{"resource": {"name": "cpu", "target": {
        "averageUtilization": target_cpu, "type": "Utilization"}}, "type": "Resource"}],
        "minReplicas": min_replicas,
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target}}
    status = {"conditions": conditions, "currentMetrics": [{"resource": {"current": {
        "averageUtilization": current_cpu[0], "averageValue": current_cpu[1]}, "name": "cpu"},
        "type": "Resource"}], "currentReplicas": current, "desiredReplicas": desired}
    if last_scale:
        status["lastScaleTime"] = iso(last_scale)
    return b.add({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                  "metadata": md, "spec": spec, "status": status})
