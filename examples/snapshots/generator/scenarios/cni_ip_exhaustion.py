"""cni-ip-exhaustion: an HPA scale-up lands on a node group whose subnet has no free addresses.

data-prod ingests events in namespace `ingest`. The ingest-workers node group lives in one /24
subnet that other ENIs and the VPC CNI's warm pools (WARM_ENI_TARGET=1) have all but used up.
At 08:31 a partner's morning export quadruples traffic; the ingest-api HPA scales 4 -> 10 at
08:32:40 and 10 -> 14 at 08:36:10. Two new pods get addresses from the warm pools; the rest
stay in ContainerCreating with FailedCreatePodSandBox because ipamd cannot attach an ENI
(InsufficientFreeAddressesInSubnet), and three cannot be scheduled at all; the Cluster
Autoscaler's scale-up fails for the same reason. The running pods saturate, so ingest-api sheds
load and its p99 latency climbs. Decoys: image garbage collection failing on a system node, an
HPA metrics hiccup before the surge, schema-registry's JVM sawtooth and a chatty CronJob.
"""

from .. import cluster
from ..applogs import AppLog, ms_text, spring, zap
from ..bundle import Bundle
from ..clock import HOUR, MINUTE, SECOND, iso, ms
from ..events import ref
from ..k8s import container, env_value, http_probe
from ..model import Node, Run
from ..signals import MIB, Profile, diurnal, steady_service, wobble
from ..workloads import Deployment, completing_run, cronjob, hpa, service

CAPTURED = "2026-11-18T09:15:00Z"
SURGE = ms("2026-11-18T08:31:12Z")
RESCALE_1 = ms("2026-11-18T08:32:40Z")
RESCALE_2 = ms("2026-11-18T08:36:10Z")
SCALE_UP_TIMEOUT = 15 * MINUTE
CLUSTER_CREATED = ms("2024-09-02T16:20:00Z")
ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/data"
BASE_RATE = 2400.0  # requests/s into ingest-api before the surge
PER_CORE = 1090.0  # requests/s one core of ingest-api serves
CPU_LIMIT = 1.5
ASG = "eks-ingest-workers-5ec9a0e1-7d2b-4f1c-9a55-0e3c2b7f8a41"
SANDBOX_ERROR = ('Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup '
                 'network for sandbox "{sandbox}": plugin type="aws-cni" name="aws-cni" failed '
                 '(add): add cmd: failed to assign an IP address to container')


def build():
    b = Bundle("cni-ip-exhaustion", cluster="data-prod", region="us-east-1", captured_at=CAPTURED,
               seed=2, description="ingest-api scale-up stuck: subnet of node group ingest-workers "
                                   "has no free IP addresses (VPC CNI)")
    cluster.setup_identity(b, "1.33")
    b.launch_templates = {"ingest-workers": "lt-0" + b.ids.hex(16), "system": "lt-0" + b.ids.hex(16)}
    scenario = Ingest(b)
    scenario.build()
    return b


def traffic(t):
    """ingest-api demand: a gentle daily curve, then the partner export from 08:31 on."""
    surge = 1.0 + 3.0 * min(1.0, max(0.0, (t - SURGE) / (6 * MINUTE)))
    return BASE_RATE * diurnal(t, 15.0, 0.25) / diurnal(SURGE, 15.0, 0.25) * surge \
        * (1 + 0.025 * wobble(t, 13 * MINUTE, 1.1))


