//! The AWS test gateway driven by the real AWS SDK clients the server uses, pointed at the
//! gateway in front of a real moto server. Each test starts its own moto and gateway.
//!
//! Needs moto_server: `$MOTO_SERVER_BIN`, `.ci/work/venv/bin/moto_server` or
//! `/work/venv-moto/bin/moto_server`. The tests fail, not skip, when it is missing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types as cw;
use aws_sdk_costexplorer::types as ce;
use aws_sdk_eks::error::ProvideErrorMetadata;
use eks_ops_testbed::aws::{AwsGateway, Fault, MotoServer, Route, SeedKind};
use serde_json::json;

struct Bed {
    gateway: AwsGateway,
    _moto: MotoServer,
    config: SdkConfig,
}

async fn bed() -> Bed {
    let bin = MotoServer::locate().unwrap_or_else(|e| panic!("these tests need moto: {e}"));
    let moto = MotoServer::spawn(&bin).await.expect("moto_server starts");
    let gateway = AwsGateway::spawn(&moto.url).await.expect("gateway starts");
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(gateway.url())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDTESTBED",
            "secret",
            None,
            None,
            "static",
        ))
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    Bed {
        gateway,
        _moto: moto,
        config,
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn dimension() -> cw::Dimension {
    cw::Dimension::builder()
        .name("ClusterName")
        .value("demo")
        .build()
}

#[tokio::test]
async fn cloudwatch_metric_data_and_alarms_round_trip_over_cbor() {
    let bed = bed().await;
    let client = aws_sdk_cloudwatch::Client::new(&bed.config);
    // Minute-aligned points in the past, one per minute, so each lands in its own period.
    let base = (now_secs() / 60 - 10) * 60;
    let mut put = client.put_metric_data().namespace("ContainerInsights");
    for (i, value) in [1.5, 2.0, 40.25].into_iter().enumerate() {
        let datum = cw::MetricDatum::builder()
            .metric_name("pod_cpu_utilization")
            .dimensions(dimension())
            .timestamp(DateTime::from_secs(base + 60 * i as i64))
            .value(value)
            .unit(cw::StandardUnit::Percent)
            .build();
        put = put.metric_data(datum);
    }
    put.send().await.expect("PutMetricData");

    let stat = cw::MetricStat::builder()
        .metric(
            cw::Metric::builder()
                .namespace("ContainerInsights")
                .metric_name("pod_cpu_utilization")
                .dimensions(dimension())
                .build(),
        )
        .period(60)
        .stat("Maximum")
        .build();
    let out = client
        .get_metric_data()
        .metric_data_queries(
            cw::MetricDataQuery::builder()
                .id("cpu")
                .metric_stat(stat)
                .build(),
        )
        .start_time(DateTime::from_secs(base - 60))
        .end_time(DateTime::from_secs(base + 600))
        .send()
        .await
        .expect("GetMetricData");
    let result = &out.metric_data_results()[0];
    assert_eq!(result.id(), Some("cpu"));
    let mut points: Vec<(i64, f64)> = result
        .timestamps()
        .iter()
        .map(|t| t.secs())
        .zip(result.values().iter().copied())
        .collect();
    points.sort_by_key(|p| p.0);
    assert_eq!(
        points,
        vec![(base, 1.5), (base + 60, 2.0), (base + 120, 40.25)]
    );

    client
        .put_metric_alarm()
        .alarm_name("cpu-high")
        .namespace("ContainerInsights")
        .metric_name("pod_cpu_utilization")
        .dimensions(dimension())
        .statistic(cw::Statistic::Average)
        .period(60)
        .evaluation_periods(3)
        .threshold(80.5)
        .comparison_operator(cw::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .expect("PutMetricAlarm");
    client
        .set_alarm_state()
        .alarm_name("cpu-high")
        .state_value(cw::StateValue::Alarm)
        .state_reason("test")
        .send()
        .await
        .expect("SetAlarmState");
    let alarms = client
        .describe_alarms()
        .alarm_names("cpu-high")
        .send()
        .await
        .expect("DescribeAlarms");
    let alarm = &alarms.metric_alarms()[0];
    assert_eq!(alarm.alarm_name(), Some("cpu-high"));
    assert_eq!(
        (
            alarm.threshold(),
            alarm.evaluation_periods(),
            alarm.period()
        ),
        (Some(80.5), Some(3), Some(60))
    );
    assert_eq!(alarm.state_value(), Some(&cw::StateValue::Alarm));
    let updated = alarm
        .state_updated_timestamp()
        .expect("StateUpdatedTimestamp")
        .secs();
    assert!(
        (updated - now_secs()).abs() < 300,
        "timestamp decoded from tag 1: {updated}"
    );
    assert!(alarm.alarm_configuration_updated_timestamp().is_some());

    let stats = client
        .get_metric_statistics()
        .namespace("ContainerInsights")
        .metric_name("pod_cpu_utilization")
        .dimensions(dimension())
        .start_time(DateTime::from_secs(base - 60))
        .end_time(DateTime::from_secs(base + 600))
        .period(600)
        .statistics(cw::Statistic::Sum)
        .statistics(cw::Statistic::SampleCount)
        .send()
        .await
        .expect("GetMetricStatistics");
    let sum: f64 = stats.datapoints().iter().filter_map(|d| d.sum()).sum();
    assert_eq!(sum, 43.75);

    let err = client
        .get_dashboard()
        .dashboard_name("missing")
        .send()
        .await
        .expect_err("no such dashboard");
    assert!(
        err.into_service_error().is_dashboard_not_found_error(),
        "moto's JSON error re-encoded as CBOR"
    );

    let log = bed.gateway.requests().await.unwrap();
    assert!(
        log.iter()
            .any(|r| r.operation == "GetMetricData" && r.route == Route::Bridge && r.status == 200)
    );
}

#[tokio::test]
async fn describe_alarm_history_is_served_from_seed() {
    let bed = bed().await;
    let items = json!({"AlarmHistoryItems": [
        {"AlarmName": "cpu-high", "AlarmType": "MetricAlarm", "Timestamp": 1717200000.25, "HistoryItemType": "StateUpdate",
         "HistorySummary": "Alarm updated from OK to ALARM", "HistoryData": "{\"version\":\"1.0\"}"},
        {"AlarmName": "cpu-high", "AlarmType": "MetricAlarm", "Timestamp": "2024-06-01T01:00:00Z", "HistoryItemType": "StateUpdate",
         "HistorySummary": "Alarm updated from ALARM to OK"},
        {"AlarmName": "other", "AlarmType": "MetricAlarm", "Timestamp": 1717200100, "HistoryItemType": "StateUpdate", "HistorySummary": "x"}]});
    bed.gateway
        .seed(SeedKind::AlarmHistory, &items)
        .await
        .unwrap();
    let client = aws_sdk_cloudwatch::Client::new(&bed.config);
    let first = client
        .describe_alarm_history()
        .alarm_name("cpu-high")
        .history_item_type(cw::HistoryItemType::StateUpdate)
        .max_records(1)
        .send()
        .await
        .expect("DescribeAlarmHistory");
    let item = &first.alarm_history_items()[0];
    assert_eq!(
        item.history_summary(),
        Some("Alarm updated from ALARM to OK"),
        "newest first"
    );
    assert_eq!(item.timestamp().map(DateTime::secs), Some(1_717_203_600));
    let second = client
        .describe_alarm_history()
        .alarm_name("cpu-high")
        .next_token(first.next_token().expect("a second page"))
        .send()
        .await
        .unwrap();
    let item = &second.alarm_history_items()[0];
    let ts = item.timestamp().unwrap();
    assert_eq!((ts.secs(), ts.subsec_nanos()), (1_717_200_000, 250_000_000));
    assert_eq!(item.alarm_type(), Some(&cw::AlarmType::MetricAlarm));
    assert!(second.next_token().is_none());

    let err = client
        .describe_alarm_history()
        .next_token("bogus")
        .send()
        .await
        .expect_err("bad token");
    assert!(err.into_service_error().is_invalid_next_token());
}

#[tokio::test]
async fn percentile_statistics_come_from_the_bridged_samples() {
    let bed = bed().await;
    let client = aws_sdk_cloudwatch::Client::new(&bed.config);
    let base = (now_secs() / 60 - 10) * 60;
    let metric = cw::Metric::builder()
        .namespace("App")
        .metric_name("latency")
        .dimensions(dimension())
        .build();
    let mut datum = cw::MetricDatum::builder()
        .metric_name("latency")
        .dimensions(dimension())
        .timestamp(DateTime::from_secs(base + 5))
        .unit(cw::StandardUnit::Milliseconds);
    for v in 1..=100 {
        datum = datum.values(f64::from(v)).counts(1.0);
    }
    client
        .put_metric_data()
        .namespace("App")
        .metric_data(datum.build())
        .send()
        .await
        .expect("PutMetricData");

    let query = |id: &str, stat: &str| {
        let stat = cw::MetricStat::builder()
            .metric(metric.clone())
            .period(60)
            .stat(stat)
            .build();
        cw::MetricDataQuery::builder()
            .id(id)
            .metric_stat(stat)
            .build()
    };
    let out = client
        .get_metric_data()
        .metric_data_queries(query("p90", "p90"))
        .metric_data_queries(query("total", "Sum"))
        .start_time(DateTime::from_secs(base))
        .end_time(DateTime::from_secs(base + 600))
        .send()
        .await
        .expect("GetMetricData with a percentile");
    let results = out.metric_data_results();
    assert_eq!(results[0].id(), Some("p90"));
    assert_eq!(results[0].values(), [90.0]);
    assert_eq!(results[0].timestamps()[0].secs(), base);
    assert_eq!(
        (results[1].id(), results[1].values()),
        (Some("total"), &[5050.0][..]),
        "from moto"
    );

    let stats = client
        .get_metric_statistics()
        .namespace("App")
        .metric_name("latency")
        .dimensions(dimension())
        .start_time(DateTime::from_secs(base))
        .end_time(DateTime::from_secs(base + 600))
        .period(600)
        .statistics(cw::Statistic::Maximum)
        .extended_statistics("p50")
        .send()
        .await
        .expect("GetMetricStatistics with ExtendedStatistics");
    let point = &stats.datapoints()[0];
    assert_eq!(point.maximum(), Some(100.0));
    assert_eq!(
        point
            .extended_statistics()
            .and_then(|e| e.get("p50"))
            .copied(),
        Some(50.0)
    );
    assert_eq!(point.unit(), Some(&cw::StandardUnit::Milliseconds));
}

fn eks_seed() -> (serde_json::Value, serde_json::Value) {
    let addons = json!({
        "addons": [
            {"addonName": "vpc-cni", "clusterName": "demo", "status": "ACTIVE", "addonVersion": "v1.18.1-eksbuild.1",
             "health": {"issues": []}, "addonArn": "arn:aws:eks:us-east-1:123456789012:addon/demo/vpc-cni/abc",
             "createdAt": 1717200000.0, "modifiedAt": 1717203600.0, "tags": {}},
            {"addonName": "coredns", "clusterName": "demo", "status": "DEGRADED", "addonVersion": "v1.11.1-eksbuild.9",
             "health": {"issues": [{"code": "InsufficientNumberOfReplicas", "message": "The add-on is unhealthy because it doesn't have the desired number of replicas.", "resourceIds": []}]},
             "createdAt": 1717200000.0, "modifiedAt": 1717200000.0}],
        "addonInfos": [
            {"addonName": "vpc-cni", "type": "networking", "owner": "aws", "publisher": "eks",
             "addonVersions": [{"addonVersion": "v1.18.1-eksbuild.1", "architecture": ["amd64", "arm64"],
                                "compatibilities": [{"clusterVersion": "1.30", "platformVersions": ["*"], "defaultVersion": true}],
                                "requiresConfiguration": false}]}]
    });
    let insights = json!({"clusterName": "demo", "insights": [
        {"id": "8b2d5a1c-0000-4000-8000-000000000001", "name": "Deprecated APIs removed in Kubernetes v1.32",
         "category": "UPGRADE_READINESS", "kubernetesVersion": "1.32", "lastRefreshTime": 1717200000, "lastTransitionTime": 1717100000,
         "description": "Checks for usage of deprecated APIs", "insightStatus": {"status": "ERROR", "reason": "Deprecated API usage detected"},
         "recommendation": "Update manifests", "additionalInfo": {"EKS update docs": "https://docs.aws.amazon.com/eks/"},
         "resources": [{"insightStatus": {"status": "ERROR"}, "kubernetesResourceUri": "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas"}],
         "categorySpecificSummary": {"deprecationDetails": [{"usage": "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas", "replacedWith": "/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas", "stopServingVersion": "1.32", "startServingReplacementVersion": "1.29", "clientStats": []}]}},
        {"id": "8b2d5a1c-0000-4000-8000-000000000002", "name": "Kubelet version skew", "category": "UPGRADE_READINESS",
         "kubernetesVersion": "1.32", "insightStatus": {"status": "PASSING", "reason": "No issue"}}]});
    (addons, insights)
}

#[tokio::test]
async fn eks_clusters_from_moto_addons_and_insights_from_the_stand_in() {
    let bed = bed().await;
    let client = aws_sdk_eks::Client::new(&bed.config);
    client
        .create_cluster()
        .name("demo")
        .version("1.30")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-1")
                .build(),
        )
        .send()
        .await
        .expect("CreateCluster via moto");
    let (addons, insights) = eks_seed();
    bed.gateway.seed(SeedKind::Addons, &addons).await.unwrap();
    bed.gateway
        .seed(SeedKind::Insights, &insights)
        .await
        .unwrap();

    let listed = client
        .list_addons()
        .cluster_name("demo")
        .send()
        .await
        .expect("ListAddons");
    assert_eq!(listed.addons(), ["vpc-cni", "coredns"]);
    let coredns = client
        .describe_addon()
        .cluster_name("demo")
        .addon_name("coredns")
        .send()
        .await
        .expect("DescribeAddon");
    let addon = coredns.addon().unwrap();
    assert_eq!(
        addon.status(),
        Some(&aws_sdk_eks::types::AddonStatus::Degraded)
    );
    let issue = &addon.health().unwrap().issues()[0];
    assert_eq!(
        issue.code(),
        Some(&aws_sdk_eks::types::AddonIssueCode::InsufficientNumberOfReplicas)
    );
    assert_eq!(addon.created_at().map(|t| t.secs()), Some(1_717_200_000));
    let versions = client
        .describe_addon_versions()
        .kubernetes_version("1.30")
        .send()
        .await
        .expect("DescribeAddonVersions");
    assert_eq!(
        versions.addons()[0].addon_versions()[0].addon_version(),
        Some("v1.18.1-eksbuild.1")
    );

    let filter = aws_sdk_eks::types::InsightsFilter::builder()
        .statuses(aws_sdk_eks::types::InsightStatusValue::Error)
        .build();
    let listed = client
        .list_insights()
        .cluster_name("demo")
        .filter(filter)
        .send()
        .await
        .expect("ListInsights");
    assert_eq!(listed.insights().len(), 1);
    let id = listed.insights()[0].id().unwrap();
    let insight = client
        .describe_insight()
        .cluster_name("demo")
        .id(id)
        .send()
        .await
        .expect("DescribeInsight");
    let insight = insight.insight().unwrap();
    assert_eq!(insight.recommendation(), Some("Update manifests"));
    let deprecation = &insight
        .category_specific_summary()
        .unwrap()
        .deprecation_details()[0];
    assert_eq!(
        deprecation.replaced_with(),
        Some("/apis/flowcontrol.apiserver.k8s.io/v1/flowschemas")
    );

    let err = client
        .list_addons()
        .cluster_name("ghost")
        .send()
        .await
        .expect_err("no such cluster");
    assert!(err.into_service_error().is_resource_not_found_exception());
    let err = client
        .describe_addon()
        .cluster_name("demo")
        .addon_name("kube-proxy")
        .send()
        .await
        .expect_err("no such addon");
    assert!(err.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn cost_explorer_usage_from_moto_forecast_and_anomalies_from_the_stand_in() {
    let bed = bed().await;
    let usage = json!({"results": [{"ResultsByTime": [{"TimePeriod": {"Start": "2024-06-01", "End": "2024-06-02"},
        "Total": {"UnblendedCost": {"Amount": "42.5", "Unit": "USD"}}, "Groups": [], "Estimated": false}], "DimensionValueAttributes": []}]});
    let seeded = reqwest::Client::new()
        .post(format!(
            "{}/moto-api/static/ce/cost-and-usage-results",
            bed.gateway.url()
        ))
        .json(&usage)
        .send()
        .await
        .unwrap();
    assert!(
        seeded.status().is_success(),
        "moto's seeding endpoint is reached through the gateway"
    );
    let client = aws_sdk_costexplorer::Client::new(&bed.config);
    let period = ce::DateInterval::builder()
        .start("2024-06-01")
        .end("2024-06-02")
        .build()
        .unwrap();
    let out = client
        .get_cost_and_usage()
        .time_period(period)
        .granularity(ce::Granularity::Daily)
        .metrics("UnblendedCost")
        .send()
        .await
        .expect("GetCostAndUsage via moto");
    let total = out.results_by_time()[0].total().unwrap();
    assert_eq!(total["UnblendedCost"].amount(), Some("42.5"));

    bed.gateway
        .seed(SeedKind::Forecast, &json!({"Total": {"Amount": "0", "Unit": "USD"}, "ForecastResultsByTime": [
            {"TimePeriod": {"Start": "2024-07-01", "End": "2024-07-02"}, "MeanValue": "40.0", "PredictionIntervalLowerBound": "35", "PredictionIntervalUpperBound": "45"},
            {"TimePeriod": {"Start": "2024-07-02", "End": "2024-07-03"}, "MeanValue": "44.0"},
            {"TimePeriod": {"Start": "2024-07-03", "End": "2024-07-04"}, "MeanValue": "48.0"}]}))
        .await
        .unwrap();
    let forecast = client
        .get_cost_forecast()
        .time_period(
            ce::DateInterval::builder()
                .start("2024-07-01")
                .end("2024-07-03")
                .build()
                .unwrap(),
        )
        .metric(ce::Metric::UnblendedCost)
        .granularity(ce::Granularity::Daily)
        .prediction_interval_level(80)
        .send()
        .await
        .expect("GetCostForecast");
    assert_eq!(forecast.total().and_then(|t| t.amount()), Some("84"));
    assert_eq!(forecast.forecast_results_by_time().len(), 2);
    assert_eq!(
        forecast.forecast_results_by_time()[0].prediction_interval_upper_bound(),
        Some("45")
    );

    bed.gateway
        .seed(SeedKind::Anomalies, &json!({
            "Anomalies": [{"AnomalyId": "a-1", "AnomalyStartDate": "2024-06-10", "AnomalyEndDate": "2024-06-11", "DimensionValue": "Amazon Elastic Compute Cloud - Compute",
                           "RootCauses": [{"Service": "Amazon Elastic Compute Cloud - Compute", "Region": "us-east-1", "UsageType": "BoxUsage:m5.2xlarge"}],
                           "AnomalyScore": {"MaxScore": 0.9, "CurrentScore": 0.4}, "Impact": {"MaxImpact": 120.0, "TotalImpact": 310.5},
                           "MonitorArn": "arn:aws:ce::123456789012:anomalymonitor/m-1"}],
            "AnomalyMonitors": [{"MonitorArn": "arn:aws:ce::123456789012:anomalymonitor/m-1", "MonitorName": "services",
                                 "MonitorType": "DIMENSIONAL", "MonitorDimension": "SERVICE"}]}))
        .await
        .unwrap();
    let anomalies = client
        .get_anomalies()
        .date_interval(
            ce::AnomalyDateInterval::builder()
                .start_date("2024-06-01")
                .end_date("2024-06-30")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("GetAnomalies");
    let anomaly = &anomalies.anomalies()[0];
    assert_eq!(anomaly.impact().map(|i| i.total_impact()), Some(310.5));
    assert_eq!(
        anomaly.root_causes()[0].usage_type(),
        Some("BoxUsage:m5.2xlarge")
    );
    let monitors = client
        .get_anomaly_monitors()
        .send()
        .await
        .expect("GetAnomalyMonitors");
    assert_eq!(monitors.anomaly_monitors()[0].monitor_name(), "services");

    bed.gateway
        .seed(SeedKind::Comparisons, &json!({"CostAndUsageComparisons": [{"CostAndUsageSelector": {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon Elastic Container Service for Kubernetes"]}},
            "Metrics": {"UnblendedCost": {"BaselineTimePeriodAmount": "100", "ComparisonTimePeriodAmount": "130", "Difference": "30", "Unit": "USD"}}}],
            "TotalCostAndUsage": {"UnblendedCost": {"BaselineTimePeriodAmount": "100", "ComparisonTimePeriodAmount": "130", "Difference": "30", "Unit": "USD"}}}))
        .await
        .unwrap();
    bed.gateway
        .seed(SeedKind::Drivers, &json!({"CostComparisonDrivers": [{"CostSelector": {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon Elastic Container Service for Kubernetes"]}},
            "Metrics": {"UnblendedCost": {"Difference": "30", "Unit": "USD"}},
            "CostDrivers": [{"Type": "USAGE_CHANGE", "Name": "EKS cluster hours", "Metrics": {"UnblendedCost": {"Difference": "30", "Unit": "USD"}}}]}]}))
        .await
        .unwrap();
    let baseline = ce::DateInterval::builder()
        .start("2024-05-01")
        .end("2024-06-01")
        .build()
        .unwrap();
    let comparison = ce::DateInterval::builder()
        .start("2024-06-01")
        .end("2024-07-01")
        .build()
        .unwrap();
    let compared = client
        .get_cost_and_usage_comparisons()
        .baseline_time_period(baseline.clone())
        .comparison_time_period(comparison.clone())
        .metric_for_comparison("UnblendedCost")
        .send()
        .await
        .expect("GetCostAndUsageComparisons");
    assert_eq!(
        compared.cost_and_usage_comparisons()[0].metrics().unwrap()["UnblendedCost"].difference(),
        Some("30")
    );
    let drivers = client
        .get_cost_comparison_drivers()
        .baseline_time_period(baseline)
        .comparison_time_period(comparison)
        .metric_for_comparison("UnblendedCost")
        .send()
        .await
        .expect("GetCostComparisonDrivers");
    assert_eq!(
        drivers.cost_comparison_drivers()[0].cost_drivers()[0].name(),
        Some("EKS cluster hours")
    );
}

#[tokio::test]
async fn pricing_get_products_returns_json_strings() {
    let bed = bed().await;
    let product = |sku: &str, instance: &str, price: &str| {
        json!({"product": {"productFamily": "Compute Instance", "sku": sku,
                           "attributes": {"instanceType": instance, "regionCode": "us-east-1", "operatingSystem": "Linux"}},
               "serviceCode": "AmazonEC2", "publicationDate": "2024-06-01T00:00:00Z", "version": "20240601000000",
               "terms": {"OnDemand": {format!("{sku}.JRTCKXETXF"): {"priceDimensions": {format!("{sku}.JRTCKXETXF.6YS6EN2CT7"):
                   {"unit": "Hrs", "pricePerUnit": {"USD": price}}}}}}})
        .to_string()
    };
    let seed = json!({"FormatVersion": "aws_v1", "PriceList": [product("SKU1", "m5.large", "0.0960000000"), product("SKU2", "m5.xlarge", "0.1920000000")]});
    bed.gateway.seed(SeedKind::Pricing, &seed).await.unwrap();
    let client = aws_sdk_pricing::Client::new(&bed.config);
    let filter = aws_sdk_pricing::types::Filter::builder()
        .r#type(aws_sdk_pricing::types::FilterType::TermMatch)
        .field("instanceType")
        .value("m5.xlarge")
        .build()
        .unwrap();
    let out = client
        .get_products()
        .service_code("AmazonEC2")
        .filters(filter)
        .send()
        .await
        .expect("GetProducts");
    assert_eq!(out.format_version(), Some("aws_v1"));
    assert_eq!(out.price_list().len(), 1);
    let doc: serde_json::Value =
        serde_json::from_str(&out.price_list()[0]).expect("each entry is a JSON document");
    assert_eq!(doc["product"]["sku"], "SKU2");
}

#[tokio::test]
async fn access_denied_faults_use_each_services_error_shape() {
    let bed = bed().await;
    bed.gateway
        .fault(&Fault::access_denied("eks", "DescribeCluster"))
        .await
        .unwrap();
    bed.gateway
        .fault(&Fault::access_denied("ce", "GetCostForecast"))
        .await
        .unwrap();
    bed.gateway
        .fault(&Fault::access_denied("cloudwatch", "GetMetricData"))
        .await
        .unwrap();

    let eks = aws_sdk_eks::Client::new(&bed.config);
    let err = eks
        .describe_cluster()
        .name("demo")
        .send()
        .await
        .expect_err("denied");
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert_eq!(
        err.message(),
        Some(
            "User: arn:aws:sts::123456789012:assumed-role/x/y is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:us-east-1:123456789012:cluster/demo"
        )
    );
    assert!(
        err.raw_response()
            .is_some_and(|r| r.status().as_u16() == 403)
    );
    eks.list_clusters()
        .send()
        .await
        .expect("other operations still reach moto");

    let cost = aws_sdk_costexplorer::Client::new(&bed.config);
    let err = cost
        .get_cost_forecast()
        .time_period(
            ce::DateInterval::builder()
                .start("2024-07-01")
                .end("2024-07-02")
                .build()
                .unwrap(),
        )
        .metric(ce::Metric::UnblendedCost)
        .granularity(ce::Granularity::Daily)
        .send()
        .await
        .expect_err("denied");
    assert_eq!(
        aws_sdk_costexplorer::error::ProvideErrorMetadata::code(&err),
        Some("AccessDeniedException")
    );

    let cw = aws_sdk_cloudwatch::Client::new(&bed.config);
    let err = cw
        .get_metric_data()
        .start_time(DateTime::from_secs(0))
        .end_time(DateTime::from_secs(60))
        .send()
        .await
        .expect_err("denied");
    let message = aws_sdk_cloudwatch::error::ProvideErrorMetadata::message(&err)
        .unwrap_or("")
        .to_owned();
    assert_eq!(
        aws_sdk_cloudwatch::error::ProvideErrorMetadata::code(&err),
        Some("AccessDenied")
    );
    assert!(message.contains("cloudwatch:GetMetricData"), "{message}");

    let log = bed.gateway.requests().await.unwrap();
    assert_eq!(log.iter().filter(|r| r.route == Route::Fault).count(), 3);
}

#[tokio::test]
async fn delay_faults_trip_sdk_timeouts() {
    let bed = bed().await;
    bed.gateway
        .fault(&Fault::delay("eks", "ListClusters", 3_000))
        .await
        .unwrap();
    let eks = aws_sdk_eks::Client::new(&bed.config);
    let timeouts = TimeoutConfig::builder()
        .operation_timeout(Duration::from_millis(1_000))
        .build();
    let err = eks
        .list_clusters()
        .customize()
        .config_override(aws_sdk_eks::config::Builder::default().timeout_config(timeouts))
        .send()
        .await
        .expect_err("slower than the operation timeout");
    assert!(
        matches!(err, aws_sdk_eks::error::SdkError::TimeoutError(_)),
        "{err:?}"
    );
    bed.gateway.clear_faults().await.unwrap();
    let started = std::time::Instant::now();
    eks.list_clusters()
        .send()
        .await
        .expect("answers once faults are cleared");
    assert!(
        started.elapsed() < Duration::from_millis(3_000),
        "no delay left: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn reset_clears_gateway_and_moto_state() {
    let bed = bed().await;
    let eks = aws_sdk_eks::Client::new(&bed.config);
    eks.create_cluster()
        .name("demo")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (addons, _) = eks_seed();
    bed.gateway.seed(SeedKind::Addons, &addons).await.unwrap();
    bed.gateway
        .fault(&Fault::access_denied("eks", "ListClusters"))
        .await
        .unwrap();
    assert!(eks.list_clusters().send().await.is_err());

    bed.gateway.reset().await.unwrap();
    assert!(bed.gateway.requests().await.unwrap().is_empty());
    let clusters = eks.list_clusters().send().await.expect("fault cleared");
    assert!(clusters.clusters().is_empty(), "moto was reset too");
    eks.create_cluster()
        .name("demo")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let listed = eks.list_addons().cluster_name("demo").send().await.unwrap();
    assert!(listed.addons().is_empty(), "seeds cleared");
}
