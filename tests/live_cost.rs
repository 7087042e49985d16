//! The cost family end to end. In snapshot mode, in-process on the bundled checkout-oom
//! incident; live, through the real binary against moto (GetCostAndUsage) behind the test
//! gateway, whose HTTP stand-ins serve GetCostAndUsageComparisons, GetCostComparisonDrivers,
//! GetCostForecast, GetAnomalies and the Pricing API's GetProducts.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate, Utc};
use eks_ops_mcp::config::{GlobalArgs, Settings};
use eks_ops_mcp::tools::Context;
use eks_ops_testbed::aws::{AwsGateway, Fault, SeedKind};
use eks_ops_testbed::kube::KubeStandin;
use serde_json::{Value, json};

mod common;
use common::{call, call_cli, gateway_env, moto_and_gateway};

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

/// Queues GetCostAndUsage responses in moto: each new distinct request takes the next one.
async fn seed_moto_cost(moto_url: &str, results: Vec<Value>) {
    let ok = reqwest::Client::new()
        .post(format!(
            "{moto_url}/moto-api/static/ce/cost-and-usage-results"
        ))
        .json(&json!({ "results": results }))
        .send()
        .await
        .unwrap();
    assert!(ok.status().is_success());
}

/// A GetCostAndUsage response: one day per `(day, [(service, amount)])`.
fn cost_days(days: &[(String, Vec<(&str, f64)>)]) -> Value {
    let results: Vec<Value> = days
        .iter()
        .map(|(day, groups_in)| {
            let next = (NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap()
                + Duration::days(1))
            .to_string();
            let groups: Vec<Value> = groups_in
                .iter()
                .map(|(k, v)| json!({"Keys": [k], "Metrics": {"UnblendedCost": {"Amount": v.to_string(), "Unit": "USD"}}}))
                .collect();
            // A `total` group stands for an ungrouped day.
            if let [("total", total)] = groups_in.as_slice() {
                json!({"TimePeriod": {"Start": day, "End": next}, "Estimated": false, "Groups": [],
                       "Total": {"UnblendedCost": {"Amount": total.to_string(), "Unit": "USD"}}})
            } else {
                json!({"TimePeriod": {"Start": day, "End": next}, "Estimated": false, "Groups": groups})
            }
        })
        .collect();
    json!({ "ResultsByTime": results })
}