class Ingest:
    def __init__(self, b):
        self.b = b
        self.subnet_a = "subnet-0" + b.ids.hex(16)
        self.nodes = self._nodes()
        self.w1, self.w2, self.w3, self.s1, self.s2 = self.nodes
        self.workers = [self.w1, self.w2, self.w3]
        self.api_pods, self.stuck, self.pending = [], [], []
        self.sandbox_retries = {}  # pod name -> times the kubelet retried its sandbox

    def build(self):
        b = self.b
        cluster.add_nodes(b, self.nodes)
        cluster.add_namespaces(b, ["ingest"], CLUSTER_CREATED, ["ingest"])
        # A worker's pool is what ipamd got before the subnet ran dry: filled in below, once
        # the pods that hold its addresses are known.
        eni_cap = {}
        cluster.add_system_pods(b, CLUSTER_CREATED, aws_node_extra=self._ipamd_errors,
                                coredns_nodes=[self.s1, self.s2], eni_cap=eni_cap)
        self._enricher()
        self._ingest_api()
        self._stream_processor()
        self._schema_registry()
        self._compaction()
        self._cluster_autoscaler()
        for node in self.workers:
            eni_cap[node.name] = sum(1 for p in b.pods if p.node is node and p.ip
                                     and p.ip != node.ip and p.exists_at(b.end))
        self._decoy_events()
        b.service("ingest", "ingest-api", self._api_signals)
        b.service("ingest", "schema-registry", steady_service(lambda t: 310 * diurnal(t, 15, 0.2), 0.004))
        self._eks()
        cluster.cost_report(b, {
            "Amazon Elastic Compute Cloud - Compute": 288.0, "EC2 - Other": 41.5,
            "Amazon Elastic Container Service for Kubernetes": 2.4,
            "Amazon Managed Streaming for Apache Kafka": 96.0,
            "Amazon Virtual Private Cloud": 8.9, "AmazonCloudWatch": 11.2,
            "Amazon Simple Storage Service": 22.7, "AWS Data Transfer": 17.3,
            "Amazon Elastic Load Balancing": 4.6})
        b.expected = self._expected()

    def _nodes(self):
        def node(ip, zone, zone_id, group, itype, subnet, created, **kw):
            name = "ip-" + ip.replace(".", "-") + ".ec2.internal"
            return Node(name=name, ip=ip, zone=zone, zone_id=zone_id, nodegroup=group,
                        instance_type=itype, capacity_type="ON_DEMAND", created=created,
                        subnet=subnet, labels={"workload": group.split("-")[0]}, **kw)
        rotated = ms("2026-11-10T03:12:40Z")
        return [
            node("10.40.8.21", "us-east-1a", "use1-az4", "ingest-workers", "m6i.2xlarge",
                 "10.40.8.0/24", rotated),
            node("10.40.8.87", "us-east-1a", "use1-az4", "ingest-workers", "m6i.2xlarge",
                 "10.40.8.0/24", rotated + 4 * MINUTE),
            node("10.40.8.143", "us-east-1a", "use1-az4", "ingest-workers", "m6i.2xlarge",
                 "10.40.8.0/24", rotated + 8 * MINUTE),
            node("10.40.33.12", "us-east-1b", "use1-az6", "system", "m6i.large", "10.40.32.0/20",
                 ms("2026-11-03T11:40:02Z"), filesystem_percent=86.4),
            node("10.40.50.201", "us-east-1c", "use1-az1", "system", "m6i.large", "10.40.48.0/20",
                 ms("2026-11-03T11:44:51Z")),
        ]

    # --- ingest-api and its scale-up ------------------------------------------------------

    def _api_spec(self):
        return container("ingest-api", f"{ECR}/ingest-api:4.11.2",
                         requests={"cpu": "1", "memory": "512Mi"},
                         limits={"cpu": "1500m", "memory": "1Gi"}, ports=[("http", 8080)],
                         env=[env_value("KAFKA_BROKERS", "b-1.data-prod.kafka.us-east-1.amazonaws.com:9098"),
                              env_value("MAX_INFLIGHT", "2048")],
                         probes={"readinessProbe": http_probe("/readyz", 8080, period=5),
                                 "livenessProbe": http_probe("/livez", 8080, period=10)})

    def _ingest_api(self):
        b = self.b
        dep = Deployment(b, "ingest", "ingest-api", replicas=14, created=ms("2024-09-12T10:00:00Z"),
                         labels={"app.kubernetes.io/part-of": "ingest"})
        rev = dep.revision(23, ms("2026-11-12T15:31:07Z"), [self._api_spec()],
                           pod_labels={"app.kubernetes.io/part-of": "ingest",
                                       "app.kubernetes.io/version": "4.11.2"},
                           pod_spec={"nodeSelector": {"workload": "ingest"}},
                           change_cause="release ingest-api 4.11.2")
        old_nodes = [self.w1, self.w2, self.w3, self.w1]
        for i, node in enumerate(old_nodes):
            start = ms("2026-11-12T15:31:20Z") + i * 25 * SECOND
            self._api_pod(dep, rev, node, start - 3 * SECOND, start)
        # The first scale-up: two pods get an address left in a warm pool, four do not.
        for i, (node, gets_ip) in enumerate(((self.w1, True), (self.w2, True), (self.w3, False),
                                             (self.w1, False), (self.w2, False), (self.w3, False))):
            created = RESCALE_1 + 400 + i * 30
            if gets_ip:
                self._api_pod(dep, rev, node, created, created + int(3.4 * SECOND))
            else:
                self._stuck_pod(dep, rev, node, created)
        created = RESCALE_2 + 350
        self._stuck_pod(dep, rev, self.w3, created)
        message = ("0/5 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, "
                   "3 Insufficient cpu. preemption: 0/5 nodes are available: 2 Preemption is not "
                   "helpful for scheduling, 3 No preemption victims found for incoming pod.")
        for i in range(3):
            self.pending.append(dep.pod(rev, None, created + (i + 1) * 25, {},
                                        unschedulable=("Unschedulable", message)))
        dep.finish(generation=58, progressing=self._progressing(rev))
        self.api = dep
        self._hpa()
        service(b, "ingest", "ingest-api", dep.pods(), port=80, target_port=8080,
                created=ms("2024-09-12T10:00:00Z"))

    def _api_pod(self, dep, rev, node, created, start):
        pod = dep.pod(rev, node, created, {"ingest-api": {
            "runs": [Run(start, ready_after=4 * SECOND)],
            "profile": Profile(0.0, 210 * MIB, cpu_limit=CPU_LIMIT, hook=self._api_load,
                               rx=1.0, tx=1.0, noise=0.04, drift_since=self.b.start),
            "logs": self._api_logs}}, ip=self.b.pod_ip(node))
        self.api_pods.append(pod)
        return pod

    def _stuck_pod(self, dep, rev, node, created):
        pod = dep.pod(rev, node, created, {})
        self.stuck.append(pod)
        times, t, rng = [], created + 3 * SECOND, self.b.rng_for(f"sandbox/{pod.name}")
        while t < self.b.end:
            times.append(t)
            t += int(rng.uniform(14, 24) * SECOND)
        # The event recorder folds the eleventh and later near-identical events into one.
        target = ref(pod)
        for t in times[:10]:
            self.b.events.record(target, "FailedCreatePodSandBox",
                                 SANDBOX_ERROR.format(sandbox=self.b.ids.hex(64)), [t],
                                 type="Warning", host=node.name)
        if len(times) > 10:
            self.b.events.record(target, "FailedCreatePodSandBox",
                                 "(combined from similar events): "
                                 + SANDBOX_ERROR.format(sandbox=self.b.ids.hex(64)), times[10:],
                                 type="Warning", host=node.name)
        self.sandbox_retries[pod.name] = times
        return pod

    def running_api(self, t):
        return [p for p in self.api_pods if p.containers[0].ready_at(t)] or self.api_pods[:1]

    def _api_load(self, t, i, run, out, rng):
        per_pod = traffic(t) / len(self.running_api(t))
        need = per_pod / PER_CORE
        out["cpu_usage_cores"] = min(CPU_LIMIT, need * (1 + rng.gauss(0, 0.03)))
        busy = need / CPU_LIMIT
        out["cpu_throttled_ratio"] = min(0.97, max(0.0, 0.02 + 1.6 * max(0.0, busy - 0.55) ** 2
                                                   + rng.gauss(0, 0.005)))
        served = min(per_pod, CPU_LIMIT * PER_CORE)
        out["network_rx_bytes_per_second"] = served * 1450 * (1 + rng.gauss(0, 0.03))
        out["network_tx_bytes_per_second"] = served * 210 * (1 + rng.gauss(0, 0.03))
        out["memory_working_set_bytes"] += 120 * MIB * min(1.0, busy)

    def _api_signals(self, t, rng):
        demand = traffic(t) * (1 + rng.gauss(0, 0.015))
        capacity = len(self.running_api(t)) * CPU_LIMIT * PER_CORE
        rho = min(0.995, demand / capacity)
        shed = max(0.0, 1.0 - capacity * 0.97 / demand)
        wait = 1.0 / (1.0 - rho)
        return {"request_rate": demand,
                "error_rate": min(1.0, 0.0004 + shed + abs(rng.gauss(0, 0.0002))),
                "latency_p50_seconds": min(2.0, 0.006 * wait ** 0.5) * rng.lognormvariate(0, 0.04),
                "latency_p90_seconds": min(4.0, 0.014 * wait ** 0.8) * rng.lognormvariate(0, 0.06),
                "latency_p99_seconds": min(5.0, 0.038 * wait) * rng.lognormvariate(0, 0.1)}

    def _progressing(self, rev):
        return {"lastTransitionTime": iso(RESCALE_1 + 400), "lastUpdateTime": iso(RESCALE_2 + 350),
                "message": f'ReplicaSet "{rev.rs_name}" is progressing.',
                "reason": "ReplicaSetUpdated", "status": "True", "type": "Progressing"}

    def _hpa(self):
        b = self.b
        obj = hpa(b, "ingest", "ingest-api", "ingest-api", created=ms("2024-09-12T10:00:00Z"),
                  min_replicas=4, max_replicas=14, target_cpu=65, current_cpu=(146, "1460m"),
                  current=14, desired=14, last_scale=RESCALE_2, conditions=[
                      {"lastTransitionTime": iso(RESCALE_2 + 15 * SECOND),
                       "message": "recommended size matches current size", "reason": "ReadyForNewScale",
                       "status": "True", "type": "AbleToScale"},
                      {"lastTransitionTime": iso(ms("2026-11-12T15:33:00Z")),
                       "message": "the HPA was able to successfully calculate a replica count from "
                                  "cpu resource utilization (percentage of request)",
                       "reason": "ValidMetricFound", "status": "True", "type": "ScalingActive"},
                      {"lastTransitionTime": iso(RESCALE_2 + 15 * SECOND),
                       "message": "the desired replica count is more than the maximum replica count",
                       "reason": "TooManyReplicas", "status": "True", "type": "ScalingLimited"}])
        for t, size in ((RESCALE_1, 10), (RESCALE_2, 14)):
            b.events.record(ref(obj), "SuccessfulRescale",
                            f"New size: {size}; reason: cpu resource utilization (percentage of "
                            "request) above target", [t], component="horizontal-pod-autoscaler")
        self.hpa = obj

    # --- everything else in the namespace -------------------------------------------------

    def _stream_processor(self):
        b = self.b
        dep = Deployment(b, "ingest", "stream-processor", replicas=3,
                         created=ms("2024-09-12T10:05:00Z"),
                         labels={"app.kubernetes.io/part-of": "ingest"})
        spec = container("stream-processor", f"{ECR}/stream-processor:2.8.5",
                         requests={"cpu": "2", "memory": "3Gi"}, limits={"memory": "4Gi"},
                         env=[env_value("JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=70.0")])
        rev = dep.revision(17, ms("2026-11-05T09:12:00Z"), [spec],
                           pod_labels={"app.kubernetes.io/part-of": "ingest"},
                           pod_spec={"nodeSelector": {"workload": "ingest"}},
                           change_cause="release stream-processor 2.8.5")
        for i, node in enumerate(self.workers):
            start = node.created + (6 + i) * MINUTE
            dep.pod(rev, node, start - 5 * SECOND, {"stream-processor": {
                "runs": [Run(start, ready_after=30 * SECOND)],
                "profile": Profile(1.1, 2.3 * 2**30, load=lambda t: min(1.6, traffic(t) / BASE_RATE),
                                   saw_bytes=300 * MIB, saw_period=7 * MINUTE, rx=2_100_000,
                                   tx=1_900_000, phase=0.3 * i),
                "logs": AppLog(spring("stream-processor"), templates=[
                    (5, "INFO", "c.d.stream.ConsumerLoop", lambda rng, t: (
                        f"committed offsets for {rng.randrange(6, 12)} partitions, lag "
                        f"{rng.randrange(200, 4000) if t < SURGE else rng.randrange(40_000, 180_000)}"))],
                    per_minute=0.8)}}, ip=b.pod_ip(node))
        dep.finish()
        sp = hpa(b, "ingest", "stream-processor", "stream-processor", created=ms("2024-09-12T10:05:00Z"),
                 min_replicas=3, max_replicas=6, target_cpu=80, current_cpu=(71, "1420m"),
                 current=3, desired=3, last_scale=None, conditions=[
                     {"lastTransitionTime": iso(ms("2026-11-18T08:21:40Z")), "message":
                      "recommended size matches current size", "reason": "ReadyForNewScale",
                      "status": "True", "type": "AbleToScale"},
                     {"lastTransitionTime": iso(ms("2026-11-18T08:21:40Z")), "message":
                      "the HPA was able to successfully calculate a replica count from cpu "
                      "resource utilization (percentage of request)", "reason": "ValidMetricFound",
                      "status": "True", "type": "ScalingActive"},
                     {"lastTransitionTime": iso(ms("2026-11-05T09:15:00Z")), "message":
                      "the desired count is within the acceptable range",
                      "reason": "DesiredWithinRange", "status": "False", "type": "ScalingLimited"}])
        self.sp_hpa = sp

    def _enricher(self):
        """Small geo-IP enrichment pods: many addresses per worker, little CPU."""
        b = self.b
        dep = Deployment(b, "ingest", "enricher", replicas=9, created=ms("2025-02-11T10:00:00Z"),
                         labels={"app.kubernetes.io/part-of": "ingest"})
        spec = container("enricher", f"{ECR}/enricher:1.3.0",
                         requests={"cpu": "100m", "memory": "128Mi"}, limits={"memory": "256Mi"},
                         ports=[("grpc", 9090)])
        rev = dep.revision(8, ms("2026-10-28T14:00:00Z"), [spec],
                           pod_labels={"app.kubernetes.io/part-of": "ingest"},
                           pod_spec={"nodeSelector": {"workload": "ingest"}})
        for i in range(9):
            node = self.workers[i % 3]
            start = node.created + (10 + i) * MINUTE
            dep.pod(rev, node, start - 3 * SECOND, {"enricher": {
                "runs": [Run(start, ready_after=2 * SECOND)],
                "profile": Profile(0.04, 61 * MIB, noise=0.12, rx=90_000, tx=95_000),
                "logs": AppLog(zap, templates=[(1, "INFO", "geo/db.go:51", lambda rng, t: (
                    "geoip database up to date", {"build": "2026-11-17"}))], per_minute=0.1)}},
                    ip=b.pod_ip(node))
        dep.finish()

    def _schema_registry(self):
        b = self.b
        dep = Deployment(b, "ingest", "schema-registry", replicas=2, created=ms("2024-09-12T09:40:00Z"),
                         labels={"app.kubernetes.io/part-of": "ingest"})
        spec = container("schema-registry", "confluentinc/cp-schema-registry:7.7.1",
                         requests={"cpu": "250m", "memory": "1Gi"}, limits={"memory": "1536Mi"},
                         ports=[("http", 8081)],
                         probes={"readinessProbe": http_probe("/subjects", 8081, period=10)})
        rev = dep.revision(5, ms("2026-10-21T10:00:00Z"), [spec],
                           pod_labels={"app.kubernetes.io/part-of": "ingest"})
        pods = []
        for i, node in enumerate((self.s1, self.s2)):
            start = node.created + 9 * MINUTE
            # The JVM sawtooth and its slow creep: nothing to do with the incident.
            pods.append(dep.pod(rev, node, start - 5 * SECOND, {"schema-registry": {
                "runs": [Run(start, ready_after=25 * SECOND)],
                "profile": Profile(0.09, 690 * MIB, saw_bytes=260 * MIB, saw_period=9 * MINUTE,
                                   mem_per_hour=9 * MIB, drift_since=b.start - 20 * HOUR,
                                   rx=60_000, tx=90_000, phase=0.5 * i),
                "logs": AppLog(spring("schema-registry"), templates=[
                    (3, "INFO", "i.c.k.s.rest.RequestLogFilter", lambda rng, t:
                     '"GET /subjects/ingest-events-value/versions/latest HTTP/1.1" 200 '
                     f"{rng.randrange(800, 1300)}"),
                    (1, "INFO", "o.a.k.c.c.i.AbstractCoordinator", lambda rng, t:
                     "[Schema registry clientId=sr-1, groupId=schema-registry] Successfully joined group")],
                    per_minute=0.5)}}, ip=b.pod_ip(node)))
        dep.finish()
        service(b, "ingest", "schema-registry", pods, port=8081, target_port=8081,
                created=ms("2024-09-12T09:40:00Z"))

    def _compaction(self):
        b = self.b
        spec = container("compaction", f"{ECR}/compaction:0.9.3",
                         requests={"cpu": "300m", "memory": "512Mi"}, limits={"memory": "1Gi"})
        run_for = completing_run("compaction", (200, 320), Profile(
            0.6, 400 * MIB, noise=0.2, rx=3_000_000, tx=2_000_000), _compaction_logs)
        cronjob(b, "ingest", "compaction", schedule="5 * * * *", every_minutes=60,
                created=ms("2025-01-20T12:00:00Z"), specs=[spec], run_for=run_for,
                node_for=lambda i: (self.s1, self.s2)[i % 2],
                ip_for=lambda i: b.pod_ip((self.s1, self.s2)[i % 2]))

    def _cluster_autoscaler(self):
        b = self.b
        dep = Deployment(b, "kube-system", "cluster-autoscaler", replicas=1,
                         created=ms("2024-09-03T09:00:00Z"),
                         labels={"app.kubernetes.io/instance": "cluster-autoscaler"})
        spec = container("cluster-autoscaler",
                         "registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.1",
                         requests={"cpu": "100m", "memory": "300Mi"}, limits={"memory": "600Mi"},
                         command=["./cluster-autoscaler", "--cloud-provider=aws",
                                  "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,"
                                  "k8s.io/cluster-autoscaler/data-prod",
                                  "--max-node-provision-time=15m", "--expander=least-waste"])
        rev = dep.revision(6, ms("2026-10-01T08:00:00Z"), [spec],
                           pod_spec={"serviceAccountName": "cluster-autoscaler",
                                     "priorityClassName": "system-cluster-critical"})
        start = self.s1.created + 3 * MINUTE
        dep.pod(rev, self.s1, start - 4 * SECOND, {"cluster-autoscaler": {
            "runs": [Run(start, ready_after=2 * SECOND)],
            "profile": Profile(0.02, 58 * MIB, noise=0.2),
            "logs": self._autoscaler_logs}}, ip=b.pod_ip(self.s1))
        dep.finish()
        trigger = RESCALE_2 + 15 * SECOND
        for pod in self.pending:
            b.events.record(ref(pod), "FailedScheduling", pod.unschedulable[1],
                            _retries(pod.created + SECOND, b.end, [1, 2, 4, 8, 16, 60, 120, 300]),
                            type="Warning", component="default-scheduler")
            b.events.record(ref(pod), "TriggeredScaleUp",
                            f"pod triggered scale-up: [{{{ASG} 3->5 (max: 8)}}]", [trigger],
                            component="cluster-autoscaler")
            b.events.record(ref(pod), "NotTriggerScaleUp",
                            "pod didn't trigger scale-up: 2 node(s) didn't match Pod's node "
                            "affinity/selector, 1 in backoff after failed scale-up",
                            list(range(trigger + SCALE_UP_TIMEOUT + 30 * SECOND, b.end, MINUTE)),
                            component="cluster-autoscaler")

    def _decoy_events(self):
        b = self.b
        cluster.node_event(b, self.s1, "FreeDiskSpaceFailed",
                           "Failed to garbage collect required amount of images. Attempted to free "
                           "4172186828 bytes, but only found 0 bytes eligible to free.",
                           [ms("2026-11-18T07:58:12Z"), ms("2026-11-18T08:23:12Z"),
                            ms("2026-11-18T08:48:12Z")])
        b.events.record(ref(self.sp_hpa), "FailedGetResourceMetric",
                        "failed to get cpu utilization: unable to get metrics for resource cpu: "
                        "unable to fetch metrics from resource metrics API: the server is "
                        "currently unable to handle the request (get pods.metrics.k8s.io)",
                        [ms("2026-11-18T08:19:41Z") + k * 30 * SECOND for k in range(4)],
                        type="Warning", component="horizontal-pod-autoscaler")

    # --- logs -----------------------------------------------------------------------------

    def _api_logs(self, pod, c, i, run, rng, window):
        def shedding(pod, c, i, run, rng, window):
            rows = []
            for t in range(max(run.start, SURGE), window[1], MINUTE):
                per_pod = traffic(t) / len(self.running_api(t))
                if per_pod > CPU_LIMIT * PER_CORE * 0.9:
                    rows.append((t + rng.randrange(MINUTE), "WARN", "server/limiter.go:77",
                                 "shedding load: in-flight limit reached",
                                 {"inflight": 2048, "rejected_last_60s": int(
                                     max(0.0, per_pod - CPU_LIMIT * PER_CORE * 0.97) * 60)}))
            return rows
        return AppLog(zap, templates=[
            (10, "INFO", "server/batch.go:142", lambda rng, t: ("batch accepted", {
                "events": rng.randrange(50, 500), "partition": rng.randrange(48),
                "duration_ms": ms_text(rng, 9 if t < SURGE else 60)})),
            (1, "INFO", "kafka/producer.go:88", lambda rng, t: ("producer stats", {
                "acks_pending": rng.randrange(0, 40), "batches_per_s": rng.randrange(300, 900)}))],
            per_minute=1.0, extra=shedding)(pod, c, i, run, rng, window)

    def _ipamd_errors(self, pod, run, rng, window):
        if pod.node not in self.workers:
            return []
        node, rows = pod.node, []
        stuck = [p for p in self.stuck if p.node is node]
        t = RESCALE_1 + 2 * SECOND
        while t < window[1]:
            rows.append((t, _zap_line(t, "error", "ipamd/ipamd.go:836",
                                      "Failed to increase pool size due to not able to allocate ENI "
                                      "AllocENI: error attaching ENI: failed to create ENI: "
                                      "InsufficientFreeAddressesInSubnet: There are not enough free "
                                      f"addresses in subnet '{self.subnet_a}' to satisfy the "
                                      "requested number of addresses.\\n\\tstatus code: 400, "
                                      f"request id: {self.b.ids.uid()}", rng)))
            t += int(rng.uniform(55, 75) * SECOND)
        for p in stuck:
            for t in self.sandbox_retries[p.name]:
                rows.append((t - 880, _zap_line(t - 880, "error", "datastore/data_store.go:713",
                                                "AssignPodIPv4Address: no available IP/Prefix "
                                                f"addresses for pod {p.namespace}/{p.name}", rng)))
        return rows

    def _autoscaler_logs(self, pod, c, i, run, rng, window):
        rows, t = [], window[0]
        while t < window[1]:
            rows.append((t, _klog("I", t, "static_autoscaler.go:290", "Starting main loop", rng)))
            t += MINUTE + rng.randrange(2000)
        trigger = RESCALE_2 + 15 * SECOND
        rows += [
            (trigger, _klog("I", trigger, "scale_up.go:477", f"Best option to resize: {ASG}", rng)),
            (trigger + 40, _klog("I", trigger + 40, "scale_up.go:620",
                                 f"Final scale-up plan: [{{{ASG} 3->5 (max: 8)}}]", rng)),
            (trigger + 90, _klog("I", trigger + 90, "auto_scaling_groups.go:254",
                                 f"Setting asg {ASG} size to 5", rng)),
        ]
        for k in range(3):
            at = trigger + (70 + 240 * k) * SECOND
            rows.append((at, _klog("W", at, "auto_scaling_groups.go:429",
                                   f"Instance group {ASG} has unfulfillable scaling activity: There are "
                                   f"not enough free addresses in subnet '{self.subnet_a}' to satisfy "
                                   "the requested number of instances. Launching EC2 instance failed.", rng)))
        timeout = trigger + SCALE_UP_TIMEOUT + 1200
        rows += [(timeout, _klog("W", timeout, "clusterstate.go:265",
                                 f"Scale-up timed out for node group {ASG} after 15m1.2s", rng)),
                 (timeout + 30, _klog("W", timeout + 30, "clusterstate.go:295",
                                      f"Disabling scale-up for node group {ASG} until "
                                      f"{iso(timeout + 5 * MINUTE).replace('T', ' ').replace('Z', '')} "
                                      "+0000 UTC; errorClass=Other; errorCode=timeout", rng))]
        return rows

    # --- AWS view and the answer ----------------------------------------------------------

    def _eks(self):
        b = self.b
        subnets = [
            {"SubnetId": self.subnet_a, "CidrBlock": "10.40.8.0/24", "AvailabilityZone": "us-east-1a",
             "AvailableIpAddressCount": 0},
            {"SubnetId": "subnet-0" + b.ids.hex(16), "CidrBlock": "10.40.32.0/20",
             "AvailabilityZone": "us-east-1b", "AvailableIpAddressCount": 3871},
            {"SubnetId": "subnet-0" + b.ids.hex(16), "CidrBlock": "10.40.48.0/20",
             "AvailabilityZone": "us-east-1c", "AvailableIpAddressCount": 3902}]
        issue = {"code": "InsufficientFreeAddresses",
                 "message": "One or more of the subnets associated with your node group does not "
                            "have enough available IP addresses for new nodes.",
                 "resourceIds": [self.subnet_a]}
        cluster.eks_view(b, created=CLUSTER_CREATED, endpoint_public=False,
                         logging_enabled=["api", "audit", "authenticator", "controllerManager",
                                          "scheduler"],
                         vpc="vpc-0" + b.ids.hex(16), subnets=subnets, nodegroups=[
                             {"name": "ingest-workers", "created": ms("2024-09-02T17:00:00Z"),
                              "modified": ms("2026-11-10T03:10:00Z"), "capacity_type": "ON_DEMAND",
                              "min": 3, "max": 8, "desired": 5, "instance_types": ["m6i.2xlarge"],
                              "subnets": [self.subnet_a], "labels": {"workload": "ingest"},
                              "asg": ASG, "status": "DEGRADED", "issues": [issue]},
                             {"name": "system", "created": ms("2024-09-02T17:00:00Z"),
                              "modified": ms("2026-11-03T11:38:00Z"), "capacity_type": "ON_DEMAND",
                              "min": 2, "max": 3, "desired": 2, "instance_types": ["m6i.large"],
                              "subnets": [s["SubnetId"] for s in subnets[1:]],
                              "labels": {"workload": "system"}}],
                         addons=cluster.standard_addons(
                             b, CLUSTER_CREATED,
                             cni_config='{"env":{"WARM_ENI_TARGET":"1","ENABLE_PREFIX_DELEGATION":"false",'
                                        '"AWS_VPC_K8S_CNI_LOG_FILE":"stdout"}}'))

    def _expected(self):
        first_failure = min(min(ts) for ts in self.sandbox_retries.values())
        symptom = self.b.first_above("ingest-api", "latency_p99_seconds", 0.5)
        return {
            "scenario": self.b.name, "cluster": self.b.cluster, "captured_at": iso(self.b.end),
            "root_cause": {
                "kind": "ip-exhaustion",
                "component": {"kind": "Subnet", "name": self.subnet_a, "nodegroup": "ingest-workers",
                              "cidr": "10.40.8.0/24"},
                "summary": "the ingest-workers node group's only subnet has no free IPv4 addresses, "
                           "so the VPC CNI cannot give new pods an address (ipamd: "
                           "InsufficientFreeAddressesInSubnet) and new nodes cannot launch",
                "onset": iso(first_failure),
                "trigger": {"kind": "HorizontalPodAutoscaler", "namespace": "ingest",
                            "name": "ingest-api", "at": iso(RESCALE_1),
                            "scaled": ["4->10 at " + iso(RESCALE_1), "10->14 at " + iso(RESCALE_2)]},
                "first_failure": iso(first_failure),
                "failure": {"reason": "FailedCreatePodSandBox",
                            "message": "failed to assign an IP address to container",
                            "pods_without_ip": len(self.stuck), "pods_unschedulable": len(self.pending)},
            },
            "symptoms": [
                {"kind": "Service", "namespace": "ingest", "name": "ingest-api",
                 "signal": "latency_p99_seconds", "onset": iso(symptom)},
                {"kind": "Service", "namespace": "ingest", "name": "ingest-api",
                 "signal": "error_rate",
                 "onset": iso(self.b.first_above("ingest-api", "error_rate", 0.01))},
            ],
            "pods": sorted(p.name for p in self.stuck + self.pending),
            "evidence": [
                {"kind": "event", "reason": "FailedCreatePodSandBox", "object_prefix": "ingest-api",
                 "message_contains": "failed to assign an IP address to container"},
                {"kind": "event", "reason": "SuccessfulRescale", "object_prefix": "ingest-api",
                 "message_contains": "New size: 10"},
                {"kind": "event", "reason": "FailedScheduling", "object_prefix": "ingest-api",
                 "message_contains": "Insufficient cpu"},
                {"kind": "container", "namespace": "ingest", "pod_prefix": "ingest-api",
                 "state": "waiting", "reason": "ContainerCreating"},
                {"kind": "field", "object_kind": "HorizontalPodAutoscaler", "namespace": "ingest",
                 "name": "ingest-api", "path": "status.conditions[type=ScalingLimited].reason",
                 "equals": "TooManyReplicas"},
                {"kind": "log", "path_contains": "aws-node", "contains": "InsufficientFreeAddressesInSubnet"},
                {"kind": "log", "path_contains": "cluster-autoscaler",
                 "contains": "not enough free addresses in subnet"},
                {"kind": "metric", "family": "service", "name": "latency_p99_seconds",
                 "labels": {"service": "ingest-api"}, "at": iso(RESCALE_1), "factor": 4.0},
                {"kind": "metric", "family": "workload", "name": "cpu_throttled_ratio",
                 "labels": {"workload": "ingest-api"}, "at": iso(RESCALE_1), "factor": 3.0},
            ],
            "decoys": [
                {"component": {"kind": "Node", "name": self.s1.name}, "kind": "image-gc-warning",
                 "note": "FreeDiskSpaceFailed on a system node; no ingest pods run there"},
                {"component": {"kind": "HorizontalPodAutoscaler", "namespace": "ingest",
                               "name": "stream-processor"}, "kind": "metrics-api-blip",
                 "note": "FailedGetResourceMetric for two minutes before the surge"},
                {"component": {"kind": "Deployment", "namespace": "ingest", "name": "schema-registry"},
                 "kind": "jvm-memory-sawtooth", "note": "sawtooth with slow growth; no restarts"},
                {"component": {"kind": "CronJob", "namespace": "ingest", "name": "compaction"},
                 "kind": "noisy-cronjob", "note": "warnings every hour, jobs complete"},
            ],
        }


