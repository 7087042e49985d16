//! Benchmark of the diagnosis rules and the log template miner, printed as tables.
//!
//! `cargo bench -p eks-ops-engine --bench diagnose -- [--pods N] [--runs R] [--lines L]`
//!
//! Diagnosis: generates a cluster view in memory (default 5,000 pods over 30 pods per node, ten
//! pods per Deployment, a Service and EndpointSlice per Deployment, normal and warning events,
//! about one pod in seven faulty in one of nine ways, three sick nodes), then runs `diagnose`
//! over the whole cluster `R` times and reports the median CPU time per run, generation
//! excluded. Log mining: feeds `L` generated lines (default 100,000) of nginx, Java (with stack
//! frames), JSON and logfmt logs to a fresh miner per run.
//!
//! CPU time is this thread's run time from `/proc/thread-self/schedstat` (nanoseconds), so other
//! processes on a shared machine do not inflate it; elsewhere it falls back to wall time.

use eks_ops_engine::diagnose::{ClusterView, DiagnoseOptions, Scope, Severity, diagnose};
use eks_ops_engine::logtemplate::TemplateMiner;
use serde_json::{Value, json};
use std::time::Instant;

const NOW_MS: i64 = 1_795_185_000_000; // 2026-11-20T14:30:00Z
const PODS_PER_NODE: usize = 30;
const PODS_PER_DEPLOYMENT: usize = 10;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: usize| {
        (args.iter().position(|a| a == name))
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (pods, runs, lines) = (
        arg("--pods", 5000),
        arg("--runs", 15).max(1),
        arg("--lines", 100_000),
    );
    let clock = if cpu_ns().is_some() {
        "thread CPU time"
    } else {
        "wall time (no schedstat)"
    };
    println!("clock: {clock}; runs per row: {runs}\n");
    bench_diagnose(pods, runs);
    println!();
    bench_logs(lines, runs);
}

fn bench_diagnose(pods: usize, runs: usize) {
    let view = generate(pods);
    let scope = Scope::Cluster;
    let options = DiagnoseOptions::at(NOW_MS);
    let mut times = Vec::with_capacity(runs);
    let mut result = diagnose(&view, &scope, &options);
    for _ in 0..runs {
        let start = now_ns();
        result = diagnose(&view, &scope, &options);
        times.push(now_ns() - start);
    }
    let count = |s| result.by_severity.get(&s).copied().unwrap_or(0);
    println!(
        "| pods | nodes | events | objects | findings (crit/warn/info) | median ms | min ms | max ms |"
    );
    println!("|---:|---:|---:|---:|---|---:|---:|---:|");
    let objects: usize = view.counts().iter().map(|(_, n)| n).sum();
    let (median, min, max) = stats(&mut times);
    println!(
        "| {} | {} | {} | {} | {} ({}/{}/{}) | {median:.1} | {min:.1} | {max:.1} |",
        view.pods.len(),
        view.nodes.len(),
        view.events.len(),
        objects,
        result.findings.len(),
        count(Severity::Critical),
        count(Severity::Warning),
        count(Severity::Info),
    );
    let rules: Vec<String> = result
        .by_rule
        .iter()
        .map(|(r, n)| format!("{r}={n}"))
        .collect();
    println!("\nfindings by rule: {}", rules.join(", "));
}

fn bench_logs(lines: usize, runs: usize) {
    let log = generate_log(lines);
    let mut times = Vec::with_capacity(runs);
    let mut miner = TemplateMiner::default();
    for _ in 0..runs {
        let start = now_ns();
        miner = TemplateMiner::default();
        for (t, line) in &log {
            miner.feed(*t, line);
        }
        let _ = miner.templates();
        times.push(now_ns() - start);
    }
    let (median, min, max) = stats(&mut times);
    let s = miner.stats();
    println!(
        "| log lines | templates | folded continuation lines | median ms | min ms | max ms | lines/s (median) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {} | {median:.1} | {min:.1} | {max:.1} | {:.0} |",
        s.lines,
        s.live_templates,
        s.continuation_lines,
        lines as f64 / (median / 1000.0)
    );
}

