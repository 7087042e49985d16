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

#[tokio::test]
async fn logs_filter_mode_in_the_bundle() {
    let ctx = bundle("checkout-oom");
    let a = call(
        &ctx,
        "cloudwatch_query_logs",
        json!({"contains": "checkout", "since": "3h", "limit": 2000, "response_bytes": 6000}),
    )
    .await;
    assert!(!a.is_error, "{}", a.text);
    assert_eq!(
        a.data["log_groups"],
        json!(["/aws/containerinsights/shop-prod/application"])
    );
    assert!(
        a.data["truncated"]["total"].as_u64().unwrap()
            > a.data["events"].as_array().unwrap().len() as u64
    );
    assert!(
        !a.data["templates"].as_array().unwrap().is_empty(),
        "cut results carry templates: {}",
        a.text
    );
    let page = call(
        &ctx,
        "cloudwatch_query_logs",
        json!({"since": "3h", "limit": 5}),
    )
    .await;
    let token = page.data["next_page"]
        .as_str()
        .expect("more pages")
        .to_string();
    let next = call(
        &ctx,
        "cloudwatch_query_logs",
        json!({"since": "3h", "limit": 5, "page": token}),
    )
    .await;
    assert!(!next.is_error, "{}", next.text);
    assert_ne!(page.data["events"][0], next.data["events"][0]);

    let bad = call(&ctx, "cloudwatch_query_logs", json!({"kind": "kernel"})).await;
    assert!(bad.is_error && bad.text.contains("`kind`"), "{}", bad.text);
    let bad = call(&ctx, "cloudwatch_query_logs", json!({"kind": "host"})).await;
    assert!(
        bad.is_error && bad.text.contains("not_found") && bad.text.contains("application"),
        "{}",
        bad.text
    );
    let bad = call(&ctx, "cloudwatch_query_logs", json!({"mode": "tail"})).await;
    assert!(bad.is_error && bad.text.contains("`mode`"), "{}", bad.text);
    let bad = call(&ctx, "cloudwatch_query_logs", json!({"page": "garbage"})).await;
    assert!(bad.is_error && bad.text.contains("`page`"), "{}", bad.text);
    let bad = call(&ctx, "cloudwatch_query_logs", json!({"mode": "insights"})).await;
    assert!(
        bad.is_error && bad.text.contains("not_configured"),
        "{}",
        bad.text
    );
}

#[tokio::test]
async fn expressions_on_a_snapshot_are_checked_then_refused_plainly() {
    let ctx = bundle("checkout-oom");
    let a = call(
        &ctx,
        "cloudwatch_query_metrics",
        json!({"namespace": "ContainerInsights", "metric_name": "pod_cpu_utilization", "expression": "m1*100"}),
    )
    .await;
    assert!(
        a.is_error && a.text.contains("not_configured") && a.text.contains("`expression`"),
        "{}",
        a.text
    );
    for (args, field) in [
        (
            json!({"namespace": "A", "metric_name": "B", "metrics": [{"metric_name": "C"}]}),
            "`metrics`",
        ),
        (json!({"expression": "m1 + m2"}), "`expression`"),
        (
            json!({"expression": "SELECT AVG(x) FROM y", "metric_name": "z"}),
            "`metric_name`",
        ),
        (json!({"expression": "x".repeat(2049)}), "`expression`"),
        (json!({"metric_name": "B"}), "`namespace`"),
    ] {
        let a = call(&ctx, "cloudwatch_query_metrics", args.clone()).await;
        assert!(a.is_error && a.text.contains(field), "{args}: {}", a.text);
    }
}

mod live {
    //! Through the real binary against moto behind the test gateway (CBOR bridge for
    //! CloudWatch; DescribeAlarmHistory is the gateway's stand-in, seeded here). moto completes
    //! Logs Insights queries at once and ignores `filter`, so the test asserts on what moto
    //! evaluates; a never-finishing query is made with the gateway's delay fault.

    use aws_sdk_cloudwatch::types::{
        ComparisonOperator, Dimension, MetricDatum, StateValue, Statistic,
    };
    use eks_ops_testbed::aws::{Fault, SeedKind};
    use serde_json::json;

