//! `prometheus_query` through the real binary against a real Prometheus that `tests/run.sh`
//! backfilled with seven days of history (see `tests/prometheus/README.md` for the anchors).

use serde_json::{Value, json};

mod common;
use common::{call_cli, component};

fn anchors() -> Value {
    let path = component("EKS_OPS_TEST_PROMETHEUS_ANCHORS");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn at(unix: &Value) -> String {
    chrono::DateTime::from_timestamp(unix.as_i64().unwrap(), 0)
        .unwrap()
        .to_rfc3339()
}

fn global() -> Vec<String> {
    vec![
        "--prometheus-url".into(),
        component("EKS_OPS_TEST_PROMETHEUS_URL"),
    ]
}

async fn query(args: Value) -> common::Answer {
    let g = global();
    let g: Vec<&str> = g.iter().map(String::as_str).collect();
    call_cli(&g, &[], "prometheus_query", args).await
}

#[tokio::test]
async fn rate_over_a_counter_reset_stays_non_negative() {
    let a = anchors();
    let oom = a["oom"].as_i64().unwrap();
    let args = json!({
        "query": "rate(container_cpu_usage_seconds_total{namespace=\"shop\",pod=\"checkout-7c9f-abcde\"}[5m])",
        "since": at(&json!(oom - 1800)),
        "until": at(&json!(oom + 1800)),
        "step": 60
    });
    let r = query(args).await;
    assert!(!r.is_error, "{}", r.text);
    let series = r.data["series"].as_array().unwrap();
    assert_eq!(series.len(), 1, "{}", r.text);
    let points = series[0]["points"].as_array().unwrap();
    assert!(points.len() > 30, "{}", r.text);
    assert!(
        points.iter().all(|p| p[1].as_f64().unwrap() >= 0.0),
        "rate() must handle the reset: {points:?}"
    );
    assert!(series[0]["summary"]["min"].as_f64().unwrap() >= 0.0);
}

#[tokio::test]
async fn the_memory_leak_shows_as_a_positive_slope() {
    let a = anchors();
    let args = json!({
        "query": "container_memory_working_set_bytes{namespace=\"shop\",pod=\"checkout-7c9f-fghij\"}",
        "since": at(&a["deploy"]),
        "until": at(&a["end"])
    });
    let r = query(args).await;
    assert!(!r.is_error, "{}", r.text);
    let slope = r.data["series"][0]["summary"]["slope_per_hour"]
        .as_f64()
        .unwrap();
    // About 290 MiB over six hours.
    assert!(
        (30.0e6..80.0e6).contains(&slope),
        "slope {slope} bytes/h: {}",
        r.text
    );
}

#[tokio::test]
async fn a_hostile_label_value_is_queried_not_refused() {
    let a = anchors();
    let route = r#"/search?q=o'brien "x" \ ; -- drop table pods"#;
    let escaped = route.replace('\\', "\\\\").replace('"', "\\\"");
    let args = json!({"query": format!("http_requests_total{{service=\"search\",route=\"{escaped}\"}}"), "instant": true, "until": at(&a["end"])});
    let r = query(args).await;
    assert!(!r.is_error, "{}", r.text);
    assert_eq!(r.data["series"][0]["labels"]["route"], route, "{}", r.text);
}

#[tokio::test]
async fn promql_errors_come_back_in_prometheus_words() {
    let r = query(json!({"query": "rate(container_cpu_usage_seconds_total[5m]"})).await;
    assert!(r.is_error);
    assert!(
        r.text.contains("`query`") && r.text.contains("Prometheus rejected it (bad_data)"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn an_unreachable_prometheus_is_a_clear_error() {
    let r = call_cli(
        &["--prometheus-url", "http://127.0.0.1:9"],
        &[],
        "prometheus_query",
        json!({"query": "up"}),
    )
    .await;
    assert!(
        r.is_error && r.text.contains("cannot reach it"),
        "{}",
        r.text
    );
}
