"""missing-configmap-key: a ConfigMap edit drops a key that a Deployment's env still references.

pay-prod runs payments in namespace `payments`. At 10:07:41 a config refactor renames
FRAUD_API_URL to FRAUD_SERVICE_URL in ConfigMap payments-config (kubectl apply; managedFields
and last-applied-configuration show it). Nothing happens until 10:12:30, when someone runs
`kubectl rollout restart` to pick the change up: the new ReplicaSet's pods fail with
CreateContainerConfigError because the Deployment's env still asks for FRAUD_API_URL. The old
pods keep serving, one fewer than before, so the error rate rises a little; at 10:22:31 the
rollout exceeds its progress deadline. Decoys: ledger-config changed at 09:41 without harm,
ledger's JVM sawtooth, and a chatty settlement-report CronJob.
"""

import json

from .. import cluster
from ..applogs import AppLog, ms_text, spring, spring_startup
from ..bundle import Bundle
from ..clock import HOUR, MINUTE, SECOND, iso, ms
from ..events import ref
from ..k8s import container, env_from_configmap, env_value, http_probe
from ..model import Node, Run
from ..signals import MIB, Profile, diurnal, steady_service, wobble
from ..workloads import Deployment, completing_run, configmap, cronjob, service

CAPTURED = "2026-11-17T11:00:00Z"
CONFIG_CHANGE = ms("2026-11-17T10:07:41Z")
LEDGER_CHANGE = ms("2026-11-17T09:41:12Z")
RESTART = ms("2026-11-17T10:12:30Z")
PROGRESS_DEADLINE = 600 * SECOND
CLUSTER_CREATED = ms("2024-05-06T08:00:00Z")
ECR = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/pay"
RATE = 118.0  # payment requests/s before the rollout
CORES_PER_REQUEST = 0.0175  # CPU seconds one payment costs (PSP TLS, fraud call, signing)
OLD_CONFIG = {
    "FRAUD_API_URL": "https://fraud.internal.pay.example/v2",
    "FRAUD_TIMEOUT_MS": "800",
    "PSP_ENDPOINT": "https://checkout-live.adyenpayments.com/checkout/v71",
    "application.yaml": "server:\n  shutdown: graceful\nmanagement:\n  endpoints:\n    web:\n"
                        "      exposure:\n        include: health,prometheus\n",
}
NEW_CONFIG = {
    "FRAUD_SERVICE_URL": "https://fraud.internal.pay.example/v2",
    "FRAUD_SERVICE_TIMEOUT_MS": "800",
    "PSP_ENDPOINT": OLD_CONFIG["PSP_ENDPOINT"],
    "application.yaml": OLD_CONFIG["application.yaml"],
}
MISSING = "couldn't find key FRAUD_API_URL in ConfigMap payments/payments-config"


def build():
    b = Bundle("missing-configmap-key", cluster="pay-prod", region="eu-central-1",
               captured_at=CAPTURED, seed=4,
               description="payments rollout stuck: ConfigMap payments-config lost key "
                           "FRAUD_API_URL; new pods fail with CreateContainerConfigError")
    cluster.setup_identity(b, "1.33")
    b.launch_templates = {"pay-general": "lt-0" + b.ids.hex(16)}
    Payments(b).build()
    return b


def payment_rate(t):
    return RATE * diurnal(t, 12.0, 0.3) * (1 + 0.04 * wobble(t, 9 * MINUTE, 0.7))


