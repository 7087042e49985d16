//! The cost family end to end. In snapshot mode, in-process on the bundled checkout-oom
//! incident; live, through the real binary against moto (GetCostAndUsage) behind the test
//! gateway, whose HTTP stand-ins serve GetCostAndUsageComparisons, GetCostComparisonDrivers,
//! GetCostForecast, GetAnomalies and the Pricing API's GetProducts.

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

fn driver<'a>(data: &'a Value, key: &str) -> &'a Value {
    data["drivers"]
        .as_array()
        .and_then(|d| d.iter().find(|x| x["key"] == key))
        .unwrap_or(&Value::Null)
}

#[tokio::test]
async fn snapshot_compare_names_the_service_that_moved() {
    let ctx = bundle("checkout-oom");
    // Container Insights went on 2026-11-10 (CloudWatch x2.6); the last full week against the
    // one before it puts CloudWatch first.
    let a = call(&ctx, "cost_compare", json!({})).await;
    assert!(!a.is_error, "{}", a.text);
    assert_eq!(a.data["path"], "GetCostAndUsage");
    assert!(
        a.data["fallback_reason"]
            .as_str()
            .unwrap()
            .contains("snapshot")
    );
    assert_eq!(a.data["baseline"], json!(["2026-11-06", "2026-11-13"]));
    assert_eq!(a.data["comparison"], json!(["2026-11-13", "2026-11-20"]));
    assert_eq!(a.data["drivers"][0]["key"], "AmazonCloudWatch");
    let pct = a.data["drivers"][0]["change_percent"].as_f64().unwrap();
    assert!((30.0..80.0).contains(&pct), "{pct}");
    // The totals are the sums of the groups, and the change is their difference.
    let (b, c) = (
        a.data["baseline_total"].as_f64().unwrap(),
        a.data["comparison_total"].as_f64().unwrap(),
    );
    assert!((a.data["change"].as_f64().unwrap() - (c - b)).abs() < 1e-6);
    // Two explicit weeks before the step: CloudWatch barely moves.
    let a = call(
        &ctx,
        "cost_compare",
        json!({"baseline": {"start": "2026-10-23", "end": "2026-10-30"},
               "comparison": {"start": "2026-10-30", "end": "2026-11-06"}, "top": 3}),
    )
    .await;
    assert!(!a.is_error, "{}", a.text);
    assert_eq!(a.data["drivers"].as_array().unwrap().len(), 3);
    let cw = driver(&a.data, "AmazonCloudWatch");
    assert!(cw.is_null() || cw["change_percent"].as_f64().unwrap().abs() < 15.0);
}

#[tokio::test]
async fn snapshot_forecast_is_the_engine_cross_check() {
    let ctx = bundle("checkout-oom");
    let a = call(&ctx, "cost_forecast", json!({"days": 7, "level": 90})).await;
    assert!(!a.is_error, "{}", a.text);
    assert!(a.data["cost_explorer"].is_null());
    assert!(
        a.data["cost_explorer_note"]
            .as_str()
            .unwrap()
            .contains("snapshot")
    );
    // 29 complete days (the capture day is an estimate and left out).
    assert_eq!(a.data["history_days_used"], 29);
    let e = &a.data["engine"];
    let (lo, mid, hi) = (
        e["lower"].as_f64().unwrap(),
        e["total"].as_f64().unwrap(),
        e["upper"].as_f64().unwrap(),
    );
    // About 135 USD a day with CloudWatch's new level: a week is roughly 900-1000.
    assert!(lo <= mid && mid <= hi, "{e}");
    assert!((850.0..1050.0).contains(&mid), "{mid}");
}

#[tokio::test]
async fn snapshot_anomalies_find_the_cloudwatch_step() {
    let ctx = bundle("checkout-oom");
    let a = call(&ctx, "cost_anomalies", json!({})).await;
    assert!(!a.is_error, "{}", a.text);
    assert_eq!(a.data["services_scanned"], 9);
    let found = a.data["engine"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{}", a.text);
    assert_eq!(found[0]["service"], "AmazonCloudWatch");
    assert_eq!(found[0]["start"], "2026-11-10");
    assert_eq!(found[0]["direction"], "up");
    assert!(
        a.text.contains("AmazonCloudWatch up from 2026-11-10"),
        "{}",
        a.text
    );
    // Only moves of at least 100 USD a day: none.
    let a = call(&ctx, "cost_anomalies", json!({"min_impact": 100})).await;
    assert!(
        a.data["engine"].as_array().unwrap().is_empty(),
        "{}",
        a.text
    );
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let ctx = bundle("checkout-oom");
    for (tool, args, field) in [
        (
            "cost_compare",
            json!({"comparison": {"start": "2026-11-10", "end": "2026-11-03"}}),
            "`comparison.end`",
        ),
        (
            "cost_compare",
            json!({"baseline": {"start": "2024-01-01", "end": "2024-02-01"}}),
            "`baseline.start`",
        ),
        ("cost_compare", json!({"group_by": "AZ"}), "`group_by`"),
        (
            "cost_compare",
            json!({"metric": "UsageQuantity"}),
            "`metric`",
        ),
        (
            "cost_compare",
            json!({"comparison": "2026-11-01..2026-11-08"}),
            "comparison",
        ),
        ("cost_forecast", json!({"days": 400}), "`days`"),
        ("cost_forecast", json!({"level": 100}), "`level`"),
        ("cost_anomalies", json!({"min_impact": -1}), "`min_impact`"),
        ("cost_anomalies", json!({"days": 3}), "`days`"),
    ] {
        let a = call(&ctx, tool, args.clone()).await;
        assert!(
            a.is_error && a.text.contains(field),
            "{tool} {args}: {}",
            a.text
        );
    }
}
