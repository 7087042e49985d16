//! The telemetry family: `k8s_workload_metrics`, `cloudwatch_get_alarms`, `cloudwatch_query_logs`
//! and `cloudwatch_list_metrics`, in-process on the snapshot bundles and through the real binary
//! against moto behind the test gateway. The gateway bridges CloudWatch's CBOR protocol to moto
//! and stands in for DescribeAlarmHistory, which moto does not implement.

use std::path::PathBuf;
use std::sync::Arc;

use eks_ops_mcp::config::{GlobalArgs, Settings};
use eks_ops_mcp::tools::Context;
use serde_json::{Value, json};

mod common;
use common::call;

fn bundle(name: &str) -> Arc<Context> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/snapshots")
        .join(name);
    let settings = Settings::resolve(&GlobalArgs {
        snapshot: Some(dir.display().to_string()),
        ..Default::default()
    })
    .unwrap();
    Context::new(Arc::new(settings))
}

fn names(data: &Value) -> Vec<String> {
    data["series"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn workload_metrics_show_the_checkout_leak_against_its_limit() {
    let ctx = bundle("checkout-oom");
    let a = call(
        &ctx,
        "k8s_workload_metrics",
        json!({"namespace": "shop", "workload": "checkout"}),
    )
    .await;
    assert!(!a.is_error, "{}", a.text);
    let names = names(&a.data);
    for signal in [
        "memory_working_set_bytes",
        "memory_limit_bytes",
        "restarts",
        "cpu_usage_cores",
    ] {
        assert!(
            names.iter().any(|n| n == signal),
            "{signal} missing: {names:?}"
        );
    }
    let limits = a.data["limits"].as_array().unwrap();
    assert!(!limits.is_empty(), "{}", a.text);
    let top = limits[0]["peak_share"].as_f64().unwrap();
    assert!(
        top > 0.9,
        "the leaking pod peaks near its limit: {}",
        a.text
    );
    assert!(a.text.contains("limit: checkout-"), "{}", a.text);
    assert!(
        a.data["series"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| { s["labels"]["workload"] == "checkout" })
    );
    assert!(serde_json::to_vec(&a.data).unwrap().len() <= 24_000);
}

#[tokio::test]
async fn workload_metrics_for_a_node_and_bad_input() {
    let ctx = bundle("checkout-oom");
    let any = call(
        &ctx,
        "k8s_workload_metrics",
        json!({"namespace": "shop", "workload": "checkout", "signals": ["restarts"]}),
    )
    .await;
    let node = any.data["series"][0]["labels"]["node"]
        .as_str()
        .expect("pods carry their node")
        .to_string();
    let a = call(&ctx, "k8s_workload_metrics", json!({"node": node})).await;
    assert!(!a.is_error, "{}", a.text);
    let names = names(&a.data);
    assert!(
        names.contains(&"node_filesystem_utilization".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"node_pod_count".to_string()), "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("node_")), "{names:?}");

    let a = call(
        &ctx,
        "k8s_workload_metrics",
        json!({"namespace": "shop", "workload": "nope"}),
    )
    .await;
    assert!(
        a.is_error && a.text.contains("not_found") && a.text.contains("checkout"),
        "{}",
        a.text
    );
    let a = call(
        &ctx,
        "k8s_workload_metrics",
        json!({"workload": "checkout"}),
    )
    .await;
    assert!(a.is_error && a.text.contains("`namespace`"), "{}", a.text);
    let a = call(
        &ctx,
        "k8s_workload_metrics",
        json!({"namespace": "shop", "pod": "x", "node": "y"}),
    )
    .await;
    assert!(a.is_error && a.text.contains("exactly one"), "{}", a.text);
    let a = call(
        &ctx,
        "k8s_workload_metrics",
        json!({"node": "n", "signals": ["restarts"]}),
    )
    .await;
    assert!(a.is_error && a.text.contains("`signals`"), "{}", a.text);
    let a = call(
        &ctx,
        "k8s_workload_metrics",
        json!({"namespace": "shop", "workload": "checkout", "cluster": "other"}),
    )
    .await;
    assert!(a.is_error && a.text.contains("shop-prod"), "{}", a.text);
    let a = call(
        &ctx,
        "k8s_workload_metrics",
        json!({"namespace": "shop", "workload": "checkout", "since": "banana"}),
    )
    .await;
    assert!(a.is_error && a.text.contains("since"), "{}", a.text);
}

#[tokio::test]
async fn alarms_in_the_bundle_fire_at_the_incident_with_their_metric() {
    let ctx = bundle("checkout-oom");
    let a = call(&ctx, "cloudwatch_get_alarms", json!({"history": true})).await;
    assert!(!a.is_error, "{}", a.text);
    assert_eq!(a.data["counts"]["ALARM"], json!(3), "{}", a.text);
    let alarms = a.data["alarms"].as_array().unwrap();
    assert!(alarms.iter().all(|x| x["state"] == "ALARM"));
    let restarts = alarms
        .iter()
        .find(|x| x["metric_name"] == "pod_number_of_container_restarts")
        .expect("the checkout restart alarm");
    assert!(
        restarts["metric"]["breaching_points"].as_u64().unwrap() > 0,
        "{restarts}"
    );
    assert!(alarms.iter().any(|x| x["kind"] == "composite"));
    assert!(
        a.data["history"].as_array().unwrap().len() >= 3,
        "{}",
        a.text
    );
    assert!(
        a.text.contains("Alarm updated from OK to ALARM"),
        "{}",
        a.text
    );

    let ok = call(&ctx, "cloudwatch_get_alarms", json!({"states": ["OK"]})).await;
    assert_eq!(ok.data["counts"], json!({"OK": 1}), "{}", ok.text);
    let ns = call(
        &ctx,
        "cloudwatch_get_alarms",
        json!({"namespace": "AWS/ApplicationELB"}),
    )
    .await;
    let names: Vec<&str> = ns.data["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["name"].as_str())
        .collect();
    assert_eq!(
        names.len(),
        2,
        "the 5XX alarm and the composite over it: {names:?}"
    );
    let bad = call(&ctx, "cloudwatch_get_alarms", json!({"states": ["FIRING"]})).await;
    assert!(
        bad.is_error && bad.text.contains("`states`"),
        "{}",
        bad.text
    );
    let bad = call(&ctx, "cloudwatch_get_alarms", json!({"state": "ALARM"})).await;
    assert!(bad.is_error && bad.text.contains("state"), "{}", bad.text);
}

#[tokio::test]
async fn list_metrics_in_the_bundle_with_the_guide() {
    let ctx = bundle("checkout-oom");
    let a = call(
        &ctx,
        "cloudwatch_list_metrics",
        json!({"namespace": "ContainerInsights", "dimensions": {"PodName": "checkout"}, "guide": true}),
    )
    .await;
    assert!(!a.is_error, "{}", a.text);
    let metrics = a.data["metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 3, "{}", a.text);
    assert!(
        metrics
            .iter()
            .all(|m| m["dimensions"]["PodName"] == "checkout")
    );
    assert_eq!(a.data["guide"].as_array().unwrap().len(), 5);
    let any = call(
        &ctx,
        "cloudwatch_list_metrics",
        json!({"dimensions": {"NodeName": "*"}, "limit": 2}),
    )
    .await;
    assert_eq!(
        any.data["metrics"].as_array().unwrap().len(),
        2,
        "{}",
        any.text
    );
    assert!(any.data["truncated"]["total"].as_u64().unwrap() > 2);
    let bad = call(&ctx, "cloudwatch_list_metrics", json!({"limit": 0})).await;
    assert!(bad.is_error && bad.text.contains("`limit`"), "{}", bad.text);
}
