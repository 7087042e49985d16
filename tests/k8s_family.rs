//! The newer Kubernetes tools (rollout history, node status, log templates, events from both
//! APIs, large lists) through the live backend against the Kubernetes API stand-in (an HTTP
//! stand-in serving a fixture bundle with real object shapes) and through the snapshot backend.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eks_ops_mcp::config::{GlobalArgs, Settings};
use eks_ops_mcp::tools::Context;
use eks_ops_testbed::kube::KubeStandin;
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