    use super::common::{call_cli, gateway_env, gateway_sdk, moto_and_gateway};

    fn dim(name: &str, value: &str) -> Dimension {
        Dimension::builder().name(name).value(value).build()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn telemetry_tools_against_moto() {
        let (_moto, gateway) = moto_and_gateway().await;
        let endpoint = gateway.url();
        let config = gateway_sdk(&endpoint).await;
        let env = gateway_env(&endpoint);
        let now = chrono::Utc::now();

        // Container Insights metrics for one workload and one node, written over the CBOR bridge.
        let cw = aws_sdk_cloudwatch::Client::new(&config);
        let pod_dims = [
            dim("ClusterName", "shop-prod"),
            dim("Namespace", "shop"),
            dim("PodName", "checkout"),
        ];
        let node_dims = [
            dim("ClusterName", "shop-prod"),
            dim("InstanceId", "i-1"),
            dim("NodeName", "ip-10-0-1-1"),
        ];
        for (name, dims, base) in [
            (
                "pod_memory_utilization_over_pod_limit",
                pod_dims.to_vec(),
                60.0,
            ),
            ("pod_number_of_container_restarts", pod_dims.to_vec(), 0.0),
            ("node_filesystem_utilization", node_dims.to_vec(), 40.0),
            ("cluster_node_count", pod_dims[..1].to_vec(), 3.0),
        ] {
            let mut put = cw.put_metric_data().namespace("ContainerInsights");
            for i in 0..20 {
                put = put.metric_data(
                    MetricDatum::builder()
                        .metric_name(name)
                        .set_dimensions(Some(dims.clone()))
                        .timestamp(aws_smithy_types::DateTime::from_millis(
                            (now - chrono::Duration::minutes(20 - i)).timestamp_millis(),
                        ))
                        .value(base + i as f64)
                        .build(),
                );
            }
            put.send().await.unwrap();
        }
        let a = call_cli(
            &[],
            &env,
            "k8s_workload_metrics",
            json!({"namespace": "shop", "workload": "checkout", "since": "1h"}),
        )
        .await;
        assert!(!a.is_error, "{}", a.text);
        let series = a.data["series"].as_array().unwrap();
        let over = series
            .iter()
            .find(|s| s["name"] == "memory_over_limit_percent")
            .expect(&a.text);
        assert_eq!(over["summary"]["max"], json!(79.0), "{}", a.text);
        assert_eq!(over["labels"]["workload"], "checkout");
        assert!(
            (a.data["limits"][0]["peak_share"].as_f64().unwrap() - 0.79).abs() < 1e-9,
            "{}",
            a.text
        );
        let a = call_cli(
            &[],
            &env,
            "k8s_workload_metrics",
            json!({"node": "ip-10-0-1-1", "since": "1h"}),
        )
        .await;
        assert!(!a.is_error, "{}", a.text);
        assert_eq!(
            a.data["series"][0]["name"], "node_filesystem_utilization",
            "{}",
            a.text
        );
        assert_eq!(a.data["series"][0]["labels"]["instance_id"], "i-1");

        // ListMetrics: moto repeats multi-dimension metrics per datapoint; the tool de-duplicates.
        let a = call_cli(
            &[],
            &env,
            "cloudwatch_list_metrics",
            json!({"namespace": "ContainerInsights", "dimensions": {"PodName": "*"}}),
        )
        .await;
        assert!(!a.is_error, "{}", a.text);
        assert_eq!(a.data["metrics"].as_array().unwrap().len(), 2, "{}", a.text);

        // Alarms: a metric alarm forced into ALARM, one left OK, history from the stand-in.
        for (name, threshold) in [("checkout-memory", 70.0), ("checkout-restarts", 5.0)] {
            cw.put_metric_alarm()
                .alarm_name(name)
                .namespace("ContainerInsights")
                .metric_name(if name == "checkout-memory" {
                    "pod_memory_utilization_over_pod_limit"
                } else {
                    "pod_number_of_container_restarts"
                })
                .set_dimensions(Some(pod_dims.to_vec()))
                .statistic(Statistic::Maximum)
                .period(60)
                .evaluation_periods(1)
                .threshold(threshold)
                .comparison_operator(ComparisonOperator::GreaterThanThreshold)
                .send()
                .await
                .unwrap();
        }
        cw.set_alarm_state()
            .alarm_name("checkout-memory")
            .state_value(StateValue::Alarm)
            .state_reason("Threshold Crossed")
            .send()
            .await
            .unwrap();
        gateway
            .seed(
                SeedKind::AlarmHistory,
                &json!({"AlarmHistoryItems": [{"AlarmName": "checkout-memory", "AlarmType": "MetricAlarm",
                    "Timestamp": (now - chrono::Duration::minutes(5)).to_rfc3339(), "HistoryItemType": "StateUpdate",
                    "HistorySummary": "Alarm updated from OK to ALARM"}]}),
            )
            .await
            .unwrap();
        let a = call_cli(
            &[],
            &env,
            "cloudwatch_get_alarms",
            json!({"states": ["ALARM"], "history": true, "since": "1h"}),
        )
        .await;
        assert!(!a.is_error, "{}", a.text);
        assert_eq!(a.data["counts"], json!({"ALARM": 1}), "{}", a.text);
        let alarm = &a.data["alarms"][0];
        assert_eq!(alarm["name"], "checkout-memory");
        assert_eq!(
            alarm["metric"]["breaching_points"],
            json!(9),
            "values 71..79 breach 70: {}",
            a.text
        );
        assert_eq!(
            a.data["history"][0]["summary"],
            "Alarm updated from OK to ALARM"
        );
        let a = call_cli(
            &[],
            &env,
            "cloudwatch_get_alarms",
            json!({"states": ["OK", "ALARM"], "name_prefix": "checkout-r"}),
        )
        .await;
        assert_eq!(a.data["counts"], json!({"OK": 1}), "{}", a.text);

        // Logs: a Container Insights group found by discovery; filter and Insights modes.
        let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
        let group = "/aws/containerinsights/shop-prod/application";
        logs.create_log_group()
            .log_group_name(group)
            .send()
            .await
            .unwrap();
        for stream in ["node-a-application.checkout", "node-b-application.cart"] {
            logs.create_log_stream()
                .log_group_name(group)
                .log_stream_name(stream)
                .send()
                .await
                .unwrap();
            let mut put = logs
                .put_log_events()
                .log_group_name(group)
                .log_stream_name(stream);
            for i in 0..30 {
                put = put.log_events(
                    aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                        .timestamp((now - chrono::Duration::minutes(30 - i)).timestamp_millis())
                        .message(format!(
                            "{stream} request {i} took {}ms{}",
                            10 + i,
                            if i % 10 == 0 { " ERROR timeout" } else { "" }
                        ))
                        .build()
                        .unwrap(),
                );
            }
            put.send().await.unwrap();
        }
        let a = call_cli(
            &[],
            &env,
            "cloudwatch_query_logs",
            json!({"contains": "ERROR timeout", "since": "1h"}),
        )
        .await;
        assert!(!a.is_error, "{}", a.text);
        assert_eq!(a.data["events"].as_array().unwrap().len(), 6, "{}", a.text);
        let a = call_cli(
            &[],
            &env,
            "cloudwatch_query_logs",
            json!({"stream_prefix": "node-a", "since": "1h", "limit": 10}),
        )
        .await;
        assert!(!a.is_error, "{}", a.text);
        let events = a.data["events"].as_array().unwrap();
        assert_eq!(events.len(), 10, "{}", a.text);
        assert!(
            events
                .iter()
                .all(|e| e["stream"].as_str().unwrap().starts_with("node-a"))
        );
        assert!(a.data["next_page"].is_string(), "{}", a.text);

        let a = call_cli(
            &[],
            &env,
            "cloudwatch_query_logs",
            json!({"mode": "insights", "cluster": "shop-prod", "since": "1h", "limit": 20}),
        )
        .await;
        assert!(!a.is_error, "{}", a.text);
        assert_eq!(a.data["insights"]["status"], "Complete", "{}", a.text);
        assert_eq!(
            a.data["insights"]["rows"].as_array().unwrap().len(),
            20,
            "{}",
            a.text
        );

        // A query that never finishes in time is stopped, and the tool says so.
        gateway
            .fault(&Fault::delay("logs", "GetQueryResults", 5_000))
            .await
            .unwrap();
        let a = call_cli(
            &[],
            &env,
            "cloudwatch_query_logs",
            json!({"mode": "insights", "since": "1h", "timeout_secs": 1}),
        )
        .await;
        assert!(!a.is_error, "{}", a.text);
        assert_eq!(a.data["insights"]["status"], "Stopped", "{}", a.text);
        gateway.clear_faults().await.unwrap();
        let requests = gateway.requests().await.unwrap();
        assert!(
            requests.iter().any(|r| r.operation == "StopQuery"),
            "StopQuery was sent"
        );
    }

    /// Metric math and Metrics Insights through the real binary. moto evaluates neither, so the
    /// gateway's stand-in (`tests/support/src/aws/metric_math.rs`) computes them from the samples
    /// written here; the test checks what the tool sends and how it reads the answer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn metric_math_and_metrics_insights() {
        let (_moto, gateway) = moto_and_gateway().await;
        let endpoint = gateway.url();
        let env = gateway_env(&endpoint);
        let cw = aws_sdk_cloudwatch::Client::new(&gateway_sdk(&endpoint).await);
        let now = chrono::Utc::now();
        for (instance, requests, errors) in [("i-1", 10.0, 1.0), ("i-2", 20.0, 5.0)] {
            let mut put = cw.put_metric_data().namespace("App");
            for i in 0..10 {
                let at = aws_smithy_types::DateTime::from_millis(
                    (now - chrono::Duration::minutes(12 - i)).timestamp_millis(),
                );
                for (name, value) in [("Requests", requests), ("Errors", errors)] {
                    put = put.metric_data(
                        MetricDatum::builder()
                            .metric_name(name)
                            .dimensions(dim("InstanceId", instance))
                            .timestamp(at)
                            .value(value)
                            .build(),
                    );
                }
            }
            put.send().await.unwrap();
        }

        let a = call_cli(
            &[],
            &env,
            "cloudwatch_query_metrics",
            json!({"namespace": "App", "metric_name": "Requests", "stat": "Sum", "period": 60,
                   "dimensions": {"InstanceId": "i-2"}, "since": "1h", "expression": "100*m2/m1",
                   "metrics": [{"metric_name": "Errors", "dimensions": {"InstanceId": "i-2"}}]}),
        )
        .await;
        assert!(!a.is_error, "{}", a.text);
        let series = a.data["series"].as_array().unwrap();
        assert_eq!(
            series.len(),
            1,
            "only the expression is returned: {}",
            a.text
        );
        assert_eq!(series[0]["summary"]["points"], 10, "{}", a.text);
        assert_eq!(series[0]["summary"]["min"], json!(25.0), "{}", a.text);
        assert_eq!(series[0]["summary"]["max"], json!(25.0), "{}", a.text);
        assert_eq!(
            series[0]["name"], "e1",
            "an expression without a label is named by its id"
        );

        let sql = "SELECT SUM(Errors) FROM SCHEMA(\"App\", InstanceId) GROUP BY InstanceId ORDER BY SUM() DESC";
        let a = call_cli(
            &[],
            &env,
            "cloudwatch_query_metrics",
            json!({"expression": sql, "since": "1h", "period": 300}),
        )
        .await;
        assert!(!a.is_error, "{}", a.text);
        let series = a.data["series"].as_array().unwrap();
        let totals: Vec<(String, f64)> = series
            .iter()
            .map(|s| {
                let sum = s["points"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p[1].as_f64().unwrap())
                    .sum();
                (s["name"].as_str().unwrap().to_string(), sum)
            })
            .collect();
        assert_eq!(
            totals,
            vec![("i-2".to_string(), 50.0), ("i-1".to_string(), 10.0)],
            "one series per group, CloudWatch's order kept: {}",
            a.text
        );
        let sent = gateway.requests().await.unwrap();
        assert!(
            sent.iter()
                .filter(|r| r.operation == "GetMetricData")
                .all(|r| r.route == eks_ops_testbed::aws::Route::StandIn),
            "expressions went to the stand-in"
        );

        // CloudWatch's own rejection of an expression reaches the model with its code.
        let a = call_cli(
            &[],
            &env,
            "cloudwatch_query_metrics",
            json!({"namespace": "App", "metric_name": "Requests", "expression": "m1 +", "since": "1h"}),
        )
        .await;
        assert!(a.is_error, "{}", a.text);
        assert!(
            a.text.contains("ValidationError") && a.text.contains("GetMetricData"),
            "{}",
            a.text
        );
        // Caught before any call: an id the expression uses but nobody defined.
        let a = call_cli(
            &[],
            &env,
            "cloudwatch_query_metrics",
            json!({"namespace": "App", "metric_name": "Requests", "expression": "m2/m1"}),
        )
        .await;
        assert!(
            a.is_error && a.text.contains("`expression`") && a.text.contains("`m2`"),
            "{}",
            a.text
        );
    }
}

