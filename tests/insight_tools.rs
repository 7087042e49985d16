//! The insight tools in-process on the snapshot bundles: `k8s_diagnose` finds each bundle's
//! fault, `anomaly_detect` finds the checkout memory leak and an inline spike, and
//! `anomaly_forecast` returns a peak and a capacity plan. Bad input is a tool error naming the
//! field.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::DateTime;
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

fn findings(data: &Value) -> Vec<Value> {
    data["findings"].as_array().cloned().unwrap_or_default()
}

/// A finding with this rule on a resource containing `resource` whose JSON contains `text`.
fn has_finding(data: &Value, rule: &str, resource: &str, text: &str) -> bool {
    findings(data).iter().any(|f| {
        f["rule"] == rule
            && f["resource"].as_str().is_some_and(|r| r.contains(resource))
            && f.to_string().contains(text)
    })
}

#[tokio::test]
async fn diagnose_finds_each_bundles_fault() {
    let cases = [
        (
            "checkout-oom",
            "pod.oom_killed",
            "Pod/shop/checkout-xd5rxdxd4",
            "512Mi",
        ),
        (
            "checkout-oom",
            "pod.crash_loop_back_off",
            "Pod/shop/checkout-xd5rxdxd4",
            "CrashLoopBackOff",
        ),
        (
            "cni-ip-exhaustion",
            "pod.vpc_cni_ip_exhausted",
            "Pod/ingest/ingest-api",
            "FailedCreatePodSandBox",
        ),
        (
            "missing-configmap-key",
            "pod.create_container_config_error",
            "Pod/payments/payments-",
            "FRAUD_API_URL",
        ),
    ];
    for (b, rule, resource, text) in cases {
        let a = call(&bundle(b), "k8s_diagnose", json!({})).await;
        assert!(!a.is_error, "{b}: {}", a.text);
        assert!(
            has_finding(&a.data, rule, resource, text),
            "{b}: no {rule} on {resource} with {text}:\n{}",
            a.text
        );
        assert_eq!(
            findings(&a.data)[0]["severity"],
            "critical",
            "{b}: most severe first"
        );
        assert!(a.data["by_rule"][rule].as_u64().unwrap_or(0) >= 1);
        assert_eq!(a.data["unreadable"], 0);
    }
}

