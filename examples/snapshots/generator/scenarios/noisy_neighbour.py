"""noisy-neighbour: a transcoding pod without a CPU limit saturates a shared node.

media-prod serves a video API in namespace `media` on four c6i.xlarge nodes. At 19:52 a new
pipeline template starts Job transcode-ep-4412 without the nodeSelector and toleration of the
(scaled-to-zero) batch node group, so it lands on general node ip-10-60-37-201. It requests
half a core, has no CPU limit and runs ffmpeg with a thread per core: the node goes to 98% CPU.
The api replica on that node is starved and throttled, and its slow requests lift the api
Service's p99; the api replicas on the other nodes are fine. Decoys: a thumbnail CronJob that
spikes another node's CPU every quarter hour, playback-session's JVM sawtooth, and an old
catalog liveness warning.
"""

from .. import cluster
from ..applogs import AppLog, ms_text, spring, zap
from ..bundle import Bundle
from ..clock import HOUR, MINUTE, SECOND, iso, ms
from ..events import ref
from ..k8s import container, env_value, http_probe
from ..model import Node, Run
from ..signals import MIB, Profile, diurnal, steady_service, wobble
from ..workloads import Deployment, completing_run, cronjob, job, render_job, service

CAPTURED = "2026-11-19T20:40:00Z"
JOB_CREATED = ms("2026-11-19T19:52:08Z")
PULL_SECONDS = 18.4
CLUSTER_CREATED = ms("2025-01-14T18:00:00Z")
ECR = "123456789012.dkr.ecr.us-west-2.amazonaws.com/media"
API_RATE = 840.0
TRANSCODER_CORES = 3.3  # what ffmpeg takes of the four cores once it is running


def build():
    b = Bundle("noisy-neighbour", cluster="media-prod", region="us-west-2", captured_at=CAPTURED,
               seed=3, description="transcoder Job without a CPU limit saturates node "
                                   "ip-10-60-37-201; the api replica there is starved")
    cluster.setup_identity(b, "1.33")
    b.launch_templates = {"media-general": "lt-0" + b.ids.hex(16), "media-batch": "lt-0" + b.ids.hex(16)}
    Media(b).build()
    return b


def api_rate(t):
    return API_RATE * diurnal(t, 2.0, 0.3) * (1 + 0.03 * wobble(t, 11 * MINUTE, 2.1))