def _retries(start, end, gaps_seconds):
    times, t = [], start
    for gap in gaps_seconds + [300] * 100:
        if t >= end:
            break
        times.append(t)
        t += gap * SECOND
    return times


def _zap_line(t, level, caller, msg, rng):
    stamp = iso(t).replace("Z", f".{t % 1000:03d}Z")
    return f'{{"level":"{level}","ts":"{stamp}","caller":"{caller}","msg":"{msg}"}}'


def _klog(severity, t, where, msg, rng):
    text = iso(t)
    return (f"{severity}{text[5:7]}{text[8:10]} {text[11:19]}.{t % 1000:03d}{rng.randrange(1000):03d}"
            f"       1 {where}] {msg}")


def _compaction_logs(pod, c, i, run, rng, window):
    def line(t, level, msg):
        return (t, f"{iso(t)} {level} compaction {msg}")
    t = run.start + 600
    rows = [line(t, "INFO", "starting hourly compaction of s3://data-prod-lake/events/"),
            line(t + 40_000, "WARN", f"{rng.randrange(3, 19)} small files skipped: still being written"),
            line(t + 95_000, "WARN", "S3 SlowDown on PUT, backing off 800ms")]
    return rows + [line(run.end - 700, "INFO", f"compacted {rng.randrange(800, 2600)} files "
                                               f"into {rng.randrange(30, 90)}")]