#[tokio::test]
async fn diagnose_scopes_and_budget() {
    let ctx = bundle("checkout-oom");
    let all = call(&ctx, "k8s_diagnose", json!({})).await;
    let total = findings(&all.data).len();
    let small = call(&ctx, "k8s_diagnose", json!({"response_bytes": 2000})).await;
    assert!(!small.is_error, "{}", small.text);
    let kept = findings(&small.data).len();
    assert!(kept >= 1 && kept < total, "{kept} of {total}");
    assert_eq!(small.data["truncated"]["total"], total);
    // Counts cover every finding even when the list is cut.
    let counted: u64 = small.data["by_severity"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(counted as usize, total);
    assert!(
        serde_json::to_vec(&small.data).unwrap().len() <= 2600,
        "{}",
        small.data
    );

    let w = call(
        &ctx,
        "k8s_diagnose",
        json!({"namespace": "shop", "kind": "Deployment", "name": "checkout"}),
    )
    .await;
    assert!(!w.is_error, "{}", w.text);
    assert!(
        findings(&w.data)
            .iter()
            .all(|f| f.to_string().contains("checkout")),
        "{}",
        w.text
    );
    assert!(
        has_finding(&w.data, "pod.oom_killed", "checkout", "OOMKilled"),
        "{}",
        w.text
    );
    let other = call(&ctx, "k8s_diagnose", json!({"namespace": "kube-system"})).await;
    assert!(
        !findings(&other.data)
            .iter()
            .any(|f| f.to_string().contains("checkout")),
        "{}",
        other.text
    );

    let bad = call(
        &ctx,
        "k8s_diagnose",
        json!({"kind": "Deployment", "name": "checkout"}),
    )
    .await;
    assert!(
        bad.is_error && bad.text.contains("`namespace`"),
        "{}",
        bad.text
    );
    let bad = call(
        &ctx,
        "k8s_diagnose",
        json!({"namespace": "shop", "name": "checkout"}),
    )
    .await;
    assert!(bad.is_error && bad.text.contains("`kind`"), "{}", bad.text);
}

fn ms(t: &str) -> i64 {
    DateTime::parse_from_rfc3339(t).unwrap().timestamp_millis()
}

#[tokio::test]
async fn detect_finds_the_checkout_memory_leak() {
    let a = call(&bundle("checkout-oom"), "anomaly_detect", json!({"signal": "memory_working_set_bytes", "namespace": "shop", "workload": "checkout", "combine": "max", "since": "3h", "limit": 536870912.0})).await;
    assert!(!a.is_error, "{}", a.text);
    let series = a.data["series"].as_array().unwrap();
    assert_eq!(series.len(), 1);
    let trends: Vec<&Value> = series[0]["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["direction"] == "up" && e["kind"] == "trend_change")
        .collect();
    assert!(!trends.is_empty(), "{}", a.text);
    // The bundle holds 2 h of 1-minute samples from 12:30 and the detectors score nothing in
    // their first 100 samples, so 14:10 is the earliest onset any detector can report; the
    // leak must be flagged there, after the 13:40:12 rollout, not before it.
    let rollout = ms("2026-11-20T13:40:12Z");
    let first_scored = ms("2026-11-20T14:10:00Z");
    let onset = ms(trends[0]["onset"].as_str().unwrap());
    assert!(
        onset > rollout && onset <= first_scored,
        "onset {} vs rollout 13:40:12\n{}",
        trends[0]["onset"],
        a.text
    );
}

#[tokio::test]
async fn detect_finds_an_inline_spike() {
    let points: Vec<(i64, f64)> = (0..300)
        .map(|i| {
            (
                1_700_000_000_000 + i * 60_000,
                if i == 220 {
                    95.0
                } else {
                    20.0 + (i % 7) as f64 * 0.5
                },
            )
        })
        .collect();
    let a = call(
        &bundle("checkout-oom"),
        "anomaly_detect",
        json!({"points": points}),
    )
    .await;
    assert!(!a.is_error, "{}", a.text);
    let events = a.data["series"][0]["anomalies"].as_array().unwrap();
    let spike_at = 1_700_000_000_000 + 220 * 60_000;
    assert!(
        events.iter().any(|e| e["direction"] == "up"
            && (ms(e["onset"].as_str().unwrap()) - spike_at).abs() <= 120_000),
        "{}",
        a.text
    );
    // A flat series has nothing to report.
    let flat: Vec<(i64, f64)> = (0..300).map(|i| (i * 60_000, 5.0)).collect();
    let f = call(
        &bundle("checkout-oom"),
        "anomaly_detect",
        json!({"points": flat}),
    )
    .await;
    assert_eq!(f.data["series_with_anomalies"], 0, "{}", f.text);
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let ctx = bundle("checkout-oom");
    let cases = [
        ("anomaly_detect", json!({}), "`points`"),
        (
            "anomaly_detect",
            json!({"points": [[0, 1.0], [60000, 2.0], [120000, 3.0]], "query": "up"}),
            "`query`",
        ),
        (
            "anomaly_detect",
            json!({"signal": "memory_working_set_bytes"}),
            "`namespace`",
        ),
        (
            "anomaly_detect",
            json!({"points": [[0, 1.0], [1, 2.0], [2, 3.0]], "threshold": 2.0}),
            "`threshold`",
        ),
        (
            "anomaly_detect",
            json!({"points": [[0, 1.0], [1, 2.0], [2, 3.0]], "combine": "median"}),
            "`combine`",
        ),
        (
            "anomaly_detect",
            json!({"points": [[0, 1.0], [1, 2.0], [2, 3.0]], "bogus": 1}),
            "`bogus`",
        ),
        (
            "anomaly_forecast",
            json!({"signal": "cpu_usage_cores", "namespace": "shop", "horizon": "400d"}),
            "`horizon`",
        ),
        (
            "anomaly_forecast",
            json!({"signal": "cpu_usage_cores", "namespace": "shop", "horizon": "soon"}),
            "`horizon`",
        ),
        (
            "anomaly_forecast",
            json!({"signal": "cpu_usage_cores", "namespace": "shop", "capacity": -1.0}),
            "`capacity`",
        ),
        (
            "anomaly_forecast",
            json!({"signal": "cpu_usage_cores", "namespace": "shop", "capacity": 1.0, "target_utilization": 1.5}),
            "`target_utilization`",
        ),
    ];
    for (tool, args, field) in cases {
        let a = call(&ctx, tool, args.clone()).await;
        assert!(
            a.is_error && a.text.contains(field),
            "{tool} {args}: {}",
            a.text
        );
    }
}

#[tokio::test]
async fn forecast_returns_a_peak_and_capacity() {
    let a = call(&bundle("checkout-oom"), "anomaly_forecast", json!({"signal": "cpu_usage_cores", "namespace": "shop", "workload": "frontend", "combine": "sum", "horizon": "2h", "capacity": 0.5, "target_utilization": 0.7, "current_units": 1})).await;
    assert!(!a.is_error, "{}", a.text);
    let s = &a.data["series"][0];
    let peak = s["peak"].as_f64().unwrap();
    assert!(peak.is_finite() && peak > 0.0, "{}", a.text);
    let cap = &s["capacity"];
    let needed = cap["units_needed"].as_u64().unwrap();
    let planned = cap["planned_peak"].as_f64().unwrap();
    assert!(
        planned >= peak * 0.999,
        "planned on the upper bound: {planned} vs {peak}"
    );
    assert_eq!(
        needed,
        (planned / 0.35).ceil().max(1.0) as u64,
        "{}",
        a.text
    );
    let points = s["points"].as_array().unwrap();
    assert!(
        !points.is_empty()
            && points
                .iter()
                .all(|p| p["lo95"].as_f64() <= p["mean"].as_f64()
                    && p["mean"].as_f64() <= p["hi95"].as_f64()),
        "{}",
        a.text
    );
    assert!(
        points.iter().any(|p| p["mean"].as_f64() == Some(peak)),
        "the peak step is kept"
    );
    let small = call(&bundle("checkout-oom"), "anomaly_forecast", json!({"signal": "cpu_usage_cores", "namespace": "shop", "workload": "frontend", "combine": "sum", "horizon": "2h", "response_bytes": 3000})).await;
    assert!(
        serde_json::to_vec(&small.data).unwrap().len() <= 4000,
        "{}",
        small.text
    );
}