class Media:
    def __init__(self, b):
        self.b = b
        self.nodes = self._nodes()
        self.n1, self.n2, self.n3, self.n4 = self.nodes
        self.start = None  # when the transcoder's container started

    def build(self):
        b = self.b
        cluster.add_nodes(b, self.nodes)
        cluster.add_namespaces(b, ["media"], CLUSTER_CREATED, ["media"])
        cluster.add_system_pods(b, CLUSTER_CREATED, coredns_nodes=[self.n1, self.n3])
        self._transcoder()
        self.api_pods = self._api()
        self._catalog()
        self._playback()
        self._thumbnailer()
        b.service("media", "api", self._api_signals)
        self._eks()
        cluster.cost_report(b, {
            "Amazon Elastic Compute Cloud - Compute": 74.0, "EC2 - Other": 12.8,
            "Amazon Elastic Container Service for Kubernetes": 2.4, "Amazon CloudFront": 131.0,
            "Amazon Simple Storage Service": 58.5, "AWS Elemental MediaConvert": 38.0,
            "AmazonCloudWatch": 5.1, "Amazon Virtual Private Cloud": 3.2}, shape=_cost_shape)
        b.expected = self._expected()

    def _nodes(self):
        def node(ip, zone, zone_id, subnet, created):
            name = "ip-" + ip.replace(".", "-") + ".us-west-2.compute.internal"
            return Node(name=name, ip=ip, zone=zone, zone_id=zone_id, nodegroup="media-general",
                        instance_type="c6i.xlarge", capacity_type="ON_DEMAND", created=created,
                        subnet=subnet, labels={"workload": "general"})
        rotated = ms("2026-11-16T06:00:00Z")
        return [node("10.60.4.18", "us-west-2a", "usw2-az1", "10.60.0.0/19", rotated),
                node("10.60.37.201", "us-west-2b", "usw2-az2", "10.60.32.0/19", rotated + 5 * MINUTE),
                node("10.60.70.33", "us-west-2c", "usw2-az3", "10.60.64.0/19", rotated + 10 * MINUTE),
                node("10.60.9.150", "us-west-2a", "usw2-az1", "10.60.0.0/19", rotated + 15 * MINUTE)]

    # --- the noisy neighbour --------------------------------------------------------------

    def _transcoder(self):
        b = self.b
        spec = container(
            "transcoder", f"{ECR}/transcoder:5.1.4",
            # Half a core requested and no CPU limit: the scheduler sees room on any node, and
            # nothing stops ffmpeg from taking every core it finds.
            requests={"cpu": "500m", "memory": "2Gi"}, limits={"memory": "4Gi"},
            command=["/usr/local/bin/transcode", "--input", "s3://media-prod-masters/ep-4412/master.mov",
                     "--ladder", "1080p,720p,480p,360p", "--threads", "0"],
            env=[env_value("AWS_REGION", "us-west-2")])
        start = JOB_CREATED + 200 + int((PULL_SECONDS + 1.3) * SECOND)
        self.start = start
        record = job(b, "media", "transcode-ep-4412", start=JOB_CREATED, specs=[spec],
                     containers={"transcoder": {
                         "runs": [Run(start)], "pulled_in": PULL_SECONDS,
                         "profile": Profile(TRANSCODER_CORES, 1.7 * 2**30, noise=0.03,
                                            rx=9_000_000, tx=2_500_000),
                         "logs": _ffmpeg_logs}},
                     node=self.n2, ip=b.pod_ip(self.n2),
                     labels={"app.kubernetes.io/name": "transcoder", "pipeline": "vod-ingest",
                             "episode": "ep-4412"})
        render_job(b, record)
        self.job = record

    # --- api, the victim, and the rest ----------------------------------------------------

    def _api(self):
        b = self.b
        dep = Deployment(b, "media", "api", replicas=4, created=ms("2025-01-20T10:00:00Z"),
                         labels={"app.kubernetes.io/part-of": "media"})
        spec = container("api", f"{ECR}/api:8.14.0", requests={"cpu": "500m", "memory": "256Mi"},
                         limits={"cpu": "1", "memory": "512Mi"}, ports=[("http", 8080)],
                         env=[env_value("GOMAXPROCS", "1")],
                         probes={"readinessProbe": http_probe("/readyz", 8080, period=5),
                                 "livenessProbe": http_probe("/livez", 8080, period=10)})
        rev = dep.revision(31, ms("2026-11-18T17:05:00Z"), [spec],
                           pod_labels={"app.kubernetes.io/part-of": "media",
                                       "app.kubernetes.io/version": "8.14.0"},
                           change_cause="release api 8.14.0")
        pods = []
        for i, node in enumerate(self.nodes):
            start = ms("2026-11-18T17:05:10Z") + i * 20 * SECOND
            starved = node is self.n2
            pods.append(dep.pod(rev, node, start - 3 * SECOND, {"api": {
                "runs": [Run(start, ready_after=3 * SECOND)],
                "profile": Profile(0.41, 118 * MIB, load=lambda t: api_rate(t) / API_RATE,
                                   cpu_limit=1.0, rx=160_000, tx=1_900_000, throttle=0.012,
                                   hook=self._starve if starved else None,
                                   drift_since=b.start, phase=0.2 * i),
                "logs": self._api_logs(starved)}}, ip=b.pod_ip(node)))
        dep.finish()
        self.victim = pods[1]
        service(b, "media", "api", pods, port=80, target_port=8080,
                created=ms("2025-01-20T10:00:00Z"))
        probes = [t for t in range(self.start + 6 * MINUTE, b.end, 11 * MINUTE + 17 * SECOND)]
        b.events.record(ref(self.victim, field_path="spec.containers{api}"), "Unhealthy",
                        f'Readiness probe failed: Get "http://{self.victim.ip}:8080/readyz": '
                        "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                        probes, type="Warning", host=self.n2.name)
        return pods

    def _starve(self, t, i, run, out, rng):
        """With ffmpeg on every core, the api's requests wait for a CPU and then finish in bursts
        that spend its 100 ms quota: run-queue delay and CFS throttling both rise."""
        if t < self.start:
            return
        out["cpu_usage_cores"] *= 0.93
        out["cpu_throttled_ratio"] = min(0.9, 0.26 + rng.gauss(0, 0.03))

    def _api_signals(self, t, rng):
        slow = t >= self.start + 40 * SECOND
        # A quarter of the requests land on the starved replica, which answers 6-12x slower:
        # the p99 moves with it, the median does not.
        return {"request_rate": api_rate(t) * (1 + rng.gauss(0, 0.02)),
                "error_rate": max(0.0, (0.0031 if slow else 0.0004) + rng.gauss(0, 0.00015)),
                "latency_p50_seconds": 0.021 * (1.04 if slow else 1.0) * rng.lognormvariate(0, 0.04),
                "latency_p90_seconds": 0.052 * (1.5 if slow else 1.0) * rng.lognormvariate(0, 0.06),
                "latency_p99_seconds": (0.96 if slow else 0.112) * rng.lognormvariate(0, 0.1)}

    def _api_logs(self, starved):
        def slow(pod, c, i, run, rng, window):
            rows, t = [], max(self.start + 40 * SECOND, window[0])
            while starved and t < window[1]:
                t += int(rng.expovariate(1 / (50 * SECOND)))
                rows.append((t, "WARN", "http/middleware.go:64", "slow request", {
                    "route": rng.choice(["/v1/titles/{id}", "/v1/home", "/v1/search"]),
                    "status": 200, "duration_ms": ms_text(rng, 1300, 0.4)}))
            return rows
        return AppLog(zap, templates=[
            (10, "INFO", "http/middleware.go:58", lambda rng, t: ("request completed", {
                "route": rng.choice(["/v1/titles/{id}", "/v1/home", "/v1/search", "/v1/rows"]),
                "status": 200, "duration_ms": ms_text(rng, 19)})),
            (1, "INFO", "cache/warm.go:40", lambda rng, t: ("home rows cache refreshed",
                                                            {"rows": rng.randrange(40, 60)}))],
            per_minute=1.0, extra=slow)

    def _catalog(self):
        b = self.b
        dep = Deployment(b, "media", "catalog", replicas=2, created=ms("2025-01-20T10:00:00Z"),
                         labels={"app.kubernetes.io/part-of": "media"})
        spec = container("catalog", f"{ECR}/catalog:3.2.9", requests={"cpu": "250m", "memory": "384Mi"},
                         limits={"cpu": "1", "memory": "768Mi"}, ports=[("http", 8080)],
                         probes={"livenessProbe": http_probe("/livez", 8080, period=10),
                                 "readinessProbe": http_probe("/readyz", 8080, period=5)})
        rev = dep.revision(12, ms("2026-11-12T09:30:00Z"), [spec],
                           pod_labels={"app.kubernetes.io/part-of": "media"})
        pods = []
        for i, node in enumerate((self.n1, self.n3)):
            start = node.created + 6 * MINUTE
            pods.append(dep.pod(rev, node, start - 3 * SECOND, {"catalog": {
                "runs": [Run(start, ready_after=3 * SECOND)],
                "profile": Profile(0.18, 240 * MIB, load=lambda t: api_rate(t) / API_RATE,
                                   cpu_limit=1.0, rx=300_000, tx=500_000, drift_since=b.start),
                "logs": AppLog(zap, templates=[(1, "INFO", "index/sync.go:77", lambda rng, t: (
                    "title index synced", {"titles": 48_200 + rng.randrange(300)}))],
                    per_minute=0.3)}}, ip=b.pod_ip(node)))
        dep.finish()
        service(b, "media", "catalog", pods, port=80, target_port=8080,
                created=ms("2025-01-20T10:00:00Z"))
        # A dependency blip well before the incident; catalog recovered on its own.
        b.events.record(ref(pods[0], field_path="spec.containers{catalog}"), "Unhealthy",
                        "Liveness probe failed: HTTP probe failed with statuscode: 503",
                        [ms("2026-11-19T19:44:04Z"), ms("2026-11-19T19:44:14Z")],
                        type="Warning", host=self.n1.name)
        b.service("media", "catalog", steady_service(lambda t: 0.7 * api_rate(t), 0.012))

    def _playback(self):
        b = self.b
        dep = Deployment(b, "media", "playback-session", replicas=2, created=ms("2025-01-20T10:00:00Z"),
                         labels={"app.kubernetes.io/part-of": "media"})
        spec = container("playback-session", f"{ECR}/playback-session:2.0.7",
                         requests={"cpu": "300m", "memory": "1Gi"}, limits={"memory": "1536Mi"},
                         ports=[("http", 8080)],
                         env=[env_value("JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=70.0")])
        rev = dep.revision(6, ms("2026-11-02T12:00:00Z"), [spec],
                           pod_labels={"app.kubernetes.io/part-of": "media"})
        pods = []
        for i, node in enumerate((self.n3, self.n4)):
            start = node.created + 7 * MINUTE
            pods.append(dep.pod(rev, node, start - 3 * SECOND, {"playback-session": {
                "runs": [Run(start, ready_after=20 * SECOND)],
                "profile": Profile(0.2, 760 * MIB, load=lambda t: api_rate(t) / API_RATE,
                                   saw_bytes=240 * MIB, saw_period=13 * MINUTE, mem_per_hour=11 * MIB,
                                   drift_since=b.start - 9 * HOUR, rx=220_000, tx=180_000,
                                   phase=0.35 * i),
                "logs": AppLog(spring("playback-session"), templates=[
                    (1, "INFO", "c.m.playback.SessionReaper", lambda rng, t:
                     f"reaped {rng.randrange(200, 900)} idle sessions")], per_minute=0.4)}},
                ip=b.pod_ip(node)))
        dep.finish()
        service(b, "media", "playback-session", pods, port=80, target_port=8080,
                created=ms("2025-01-20T10:00:00Z"))
        b.service("media", "playback-session", steady_service(lambda t: 0.3 * api_rate(t), 0.008))

    def _thumbnailer(self):
        b = self.b
        spec = container("thumbnailer", f"{ECR}/thumbnailer:1.9.0",
                         requests={"cpu": "1", "memory": "512Mi"}, limits={"cpu": "1500m", "memory": "1Gi"})
        run_for = completing_run("thumbnailer", (100, 150), Profile(
            1.35, 420 * MIB, noise=0.1, cpu_limit=1.5, rx=4_000_000, tx=600_000), _thumbnail_logs)
        cronjob(b, "media", "thumbnailer", schedule="*/15 * * * *", every_minutes=15,
                created=ms("2025-03-01T12:00:00Z"), specs=[spec], run_for=run_for,
                node_for=lambda i: self.n3, ip_for=lambda i: b.pod_ip(self.n3))

    def _eks(self):
        b = self.b
        subnets = [{"SubnetId": "subnet-0" + b.ids.hex(16), "CidrBlock": cidr,
                    "AvailabilityZone": zone, "AvailableIpAddressCount": free}
                   for cidr, zone, free in (("10.60.0.0/19", "us-west-2a", 8002),
                                            ("10.60.32.0/19", "us-west-2b", 8061),
                                            ("10.60.64.0/19", "us-west-2c", 8044))]
        ids = [s["SubnetId"] for s in subnets]
        cluster.eks_view(b, created=CLUSTER_CREATED, endpoint_public=True,
                         logging_enabled=["api", "audit"], vpc="vpc-0" + b.ids.hex(16),
                         subnets=subnets, nodegroups=[
                             {"name": "media-general", "created": ms("2025-01-14T18:30:00Z"),
                              "modified": ms("2026-11-16T05:58:00Z"), "capacity_type": "ON_DEMAND",
                              "min": 4, "max": 8, "desired": 4, "instance_types": ["c6i.xlarge"],
                              "subnets": ids, "labels": {"workload": "general"}},
                             {"name": "media-batch", "created": ms("2025-02-03T10:00:00Z"),
                              "modified": ms("2026-11-19T02:00:00Z"), "capacity_type": "SPOT",
                              "min": 0, "max": 10, "desired": 0,
                              "instance_types": ["c6i.4xlarge", "c6a.4xlarge"], "subnets": ids,
                              "labels": {"workload": "batch"},
                              "taints": [{"key": "dedicated", "value": "batch",
                                          "effect": "NO_SCHEDULE"}]}],
                         addons=cluster.standard_addons(b, CLUSTER_CREATED))

    def _expected(self):
        onset = self.start
        symptom = self.b.first_above("api", "latency_p99_seconds", 0.4)
        others = [p for p in self.api_pods if p is not self.victim]
        return {
            "scenario": self.b.name, "cluster": self.b.cluster, "captured_at": iso(self.b.end),
            "root_cause": {
                "kind": "noisy-neighbour",
                "component": {"kind": "Job", "namespace": "media", "name": "transcode-ep-4412"},
                "pod": self.job["pod"].name,
                "node": self.n2.name,
                "summary": "transcoder Job with no CPU limit (request 500m) and no batch "
                           "nodeSelector lands on a general node and takes every core; the api "
                           "replica on that node is starved",
                "onset": iso(onset),
                "first_failure": iso(onset),
                "failure": {"node_cpu_utilization_percent": 98, "cpu_request": "500m",
                            "cpu_limit": None},
            },
            "symptoms": [
                {"kind": "Service", "namespace": "media", "name": "api",
                 "signal": "latency_p99_seconds", "onset": iso(symptom)},
                {"kind": "Pod", "namespace": "media", "name": self.victim.name,
                 "signal": "cpu_throttled_ratio", "onset": iso(onset)},
            ],
            "victims": [self.victim.name],
            "unaffected": sorted(p.name for p in others),
            "evidence": [
                {"kind": "metric", "family": "workload", "name": "node_cpu_utilization",
                 "labels": {"node": self.n2.name}, "at": iso(onset + MINUTE), "factor": 2.0},
                {"kind": "metric", "family": "workload", "name": "cpu_throttled_ratio",
                 "labels": {"pod": self.victim.name}, "at": iso(onset + MINUTE), "factor": 5.0},
                {"kind": "metric", "family": "workload", "name": "cpu_throttled_ratio",
                 "labels": {"pod": others[0].name}, "at": iso(onset + MINUTE), "max_factor": 1.6},
                {"kind": "metric", "family": "workload", "name": "cpu_usage_cores",
                 "labels": {"pod": self.job["pod"].name}, "at": iso(onset + MINUTE), "factor": 1.0},
                {"kind": "metric", "family": "service", "name": "latency_p99_seconds",
                 "labels": {"service": "api"}, "at": iso(symptom), "factor": 4.0},
                {"kind": "field", "object_kind": "Pod", "namespace": "media",
                 "name": self.job["pod"].name,
                 "path": "spec.containers[name=transcoder].resources.limits.cpu", "absent": True},
                {"kind": "field", "object_kind": "Pod", "namespace": "media",
                 "name": self.job["pod"].name, "path": "spec.nodeName", "equals": self.n2.name},
                {"kind": "log", "path_contains": self.victim.name, "contains": "slow request"},
                {"kind": "event", "reason": "Scheduled", "object_prefix": "transcode-ep-4412",
                 "message_contains": self.n2.name},
            ],
            "decoys": [
                {"component": {"kind": "CronJob", "namespace": "media", "name": "thumbnailer"},
                 "kind": "periodic-cpu-spikes", "note": f"{self.n3.name} spikes every 15 minutes"},
                {"component": {"kind": "Deployment", "namespace": "media", "name": "playback-session"},
                 "kind": "jvm-memory-sawtooth", "note": "sawtooth with slow growth; no restarts"},
                {"component": {"kind": "Deployment", "namespace": "media", "name": "catalog"},
                 "kind": "liveness-probe-warning", "note": "two failures at 19:44, before the incident"},
            ],
        }


def _cost_shape(day_index, service):
    # MediaConvert was replaced by in-cluster transcoding three days before the capture.
    if service == "AWS Elemental MediaConvert":
        return 0.0 if day_index >= 27 else 1.0
    return 1.0


def _ffmpeg_logs(pod, c, i, run, rng, window):
    rows = [(run.start + 300, "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'pipe:0':"),
            (run.start + 310, "  Duration: 00:52:41.36, start: 0.000000, bitrate: 48213 kb/s"),
            (run.start + 320, "  Stream #0:0(und): Video: prores (HQ) (apch / 0x68637061), "
                              "yuv422p10le, 3840x2160, 46011 kb/s, 23.98 fps"),
            (run.start + 900, "Stream mapping: Stream #0:0 -> #0:0 (prores (native) -> h264 (libx264))"),
            (run.start + 950, "[libx264 @ 0x55d1c2f8a9c0] using cpu capabilities: MMX2 SSE2Fast SSSE3 "
                              "SSE4.2 AVX FMA3 BMI2 AVX2 AVX512"),
            (run.start + 960, "[libx264 @ 0x55d1c2f8a9c0] profile High, level 5.1, 4:2:0, 8-bit")]
    t = run.start + 30 * SECOND
    while t < window[1]:
        elapsed = (t - run.start) / 1000
        frames = int(elapsed * 14.2 * rng.uniform(0.97, 1.03))
        media = frames / 23.976
        rows.append((t, f"frame={frames:6d} fps= 14 q=28.0 size={int(frames * 71.5):8d}kB "
                        f"time={int(media // 3600):02d}:{int(media % 3600 // 60):02d}:"
                        f"{media % 60:05.2f} bitrate=13712.4kbits/s speed=0.59x"))
        t += 30 * SECOND
    return rows


def _thumbnail_logs(pod, c, i, run, rng, window):
    t = run.start + 500
    return [(t, f"{iso(t)} INFO thumbnailer: scanning new assets"),
            (t + 2_000, f"{iso(t + 2_000)} WARN thumbnailer: {rng.randrange(1, 6)} assets without "
                        "a poster frame, using frame 240"),
            (run.end - 600, f"{iso(run.end - 600)} INFO thumbnailer: wrote "
                            f"{rng.randrange(120, 400)} thumbnails")]