class Payments:
    def __init__(self, b):
        self.b = b
        self.nodes = self._nodes()
        self.failing, self.serving = [], []
        self.config_errors = []  # times the kubelet failed to create a payments container

    def build(self):
        b = self.b
        cluster.add_nodes(b, self.nodes)
        cluster.add_namespaces(b, ["payments"], CLUSTER_CREATED, ["payments"])
        cluster.add_system_pods(b, CLUSTER_CREATED)
        self._configmaps()
        self._payments()
        self._ledger()
        self._risk_cache()
        self._settlement_report()
        b.service("payments", "payments", self._payment_signals)
        self._eks()
        cluster.cost_report(b, {
            "Amazon Elastic Compute Cloud - Compute": 88.0, "EC2 - Other": 13.1,
            "Amazon Elastic Container Service for Kubernetes": 2.4,
            "Amazon Relational Database Service": 64.0, "AWS Key Management Service": 4.2,
            "Amazon Virtual Private Cloud": 3.9, "AmazonCloudWatch": 7.7,
            "AWS WAF": 5.5, "Amazon Elastic Load Balancing": 3.3})
        b.expected = self._expected()

    def _nodes(self):
        def node(ip, zone, zone_id, subnet, created):
            return Node(name="ip-" + ip.replace(".", "-") + ".eu-central-1.compute.internal",
                        ip=ip, zone=zone, zone_id=zone_id, nodegroup="pay-general",
                        instance_type="m6i.xlarge", capacity_type="ON_DEMAND", created=created,
                        subnet=subnet, labels={"workload": "general"})
        rotated = ms("2026-11-09T04:00:00Z")
        return [node("10.20.11.40", "eu-central-1a", "euc1-az2", "10.20.0.0/19", rotated),
                node("10.20.44.9", "eu-central-1b", "euc1-az3", "10.20.32.0/19", rotated + 6 * MINUTE),
                node("10.20.71.122", "eu-central-1c", "euc1-az1", "10.20.64.0/19", rotated + 12 * MINUTE)]

    # --- the change and the rollout -------------------------------------------------------

    def _configmaps(self):
        b = self.b
        applied = {"apiVersion": "v1", "data": NEW_CONFIG, "kind": "ConfigMap",
                   "metadata": {"annotations": {}, "name": "payments-config",
                                "namespace": "payments"}}
        self.config = configmap(
            b, "payments", "payments-config", NEW_CONFIG, created=ms("2024-05-13T09:00:00Z"),
            updated=CONFIG_CHANGE, labels={"app.kubernetes.io/name": "payments"},
            annotations={"kubectl.kubernetes.io/last-applied-configuration":
                         json.dumps(applied, separators=(",", ":"), sort_keys=True) + "\n"})
        ledger = {"LOG_LEVEL": "INFO", "POSTING_BATCH_SIZE": "500", "LEDGER_DB_POOL": "20"}
        configmap(b, "payments", "ledger-config", ledger, created=ms("2024-05-13T09:00:00Z"),
                  updated=LEDGER_CHANGE, manager="kubectl-edit",
                  labels={"app.kubernetes.io/name": "ledger"})

    def _payments_spec(self):
        return container(
            "payments", f"{ECR}/payments:9.4.2",
            requests={"cpu": "500m", "memory": "768Mi"}, limits={"cpu": "1", "memory": "1Gi"},
            ports=[("http", 8080)],
            env=[env_from_configmap("FRAUD_API_URL", "payments-config", "FRAUD_API_URL"),
                 env_from_configmap("PSP_ENDPOINT", "payments-config", "PSP_ENDPOINT"),
                 env_value("SPRING_PROFILES_ACTIVE", "prod"),
                 env_value("JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=70.0")],
            probes={"readinessProbe": http_probe("/actuator/health/readiness", 8080, period=5,
                                                 initial=15),
                    "livenessProbe": http_probe("/actuator/health/liveness", 8080, period=10,
                                                initial=40)},
            mounts=[{"mountPath": "/config", "name": "config", "readOnly": True}])

    def _payments(self):
        b = self.b
        dep = Deployment(b, "payments", "payments", replicas=4, created=ms("2024-05-13T09:05:00Z"),
                         labels={"app.kubernetes.io/part-of": "pay", "team": "payments"})
        volumes = {"volumes": [{"configMap": {"defaultMode": 420, "name": "payments-config"},
                                "name": "config"}],
                   "serviceAccountName": "payments"}
        labels = {"app.kubernetes.io/part-of": "pay", "app.kubernetes.io/version": "9.4.2"}
        old = dep.revision(14, ms("2026-11-12T14:20:00Z"), [self._payments_spec()],
                           pod_labels=labels, pod_spec=volumes, change_cause="release payments 9.4.2")
        new = dep.revision(15, RESTART, [self._payments_spec()], pod_labels=labels, pod_spec=volumes,
                           pod_annotations={"kubectl.kubernetes.io/restartedAt": iso(RESTART)},
                           change_cause="release payments 9.4.2")
        nodes = [self.nodes[0], self.nodes[1], self.nodes[2], self.nodes[0]]
        # maxSurge 1 and maxUnavailable 1: the new ReplicaSet gets one pod, the old one gives up
        # one, then the new one gets a second; neither new pod ever becomes available.
        for i, node in enumerate(nodes):
            start = max(ms("2026-11-12T14:20:10Z") + i * 35 * SECOND, node.created + 4 * MINUTE)
            deleted = RESTART + 1200 if i == 1 else None
            pod = dep.pod(old, node, start - 4 * SECOND, {"payments": {
                "runs": [Run(start, ready_after=24 * SECOND)],
                "profile": Profile(0.0, 610 * MIB, cpu_limit=1.0, hook=self._payments_load,
                                   saw_bytes=90 * MIB, saw_period=5 * MINUTE, rx=1.0, tx=1.0,
                                   phase=0.25 * i),
                "logs": self._payments_logs}}, ip=b.pod_ip(node), deleted=deleted)
            if deleted is None:
                self.serving.append(pod)
        for k, node in enumerate((self.nodes[1], self.nodes[2])):
            created = RESTART + 300 + k * 3500
            pod = dep.pod(new, node, created, {"payments": {"waiting": (
                "CreateContainerConfigError", MISSING)}}, ip=b.pod_ip(node))
            self.failing.append(pod)
            self._config_errors(pod)
        stalled = {"lastTransitionTime": iso(RESTART + 1300 + PROGRESS_DEADLINE),
                   "lastUpdateTime": iso(RESTART + 1300 + PROGRESS_DEADLINE),
                   "message": f'ReplicaSet "{new.rs_name}" has timed out progressing.',
                   "reason": "ProgressDeadlineExceeded", "status": "False", "type": "Progressing"}
        dep.finish(progressing=stalled, generation=41)
        self.deployment, self.old, self.new = dep, old, new
        service(b, "payments", "payments", dep.pods(), port=80, target_port=8080,
                created=ms("2024-05-13T09:05:00Z"))

    def _config_errors(self, pod):
        """The kubelet retries the container on every sync and fails the same way each time."""
        b, rng = self.b, self.b.rng_for(f"config-errors/{pod.name}")
        times, t = [], pod.created + 2 * SECOND
        while t < b.end:
            times.append(t)
            t += int(rng.uniform(12, 22) * SECOND)
        target = ref(pod, field_path="spec.containers{payments}")
        b.events.record(target, "Pulled", f'Container image "{ECR}/payments:9.4.2" already present '
                                          "on machine", [x - 30 for x in times], host=pod.node.name)
        b.events.record(target, "Failed", f"Error: {MISSING}", times, type="Warning",
                        host=pod.node.name)
        self.config_errors += times

    def serving_count(self, t):
        return sum(1 for p in self.deployment.pods()
                   if p.exists_at(t) and (p.deleted is None or t < p.deleted)
                   and all(c.ready_at(t) for c in p.containers))

    def _payments_load(self, t, i, run, out, rng):
        per_pod = payment_rate(t) / max(1, self.serving_count(t))
        cores = CORES_PER_REQUEST * per_pod
        out["cpu_usage_cores"] = min(1.0, cores * (1 + rng.gauss(0, 0.04)))
        out["cpu_throttled_ratio"] = min(0.9, max(0.0, 0.01 + 2.2 * max(0.0, cores - 0.6) ** 2
                                                  + rng.gauss(0, 0.004)))
        out["network_rx_bytes_per_second"] = per_pod * 2100 * (1 + rng.gauss(0, 0.03))
        out["network_tx_bytes_per_second"] = per_pod * 3300 * (1 + rng.gauss(0, 0.03))

    def _payment_signals(self, t, rng):
        serving = max(1, self.serving_count(t))
        util = min(0.97, CORES_PER_REQUEST * payment_rate(t) / serving)
        # Three pods carry what four did: queueing lifts the tail and some PSP calls time out.
        wait = 1.0 / (1.0 - util)
        return {"request_rate": payment_rate(t) * (1 + rng.gauss(0, 0.02)),
                "error_rate": max(0.0, 0.0005 + 0.02 * max(0.0, util - 0.7) + rng.gauss(0, 0.0002)),
                "latency_p50_seconds": 0.092 * wait ** 0.15 * rng.lognormvariate(0, 0.04),
                "latency_p90_seconds": 0.19 * wait ** 0.4 * rng.lognormvariate(0, 0.06),
                "latency_p99_seconds": 0.16 * wait ** 0.8 * rng.lognormvariate(0, 0.1)}

    def _payments_logs(self, pod, c, i, run, rng, window):
        def busy(pod, c, i, run, rng, window):
            rows, t = [], max(RESTART + 1200, window[0])
            while t < window[1]:
                t += int(rng.expovariate(1 / (150 * SECOND)))
                rows.append((t, "WARN", "c.p.payments.psp.AdyenClient",
                             f"PSP authorise took {ms_text(rng, 2300)} ms (timeout 3000 ms)", {}))
            return rows
        startup = spring_startup("payments", "9.4.2", "PaymentsApplication")
        return AppLog(spring("payments"), startup=startup,
                      templates=[
                          (8, "INFO", "c.p.payments.api.PaymentController", lambda rng, t:
                           f"payment {rng.getrandbits(48):012x} AUTHORISED amount="
                           f"{rng.uniform(5, 400):.2f} EUR in {ms_text(rng, 160)} ms"),
                          (1, "INFO", "c.p.payments.fraud.FraudClient", lambda rng, t:
                           f"fraud score {rng.uniform(0, 0.3):.2f} in {ms_text(rng, 45)} ms")],
                      per_minute=1.2, load=lambda t: payment_rate(t) / RATE,
                      extra=busy)(pod, c, i, run, rng, window)

    # --- bystanders -----------------------------------------------------------------------

    def _ledger(self):
        b = self.b
        dep = Deployment(b, "payments", "ledger", replicas=2, created=ms("2024-05-13T09:10:00Z"),
                         labels={"app.kubernetes.io/part-of": "pay"})
        spec = container("ledger", f"{ECR}/ledger:3.3.0", requests={"cpu": "300m", "memory": "1Gi"},
                         limits={"memory": "1536Mi"}, ports=[("http", 8080)],
                         env=[{"name": "LOG_LEVEL", "valueFrom": {"configMapKeyRef": {
                             "key": "LOG_LEVEL", "name": "ledger-config"}}},
                              env_value("JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=70.0")])
        rev = dep.revision(7, ms("2026-11-04T10:00:00Z"), [spec],
                           pod_labels={"app.kubernetes.io/part-of": "pay"})
        pods = []
        for i, node in enumerate(self.nodes[:2]):
            start = node.created + 8 * MINUTE
            pods.append(dep.pod(rev, node, start - 3 * SECOND, {"ledger": {
                "runs": [Run(start, ready_after=22 * SECOND)],
                "profile": Profile(0.15, 720 * MIB, saw_bytes=280 * MIB, saw_period=12 * MINUTE,
                                   mem_per_hour=8 * MIB, drift_since=b.start - 10 * HOUR,
                                   load=lambda t: payment_rate(t) / RATE, rx=120_000, tx=90_000,
                                   phase=0.4 * i),
                "logs": AppLog(spring("ledger"), templates=[
                    (1, "INFO", "c.p.ledger.PostingBatcher", lambda rng, t:
                     f"posted batch of {rng.randrange(300, 500)} entries")], per_minute=0.5)}},
                ip=b.pod_ip(node)))
        dep.finish()
        service(b, "payments", "ledger", pods, port=80, target_port=8080,
                created=ms("2024-05-13T09:10:00Z"))
        b.service("payments", "ledger", steady_service(
            lambda t: 0.9 * payment_rate(t), 0.011, errors=0.0002, p90=2.1, p99=5.5))

    def _risk_cache(self):
        b = self.b
        dep = Deployment(b, "payments", "risk-cache", replicas=1, created=ms("2024-05-13T09:00:00Z"),
                         labels={"app.kubernetes.io/part-of": "pay"}, max_surge="0",
                         max_unavailable="1")
        spec = container("redis", "public.ecr.aws/docker/library/redis:7.2.5-alpine",
                         requests={"cpu": "100m", "memory": "256Mi"}, limits={"memory": "512Mi"},
                         ports=[("redis", 6379)])
        rev = dep.revision(3, ms("2025-10-01T08:00:00Z"), [spec])
        node = self.nodes[2]
        start = node.created + 5 * MINUTE
        pods = [dep.pod(rev, node, start - 3 * SECOND, {"redis": {
            "runs": [Run(start, ready_after=SECOND)],
            "profile": Profile(0.03, 140 * MIB, rx=150_000, tx=210_000)}}, ip=b.pod_ip(node))]
        dep.finish()
        service(b, "payments", "risk-cache", pods, port=6379, target_port=6379,
                created=ms("2024-05-13T09:00:00Z"), port_name="redis")

    def _settlement_report(self):
        b = self.b
        spec = container("settlement-report", f"{ECR}/settlement-report:2.1.0",
                         requests={"cpu": "200m", "memory": "256Mi"}, limits={"memory": "512Mi"})
        run_for = completing_run("settlement-report", (40, 90), Profile(
            0.3, 180 * MIB, noise=0.2, rx=500_000, tx=200_000), _settlement_logs)
        cronjob(b, "payments", "settlement-report", schedule="*/20 * * * *", every_minutes=20,
                created=ms("2025-02-01T12:00:00Z"), specs=[spec], run_for=run_for,
                node_for=lambda i: self.nodes[i % 3], ip_for=lambda i: b.pod_ip(self.nodes[i % 3]))

    # --- AWS view and the answer ----------------------------------------------------------

    def _eks(self):
        b = self.b
        subnets = [{"SubnetId": "subnet-0" + b.ids.hex(16), "CidrBlock": cidr,
                    "AvailabilityZone": zone, "AvailableIpAddressCount": free}
                   for cidr, zone, free in (("10.20.0.0/19", "eu-central-1a", 8071),
                                            ("10.20.32.0/19", "eu-central-1b", 8066),
                                            ("10.20.64.0/19", "eu-central-1c", 8080))]
        cluster.eks_view(b, created=CLUSTER_CREATED, endpoint_public=False,
                         logging_enabled=["api", "audit", "authenticator"],
                         vpc="vpc-0" + b.ids.hex(16), subnets=subnets, nodegroups=[
                             {"name": "pay-general", "created": ms("2024-05-06T08:30:00Z"),
                              "modified": ms("2026-11-09T03:58:00Z"), "capacity_type": "ON_DEMAND",
                              "min": 3, "max": 6, "desired": 3, "instance_types": ["m6i.xlarge"],
                              "subnets": [s["SubnetId"] for s in subnets],
                              "labels": {"workload": "general"}}],
                         addons=cluster.standard_addons(b, CLUSTER_CREATED))

    def _expected(self):
        symptom = next(t for t in self.b.grid if t > RESTART and self.serving_count(t) < 4)
        return {
            "scenario": self.b.name, "cluster": self.b.cluster, "captured_at": iso(self.b.end),
            "root_cause": {
                "kind": "missing-config-key",
                "component": {"kind": "ConfigMap", "namespace": "payments", "name": "payments-config"},
                "key": "FRAUD_API_URL",
                "summary": "a config refactor renamed FRAUD_API_URL to FRAUD_SERVICE_URL in "
                           "ConfigMap payments-config while Deployment payments still reads "
                           "FRAUD_API_URL through configMapKeyRef; the restarted pods cannot start",
                "onset": iso(CONFIG_CHANGE),
                "change": {"kind": "ConfigMap update", "at": iso(CONFIG_CHANGE),
                           "manager": "kubectl-client-side-apply",
                           "removed_keys": ["FRAUD_API_URL", "FRAUD_TIMEOUT_MS"],
                           "added_keys": ["FRAUD_SERVICE_URL", "FRAUD_SERVICE_TIMEOUT_MS"]},
                "trigger": {"kind": "rollout restart", "at": iso(RESTART),
                            "replicaset": self.new.rs_name, "revision": 15},
                "first_failure": iso(min(self.config_errors)),
                "failure": {"reason": "CreateContainerConfigError", "message": MISSING,
                            "progress_deadline_exceeded_at": iso(RESTART + 1300 + PROGRESS_DEADLINE)},
            },
            "symptoms": [
                {"kind": "Deployment", "namespace": "payments", "name": "payments",
                 "signal": "ProgressDeadlineExceeded", "onset": iso(RESTART + 1300 + PROGRESS_DEADLINE)},
                {"kind": "Service", "namespace": "payments", "name": "payments",
                 "signal": "error_rate", "onset": iso(symptom)},
            ],
            "pods": sorted(p.name for p in self.failing),
            "evidence": [
                {"kind": "event", "reason": "Failed", "object_prefix": self.new.rs_name,
                 "message_contains": MISSING, "min_count": 20},
                {"kind": "container", "namespace": "payments", "pod_prefix": self.new.rs_name,
                 "state": "waiting", "reason": "CreateContainerConfigError"},
                {"kind": "field", "object_kind": "Deployment", "namespace": "payments",
                 "name": "payments", "path": "status.conditions[type=Progressing].reason",
                 "equals": "ProgressDeadlineExceeded"},
                {"kind": "field", "object_kind": "Deployment", "namespace": "payments",
                 "name": "payments", "path": "status.conditions[type=Available].status",
                 "equals": "True"},
                {"kind": "field", "object_kind": "ConfigMap", "namespace": "payments",
                 "name": "payments-config", "path": "data.FRAUD_API_URL", "absent": True},
                {"kind": "field", "object_kind": "ConfigMap", "namespace": "payments",
                 "name": "payments-config",
                 "path": "metadata.managedFields[manager=kubectl-client-side-apply].time",
                 "equals": iso(CONFIG_CHANGE)},
                {"kind": "event", "reason": "ScalingReplicaSet", "object_prefix": "payments",
                 "message_contains": f"Scaled down replica set {self.old.rs_name} from 4 to 3"},
                {"kind": "metric", "family": "service", "name": "error_rate",
                 "labels": {"service": "payments"}, "at": iso(symptom), "factor": 3.0},
                {"kind": "metric", "family": "workload", "name": "cpu_usage_cores",
                 "labels": {"pod": self.serving[0].name}, "at": iso(symptom), "factor": 1.2},
            ],
            "decoys": [
                {"component": {"kind": "ConfigMap", "namespace": "payments", "name": "ledger-config"},
                 "kind": "harmless-config-change", "note": "edited at 09:41; ledger was not restarted"},
                {"component": {"kind": "Deployment", "namespace": "payments", "name": "ledger"},
                 "kind": "jvm-memory-sawtooth", "note": "sawtooth with slow growth; no restarts"},
                {"component": {"kind": "CronJob", "namespace": "payments", "name": "settlement-report"},
                 "kind": "noisy-cronjob", "note": "warnings every 20 minutes, jobs complete"},
            ],
        }


def _settlement_logs(pod, c, i, run, rng, window):
    t = run.start + 400
    return [(t, f"{iso(t)} INFO settlement: building report for the last 20 minutes"),
            (t + 3_000, f"{iso(t + 3_000)} WARN settlement: {rng.randrange(1, 9)} captures "
                        "without a matching authorisation, deferring"),
            (t + 9_000, f"{iso(t + 9_000)} WARN settlement: acquirer file not yet available, "
                        "using yesterday's fees"),
            (run.end - 500, f"{iso(run.end - 500)} INFO settlement: report written "
                            f"({rng.randrange(900, 3000)} rows)")]
