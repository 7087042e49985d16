"""checkout-oom, the embedded default: checkout v2.4.0 leaks memory, is OOMKilled, crash-loops.

shop-prod runs a small web shop in namespace `shop` on four nodes. At 13:40:12 checkout is
rolled out from v2.3.1 (ReplicaSet revision 7) to v2.4.0 (revision 8), which turns on a promo
cache that never evicts (see leak.py). From about 14:05 its pods are OOMKilled, then held in
CrashLoopBackOff; the checkout Service intermittently has no ready endpoints and the frontend's
error rate and p99 latency rise. Decoys: cart's JVM sawtooth, an old catalog readiness warning,
a node whose CPU is high but flat (PostgreSQL), and a chatty CronJob.
"""

from .. import cluster
from ..applogs import AppLog, ms_text, order_id, spring, spring_startup, zap
from ..bundle import Bundle
from ..clock import HOUR, MINUTE, SECOND, iso, ms
from ..events import ref
from ..k8s import container, env_value, http_probe, meta
from ..metrics import per_minute, series
from ..model import Node, Run
from ..signals import MIB, Profile, diurnal, steady_service, wobble
from ..workloads import Deployment, completing_run, cronjob, service, statefulset
from .leak import LIMIT, LeakSimulation, Replica

ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop"
CAPTURED = "2026-11-20T14:30:00Z"
ROLLOUT = ms("2026-11-20T13:40:12Z")
CLUSTER_CREATED = ms("2025-03-04T09:12:00Z")
NODES_ROTATED = ms("2026-11-12T08:03:11Z")
LEAK_BYTES_PER_REQUEST = 10.7 * 1024
RESTORE_BYTES = 205 * MIB
CHECKOUT_SHARE = 0.22  # of frontend requests that call checkout
# Share of the requests sent to a GC-thrashing pod that run into the frontend's 3 s timeout.
TIMEOUT_SHARE = 0.12


def build():
    b = Bundle("checkout-oom", cluster="shop-prod", region="eu-west-1", captured_at=CAPTURED,
               seed=1, description="checkout v2.4.0 leaks memory; pods OOMKilled, then CrashLoopBackOff")
    cluster.setup_identity(b, "1.33")
    b.launch_templates = {"shop-general": "lt-0" + b.ids.hex(16), "shop-spot": "lt-0" + b.ids.hex(16)}
    nodes = _nodes(b)
    cluster.add_nodes(b, nodes)
    cluster.add_namespaces(b, ["shop"], CLUSTER_CREATED, ["shop"])
    cluster.add_system_pods(b, CLUSTER_CREATED)
    shop = Shop(b, nodes)
    shop.build()
    _eks(b)
    cluster.cost_report(b, {
        "Amazon Elastic Compute Cloud - Compute": 96.4, "EC2 - Other": 14.2,
        "Amazon Elastic Container Service for Kubernetes": 2.4, "Amazon Elastic Load Balancing": 3.1,
        "Amazon Virtual Private Cloud": 2.9, "AmazonCloudWatch": 6.8,
        "Amazon Simple Storage Service": 1.7, "Amazon EC2 Container Registry (ECR)": 0.4,
        "AWS Key Management Service": 0.9}, shape=_cost_shape)
    b.expected = shop.expected()
    return b


def _cost_shape(day_index, service):
    # Container Insights with enhanced observability went on eleven days before the capture.
    if service == "AmazonCloudWatch" and day_index >= 19:
        return 2.6
    return 1.0


def _nodes(b):
    def node(name, ip, zone, zone_id, group, itype, ctype, created, subnet, **kw):
        return Node(name=f"{name}.eu-west-1.compute.internal", ip=ip, zone=zone, zone_id=zone_id,
                    nodegroup=group, instance_type=itype, capacity_type=ctype, created=created,
                    subnet=subnet, labels={"workload": "batch" if ctype == "SPOT" else "general"},
                    **kw)
    return [
        node("ip-10-0-12-101", "10.0.12.101", "eu-west-1a", "euw1-az2", "shop-general",
             "m6i.xlarge", "ON_DEMAND", NODES_ROTATED, "10.0.0.0/19"),
        node("ip-10-0-45-17", "10.0.45.17", "eu-west-1b", "euw1-az1", "shop-general",
             "m6i.xlarge", "ON_DEMAND", NODES_ROTATED + 6 * MINUTE, "10.0.32.0/19"),
        node("ip-10-0-78-230", "10.0.78.230", "eu-west-1c", "euw1-az3", "shop-general",
             "m6i.xlarge", "ON_DEMAND", NODES_ROTATED + 12 * MINUTE, "10.0.64.0/19",
             filesystem_percent=44.0),
        node("ip-10-0-47-88", "10.0.47.88", "eu-west-1b", "euw1-az1", "shop-spot",
             "m6a.xlarge", "SPOT", ms("2026-11-19T22:41:17Z"), "10.0.32.0/19"),
    ]


def frontend_rate(t):
    return 164.0 * diurnal(t, 19.0, 0.35) * (1 + 0.03 * wobble(t, 17 * MINUTE, 0.4))


def checkout_rate(t):
    return CHECKOUT_SHARE * frontend_rate(t)


