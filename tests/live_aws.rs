//! The AWS tool families through the real binary and the latest AWS SDK, against moto behind the
//! test gateway. The gateway bridges CloudWatch's CBOR protocol to moto's JSON and injects faults
//! (AccessDenied, delay) that moto cannot produce. One test function runs the steps in order,
//! because faults apply to the whole gateway.

use std::time::Duration;

use eks_ops_testbed::aws::Fault;
use serde_json::json;

mod common;
use common::{call_cli, gateway_env, gateway_sdk, moto_and_gateway};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_tools_end_to_end() {
    let (moto, gateway) = moto_and_gateway().await;
    let endpoint = gateway.url();
    let config = gateway_sdk(&endpoint).await;
    let env = gateway_env(&endpoint);

    // EKS: a cluster and a node group created in moto, read back through the tools.
    let eks = aws_sdk_eks::Client::new(&config);
    eks.create_cluster()
        .name("shop-prod")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .version("1.31")
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    eks.create_nodegroup()
        .cluster_name("shop-prod")
        .nodegroup_name("general")
        .node_role("arn:aws:iam::123456789012:role/node")
        .subnets("subnet-1")
        .version("1.30")
        .send()
        .await
        .unwrap();
    let a = call_cli(&[], &env, "eks_list_clusters", json!({})).await;
    assert!(!a.is_error, "{}", a.text);
    assert_eq!(a.data["clusters"], json!(["shop-prod"]));
    let a = call_cli(
        &[],
        &env,
        "eks_describe_cluster",
        json!({"name": "shop-prod"}),
    )
    .await;
    assert!(!a.is_error, "{}", a.text);
    assert_eq!(a.data["cluster"]["version"], "1.31");
    assert_eq!(
        a.data["version_skew"],
        json!(["general runs 1.30, control plane 1.31"])
    );
    let a = call_cli(&[], &env, "eks_describe_cluster", json!({"name": "nope"})).await;
    assert!(a.is_error && a.text.contains("not_found"), "{}", a.text);

    // CloudWatch over the CBOR protocol: points written with the SDK come back summarised.
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    let now = chrono::Utc::now();
    let mut put = cw.put_metric_data().namespace("ContainerInsights");
    for i in 0..30 {
        let t = now - chrono::Duration::minutes(30 - i);
        put = put.metric_data(
            aws_sdk_cloudwatch::types::MetricDatum::builder()
                .metric_name("pod_memory_utilization")
                .dimensions(
                    aws_sdk_cloudwatch::types::Dimension::builder()
                        .name("ClusterName")
                        .value("shop-prod")
                        .build(),
                )
                .timestamp(aws_smithy_types::DateTime::from_millis(
                    t.timestamp_millis(),
                ))
                .value(40.0 + i as f64)
                .unit(aws_sdk_cloudwatch::types::StandardUnit::Percent)
                .build(),
        );
    }
    put.send().await.unwrap();
    let a = call_cli(&[], &env, "cloudwatch_query_metrics", json!({"namespace": "ContainerInsights", "metric_name": "pod_memory_utilization", "dimensions": {"ClusterName": "shop-prod"}, "stat": "Maximum", "period": 60, "since": "1h"})).await;
    assert!(!a.is_error, "{}", a.text);
    let summary = &a.data["series"][0]["summary"];
    assert_eq!(summary["max"], json!(69.0), "{}", a.text);
    assert_eq!(summary["min"], json!(40.0), "{}", a.text);
    assert!(
        summary["slope_per_hour"].as_f64().unwrap() > 50.0,
        "rising one point a minute: {summary}"
    );

    // Cost Explorer: moto answers what is seeded.
    let seeded = json!({"results": [{"ResultsByTime": [
        {"TimePeriod": {"Start": "2026-11-01", "End": "2026-11-02"}, "Estimated": false, "Groups": [
            {"Keys": ["Amazon Elastic Compute Cloud - Compute"], "Metrics": {"UnblendedCost": {"Amount": "300", "Unit": "USD"}}},
            {"Keys": ["Amazon Elastic Kubernetes Service"], "Metrics": {"UnblendedCost": {"Amount": "100", "Unit": "USD"}}}
        ]}
    ]}]});
    let seeded_ok = reqwest::Client::new()
        .post(format!(
            "{}/moto-api/static/ce/cost-and-usage-results",
            moto.url
        ))
        .json(&seeded)
        .send()
        .await
        .unwrap();
    assert!(seeded_ok.status().is_success());
    let a = call_cli(
        &[],
        &env,
        "cost_breakdown",
        json!({"start": "2026-11-01", "end": "2026-11-02", "group_by": ["SERVICE"]}),
    )
    .await;
    assert!(!a.is_error, "{}", a.text);
    assert_eq!(a.data["total"], json!(400.0));
    assert_eq!(
        a.data["top"][0]["keys"],
        json!(["Amazon Elastic Compute Cloud - Compute"])
    );
    assert_eq!(a.data["top"][0]["share"], json!(0.75));
    let a = call_cli(
        &[],
        &env,
        "cost_breakdown",
        json!({"start": "2026-11-05", "end": "2026-11-01"}),
    )
    .await;
    assert!(a.is_error && a.text.contains("`end`"), "{}", a.text);

    // AccessDenied names the IAM action to grant; the next call works again.
    gateway
        .fault(&Fault::access_denied("eks", "ListClusters"))
        .await
        .unwrap();
    let a = call_cli(&[], &env, "eks_list_clusters", json!({})).await;
    assert!(a.is_error, "{}", a.text);
    assert!(
        a.text
            .contains("access denied: missing permission IAM action eks:ListClusters"),
        "{}",
        a.text
    );
    gateway.clear_faults().await.unwrap();
    let a = call_cli(&[], &env, "eks_list_clusters", json!({})).await;
    assert!(!a.is_error, "{}", a.text);

    // A backend slower than the call timeout: the tool says what timed out.
    gateway
        .fault(&Fault::delay("eks", "ListClusters", 4_000))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("config.toml");
    std::fs::write(&config_file, "call-timeout-secs = 1\n").unwrap();
    let started = std::time::Instant::now();
    let a = call_cli(
        &["--config", config_file.to_str().unwrap()],
        &env,
        "eks_list_clusters",
        json!({}),
    )
    .await;
    assert!(
        a.is_error && a.text.contains("timed out after 1s"),
        "{}",
        a.text
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the call was cut at its timeout"
    );
    gateway.clear_faults().await.unwrap();

    // An endpoint nobody listens on: a clear error, quickly.
    let dead = env_with(&env, "AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let a = call_cli(&[], &dead, "eks_list_clusters", json!({})).await;
    assert!(
        a.is_error && a.text.contains("could not reach the AWS endpoint"),
        "{}",
        a.text
    );

    // Cross-account: a malformed role ARN is refused before any call.
    let a = call_cli(
        &[],
        &env,
        "eks_list_clusters",
        json!({"role_arn": "ops-role"}),
    )
    .await;
    assert!(a.is_error && a.text.contains("`role_arn`"), "{}", a.text);
}

fn env_with(
    env: &[(&'static str, String)],
    key: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    env.iter()
        .map(|(k, v)| {
            (
                *k,
                if *k == key {
                    value.to_string()
                } else {
                    v.clone()
                },
            )
        })
        .collect()
}