fn comparison_row(service: &str, before: f64, after: f64) -> Value {
    json!({"CostAndUsageSelector": {"Dimensions": {"Key": "SERVICE", "Values": [service]}},
           "Metrics": {"UnblendedCost": {"BaselineTimePeriodAmount": before.to_string(),
               "ComparisonTimePeriodAmount": after.to_string(),
               "Difference": (after - before).to_string(), "Unit": "USD"}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_cost_tools_against_stand_ins() {
    let (moto, gateway) = moto_and_gateway().await;
    let env = gateway_env(&gateway.url());
    live_compare(&moto.url, &gateway, &env).await;
    gateway.reset().await.unwrap();
    live_forecast(&moto.url, &gateway, &env).await;
    gateway.reset().await.unwrap();
    live_anomalies(&moto.url, &gateway, &env).await;
}

/// The comparison API through the GetCostAndUsageComparisons / GetCostComparisonDrivers
/// stand-ins; then, with AccessDenied on it, two GetCostAndUsage calls to moto.
async fn live_compare(moto_url: &str, gateway: &AwsGateway, env: &[(&'static str, String)]) {
    gateway
        .seed(
            SeedKind::Comparisons,
            &json!({"CostAndUsageComparisons": [
                comparison_row("Amazon Elastic Compute Cloud - Compute", 100.0, 150.0),
                comparison_row("AmazonCloudWatch", 20.0, 60.0),
                comparison_row("Amazon Simple Storage Service", 10.0, 9.0)]}),
        )
        .await
        .unwrap();
    let driver = json!({"CostSelector": {"Dimensions": {"Key": "SERVICE", "Values": ["AmazonCloudWatch"]}},
        "Metrics": {"UnblendedCost": {"BaselineTimePeriodAmount": "20", "ComparisonTimePeriodAmount": "60"}},
        "CostDrivers": [{"Type": "USAGE_TYPE_CHANGE", "Name": "EU-CW:MetricMonitorUsage",
            "Metrics": {"UnblendedCost": {"BaselineTimePeriodAmount": "5", "ComparisonTimePeriodAmount": "42"}}}]});
    gateway
        .seed(
            SeedKind::Drivers,
            &json!({ "CostComparisonDrivers": [driver] }),
        )
        .await
        .unwrap();
    let today = Utc::now().date_naive();
    let month = |back: i64| {
        let d = today - Duration::days(back);
        NaiveDate::from_ymd_opt(d.year(), d.month(), 1)
            .unwrap()
            .to_string()
    };
    let (m0, m1, m2) = (month(65), month(35), month(5));
    let args =
        json!({"baseline": {"start": m0, "end": m1}, "comparison": {"start": m1, "end": m2}});
    let a = call_cli(&[], env, "cost_compare", args.clone()).await;
    assert!(!a.is_error, "{}", a.text);
    assert_eq!(a.data["path"], "GetCostAndUsageComparisons");
    assert_eq!(a.data["change"], json!(89.0));
    assert_eq!(
        a.data["drivers"][0]["key"],
        "Amazon Elastic Compute Cloud - Compute"
    );
    assert_eq!(a.data["drivers"][0]["change_percent"], json!(50.0));
    assert_eq!(a.data["drivers"][1]["key"], "AmazonCloudWatch");
    assert_eq!(
        a.data["drivers"][1]["causes"][0],
        json!(["USAGE_TYPE_CHANGE", "EU-CW:MetricMonitorUsage", 37.0])
    );

    // Without the comparison API: the same question from two GetCostAndUsage calls.
    gateway
        .fault(&Fault::access_denied("ce", "GetCostAndUsageComparisons"))
        .await
        .unwrap();
    let day = |d: &str| d.to_string();
    seed_moto_cost(
        moto_url,
        vec![
            cost_days(&[(day(&m0), vec![("EC2", 100.0), ("CloudWatch", 20.0)])]),
            cost_days(&[(day(&m1), vec![("EC2", 90.0), ("CloudWatch", 70.0)])]),
        ],
    )
    .await;
    let a = call_cli(&[], env, "cost_compare", args).await;
    assert!(!a.is_error, "{}", a.text);
    assert_eq!(a.data["path"], "GetCostAndUsage");
    assert!(
        a.data["fallback_reason"]
            .as_str()
            .unwrap()
            .contains("ce:GetCostAndUsageComparisons"),
        "{}",
        a.data
    );
    assert_eq!(a.data["drivers"][0]["key"], "CloudWatch");
    assert_eq!(a.data["drivers"][0]["change"], json!(50.0));
    assert_eq!(a.data["drivers"][1]["change_percent"], json!(-10.0));
    gateway.clear_faults().await.unwrap();
}

/// The last `n` full days before today, oldest first.
fn last_days(n: i64) -> Vec<String> {
    let today = Utc::now().date_naive();
    (1..=n)
        .rev()
        .map(|i| (today - Duration::days(i)).to_string())
        .collect()
}

/// GetCostForecast from its stand-in beside the engine's forecast from moto's daily history.
async fn live_forecast(moto_url: &str, gateway: &AwsGateway, env: &[(&'static str, String)]) {
    let today = Utc::now().date_naive();
    let periods: Vec<Value> = (0..7)
        .map(|i| {
            let d = today + Duration::days(i);
            json!({"TimePeriod": {"Start": d.to_string(), "End": (d + Duration::days(1)).to_string()},
                   "MeanValue": "110", "PredictionIntervalLowerBound": "100", "PredictionIntervalUpperBound": "120"})
        })
        .collect();
    gateway
        .seed(
            SeedKind::Forecast,
            &json!({"Total": {"Amount": "770", "Unit": "USD"}, "ForecastResultsByTime": periods}),
        )
        .await
        .unwrap();
    let history: Vec<(String, Vec<(&str, f64)>)> = last_days(28)
        .into_iter()
        .enumerate()
        .map(|(i, d)| (d, vec![("total", 100.0 + (i % 7) as f64)]))
        .collect();
    seed_moto_cost(moto_url, vec![cost_days(&history)]).await;
    let a = call_cli(&[], env, "cost_forecast", json!({"days": 7})).await;
    assert!(!a.is_error, "{}", a.text);
    assert_eq!(a.data["cost_explorer"]["total"], json!(770.0));
    assert_eq!(a.data["cost_explorer"]["lower"], json!(700.0));
    assert_eq!(a.data["cost_explorer"]["upper"], json!(840.0));
    assert_eq!(a.data["history_days_used"], 28);
    // The history repeats 100..106 every week: a week ahead is close to 721.
    let engine = a.data["engine"]["total"].as_f64().unwrap();
    assert!((700.0..745.0).contains(&engine), "{engine}");
    let gap = a.data["gap_percent"].as_f64().unwrap();
    assert!((gap - (engine - 770.0) / 770.0 * 100.0).abs() < 1e-6);
    // Cost Explorer refuses HOURLY forecasts and long horizons; the tool bounds `days`.
    let a = call_cli(&[], env, "cost_forecast", json!({"days": 91})).await;
    assert!(a.is_error && a.text.contains("`days`"), "{}", a.text);
}

/// GetAnomalies from its stand-in, and the engine's detector over moto's daily cost per
/// service naming the service that stepped up.
async fn live_anomalies(moto_url: &str, gateway: &AwsGateway, env: &[(&'static str, String)]) {
    let days = last_days(30);
    let anomaly = json!({"AnomalyId": "anom-1", "AnomalyStartDate": days[20], "AnomalyEndDate": days[25],
        "MonitorArn": "arn:aws:ce::123456789012:anomalymonitor/m1", "DimensionValue": "Amazon Elastic Compute Cloud - Compute",
        "AnomalyScore": {"MaxScore": 0.9, "CurrentScore": 0.8},
        "Impact": {"MaxImpact": 40.0, "TotalImpact": 180.0, "TotalImpactPercentage": 31.0},
        "RootCauses": [{"Service": "Amazon Elastic Compute Cloud - Compute", "Region": "us-east-1",
            "UsageType": "BoxUsage:c6i.4xlarge", "Impact": {"Contribution": 180.0}}]});
    gateway
        .seed(
            SeedKind::Anomalies,
            &json!({"Anomalies": [anomaly], "AnomalyMonitors": []}),
        )
        .await
        .unwrap();
    let history: Vec<(String, Vec<(&str, f64)>)> = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let ec2 = if i >= 20 {
                140.0
            } else {
                100.0 + (i % 3) as f64
            };
            (
                d.clone(),
                vec![("EC2", ec2), ("S3", 5.0 + (i % 2) as f64 * 0.1)],
            )
        })
        .collect();
    seed_moto_cost(moto_url, vec![cost_days(&history)]).await;
    let a = call_cli(&[], env, "cost_anomalies", json!({})).await;
    assert!(!a.is_error, "{}", a.text);
    let ce = &a.data["cost_explorer"][0];
    assert_eq!(ce["id"], "anom-1");
    assert_eq!(ce["total_impact"], json!(180.0));
    assert_eq!(ce["root_causes"][0]["usage_type"], "BoxUsage:c6i.4xlarge");
    let engine = a.data["engine"].as_array().unwrap();
    assert_eq!(engine.len(), 1, "{}", a.data);
    assert_eq!(engine[0]["service"], "EC2");
    assert_eq!(engine[0]["start"], json!(days[20]));
    assert_eq!(engine[0]["direction"], "up");
    // AccessDenied on GetAnomalies: the engine's half still answers, and says why.
    gateway
        .fault(&Fault::access_denied("ce", "GetAnomalies"))
        .await
        .unwrap();
    let a = call_cli(&[], env, "cost_anomalies", json!({})).await;
    assert!(!a.is_error, "{}", a.text);
    assert!(
        a.data["cost_explorer_note"]
            .as_str()
            .unwrap()
            .contains("ce:GetAnomalies"),
        "{}",
        a.data
    );
    assert_eq!(a.data["engine"][0]["service"], "EC2");
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

#[tokio::test]
async fn snapshot_workload_cost_adds_up() {
    let ctx = bundle("checkout-oom");
    let a = call(
        &ctx,
        "cost_workload",
        json!({"label": "app.kubernetes.io/name", "top": 50}),
    )
    .await;
    assert!(!a.is_error, "{}", a.text);
    let d = &a.data;
    assert_eq!(d["hours"], json!(24.0));
    // $0.10 an hour for 24 hours.
    assert!((num(&d["control_plane_cost"]) - 2.4).abs() < 1e-9);
    // Three m6i.xlarge on-demand at the bundle's $0.2141/h for the whole day, plus the Spot
    // m6a.xlarge at $0.0694/h for the hours since it joined.
    let spot = d["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["capacity_type"] == "SPOT")
        .unwrap();
    assert_eq!(spot["hourly_price"], json!(0.0694));
    let expected_nodes = 3.0 * 0.2141 * 24.0 + num(&spot["cost"]);
    assert!((num(&d["nodes_cost"]) - expected_nodes).abs() < 1e-9);
    assert!(num(&spot["cost"]) > 0.0 && num(&spot["cost"]) <= 0.0694 * 24.0 + 1e-9);
    // Every dollar is charged once: namespaces plus idle make the node cost.
    let charged: f64 = d["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| num(&n["cost"]))
        .sum();
    assert!((charged + num(&d["idle_cost"]) - num(&d["nodes_cost"])).abs() < 1e-6);
    let by_label: f64 = d["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| num(&n["cost"]))
        .sum();
    assert!((by_label - charged).abs() < 1e-6);
    assert!((num(&d["total"]) - num(&d["nodes_cost"]) - 2.4).abs() < 1e-9);
    assert_eq!(d["namespaces"][0]["name"], "shop");
    assert!(
        d["usage"]
            .as_str()
            .unwrap()
            .starts_with("max(request, usage)")
    );
    assert!((0.0..1.0).contains(&num(&d["idle_share"])));
    assert!(
        d["workloads"]
            .to_string()
            .contains("shop/Deployment/checkout")
    );
    // One namespace only: the same node and idle cost, fewer rows.
    let a = call(&ctx, "cost_workload", json!({"namespace": "kube-system"})).await;
    assert!(!a.is_error, "{}", a.text);
    assert_eq!(a.data["namespaces"].as_array().unwrap().len(), 1);
    assert!((num(&a.data["nodes_cost"]) - expected_nodes).abs() < 1e-9);
}

#[tokio::test]
async fn workload_cost_bad_input() {
    let ctx = bundle("checkout-oom");
    for (args, field) in [
        (json!({"spot_discount": 1.5}), "`spot_discount`"),
        (
            json!({"cpu_to_memory_price_ratio": -1}),
            "`cpu_to_memory_price_ratio`",
        ),
        (
            json!({"control_plane_hourly": "ten"}),
            "control_plane_hourly",
        ),
        (json!({"since": "2h", "until": "2020-13-01"}), "`until`"),
        (json!({"cluster": "nope"}), "nope"),
    ] {
        let a = call(&ctx, "cost_workload", args.clone()).await;
        assert!(a.is_error && a.text.contains(field), "{args}: {}", a.text);
    }
}

#[tokio::test]
async fn snapshot_rightsizing_flags_checkout_and_idle_daemons() {
    let ctx = bundle("checkout-oom");
    let a = call(
        &ctx,
        "cost_rightsizing",
        json!({"top": 50, "headroom": 0.25}),
    )
    .await;
    assert!(!a.is_error, "{}", a.text);
    let workloads = a.data["workloads"].as_array().unwrap();
    let find = |name: &str| {
        workloads
            .iter()
            .find(|w| w["workload"] == name)
            .unwrap_or_else(|| panic!("{name} in {}", a.text))
    };
    // The leaking checkout pods run at their memory limit: the one finding that matters.
    let checkout = find("shop/Deployment/checkout");
    assert_eq!(checkout["verdict"], "near memory limit");
    assert!(num(&checkout["memory"]["p99"]) >= 0.9 * num(&checkout["memory"]["limit"]));
    // Recommendations are the percentile plus 25 %: CPU from p95, memory from p99.
    for w in workloads {
        let cpu = num(&w["cpu"]["p95"]) * 1.25;
        let mem = num(&w["memory"]["p99"]) * 1.25;
        assert!(
            (num(&w["cpu"]["recommended"]) - cpu.max(0.01)).abs() < 1e-9,
            "{w}"
        );
        assert!(
            (num(&w["memory"]["recommended"]) - mem.max(32.0 * 1048576.0)).abs() < 1e-3,
            "{w}"
        );
    }
    // kube-proxy sets a CPU request but no memory request.
    assert_eq!(
        find("kube-system/DaemonSet/kube-proxy")["verdict"],
        "missing request"
    );
    // The CloudWatch agent asks for 250m and uses a few dozen millicores.
    let agent = find("amazon-cloudwatch/DaemonSet/cloudwatch-agent");
    assert_eq!(agent["verdict"], "over-provisioned");
    assert!(num(&agent["monthly_saving"]) > 0.0);
    let positive: f64 = workloads
        .iter()
        .map(|w| num(&w["monthly_saving"]).max(0.0))
        .sum();
    assert!((num(&a.data["total_monthly_saving"]) - positive).abs() < 1e-9);
    // Node groups: the general group runs postgres (a StatefulSet), so it stays on-demand;
    // both run x86 families that have Graviton counterparts.
    let groups = a.data["node_groups"].as_array().unwrap();
    let general = groups
        .iter()
        .find(|g| g["nodegroup"] == "shop-general")
        .unwrap();
    assert_eq!(general["spot_candidate"], false);
    assert_eq!(general["graviton_candidate"], true);
    assert!((num(&general["monthly_cost"]) - 3.0 * 0.2141 * 730.0).abs() < 1e-6);
    assert!(general["notes"].to_string().contains("keep on-demand"));
    let spot = groups
        .iter()
        .find(|g| g["nodegroup"] == "shop-spot")
        .unwrap();
    assert_eq!(spot["capacity_type"], "SPOT");
    assert!(spot["spot_monthly_saving"].is_null());
    // One namespace, and bad input.
    let a = call(
        &ctx,
        "cost_rightsizing",
        json!({"namespace": "kube-system"}),
    )
    .await;
    assert!(
        a.data["workloads"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["workload"].as_str().unwrap().starts_with("kube-system/"))
    );
    for (args, field) in [
        (json!({"headroom": 5}), "`headroom`"),
        (json!({"spot_discount": -0.1}), "`spot_discount`"),
        (json!({"top": 0}), "`top`"),
    ] {
        let a = call(&ctx, "cost_rightsizing", args.clone()).await;
        assert!(a.is_error && a.text.contains(field), "{args}: {}", a.text);
    }
}

/// A Pricing API product document as GetProducts returns it (the stand-in serialises it).
fn ec2_product(sku: &str, instance_type: &str, os: &str, usd: &str) -> Value {
    json!({"serviceCode": "AmazonEC2", "product": {"sku": sku, "productFamily": "Compute Instance",
        "attributes": {"instanceType": instance_type, "regionCode": "eu-west-1", "operatingSystem": os,
            "tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used"}},
        "terms": {"OnDemand": {format!("{sku}.JRTCKXETXF"): {"priceDimensions": {
            format!("{sku}.JRTCKXETXF.6YS6EN2CT7"): {"unit": "Hrs", "pricePerUnit": {"USD": usd}}}}}}})
}

/// cost_workload and cost_rightsizing live: the checkout-oom cluster served by the Kubernetes
/// API stand-in, node prices from the Pricing API stand-in behind the gateway, and no usage
/// metrics (moto's CloudWatch holds none), so allocation falls back to requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_workload_cost_against_kube_and_pricing_stand_ins() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/snapshots/checkout-oom");
    let kube = KubeStandin::builder(dir).spawn().await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = tmp.path().join("kubeconfig");
    kube.write_kubeconfig(&kubeconfig, &["shop-prod"]).unwrap();
    let (_moto, gateway) = moto_and_gateway().await;
    gateway
        .seed(
            SeedKind::Pricing,
            &json!({"PriceList": [
                ec2_product("A", "m6i.xlarge", "Linux", "0.2140000000"),
                ec2_product("B", "m6i.xlarge", "Windows", "0.3980000000"),
                ec2_product("C", "m6a.xlarge", "Linux", "0.1920000000")]}),
        )
        .await
        .unwrap();
    let env = gateway_env(&gateway.url());
    let kc = kubeconfig.display().to_string();
    let global = ["--kubeconfig", kc.as_str(), "--context", "shop-prod"];
    let window =
        json!({"since": "24h", "until": "2026-11-20T14:30:00Z", "spot_discount": 0.6, "top": 50});
    let a = call_cli(&global, &env, "cost_workload", window.clone()).await;
    assert!(!a.is_error, "{}", a.text);
    let d = &a.data;
    assert!(
        d["usage"].as_str().unwrap().starts_with("requests only"),
        "{}",
        d["usage"]
    );
    assert!(d["pricing"].as_str().unwrap().contains("Price List API"));
    // Linux prices (not the Windows decoy); the Spot node at 60 % off $0.192.
    let spot = d["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["capacity_type"] == "SPOT")
        .unwrap();
    assert!((num(&spot["hourly_price"]) - 0.192 * 0.4).abs() < 1e-12);
    let on_demand: f64 = d["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["capacity_type"] == "ON_DEMAND")
        .map(|n| num(&n["cost"]))
        .sum();
    assert!((on_demand - 3.0 * 0.214 * 24.0).abs() < 1e-9, "{on_demand}");
    assert!(d["efficiency"].is_null());
    let charged: f64 = d["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| num(&n["cost"]))
        .sum();
    assert!((charged + num(&d["idle_cost"]) - num(&d["nodes_cost"])).abs() < 1e-6);
    // The same cluster from the snapshot, requests and usage: more is charged, less idle.
    let snap = call(&bundle("checkout-oom"), "cost_workload", window.clone()).await;
    assert!(num(&snap.data["idle_cost"]) < num(&d["idle_cost"]) + 1e-9);
    // Rightsizing needs usage, and says where it looked.
    let a = call_cli(
        &global,
        &env,
        "cost_rightsizing",
        json!({"until": "2026-11-20T14:30:00Z"}),
    )
    .await;
    assert!(a.is_error && a.text.contains("usage metrics"), "{}", a.text);
    // AccessDenied on the Pricing API names the action.
    gateway
        .fault(&Fault::access_denied("pricing", "GetProducts"))
        .await
        .unwrap();
    let a = call_cli(&global, &env, "cost_workload", window).await;
    assert!(
        a.is_error && a.text.contains("pricing:GetProducts"),
        "{}",
        a.text
    );
}

#[tokio::test]
async fn every_bundle_answers_every_cost_tool() {
    for name in [
        "checkout-oom",
        "cni-ip-exhaustion",
        "noisy-neighbour",
        "missing-configmap-key",
    ] {
        let ctx = bundle(name);
        for tool in [
            "cost_compare",
            "cost_forecast",
            "cost_anomalies",
            "cost_workload",
            "cost_rightsizing",
        ] {
            let a = call(&ctx, tool, json!({})).await;
            assert!(!a.is_error, "{name} {tool}: {}", a.text);
            assert!(!a.text.is_empty() && a.data.is_object(), "{name} {tool}");
        }
        let a = call(&ctx, "cost_workload", json!({})).await;
        assert!(num(&a.data["nodes_cost"]) > 0.0, "{name}: {}", a.text);
        assert!(a.data["unpriced"].as_array().unwrap().is_empty(), "{name}");
    }
}

#[tokio::test]
async fn breakdown_filters_are_objects() {
    let ctx = bundle("checkout-oom");
    for (filter, field) in [
        (json!("{\"Dimensions\":{}}"), "`filter`"),
        (json!({"Service": "EC2"}), "`filter.Service`"),
    ] {
        let a = call(&ctx, "cost_breakdown", json!({ "filter": filter })).await;
        assert!(a.is_error && a.text.contains(field), "{}", a.text);
    }
}