/// (median, min, max) in milliseconds.
fn stats(ns: &mut [u64]) -> (f64, f64, f64) {
    ns.sort_unstable();
    let ms = |v: u64| v as f64 / 1e6;
    (ms(ns[ns.len() / 2]), ms(ns[0]), ms(ns[ns.len() - 1]))
}

fn now_ns() -> u64 {
    cpu_ns().unwrap_or_else(|| {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    })
}

fn cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// A small deterministic generator (SplitMix64), so every run sees the same cluster.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn ts(minutes_ago: i64) -> String {
    let secs = NOW_MS / 1000 - minutes_ago * 60;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil conversion, to print RFC 3339 without a time crate.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn generate(pods: usize) -> ClusterView {
    let mut rng = Rng(42);
    let mut view = ClusterView::default();
    let nodes = pods.div_ceil(PODS_PER_NODE).max(1);
    for i in 0..nodes {
        add(&mut view, node(i, i % 60));
    }
    let deployments = pods.div_ceil(PODS_PER_DEPLOYMENT);
    for d in 0..deployments {
        let n = PODS_PER_DEPLOYMENT.min(pods - d * PODS_PER_DEPLOYMENT);
        workload(&mut view, &mut rng, d, n, nodes);
    }
    view
}

fn add(view: &mut ClusterView, value: Value) {
    view.add_json(value).expect("generated objects are valid");
}

fn node_name(i: usize) -> String {
    format!(
        "ip-10-{}-{}-{}.eu-west-1.compute.internal",
        i / 65_536 % 256,
        i / 256 % 256,
        i % 256
    )
}

/// Node `i`; every 60th is NotReady and the one after it has DiskPressure.
fn node(i: usize, phase: usize) -> Value {
    let cond = |t: &str, s: &str, reason: &str| json!({"type": t, "status": s, "reason": reason, "message": reason, "lastHeartbeatTime": ts(1), "lastTransitionTime": ts(300)});
    let ready = if phase == 7 { "Unknown" } else { "True" };
    let disk = if phase == 8 { "True" } else { "False" };
    json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": node_name(i), "labels": {"topology.kubernetes.io/zone": format!("eu-west-1{}", ["a", "b", "c"][i % 3])}},
        "spec": {"providerID": format!("aws:///eu-west-1a/i-0{:016x}", i)},
        "status": {"allocatable": {"cpu": "3920m", "memory": "15Gi", "pods": "58"},
                   "conditions": [cond("MemoryPressure", "False", "KubeletHasSufficientMemory"), cond("DiskPressure", disk, "KubeletHasDiskPressure"),
                                  cond("PIDPressure", "False", "KubeletHasSufficientPID"), cond("Ready", ready, "KubeletReady")]}})
}

fn workload(view: &mut ClusterView, rng: &mut Rng, d: usize, pods: usize, nodes: usize) {
    let ns = format!("team-{:02}", d % 25);
    let app = format!("svc-{d:04}");
    let hash = format!("{:09x}", d * 7919 + 0x5d8f9c7b6);
    let rs_name = format!("{app}-{hash}");
    let image = format!(
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/{app}:1.{}.0",
        d % 9
    );
    add(
        view,
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": app, "namespace": ns, "generation": 3},
        "spec": {"replicas": pods, "selector": {"matchLabels": {"app": app}}, "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{"name": "app", "image": image}]}}},
        "status": {"replicas": pods, "updatedReplicas": pods, "readyReplicas": pods, "availableReplicas": pods,
                   "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}, {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}}),
    );
    add(
        view,
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": rs_name, "namespace": ns, "annotations": {"deployment.kubernetes.io/revision": "3"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": format!("uid-{app}"), "controller": true}]},
        "spec": {"replicas": pods, "selector": {"matchLabels": {"app": app}}}}),
    );
    add(
        view,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "namespace": ns},
        "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 8080}]}}),
    );
    let mut endpoints = Vec::new();
    for p in 0..pods {
        let name = format!("{rs_name}-{:05x}", rng.below(0xFFFFF));
        let node = node_name((d * PODS_PER_DEPLOYMENT + p) % nodes);
        let fault = rng.below(100);
        let (pod, events) = pod(&ns, &app, &rs_name, &name, &node, &image, fault);
        endpoints.push(json!({"addresses": [format!("10.1.{}.{}", p, d % 256)], "conditions": {"ready": fault >= 14},
                              "targetRef": {"kind": "Pod", "name": name, "namespace": ns}}));
        add(view, pod);
        for e in events {
            add(view, e);
        }
    }
    add(
        view,
        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": format!("{app}-abcde"), "namespace": ns, "labels": {"kubernetes.io/service-name": app}},
        "addressType": "IPv4", "endpoints": endpoints}),
    );
}

