//! The newer Kubernetes tools (rollout history, node status, log templates, events from both
//! APIs, large lists) through the live backend against the Kubernetes API stand-in (an HTTP
//! stand-in serving a fixture bundle with real object shapes) and through the snapshot backend.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eks_ops_mcp::config::{GlobalArgs, Settings};
use eks_ops_mcp::tools::Context;
use eks_ops_testbed::kube::{DenyRule, KubeStandin};
use serde_json::{Value, json};

mod common;
use common::call;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kube-cluster")
}

/// A live context whose kubeconfig points at the stand-in.
fn live(standin: &KubeStandin, dir: &tempfile::TempDir) -> Arc<Context> {
    let kubeconfig = dir.path().join("kubeconfig");
    standin
        .write_kubeconfig(&kubeconfig, &["fixture-cluster"])
        .unwrap();
    let settings = Settings::resolve(&GlobalArgs {
        kubeconfig: Some(kubeconfig),
        context: Some("fixture-cluster".into()),
        ..Default::default()
    })
    .unwrap();
    Context::new(Arc::new(settings))
}

fn snapshot(bundle: &Path) -> Arc<Context> {
    let settings = Settings::resolve(&GlobalArgs {
        snapshot: Some(bundle.display().to_string()),
        ..Default::default()
    })
    .unwrap();
    Context::new(Arc::new(settings))
}

