//! Scopes keep the findings of one namespace or one workload's neighbourhood, over a view that
//! merges several fixtures (a stuck checkout rollout, a Service with no ready pods, a failed
//! Job in another namespace, an HPA without metrics, and a NotReady node hosting checkout pods).
#![cfg(feature = "k8s")]

use eks_ops_engine::diagnose::{ClusterView, DiagnoseOptions, Scope, diagnose, rfc3339_to_ms};
use serde_json::Value;
use std::collections::BTreeMap;

const FIXTURES: &[&str] = &[
    "rollout_stuck",
    "service_no_ready_endpoints",
    "job_failed",
    "hpa_metrics_unavailable",
    "node_not_ready",
];
const N1: &str = "ip-10-0-2-57.eu-west-1.compute.internal";

/// The fixtures' objects, later ones replacing earlier ones with the same kind and name.
fn merged() -> (ClusterView, DiagnoseOptions) {
    let mut objects: BTreeMap<(String, String, String), Value> = BTreeMap::new();
    let mut now = 0;
    for name in FIXTURES {
        let path = format!(
            "{}/tests/fixtures/diagnose/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        now = rfc3339_to_ms(doc["now"].as_str().unwrap()).unwrap();
        for item in doc["objects"]["items"].as_array().unwrap() {
            let text = |p: &str| {
                item.pointer(p)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let key = (
                text("/kind"),
                text("/metadata/namespace"),
                text("/metadata/name"),
            );
            objects.insert(key, item.clone());
        }
    }
    let mut view = ClusterView::default();
    for item in objects.into_values() {
        view.add_json(item).unwrap();
    }
    (view, DiagnoseOptions::at(now))
}

fn found(scope: Scope) -> Vec<String> {
    let (view, options) = merged();
    let result = diagnose(&view, &scope, &options);
    let mut out: Vec<String> = (result.findings.iter())
        .map(|f| format!("{} {}", f.rule, f.resource))
        .collect();
    out.sort();
    out
}

fn workload(namespace: &str, kind: &str, name: &str) -> Scope {
    Scope::Workload {
        namespace: namespace.into(),
        kind: kind.into(),
        name: name.into(),
    }
}

#[test]
fn the_cluster_scope_keeps_everything() {
    let all = found(Scope::Cluster);
    assert_eq!(all.len(), 8, "{all:#?}");
    assert!(all.contains(&format!("node.not_ready Node/{N1}")));
    assert!(all.contains(&"job.failed Job/batch/db-migrate-29391450".to_string()));
}

#[test]
fn a_namespace_scope_keeps_its_objects_and_the_nodes_its_pods_use() {
    let batch = found(Scope::Namespace {
        namespace: "batch".into(),
    });
    assert_eq!(batch, ["job.failed Job/batch/db-migrate-29391450"]);
    let shop = found(Scope::Namespace {
        namespace: "shop".into(),
    });
    assert_eq!(shop.len(), 7, "{shop:#?}");
    assert!(shop.contains(&format!("node.not_ready Node/{N1}")));
    assert!(shop.iter().all(|f| !f.contains("/batch/")));
}

#[test]
fn a_deployment_scope_follows_replicasets_pods_and_nodes() {
    assert_eq!(
        found(workload("shop", "deploy", "checkout")),
        [
            "node.not_ready Node/ip-10-0-2-57.eu-west-1.compute.internal",
            "pod.image_pull_failed Pod/shop/checkout-5d8f9c7b6-q7wzr",
            "workload.rollout_stuck Deployment/shop/checkout",
        ]
    );
}

#[test]
fn a_service_scope_follows_the_selected_pods() {
    let found = found(workload("shop", "Service", "catalogue"));
    assert_eq!(found.len(), 4, "{found:#?}");
    assert_eq!(
        found[0],
        format!("node.not_ready Node/{N1}"),
        "a catalogue pod runs there"
    );
    assert!(found[1].starts_with("pod.readiness_probe_failing Pod/shop/catalogue-"));
    assert!(found[2].starts_with("pod.readiness_probe_failing Pod/shop/catalogue-"));
    assert_eq!(
        found[3],
        "service.no_ready_endpoints Service/shop/catalogue"
    );
}

#[test]
fn a_workload_scope_includes_its_hpa_and_nothing_else() {
    assert_eq!(
        found(workload("shop", "Deployment", "cart")),
        ["hpa.metrics_unavailable HorizontalPodAutoscaler/shop/cart"]
    );
    assert_eq!(
        found(workload("batch", "job", "db-migrate-29391450")),
        ["job.failed Job/batch/db-migrate-29391450"]
    );
    assert!(found(workload("shop", "Deployment", "no-such-thing")).is_empty());
}

#[test]
fn scopes_read_from_json() {
    let scope: Scope = serde_json::from_str(
        r#"{"scope":"workload","namespace":"shop","kind":"Deployment","name":"checkout"}"#,
    )
    .unwrap();
    assert_eq!(scope, workload("shop", "Deployment", "checkout"));
    let cluster: Scope = serde_json::from_str(r#"{"scope":"cluster"}"#).unwrap();
    assert_eq!(cluster, Scope::Cluster);
}