fn event(ns: &str, pod: &str, reason: &str, message: &str, count: u32, kind: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{pod}.{reason}"), "namespace": ns},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": ns, "fieldPath": "spec.containers{app}"},
        "reason": reason, "message": message, "count": count, "type": kind,
        "firstTimestamp": ts(50), "lastTimestamp": ts(2)})
}

/// One pod and its events. `fault` below 14 picks a failure; the rest are healthy.
fn pod(
    ns: &str,
    app: &str,
    rs: &str,
    name: &str,
    node: &str,
    image: &str,
    fault: u64,
) -> (Value, Vec<Value>) {
    let mut events = vec![
        event(
            ns,
            name,
            "Scheduled",
            &format!("Successfully assigned {ns}/{name} to {node}"),
            1,
            "Normal",
        ),
        event(
            ns,
            name,
            "Pulled",
            &format!("Container image \"{image}\" already present on machine"),
            1,
            "Normal",
        ),
        event(ns, name, "Started", "Started container app", 1, "Normal"),
    ];
    let running = json!({"running": {"startedAt": ts(100)}});
    let mut phase = "Running";
    let mut ready = true;
    let mut restarts = 0;
    let mut state = running.clone();
    let mut last = json!({});
    let mut node_name = Some(node.to_string());
    let mut status_extra = json!({});
    match fault {
        0..=3 => {
            ready = false;
            restarts = 12;
            state = json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}});
            last = json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ts(3)}});
            events.push(event(
                ns,
                name,
                "BackOff",
                "Back-off restarting failed container app",
                40,
                "Warning",
            ));
        }
        4..=5 => {
            restarts = 2;
            last = json!({"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": ts(9)}});
        }
        6 => {
            ready = false;
            state = json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}-rc\"")}});
            events.push(event(ns, name, "Failed", &format!("Failed to pull image \"{image}-rc\": rpc error: code = NotFound desc = not found"), 6, "Warning"));
        }
        7 => {
            ready = false;
            state = json!({"waiting": {"reason": "CreateContainerConfigError", "message": format!("secret \"{app}-secrets\" not found")}});
        }
        8 => {
            ready = false;
            phase = "Pending";
            node_name = None;
            events.push(event(ns, name, "FailedScheduling", "0/167 nodes are available: 160 Insufficient memory, 7 node(s) had untolerated taint {node.kubernetes.io/unreachable: }. preemption: 0/167 nodes are available: 167 No preemption victims found for incoming pod.", 9, "Warning"));
        }
        9..=10 => {
            ready = false;
            events.push(event(
                ns,
                name,
                "Unhealthy",
                "Readiness probe failed: HTTP probe failed with statuscode: 503",
                120,
                "Warning",
            ));
        }
        11 => {
            ready = false;
            phase = "Failed";
            state = json!({"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown"}});
            status_extra = json!({"reason": "Evicted", "message": "The node was low on resource: memory. Threshold quantity: 100Mi, available: 64Mi."});
        }
        12 => {
            ready = false;
            phase = "Pending";
            state = json!({"waiting": {"reason": "ContainerCreating"}});
            events.push(event(ns, name, "FailedCreatePodSandBox", "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"abc\": plugin type=\"aws-cni\" name=\"aws-cni\" failed (add): add cmd: failed to assign an IP address to container", 14, "Warning"));
        }
        13 => {
            restarts = 5;
            events.push(event(ns, name, "Unhealthy", "Liveness probe failed: Get \"http://10.1.0.1:8080/healthz\": context deadline exceeded", 15, "Warning"));
            events.push(event(
                ns,
                name,
                "Killing",
                "Container app failed liveness probe, will be restarted",
                5,
                "Normal",
            ));
        }
        _ => {}
    }
    let cond = |t: &str, ok: bool| json!({"type": t, "status": if ok { "True" } else { "False" }, "lastTransitionTime": ts(100)});
    let scheduled = node_name.is_some();
    let mut status = json!({"phase": phase, "startTime": ts(100),
        "conditions": [cond("PodScheduled", scheduled), cond("Ready", ready), cond("ContainersReady", ready)],
        "containerStatuses": [{"name": "app", "image": image, "imageID": "", "ready": ready, "restartCount": restarts, "state": state, "lastState": last}]});
    if let (Some(s), Some(extra)) = (status.as_object_mut(), status_extra.as_object()) {
        s.extend(extra.clone());
    }
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": app}, "creationTimestamp": ts(100),
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": format!("uid-{rs}"), "controller": true}]},
        "spec": {"nodeName": node_name, "containers": [{"name": "app", "image": image,
            "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}}, "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}]},
        "status": status});
    (pod, events)
}