/// `k8s_workload_metrics` through the real binary against the Prometheus `tests/run.sh`
/// backfilled (anchors in `tests/prometheus/README.md`): the leaking pod peaks at its limit.
#[tokio::test]
async fn workload_metrics_from_real_prometheus() {
    let url = common::component("EKS_OPS_TEST_PROMETHEUS_URL");
    let anchors: Value = serde_json::from_str(
        &std::fs::read_to_string(common::component("EKS_OPS_TEST_PROMETHEUS_ANCHORS")).unwrap(),
    )
    .unwrap();
    let oom = anchors["oom"].as_i64().unwrap();
    let at = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339();
    let a = common::call_cli(
        &["--prometheus-url", &url],
        &[],
        "k8s_workload_metrics",
        json!({"namespace": "shop", "workload": "checkout", "since": at(oom - 3600), "until": at(oom + 1800)}),
    )
    .await;
    assert!(!a.is_error, "{}", a.text);
    assert_eq!(
        a.data["limits"][0]["pod"], "checkout-7c9f-abcde",
        "{}",
        a.text
    );
    assert!(
        a.data["limits"][0]["peak_share"].as_f64().unwrap() > 0.99,
        "{}",
        a.text
    );
    let restarts = a.data["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "restarts" && s["labels"]["pod"] == "checkout-7c9f-abcde")
        .expect("restarts of the OOMKilled pod");
    assert_eq!(restarts["summary"]["max"], json!(1.0), "{}", a.text);
}

/// `prometheus_query` discovery against the backfilled real Prometheus.
#[tokio::test]
async fn prometheus_discovery_against_real_prometheus() {
    let url = common::component("EKS_OPS_TEST_PROMETHEUS_URL");
    let g = ["--prometheus-url", url.as_str()];
    let q = |args: Value| common::call_cli(&g, &[], "prometheus_query", args);
    let a = q(json!({"query": "", "discover": "labels", "since": "30d"})).await;
    assert!(!a.is_error, "{}", a.text);
    let labels = a.data["discovered"].as_array().unwrap();
    assert!(
        labels.contains(&json!("pod")) && labels.contains(&json!("namespace")),
        "{}",
        a.text
    );
    let a = q(json!({"query": "kube_pod_container_status_restarts_total", "discover": "label_values", "label": "pod", "since": "30d"})).await;
    assert!(!a.is_error, "{}", a.text);
    assert!(
        a.data["discovered"]
            .as_array()
            .unwrap()
            .contains(&json!("checkout-7c9f-abcde")),
        "{}",
        a.text
    );
    let a = q(json!({"query": "container_memory_working_set_bytes{pod=\"checkout-7c9f-abcde\"}", "discover": "series", "since": "30d"})).await;
    assert!(!a.is_error, "{}", a.text);
    assert_eq!(
        a.data["discovered"].as_array().unwrap().len(),
        1,
        "{}",
        a.text
    );
    let a = q(json!({"query": "", "discover": "label_values", "label": "../admin"})).await;
    assert!(a.is_error && a.text.contains("`label`"), "{}", a.text);
    let a = q(json!({"query": "", "discover": "metrics"})).await;
    assert!(a.is_error && a.text.contains("`discover`"), "{}", a.text);
}