class Shop:
    """The shop's workloads; checkout's pods come from the leak simulation."""

    def __init__(self, b, nodes):
        self.b, self.nodes = b, nodes
        self.a, self.bn, self.c, self.d = nodes
        self.rng = b.rng_for("shop")
        self.sim = None
        self.checkout_pods = []

    def build(self):
        self._checkout()
        frontend = self._go_service("frontend", "1.19.2", [self.a, self.bn, self.c], cpu=0.26,
                                    mem=140 * MIB, load=lambda t: frontend_rate(t) / 164,
                                    logs=self._frontend_logs)
        cart = self._cart()
        catalog = self._go_service("catalog", "3.7.0", [self.a, self.c], cpu=0.42, mem=210 * MIB,
                                   load=lambda t: frontend_rate(t) / 164, logs=self._catalog_logs)
        payments = self._payments()
        redis = self._redis()
        postgres = self._postgres()
        self._order_export()
        self._services(frontend, cart, catalog, payments, redis, postgres)
        self._ingress()
        self._service_metrics()
        self._catalog_probe_warning(catalog)

    # --- checkout -------------------------------------------------------------------------

    def _checkout_spec(self, version, env):
        return container(
            "checkout", f"{ECR}/checkout:{version}",
            requests={"cpu": "250m", "memory": "384Mi"}, limits={"cpu": "1", "memory": "512Mi"},
            ports=[("http", 8080)], env=env,
            probes={"livenessProbe": http_probe("/actuator/health/liveness", 8080, period=10,
                                                failure=3, initial=45),
                    "readinessProbe": http_probe("/actuator/health/readiness", 8080, period=5,
                                                 failure=3, initial=10)})

    def _checkout_env(self, extra=()):
        base = [env_value("SPRING_PROFILES_ACTIVE", "prod"),
                env_value("JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=75.0 -XX:+UseG1GC"),
                env_value("PAYMENTS_URL", "http://payments.shop.svc.cluster.local"),
                env_value("CART_URL", "http://cart.shop.svc.cluster.local"),
                env_value("REDIS_HOST", "redis.shop.svc.cluster.local")]
        return base + list(extra)

    def _checkout(self):
        b = self.b
        dep = Deployment(b, "shop", "checkout", replicas=3, created=ms("2025-03-11T10:02:44Z"),
                         labels={"app.kubernetes.io/part-of": "shop", "team": "checkout"})
        revs = {}
        for number, version, created, cause, env in (
                (6, "2.2.4", ms("2026-11-06T09:40:03Z"), "release checkout 2.2.4 (#1791)", ()),
                (7, "2.3.1", ms("2026-11-13T10:22:31Z"), "release checkout 2.3.1 (#1820)", ()),
                (8, "2.4.0", ROLLOUT, "release checkout 2.4.0 (#1842): promo-aware pricing",
                 (env_value("PROMO_CACHE_ENABLED", "true"),
                  env_value("PROMO_CACHE_WARMUP_MAX_ENTRIES", "150000")))):
            labels = {"app.kubernetes.io/part-of": "shop", "app.kubernetes.io/version": version}
            spec = self._checkout_spec(version, self._checkout_env(env))
            revs[number] = dep.revision(number, created, [spec],
                                        pod_labels=labels, change_cause=cause,
                                        pod_annotations={"prometheus.io/port": "8080",
                                                         "prometheus.io/scrape": "true"})
        old_nodes = new_nodes = [self.a, self.bn, self.d]
        # Surge one new pod, wait for it to be ready, then delete one old pod: maxSurge 25% (1),
        # maxUnavailable 25% (0 of 3).
        starts, created, deletes = [], ROLLOUT + 300, []
        for i in range(3):
            pull = 3.1 + 0.4 * i
            start = created + int((pull + 1.2) * SECOND)
            ready_after = (27 + 2 * i) * SECOND
            starts.append((created, start, ready_after, pull))
            deletes.append(start + ready_after + 600)
            created = start + ready_after + 700
        replicas = [Replica(start, ready, leaks=True) for _, start, ready, _ in starts]
        # The spot node was replaced last night; its checkout pod was recreated then.
        olds = [Replica(max(ms("2026-11-13T10:23:40Z") + i * 40 * SECOND,
                            old_nodes[i].created + 3 * MINUTE),
                        25 * SECOND, leaks=False, deleted=deletes[i]) for i in range(3)]
        for o in olds:
            o.weight = 1 / 3
        self.sim = LeakSimulation(olds + replicas, checkout_rate, leak=LEAK_BYTES_PER_REQUEST,
                                  restore_bytes=RESTORE_BYTES, rng=b.rng_for("leak"),
                                  since=b.start, until=b.end).run()
        for i, o in enumerate(olds):
            run = o.runs[0]
            dep.pod(revs[7], old_nodes[i], run.start - 5 * SECOND, {"checkout": {
                "runs": [Run(run.start, ready_after=run.ready_after)],
                "profile": Profile(0.3, 300 * MIB, load=self._checkout_load(o), cpu_limit=1.0,
                                   saw_bytes=22 * MIB, saw_period=47_000, rx=52_000, tx=61_000),
                "logs": self._checkout_logs(o)}}, ip=b.pod_ip(old_nodes[i]), deleted=o.deleted)
        for i, r in enumerate(replicas):
            pod = dep.pod(revs[8], new_nodes[i], starts[i][0], {"checkout": {
                "runs": r.runs, "profile": CheckoutProfile(r, self._checkout_load(r)),
                "logs": self._checkout_logs(r), "pulled_in": starts[i][3]}},
                ip=b.pod_ip(new_nodes[i]))
            self.checkout_pods.append(pod)
        self.checkout = dep
        dep.finish(generation=11)

    def _checkout_load(self, replica):
        """Traffic on one checkout pod relative to an even third of the pre-rollout rate."""
        even = checkout_rate(ROLLOUT) / 3

        def load(t):
            served = replica.served.get(t - t % SECOND)
            return 1.0 if served is None else max(0.05, served / even)
        return load

    def _checkout_logs(self, replica):
        sim, fmt = self.sim, spring("checkout")

        def extra(pod, c, i, run, rng, window):
            rows = []
            if run.start >= ROLLOUT - MINUTE:
                rows += _checkout_startup(run, i, pod, sim, rng)
            rows += _gc_pressure(replica, run, rng)
            if run.reason == "OOMKilled":
                rows += _oom_lines(run, rng)
            return rows
        templates = [
            (8, "INFO", "c.s.checkout.api.CheckoutController", _order_line),
            (1, "INFO", "c.s.checkout.client.PaymentsClient",
             lambda rng, t: f"payments authorise ok psp=adyen in {ms_text(rng, 140)} ms"),
            (1, "WARN", "c.s.checkout.client.CartClient",
             lambda rng, t: f"cart {rng.getrandbits(40):010x} changed during checkout, re-pricing"),
        ]
        return AppLog(fmt, templates=templates, per_minute=1.5,
                      load=lambda t: 1.0 if sim.ready_count.get(t - t % SECOND, 1) else 0.0,
                      extra=extra)

    # --- other workloads ------------------------------------------------------------------

    def _go_service(self, name, version, nodes, *, cpu, mem, load, logs):
        b = self.b
        dep = Deployment(b, "shop", name, replicas=len(nodes), created=ms("2025-03-11T09:58:10Z"),
                         labels={"app.kubernetes.io/part-of": "shop"})
        spec = container(name, f"{ECR}/{name}:{version}",
                         requests={"cpu": "200m", "memory": "256Mi"},
                         limits={"cpu": "1", "memory": "512Mi"}, ports=[("http", 8080)],
                         env=[env_value("LOG_LEVEL", "info"),
                              env_value("CHECKOUT_URL", "http://checkout.shop.svc.cluster.local")
                              if name == "frontend" else env_value("CACHE_TTL", "300s")],
                         probes={"livenessProbe": http_probe("/healthz/live", 8080, period=10),
                                 "readinessProbe": http_probe("/healthz/ready", 8080, period=5)})
        rev = dep.revision(4, ms("2026-11-10T15:11:09Z"), [spec],
                           pod_labels={"app.kubernetes.io/part-of": "shop",
                                       "app.kubernetes.io/version": version},
                           change_cause=f"release {name} {version}")
        pods = []
        for i, node in enumerate(nodes):
            start = node.created + (3 + i) * MINUTE
            pods.append(dep.pod(rev, node, start - 4 * SECOND, {name: {
                "runs": [Run(start, ready_after=3 * SECOND)],
                "profile": Profile(cpu, mem, load=load, cpu_limit=1.0, rx=180_000, tx=420_000,
                                   mem_per_hour=0.3 * MIB, phase=i * 0.3, drift_since=b.start),
                "logs": logs}}, ip=b.pod_ip(node)))
        dep.finish()
        return pods

    def _cart(self):
        b = self.b
        dep = Deployment(b, "shop", "cart", replicas=2, created=ms("2025-03-11T10:00:31Z"),
                         labels={"app.kubernetes.io/part-of": "shop"})
        spec = container("cart", f"{ECR}/cart:5.2.0", requests={"cpu": "300m", "memory": "768Mi"},
                         limits={"cpu": "1500m", "memory": "1Gi"}, ports=[("http", 8080)],
                         env=[env_value("JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=70.0 "
                                        "-Xlog:gc:stdout:time,tags")],
                         probes={"readinessProbe": http_probe("/actuator/health/readiness", 8080,
                                                              period=5, initial=10)})
        rev = dep.revision(9, ms("2026-11-04T11:45:50Z"), [spec],
                           pod_labels={"app.kubernetes.io/part-of": "shop",
                                       "app.kubernetes.io/version": "5.2.0"},
                           change_cause="release cart 5.2.0")
        pods = []
        for i, node in enumerate([self.a, self.bn]):
            start = node.created + 5 * MINUTE
            pods.append(dep.pod(rev, node, start - 4 * SECOND, {"cart": {
                "runs": [Run(start, ready_after=24 * SECOND)],
                # A JVM's collections make a sawtooth; the old generation creeps up between
                # the mixed collections. Harmless, and a classic false lead next to a real leak.
                "profile": Profile(0.22, 585 * MIB, load=lambda t: frontend_rate(t) / 164,
                                   cpu_limit=1.5, saw_bytes=190 * MIB, saw_period=11 * MINUTE,
                                   mem_per_hour=7 * MIB, rx=90_000, tx=140_000, phase=0.45 * i,
                                   drift_since=b.start - 6 * HOUR),
                "logs": self._cart_logs(i)}}, ip=b.pod_ip(node)))
        dep.finish()
        return pods

    def _payments(self):
        b = self.b
        dep = Deployment(b, "shop", "payments", replicas=2, created=ms("2025-03-11T10:04:12Z"),
                         labels={"app.kubernetes.io/part-of": "shop", "team": "payments"})
        spec = container("payments", f"{ECR}/payments:7.0.3",
                         requests={"cpu": "250m", "memory": "512Mi"},
                         limits={"cpu": "1", "memory": "768Mi"}, ports=[("http", 8080)],
                         env=[env_value("PSP", "adyen")],
                         probes={"readinessProbe": http_probe("/actuator/health/readiness", 8080,
                                                              period=5, initial=10)})
        rev = dep.revision(12, ms("2026-11-17T13:20:05Z"), [spec],
                           pod_labels={"app.kubernetes.io/part-of": "shop",
                                       "app.kubernetes.io/version": "7.0.3"},
                           change_cause="release payments 7.0.3")
        pods = []
        for i, node in enumerate([self.bn, self.d]):
            start = max(node.created, ms("2026-11-17T13:20:05Z")) + (2 + i) * MINUTE
            pods.append(dep.pod(rev, node, start - 4 * SECOND, {"payments": {
                "runs": [Run(start, ready_after=21 * SECOND)],
                "profile": Profile(0.12, 402 * MIB, load=self._payments_load, cpu_limit=1.0,
                                   saw_bytes=30 * MIB, saw_period=6 * MINUTE, rx=20_000, tx=26_000),
                "logs": AppLog(spring("payments"), templates=[
                    (10, "INFO", "c.s.payments.AuthorisationService", _payment_line),
                    (1, "WARN", "c.s.payments.psp.AdyenClient",
                     lambda rng, t: f"PSP latency high: {ms_text(rng, 900)} ms for authorise")],
                    per_minute=0.8, load=self._payments_load)}}, ip=b.pod_ip(node)))
        dep.finish()
        return pods

    def _payments_load(self, t):
        """Payments sees the checkouts that got through, over the minute before `t`."""
        seconds = [s for s in range(t - MINUTE, t, SECOND) if s in self.sim.served]
        if not seconds:
            return checkout_rate(t) / checkout_rate(ROLLOUT)
        return sum(self.sim.served[s] for s in seconds) / len(seconds) / checkout_rate(ROLLOUT)

    def _redis(self):
        b = self.b
        dep = Deployment(b, "shop", "redis", replicas=1, created=ms("2025-03-11T09:55:00Z"),
                         labels={"app.kubernetes.io/part-of": "shop"}, max_surge="0",
                         max_unavailable="1")
        spec = container("redis", "public.ecr.aws/docker/library/redis:7.2.5-alpine",
                         requests={"cpu": "100m", "memory": "256Mi"}, limits={"memory": "1Gi"},
                         args=["--save", "300", "100", "--maxmemory", "768mb"],
                         ports=[("redis", 6379)])
        rev = dep.revision(2, ms("2025-09-02T08:00:00Z"), [spec],
                           pod_labels={"app.kubernetes.io/part-of": "shop"})
        start = self.a.created + 4 * MINUTE

        def grows(t, i, run, out, rng):
            # The promo cache is written through to Redis from the rollout on.
            if t > ROLLOUT:
                out["memory_working_set_bytes"] += 2.1 * MIB * (t - ROLLOUT) / MINUTE
        pod = dep.pod(rev, self.a, start - 3 * SECOND, {"redis": {
            "runs": [Run(start, ready_after=SECOND)],
            "profile": Profile(0.05, 96 * MIB, load=lambda t: frontend_rate(t) / 164,
                               rx=400_000, tx=650_000, hook=grows),
            "logs": _redis_logs}}, ip=b.pod_ip(self.a))
        dep.finish()
        return [pod]

    def _postgres(self):
        b = self.b
        spec = container("postgres", "public.ecr.aws/docker/library/postgres:16.4",
                         requests={"cpu": "1500m", "memory": "2Gi"},
                         limits={"memory": "4Gi"}, ports=[("postgres", 5432)],
                         env=[env_value("PGDATA", "/var/lib/postgresql/data/pgdata")],
                         mounts=[{"mountPath": "/var/lib/postgresql/data", "name": "data"}])
        start = self.c.created + 7 * MINUTE
        # Reporting queries keep PostgreSQL busy around the clock: node ip-10-0-78-230 runs hot
        # but flat, which is not news.
        pod = statefulset(b, "shop", "postgres", self.c, [spec], {"postgres": {
            "runs": [Run(start, ready_after=6 * SECOND)],
            "profile": Profile(2.25, 1.6 * 2**30, noise=0.04, rx=900_000, tx=2_400_000,
                               mem_per_hour=0.5 * MIB, drift_since=b.start),
            "logs": _postgres_logs}}, created=ms("2025-03-11T09:50:00Z"), pod_created=start - 9 * SECOND,
            ip=b.pod_ip(self.c), labels={"app.kubernetes.io/name": "postgres",
                                         "app.kubernetes.io/part-of": "shop"})
        return [pod]

    def _order_export(self):
        b = self.b
        spec = container("order-export", f"{ECR}/order-export:1.4.2",
                         requests={"cpu": "500m", "memory": "512Mi"}, limits={"memory": "1Gi"},
                         env=[env_value("EXPORT_BUCKET", "s3://shop-prod-exports")])
        run_for = completing_run("order-export", (150, 240), Profile(
            0.85, 380 * MIB, noise=0.2, rx=1_500_000, tx=900_000), _export_logs)
        cronjob(b, "shop", "order-export", schedule="*/30 * * * *", every_minutes=30,
                created=ms("2025-05-20T12:00:00Z"), specs=[spec], run_for=run_for,
                node_for=lambda i: self.d, ip_for=lambda i: b.pod_ip(self.d))

    def _services(self, frontend, cart, catalog, payments, redis, postgres):
        b, created = self.b, ms("2025-03-11T09:50:00Z")
        for name, pods in (("frontend", frontend), ("cart", cart), ("catalog", catalog),
                           ("payments", payments), ("checkout", self.checkout.pods())):
            service(b, "shop", name, pods, port=80, target_port=8080, created=created,
                    labels={"app.kubernetes.io/part-of": "shop"})
        service(b, "shop", "redis", redis, port=6379, target_port=6379, created=created,
                port_name="redis")
        service(b, "shop", "postgres", postgres, port=5432, target_port=5432, created=created,
                port_name="postgres", headless=True)

    def _ingress(self):
        b = self.b
        host = "k8s-shop-frontend-8c1e3b7a2d-1029384756.eu-west-1.elb.amazonaws.com"
        md = meta(b, "frontend", "shop", ms("2025-03-11T09:51:00Z"), generation=1,
                  annotations={"alb.ingress.kubernetes.io/scheme": "internet-facing",
                               "alb.ingress.kubernetes.io/target-type": "ip",
                               "alb.ingress.kubernetes.io/healthcheck-path": "/healthz/ready"})
        md["finalizers"] = ["ingress.k8s.aws/resources"]
        b.add({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": md,
               "spec": {"ingressClassName": "alb", "rules": [{"host": "shop.example.com", "http": {
                   "paths": [{"backend": {"service": {"name": "frontend", "port": {"number": 80}}},
                              "path": "/", "pathType": "Prefix"}]}}]},
               "status": {"loadBalancer": {"ingress": [{"hostname": host}]}}})

    def _catalog_probe_warning(self, catalog):
        """Catalog's readiness probe has timed out now and then since the morning; unrelated."""
        pod = catalog[0]
        times = [ms(f"2026-11-20T{hm}:00Z") + 17 * SECOND for hm in (
            "10:14", "10:52", "11:03", "11:47", "12:20", "12:21", "13:05", "13:31")]
        self.b.events.record(ref(pod, field_path="spec.containers{catalog}"), "Unhealthy",
                             f'Readiness probe failed: Get "http://{pod.ip}:8080/healthz/ready": '
                             "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                             times, type="Warning", host=pod.node.name)

    # --- request signals ------------------------------------------------------------------

    def _window_stats(self, t):
        """Checkout traffic over the minute before `t`: demand, failed, thrashing share, ready."""
        sim, seconds = self.sim, range(t - MINUTE, t, SECOND)
        known = [s for s in seconds if s in sim.ready_count]
        if not known:
            return checkout_rate(t), 0.0, 0.0, 3.0
        demand = sum(sim.served[s] + sim.failed[s] for s in known) / len(known)
        failed = sum(sim.failed[s] for s in known) / len(known)
        thrash = sum(sim.thrashing[s] for s in known) / len(known)
        ready = sum(sim.ready_count[s] for s in known) / len(known)
        # Requests in flight on a pod when it is killed fail too.
        killed = sum(1 for r in sim.replicas for run in r.runs if run.end and t - MINUTE <= run.end < t)
        failed += min(demand, killed * 0.6 * checkout_rate(t) / max(ready, 1.0) / 20)
        return demand, failed, thrash, ready

    def _service_metrics(self):
        self.b.service("shop", "checkout", self._checkout_signals)
        self.b.service("shop", "frontend", self._frontend_signals)
        steady = {"errors": 0.0006, "p90": 2.4}
        self.b.service("shop", "cart", steady_service(lambda t: 0.55 * frontend_rate(t), 0.018,
                                                      p99=5.5, **steady))
        self.b.service("shop", "catalog", steady_service(lambda t: 1.3 * frontend_rate(t), 0.011,
                                                         p99=7.0, **steady))
        self.b.service("shop", "payments", steady_service(
            lambda t: self._payments_load(t) * checkout_rate(ROLLOUT) * 0.97, 0.14, p99=3.2, **steady))
        self._alb_metrics()

    def _checkout_signals(self, t, rng):
        demand, failed, thrash, _ = self._window_stats(t)
        errors = (failed + demand * TIMEOUT_SHARE * thrash) / demand if demand else 0.0
        slow = 1.0 + 9.0 * thrash
        return {"request_rate": demand * (1 + rng.gauss(0, 0.02)),
                "error_rate": min(1.0, max(0.0, 0.0009 + errors + rng.gauss(0, 0.0003))),
                "latency_p50_seconds": 0.088 * (1 + 0.8 * thrash) * rng.lognormvariate(0, 0.05),
                "latency_p90_seconds": 0.165 * slow ** 0.7 * rng.lognormvariate(0, 0.07),
                "latency_p99_seconds": min(3.0, 0.41 * slow * rng.lognormvariate(0, 0.12))}

    def _frontend_signals(self, t, rng):
        rate = frontend_rate(t) * (1 + rng.gauss(0, 0.02))
        demand, failed, thrash, _ = self._window_stats(t)
        checkout_failing = (failed + demand * TIMEOUT_SHARE * thrash) / demand if demand else 0.0
        # A failed checkout call is retried once; about 85% of those still fail and surface.
        errors = CHECKOUT_SHARE * checkout_failing * 0.85
        timeouts = CHECKOUT_SHARE * thrash
        p99 = 0.38 if timeouts < 0.01 else min(3.05, 0.38 + 2.6 * min(1.0, timeouts * 12))
        if failed / max(demand, 1e-9) > 0.2:
            p99 = max(p99, 1.2)
        return {"request_rate": rate,
                "error_rate": min(1.0, max(0.0, 0.0011 + errors + rng.gauss(0, 0.0003))),
                "latency_p50_seconds": 0.046 * rng.lognormvariate(0, 0.05),
                "latency_p90_seconds": (0.12 + 0.5 * timeouts) * rng.lognormvariate(0, 0.07),
                "latency_p99_seconds": p99 * rng.lognormvariate(0, 0.1)}

    def _alb_metrics(self):
        b = self.b
        dims = {"Namespace": "AWS/ApplicationELB",
                "LoadBalancer": "app/k8s-shop-frontend-8c1e3b7a2d/5f2e9c1d7a6b4e30"}
        rows = [(t, self._frontend_signals(t, b.rng_for(f"alb/{t}"))) for t in b.grid]
        count = per_minute([(t, v["request_rate"] * 60) for t, v in rows])
        errors = per_minute([(t, v["request_rate"] * 60 * v["error_rate"]) for t, v in rows])
        latency = per_minute([(t, v["latency_p50_seconds"] * 1.6) for t, v in rows])
        b.cloudwatch_series += [series("RequestCount", dims, count, "Count", 0),
                                series("HTTPCode_Target_5XX_Count", dims, errors, "Count", 0),
                                series("TargetResponseTime", dims, latency, "Seconds", 4)]

    # --- logs -----------------------------------------------------------------------------

    def _frontend_logs(self, pod, c, i, run, rng, window):
        return AppLog(zap, templates=[
            (20, "INFO", "http/server.go:88", _frontend_request),
            (1, "WARN", "cart/client.go:143",
             lambda rng, t: ("cart service slow", {"duration_ms": ms_text(rng, 640)}))],
            per_minute=1.2, load=lambda t: frontend_rate(t) / 164,
            extra=self._frontend_errors)(pod, c, i, run, rng, window)

    def _frontend_errors(self, pod, c, i, run, rng, window):
        rows = []
        for t in range(max(run.start, ROLLOUT), window[1], 10 * SECOND):
            demand, failed, thrash, ready = self._window_stats(t)
            per_pod = (failed + demand * TIMEOUT_SHARE * thrash) * 10 / 3
            # zap's sampler keeps the first error of each burst and drops most of the rest.
            for _ in range(min(1, int(per_pod * 0.85 / 40 + rng.random()))):
                when = t - int(rng.random() * 10 * SECOND)
                if ready < 0.5:
                    err = "dial tcp 172.20.91.14:80: connect: connection refused"
                elif thrash > 0:
                    err = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                else:
                    err = 'Post "http://checkout.shop.svc.cluster.local/api/checkout": EOF'
                rows.append((when, "ERROR", "checkout/client.go:97", "checkout request failed",
                             {"route": "/api/checkout", "status": 502, "error": err,
                              "attempt": 2, "duration_ms": 3000 if "deadline" in err
                              else ms_text(rng, 12)}))
        return rows

    def _catalog_logs(self, pod, c, i, run, rng, window):
        return AppLog(zap, templates=[
            (12, "INFO", "http/server.go:88", lambda rng, t: ("request completed", {
                "route": rng.choice(["/products", "/products/{id}", "/categories"]),
                "status": 200, "duration_ms": ms_text(rng, 18)})),
            (1, "INFO", "cache/refresh.go:51", lambda rng, t: ("price cache refreshed",
                                                               {"items": 18_000 + rng.randrange(900)}))],
            per_minute=0.6)(pod, c, i, run, rng, window)

    def _cart_logs(self, index):
        def gc_lines(pod, c, i, run, rng, window):
            rows, t, n = [], max(run.start, window[0]), 4100 + 300 * index
            while t < window[1]:
                t += int(rng.uniform(140, 220) * SECOND)
                n += 1
                before = 560 + rng.randrange(200)
                after = 380 + rng.randrange(60)
                rows.append((t, "GC", "gc", f"GC({n}) Pause Young (Normal) (G1 Evacuation Pause) "
                             f"{before}M->{after}M(1024M) {rng.uniform(4, 14):.3f}ms", {}))
            return rows
        spring_fmt = spring("cart")

        def fmt(t, level, logger, msg, rng, fields):
            if level == "GC":
                return f"[{iso(t)[:-1]}.{t % 1000:03d}+0000][gc] {msg}"
            return spring_fmt(t, level, logger, msg, rng, fields)
        return AppLog(fmt, templates=[
            (6, "INFO", "c.s.cart.api.CartController",
             lambda rng, t: f"cart {rng.getrandbits(40):010x} updated: {rng.randrange(1, 7)} items"),
            (1, "DEBUG", "c.s.cart.store.RedisCartStore",
             lambda rng, t: f"evicted {rng.randrange(10, 90)} expired carts")],
            per_minute=0.5, extra=gc_lines)

    # --- expected answer ------------------------------------------------------------------

    def _evidence(self, rev8, first_oom):
        symptom = self.b.first_above("frontend", "error_rate", 0.01)
        return [
            {"kind": "container", "namespace": "shop", "pod_prefix": rev8.rs_name,
             "state": "terminated", "reason": "OOMKilled", "exit_code": 137},
            {"kind": "container", "namespace": "shop", "pod_prefix": rev8.rs_name,
             "state": "waiting", "reason": "CrashLoopBackOff"},
            {"kind": "event", "reason": "BackOff", "object_prefix": rev8.rs_name, "min_count": 5},
            {"kind": "event", "reason": "ScalingReplicaSet", "object_prefix": "checkout",
             "message_contains": f"Scaled up replica set {rev8.rs_name} from 0 to 1"},
            {"kind": "field", "object_kind": "Deployment", "namespace": "shop", "name": "checkout",
             "path": "status.conditions[type=Available].status", "equals": "False"},
            {"kind": "metric", "family": "workload", "name": "memory_working_set_bytes",
             "labels": {"workload": "checkout"}, "at": iso(ROLLOUT + 15 * MINUTE), "factor": 1.2},
            {"kind": "metric", "family": "service", "name": "error_rate",
             "labels": {"service": "frontend"}, "at": iso(symptom), "factor": 5.0},
            {"kind": "metric", "family": "service", "name": "latency_p99_seconds",
             "labels": {"service": "frontend"}, "at": iso(first_oom), "factor": 3.0},
            {"kind": "log", "path_contains": "checkout",
             "contains": "java.lang.OutOfMemoryError: Java heap space"},
            {"kind": "log", "path_contains": "checkout", "contains": "GC pressure"},
        ]

    def expected(self):
        b = self.b
        rev7, rev8 = self.checkout.revisions[1], self.checkout.revisions[2]
        ooms = sorted(run.end for p in self.checkout_pods for run in p.by_name("checkout").runs
                      if run.reason == "OOMKilled")
        outage = min(t for t, n in self.sim.ready_count.items() if n == 0 and t > ROLLOUT + 5 * MINUTE)
        return {
            "scenario": b.name, "cluster": b.cluster, "captured_at": iso(b.end),
            "root_cause": {
                "kind": "memory-leak",
                "component": {"kind": "Deployment", "namespace": "shop", "name": "checkout"},
                "container": "checkout",
                "summary": "checkout v2.4.0 (ReplicaSet revision 8) enables a promo cache that "
                           "never evicts; the working set climbs to the 512Mi limit and the "
                           "container is OOMKilled (exit 137), then crash-loops",
                "onset": iso(ROLLOUT),
                "change": {"kind": "rollout", "at": iso(ROLLOUT),
                           "from": {"replicaset": rev7.rs_name, "revision": 7,
                                    "image": rev7.specs[0]["image"]},
                           "to": {"replicaset": rev8.rs_name, "revision": 8,
                                  "image": rev8.specs[0]["image"]},
                           "env_added": ["PROMO_CACHE_ENABLED=true",
                                         "PROMO_CACHE_WARMUP_MAX_ENTRIES=150000"]},
                "first_failure": iso(ooms[0]),
                "failure": {"reason": "OOMKilled", "exit_code": 137, "oom_kills": len(ooms),
                            "memory_limit": "512Mi"},
            },
            "symptoms": [
                {"kind": "Service", "namespace": "shop", "name": "frontend",
                 "signal": "latency_p99_seconds",
                 "onset": iso(self.b.first_above("frontend", "latency_p99_seconds", 1.0))},
                {"kind": "Service", "namespace": "shop", "name": "frontend", "signal": "error_rate",
                 "onset": iso(self.b.first_above("frontend", "error_rate", 0.01))},
                {"kind": "Service", "namespace": "shop", "name": "checkout", "signal": "error_rate",
                 "onset": iso(self.b.first_above("checkout", "error_rate", 0.01)),
                 "first_without_endpoints": iso(outage)},
            ],
            "pods": [p.name for p in self.checkout_pods],
            "evidence": self._evidence(rev8, ooms[0]),
            "decoys": [
                {"component": {"kind": "Deployment", "namespace": "shop", "name": "cart"},
                 "kind": "jvm-memory-sawtooth", "note": "G1 sawtooth with slow growth; no restarts"},
                {"component": {"kind": "Deployment", "namespace": "shop", "name": "catalog"},
                 "kind": "readiness-probe-warning",
                 "note": "Unhealthy events since 10:14, before the incident"},
                {"component": {"kind": "Node", "name": self.c.name},
                 "kind": "steady-high-cpu", "note": "about 80% all window, from PostgreSQL"},
                {"component": {"kind": "CronJob", "namespace": "shop", "name": "order-export"},
                 "kind": "noisy-cronjob", "note": "warnings every half hour, jobs complete"},
                {"component": {"kind": "Deployment", "namespace": "shop", "name": "redis"},
                 "kind": "downstream-growth", "note": "memory grows as checkout writes the promo cache"},
            ],
        }


class CheckoutProfile(Profile):
    """checkout v2.4.0: memory from the leak simulation; GC burns CPU as the heap fills."""

    def __init__(self, replica, load):
        super().__init__(0.3, 0.0, load=load, cpu_limit=1.0, rx=52_000, tx=61_000)
        self.replica = replica

    def values(self, t, run_index, run, rng):
        out = super().values(t, run_index, run, rng)
        ws = self.replica.memory[t - t % SECOND]
        out["memory_working_set_bytes"] = ws * (1 + rng.gauss(0, 0.002))
        pressure = max(0.0, ws / LIMIT - 0.8) / 0.2
        gc = 0.75 * pressure ** 2
        out["cpu_usage_cores"] = min(1.0, out["cpu_usage_cores"] + gc)
        out["cpu_throttled_ratio"] = min(0.95, out["cpu_throttled_ratio"] + 0.6 * gc)
        return out


def _order_line(rng, t):
    return (f"Order {order_id(rng)} placed: {rng.randrange(1, 6)} items, total "
            f"{rng.uniform(12, 240):.2f} EUR, payment=AUTHORISED in {ms_text(rng, 190)} ms")


def _payment_line(rng, t):
    return (f"authorised {order_id(rng)} amount={rng.uniform(12, 240):.2f} EUR psp=adyen "
            f"ref={rng.getrandbits(56):014X} in {ms_text(rng, 130)} ms")


def _frontend_request(rng, t):
    route = rng.choice(["/", "/products/{id}", "/cart", "/api/cart", "/search", "/api/checkout"])
    return ("request completed", {"route": route, "status": 200, "duration_ms": ms_text(rng, 45)})


def _checkout_startup(run, i, pod, sim, rng):
    extra = []
    if "2.4.0" in pod.containers[0].spec["image"]:
        if i == 0:
            extra.append((6.1, "INFO", "c.s.checkout.promo.PromoCacheWarmer",
                          "promo cache snapshot checkout:promo-cache is empty, starting cold"))
        else:
            served = sum(v for s, v in sim.served.items() if s < run.start)
            total = int(served * 12)
            extra.append((6.1, "INFO", "c.s.checkout.promo.PromoCacheWarmer",
                          f"restoring promo cache: {min(total, 150_000)} of {total} entries "
                          "from redis key checkout:promo-cache"))
            extra.append((11.8, "INFO", "c.s.checkout.promo.PromoCacheWarmer",
                          f"promo cache restored in {rng.randrange(4800, 6900)} ms"))
    rows = spring_startup("checkout", pod.labels["app.kubernetes.io/version"],
                          "CheckoutApplication", boot_seconds=14.2 if i else 9.6, extra=extra)
    return [(run.start + off, lvl, lg, msg, {"thread": "main"}) for off, lvl, lg, msg in rows]


def _gc_pressure(replica, run, rng):
    rows, end = [], run.end or max(replica.memory, default=run.start)
    for t in range(run.start - run.start % (30 * SECOND) + 30 * SECOND, end, 30 * SECOND):
        ws = replica.memory.get(t, 0.0)
        if ws > 0.82 * LIMIT:
            share = int(18 + 70 * (ws / LIMIT - 0.82) / 0.18)
            rows.append((t + rng.randrange(900), "WARN", "c.s.checkout.health.GcMonitor",
                         f"GC pressure: {share}% of time in GC over the last 30s, old gen "
                         f"{int(100 * min(ws / LIMIT + 0.06, 0.99))}% used after collection "
                         f"(heap max 384M)", {"thread": "gc-monitor"}))
    return rows


def _oom_lines(run, rng):
    t = run.end - int(rng.uniform(1.5, 4) * SECOND)
    thread = f"nio-8080-exec-{rng.randrange(1, 11)}"
    head = ("Servlet.service() for servlet [dispatcherServlet] in context with path [] threw "
            "exception [Handler dispatch failed: java.lang.OutOfMemoryError: Java heap space] "
            "with root cause")
    stack = ["java.lang.OutOfMemoryError: Java heap space",
             "\tat java.base/java.util.HashMap.resize(HashMap.java:710)",
             "\tat java.base/java.util.HashMap.putVal(HashMap.java:635)",
             "\tat c.s.checkout.promo.PromoCache.remember(PromoCache.java:88)",
             "\tat c.s.checkout.pricing.PromoPricer.price(PromoPricer.java:142)"]
    rows = [(t, "ERROR", "o.a.c.c.C.[.[.[/].[dispatcherServlet]", head, {"thread": thread})]
    return rows + [(t + k + 1, "RAW", "", line, {}) for k, line in enumerate(stack)]


def _redis_logs(pod, c, i, run, rng, window):
    out, t = [], window[0] - window[0] % (5 * MINUTE) + 5 * MINUTE
    while t < window[1]:
        stamp = _redis_time(t)
        out += [(t, f"1:M {stamp} * 100 changes in 300 seconds. Saving..."),
                (t + 2, f"1:M {_redis_time(t + 2)} * Background saving started by pid "
                        f"{rng.randrange(200, 9000)}"),
                (t + 900, f"1:C {_redis_time(t + 900)} * DB saved on disk"),
                (t + 990, f"1:M {_redis_time(t + 990)} * Background saving terminated with success")]
        t += 5 * MINUTE
    return out


def _redis_time(t):
    text = iso(t)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return f"{int(text[8:10])} {months[int(text[5:7]) - 1]} {text[:4]} {text[11:19]}.{t % 1000:03d}"


def _postgres_logs(pod, c, i, run, rng, window):
    out, t = [], window[0] - window[0] % (5 * MINUTE) + 5 * MINUTE
    while t < window[1]:
        stamp = iso(t).replace("T", " ").replace("Z", f".{t % 1000:03d} UTC")
        buffers = rng.randrange(900, 4200)
        out.append((t, f"{stamp} [61] LOG:  checkpoint starting: time"))
        end = t + int(rng.uniform(25, 55) * SECOND)
        stamp_end = iso(end).replace("T", " ").replace("Z", f".{end % 1000:03d} UTC")
        out.append((end, f"{stamp_end} [61] LOG:  checkpoint complete: wrote {buffers} buffers "
                         f"({buffers / 163.84:.1f}%); 0 WAL file(s) added, 0 removed, 2 recycled; "
                         f"write={(end - t) / 1000 - 0.4:.3f} s, sync=0.041 s, "
                         f"total={(end - t) / 1000:.3f} s"))
        t += 5 * MINUTE
    return out


def _export_logs(pod, c, i, run, rng, window):
    def line(t, level, msg):
        stamp = iso(t).replace("T", " ").replace("Z", f",{t % 1000:03d}")
        return (t, f"{stamp} {level} order_export: {msg}")
    t = run.start + 800
    rows = [line(t, "INFO", "exporting orders placed since the last run"),
            line(t + 4_100, "WARNING", f"slow query: orders_by_updated_at took "
                                       f"{rng.uniform(3.5, 6.5):.1f}s (seq scan on orders)")]
    if rng.random() < 0.7:
        rows.append(line(t + 61_000, "WARNING", "upload to s3://shop-prod-exports failed (attempt "
                                                "1/5): RequestTimeout, retrying in 4s"))
    rows.append(line(run.end - 900, "INFO", f"exported {rng.randrange(2100, 3900)} orders to "
                                            f"s3://shop-prod-exports/{iso(run.start)[:10]}/"))
    return rows


def _eks(b):
    subnets = [{"SubnetId": "subnet-0" + b.ids.hex(16), "CidrBlock": cidr, "AvailabilityZone": zone,
                "AvailableIpAddressCount": free}
               for cidr, zone, free in (("10.0.0.0/19", "eu-west-1a", 7918),
                                        ("10.0.32.0/19", "eu-west-1b", 7842),
                                        ("10.0.64.0/19", "eu-west-1c", 7951))]
    ids = [s["SubnetId"] for s in subnets]
    cluster.eks_view(b, created=CLUSTER_CREATED, endpoint_public=True,
                     logging_enabled=["api", "audit", "authenticator"],
                     vpc="vpc-0" + b.ids.hex(16), subnets=subnets,
                     nodegroups=[
                         {"name": "shop-general", "created": ms("2025-03-04T09:40:00Z"),
                          "modified": NODES_ROTATED, "capacity_type": "ON_DEMAND", "min": 3,
                          "max": 6, "desired": 3, "instance_types": ["m6i.xlarge"], "subnets": ids,
                          "labels": {"workload": "general"}},
                         {"name": "shop-spot", "created": ms("2025-06-18T14:00:00Z"),
                          "modified": ms("2026-11-19T22:40:00Z"), "capacity_type": "SPOT",
                          "min": 1, "max": 4, "desired": 1,
                          "instance_types": ["m6a.xlarge", "m6i.xlarge", "m5.xlarge"],
                          "subnets": ids, "labels": {"workload": "batch"}}],
                     addons=cluster.standard_addons(b, CLUSTER_CREATED))