fn builtin() -> Arc<Context> {
    let settings = Settings::resolve(&GlobalArgs {
        snapshot: Some("builtin:checkout-oom".into()),
        ..Default::default()
    })
    .unwrap();
    Context::new(Arc::new(settings))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn rollout_history_of_the_bundled_checkout_release() {
    let a = call(
        &builtin(),
        "k8s_rollout_history",
        json!({"namespace": "shop", "name": "checkout"}),
    )
    .await;
    assert!(!a.is_error, "{}", a.text);
    let revs = a.data["revisions"].as_array().unwrap();
    let numbers: Vec<i64> = revs
        .iter()
        .map(|r| r["revision"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![8, 7, 6], "{}", a.text);
    assert_eq!(revs[0]["current"], true);
    assert_eq!(revs[0]["ready"], "1/3");
    assert!(revs[0]["change_cause"].as_str().unwrap().contains("2.4.0"));
    let changes = strings(&revs[0]["changes"]);
    assert!(
        changes
            .iter()
            .any(|c| c.contains("container[checkout].image")
                && c.contains("checkout:2.3.1 -> ")
                && c.ends_with("checkout:2.4.0")),
        "{changes:?}"
    );
    // Only 1 of 3 replicas is available after the update: not a complete rollout.
    assert_eq!(a.data["status"]["state"], "unavailable", "{}", a.text);
    assert!(a.text.contains("revision 8 changed:"), "{}", a.text);
    assert!(revs[2]["changes"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn rollout_history_is_the_same_live_and_from_the_snapshot() {
    let standin = KubeStandin::builder(fixture()).spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let live = live(&standin, &dir);
    let snap = snapshot(&fixture());
    for args in [
        json!({"namespace": "shop", "name": "checkout"}),
        json!({"namespace": "shop", "name": "redis", "kind": "StatefulSet"}),
        json!({"namespace": "kube-system", "name": "aws-node", "kind": "ds"}),
    ] {
        let a = call(&live, "k8s_rollout_history", args.clone()).await;
        let b = call(&snap, "k8s_rollout_history", args.clone()).await;
        assert!(!a.is_error, "live {args}: {}", a.text);
        assert!(!b.is_error, "snapshot {args}: {}", b.text);
        assert_eq!(a.data["revisions"], b.data["revisions"], "{args}");
        assert_eq!(a.data["status"], b.data["status"], "{args}");
        assert!(
            !a.data["revisions"].as_array().unwrap().is_empty(),
            "{args}"
        );
    }
    let a = call(
        &live,
        "k8s_rollout_history",
        json!({"namespace": "shop", "name": "checkout"}),
    )
    .await;
    let revs = a.data["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 2, "{}", a.text);
    let changes = strings(&revs[0]["changes"]);
    assert!(
        changes
            .iter()
            .any(|c| c.contains("checkout:v2.3.1 -> ") && c.ends_with("checkout:v2.4.0")),
        "{changes:?}"
    );
    let ds = call(
        &live,
        "k8s_rollout_history",
        json!({"namespace": "kube-system", "name": "aws-node", "kind": "DaemonSet"}),
    )
    .await;
    assert!(
        ds.data["revisions"][0]["images"].as_array().unwrap().len() == 2,
        "{}",
        ds.text
    );
    // A kind without rollouts is refused with the kinds that have them.
    let bad = call(
        &live,
        "k8s_rollout_history",
        json!({"namespace": "shop", "name": "checkout", "kind": "Service"}),
    )
    .await;
    assert!(
        bad.is_error && bad.text.contains("StatefulSet"),
        "{}",
        bad.text
    );
    let missing = call(
        &live,
        "k8s_rollout_history",
        json!({"namespace": "shop", "name": "nope"}),
    )
    .await;
    assert!(missing.is_error, "{}", missing.text);
}

#[tokio::test]
async fn node_status_is_the_same_live_and_from_the_snapshot() {
    let standin = KubeStandin::builder(fixture()).spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let live = live(&standin, &dir);
    let snap = snapshot(&fixture());
    let node = "ip-10-0-3-67.eu-west-1.compute.internal";
    for args in [
        json!({}),
        json!({"node": node}),
        json!({"label_selector": "eks.amazonaws.com/nodegroup=general"}),
    ] {
        let a = call(&live, "k8s_node_status", args.clone()).await;
        let b = call(&snap, "k8s_node_status", args.clone()).await;
        assert!(!a.is_error, "live {args}: {}", a.text);
        assert!(!b.is_error, "snapshot {args}: {}", b.text);
        let strip = |v: &Value| {
            let mut v = v.clone();
            for n in v.as_array_mut().unwrap() {
                n.as_object_mut().unwrap().remove("age");
            }
            v
        };
        assert_eq!(strip(&a.data["nodes"]), strip(&b.data["nodes"]), "{args}");
    }
    let all = call(&live, "k8s_node_status", json!({})).await;
    assert_eq!(all.data["total"], 3, "{}", all.text);
    let one = call(&live, "k8s_node_status", json!({"node": node})).await;
    let row = &one.data["nodes"][0];
    assert_eq!(row["group"], "nodepool/batch", "{}", one.text);
    assert_eq!(row["capacity_type"], "SPOT");
    assert_eq!(row["taints"][0], "workload=batch:NoSchedule");
    assert_eq!(row["cpu"]["allocatable"], 7.91);
    assert_eq!(row["pods"]["allocatable"], 58.0);
    // Pods count those bound there that have not finished, as the scheduler counts them.
    let pods = call(
        &live,
        "k8s_list_resources",
        json!({"kind": "pods", "field_selector": format!("spec.nodeName={node},status.phase!=Succeeded,status.phase!=Failed")}),
    )
    .await;
    assert_eq!(
        row["pods"]["requested"].as_f64().unwrap() as u64,
        pods.data["total"].as_u64().unwrap(),
        "{}",
        pods.text
    );
    // The single-node call asked the API server for that node's pods only.
    assert!(
        standin
            .requests()
            .iter()
            .any(|r| r.path.contains("/api/v1/pods")
                && r.path.contains("fieldSelector=spec.nodeName")),
        "{:?}",
        standin.requests()
    );
    let missing = call(&live, "k8s_node_status", json!({"node": "nope"})).await;
    assert!(missing.is_error, "{}", missing.text);
}

#[tokio::test]
async fn node_status_on_the_bundled_incident_shows_the_crashing_pods() {
    let a = call(&builtin(), "k8s_node_status", json!({})).await;
    assert!(!a.is_error, "{}", a.text);
    let nodes = a.data["nodes"].as_array().unwrap();
    assert!(!nodes.is_empty());
    let problem_pods: Vec<String> = nodes
        .iter()
        .flat_map(|n| strings(&n["problem_pods"]))
        .collect();
    assert!(
        problem_pods.iter().any(|p| p.starts_with("shop/checkout-")),
        "{}",
        a.text
    );
    for n in nodes {
        let cpu = n["cpu"]["requested"].as_f64().unwrap();
        assert!(
            cpu > 0.0 && cpu <= n["cpu"]["allocatable"].as_f64().unwrap() * 1.5,
            "{n}"
        );
    }
}

#[tokio::test]
async fn events_are_read_from_both_apis_and_deduplicated() {
    let standin = KubeStandin::builder(fixture()).spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let live_ctx = live(&standin, &dir);
    let args = json!({"since": "30d", "limit": 200});
    let a = call(&live_ctx, "k8s_get_events", args.clone()).await;
    let b = call(&snapshot(&fixture()), "k8s_get_events", args.clone()).await;
    assert!(!a.is_error, "{}", a.text);
    // The stand-in serves every event under both APIs: merged, each counts once.
    assert_eq!(a.data["total_groups"], b.data["total_groups"], "{}", a.text);
    assert_eq!(a.data["events"], b.data["events"]);
    let paths: Vec<String> = standin.requests().iter().map(|r| r.path.clone()).collect();
    assert!(
        paths
            .iter()
            .any(|p| p.starts_with("/apis/events.k8s.io/v1/events")),
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.starts_with("/api/v1/events")),
        "{paths:?}"
    );

    // RBAC granted on core events only: the newer API is refused, the answer is the same.
    let denied = KubeStandin::builder(fixture())
        .deny(DenyRule::new("list", "events").in_group("events.k8s.io"))
        .spawn()
        .await
        .unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let c = call(&live(&denied, &dir2), "k8s_get_events", args).await;
    assert!(!c.is_error, "{}", c.text);
    assert_eq!(c.data["events"], a.data["events"]);
}

#[tokio::test]
async fn a_cut_log_carries_its_most_frequent_templates() {
    let standin = KubeStandin::builder(fixture()).spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ctx = live(&standin, &dir);
    let args = json!({"namespace": "shop", "workload": "Deployment/checkout", "since": "2026-11-20T00:00:00Z", "until": "2026-11-21T00:00:00Z", "max_bytes": 600});
    let a = call(&ctx, "k8s_get_pod_logs", args.clone()).await;
    assert!(!a.is_error, "{}", a.text);
    let matched = a.data["matched_lines"].as_u64().unwrap();
    assert!(a.data["truncated"].is_object(), "{}", a.text);
    let templates = a.data["templates"].as_array().unwrap();
    assert!(!templates.is_empty(), "{}", a.text);
    let counts: Vec<u64> = templates
        .iter()
        .map(|t| t["count"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    assert!(counts.iter().sum::<u64>() <= matched);
    for t in templates {
        assert!(
            t["first_seen"].as_str().unwrap() <= t["last_seen"].as_str().unwrap(),
            "{t}"
        );
    }
    assert!(a.text.contains("most frequent templates"), "{}", a.text);
    // Fenced as data like the lines themselves.
    let fence = a.text.find("--- begin log data").unwrap();
    assert!(a.text.find("most frequent templates").unwrap() > fence);
    let same = call(&snapshot(&fixture()), "k8s_get_pod_logs", args).await;
    assert_eq!(same.data["templates"], a.data["templates"]);
    // A log that fits needs no summary.
    let whole = call(
        &ctx,
        "k8s_get_pod_logs",
        json!({"namespace": "shop", "workload": "Deployment/checkout", "since": "2026-11-20T00:00:00Z", "until": "2026-11-21T00:00:00Z", "max_bytes": 1000000, "response_bytes": 200000}),
    )
    .await;
    assert!(whole.data.get("templates").is_none(), "{}", whole.text);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// 2000 pods in namespace `load`: every 10th crash-looping, every 25th Pending, the rest running.
fn load_pods() -> (String, usize, usize) {
    let mut text = String::new();
    let (mut crashing, mut pending) = (0, 0);
    for i in 0..2000 {
        let state = if i % 10 == 3 {
            crashing += 1;
            json!({"phase": "Running", "containerStatuses": [{"name": "app", "image": "app:1", "imageID": "", "ready": false, "restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]})
        } else if i % 25 == 7 {
            pending += 1;
            json!({"phase": "Pending"})
        } else {
            json!({"phase": "Running", "containerStatuses": [{"name": "app", "image": "app:1", "imageID": "", "ready": true, "restartCount": 0, "state": {"running": {}}}]})
        };
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("worker-{i:04}"), "namespace": "load", "uid": format!("00000000-0000-0000-0000-{i:012}"),
                "creationTimestamp": "2026-11-20T10:00:00Z", "labels": {"app": "worker"}},
            "spec": {"nodeName": "ip-10-0-1-23.eu-west-1.compute.internal", "containers": [{"name": "app", "image": "app:1"}]},
            "status": state,
        });
        text.push_str("---\n");
        text.push_str(&serde_yaml::to_string(&pod).unwrap());
    }
    (text, crashing, pending)
}

#[tokio::test]
async fn two_thousand_pods_stay_within_the_budget_with_complete_counts() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    copy_dir(&fixture(), &bundle);
    let (pods, crashing, pending) = load_pods();
    std::fs::create_dir_all(bundle.join("objects/load")).unwrap();
    std::fs::write(bundle.join("objects/load/Pod.yaml"), pods).unwrap();
    let standin = KubeStandin::builder(&bundle).spawn().await.unwrap();
    let ctx = live(&standin, &dir);
    let budget = 24_000;
    let a = call(
        &ctx,
        "k8s_list_resources",
        json!({"kind": "pods", "namespace": "load", "limit": 500, "response_bytes": budget}),
    )
    .await;
    assert!(!a.is_error, "{}", a.text);
    // Both halves fit on their own: the tool cut the rows itself, the safety net did not.
    let size = serde_json::to_vec(&a.data).unwrap().len();
    assert!(size <= budget, "structured content is {size} bytes");
    assert!(a.text.len() <= budget, "summary is {} bytes", a.text.len());
    assert!(!a.text.contains("[output cut"), "{}", a.text);
    assert_eq!(a.data["total"], 2000);
    let counts = &a.data["status_counts"];
    assert_eq!(counts["CrashLoopBackOff"], crashing as u64, "{counts}");
    assert_eq!(counts["Pending"], pending as u64, "{counts}");
    assert_eq!(
        counts["Running"],
        (2000 - crashing - pending) as u64,
        "{counts}"
    );
    let rows = a.data["rows"].as_array().unwrap();
    assert!(rows.len() < 500 && !rows.is_empty(), "{} rows", rows.len());
    // Unhealthy pods come first, so the cut keeps what an operator looks for.
    assert_eq!(rows[0]["status"], "CrashLoopBackOff");
    let t = &a.data["truncated"];
    assert_eq!(t["total"], 2000);
    let how = t["how_to_get_more"].as_str().unwrap();
    let token = a.data["continue"].as_str().unwrap();
    assert!(how.contains(&format!("continue={token}")), "{how}");
    assert!(a.text.contains(&format!("continue={token}")), "{}", a.text);
    // The continue token picks up exactly where the cut was.
    let next = call(
        &ctx,
        "k8s_list_resources",
        json!({"kind": "pods", "namespace": "load", "limit": 500, "continue": token, "response_bytes": budget}),
    )
    .await;
    assert!(!next.is_error, "{}", next.text);
    let first_next = next.data["rows"][0]["name"].as_str().unwrap();
    assert!(
        !rows.iter().any(|r| r["name"] == first_next),
        "{first_next} came twice"
    );
    assert_eq!(next.data["status_counts"], *counts);
}