/// Mixed application logs: nginx access lines, Java errors with stack frames, JSON and logfmt.
fn generate_log(lines: usize) -> Vec<(i64, String)> {
    let mut rng = Rng(7);
    let mut out = Vec::with_capacity(lines);
    let paths = [
        "/api/orders",
        "/api/cart",
        "/api/catalogue/items",
        "/healthz",
        "/api/payment/authorize",
    ];
    let users = ["alice", "bob", "carol", "dave", "erin"];
    while out.len() < lines {
        let t = NOW_MS - 3_600_000 + out.len() as i64 * 30;
        let line = match rng.below(10) {
            0..=3 => format!(
                "10.0.{}.{} - - [20/Nov/2026:14:{:02}:{:02} +0000] \"GET {}/{} HTTP/1.1\" {} {} \"-\" \"Mozilla/5.0\"",
                rng.below(4),
                rng.below(255),
                rng.below(60),
                rng.below(60),
                paths[rng.below(5) as usize],
                rng.below(9999),
                [200, 200, 200, 404, 502][rng.below(5) as usize],
                rng.below(20_000)
            ),
            4..=5 => format!(
                r#"{{"ts":"2026-11-20T14:{:02}:{:02}.{:03}Z","level":"info","msg":"order placed","order_id":"{:016x}","user":"{}","total":{}.{:02}}}"#,
                rng.below(60),
                rng.below(60),
                rng.below(1000),
                rng.next(),
                users[rng.below(5) as usize],
                rng.below(500),
                rng.below(100)
            ),
            6..=7 => format!(
                "time=2026-11-20T14:{:02}:{:02}Z level=warn msg=\"slow query\" table={} duration={}ms rows={}",
                rng.below(60),
                rng.below(60),
                ["orders", "items", "users"][rng.below(3) as usize],
                rng.below(5000),
                rng.below(100_000)
            ),
            8 => format!(
                "2026-11-20 14:{:02}:{:02}.{:03} INFO 1 --- [nio-8080-exec-{}] c.s.checkout.CheckoutService : Order {} placed for user {}",
                rng.below(60),
                rng.below(60),
                rng.below(1000),
                rng.below(200),
                rng.below(100_000),
                users[rng.below(5) as usize]
            ),
            _ => {
                out.push((t, format!("2026-11-20 14:{:02}:{:02}.{:03} ERROR 1 --- [nio-8080-exec-{}] c.s.checkout.CheckoutController : Request failed", rng.below(60), rng.below(60), rng.below(1000), rng.below(200))));
                out.push((t, format!("java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after {}ms.", 30_000 + rng.below(50))));
                out.push((t, "\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)".to_string()));
                "\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:197)"
                    .to_string()
            }
        };
        out.push((t, line));
    }
    out.truncate(lines);
    out
}
