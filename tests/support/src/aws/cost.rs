//! Cost Explorer operations moto lacks (it implements GetCostAndUsage only), served from seeded
//! responses over JSON 1.1 (`X-Amz-Target: AWSInsightsIndexService.<Op>`): GetCostForecast,
//! GetAnomalies, GetAnomalyMonitors, GetCostAndUsageComparisons and GetCostComparisonDrivers.
//!
//! Each applies the request's real filters and paging to the seed rather than echoing it, so a
//! caller that sends the wrong window or metric sees it. Dates are `YYYY-MM-DD` strings, which
//! compare correctly as text.

use serde_json::{Map, Value, json};

use super::errors::AwsError;
use super::json::{at, day, list_at, number, str_at, strings_at};
use super::paging::{PageError, page};
use super::state::Seeds;

/// Whether the gateway, not moto, answers this Cost Explorer operation.
pub fn is_stand_in(operation: &str) -> bool {
    matches!(
        operation,
        "GetCostForecast"
            | "GetAnomalies"
            | "GetAnomalyMonitors"
            | "GetCostAndUsageComparisons"
            | "GetCostComparisonDrivers"
    )
}

const METRICS: &[&str] = &[
    "AMORTIZED_COST",
    "BLENDED_COST",
    "NET_AMORTIZED_COST",
    "NET_UNBLENDED_COST",
    "UNBLENDED_COST",
    "USAGE_QUANTITY",
    "NORMALIZED_USAGE_AMOUNT",
];

/// Answers one stand-in operation from `input` (the JSON request body).
pub fn answer(seeds: &Seeds, operation: &str, input: &Value) -> Result<Value, AwsError> {
    match operation {
        "GetCostForecast" => forecast(seeds.forecast.as_ref(), input),
        "GetAnomalies" => anomalies(&seeds.anomalies, input),
        "GetAnomalyMonitors" => monitors(&seeds.monitors, input),
        "GetCostAndUsageComparisons" => comparisons(seeds.comparisons.as_ref(), input),
        "GetCostComparisonDrivers" => drivers(seeds.drivers.as_ref(), input),
        other => Err(validation(&format!("unsupported operation {other}"))),
    }
}

/// The seeded forecast periods that overlap the requested `[Start, End)`, with `Total` summed
/// over them.
fn forecast(seed: Option<&Value>, input: &Value) -> Result<Value, AwsError> {
    let (start, end) = period(input, "TimePeriod")?;
    let metric = str_at(input, &["Metric"]).ok_or_else(|| validation("Metric is required"))?;
    if !METRICS.contains(&metric) {
        return Err(validation(&format!(
            "Metric {metric} is not one of {}",
            METRICS.join(", ")
        )));
    }
    match str_at(input, &["Granularity"]) {
        Some("DAILY" | "MONTHLY") => {}
        _ => return Err(validation("Granularity must be DAILY or MONTHLY")),
    }
    let seed = seed.ok_or_else(no_data)?;
    let results: Vec<Value> = list_at(seed, &["ForecastResultsByTime"])
        .iter()
        .filter(|r| overlaps(r, &["TimePeriod"], start, end))
        .cloned()
        .collect();
    let total: f64 = results
        .iter()
        .filter_map(|r| at(r, &["MeanValue"]).and_then(number))
        .sum();
    let unit = str_at(seed, &["Total", "Unit"]).unwrap_or("USD");
    Ok(json!({
        "Total": { "Amount": format!("{total}"), "Unit": unit },
        "ForecastResultsByTime": results,
    }))
}

/// Anomalies that started within `DateInterval`, narrowed by monitor, feedback and total impact.
fn anomalies(seeded: &[Value], input: &Value) -> Result<Value, AwsError> {
    let start = str_at(input, &["DateInterval", "StartDate"])
        .ok_or_else(|| validation("DateInterval.StartDate is required"))?;
    let end = str_at(input, &["DateInterval", "EndDate"]).map(day);
    let monitor = str_at(input, &["MonitorArn"]);
    let feedback = str_at(input, &["Feedback"]);
    let selected: Vec<&Value> = seeded
        .iter()
        .filter(|a| {
            let began = str_at(a, &["AnomalyStartDate"]).map(day).unwrap_or("");
            began >= day(start) && end.is_none_or(|e| began <= e)
        })
        .filter(|a| monitor.is_none_or(|m| str_at(a, &["MonitorArn"]) == Some(m)))
        .filter(|a| feedback.is_none_or(|f| str_at(a, &["Feedback"]) == Some(f)))
        .filter(|a| impact_matches(input, a))
        .collect();
    let (rows, next) = paged(&selected, input, 100)?;
    Ok(with_token(json!({ "Anomalies": rows }), next))
}

fn impact_matches(input: &Value, anomaly: &Value) -> bool {
    let Some(filter) = at(input, &["TotalImpact"]) else {
        return true;
    };
    let total = at(anomaly, &["Impact", "TotalImpact"])
        .and_then(number)
        .unwrap_or(0.0);
    let low = at(filter, &["StartValue"]).and_then(number).unwrap_or(0.0);
    let high = at(filter, &["EndValue"])
        .and_then(number)
        .unwrap_or(f64::INFINITY);
    match str_at(filter, &["NumericOperator"]).unwrap_or("") {
        "EQUAL" => total == low,
        "GREATER_THAN_OR_EQUAL" => total >= low,
        "LESS_THAN_OR_EQUAL" => total <= low,
        "GREATER_THAN" => total > low,
        "LESS_THAN" => total < low,
        "BETWEEN" => total >= low && total <= high,
        _ => true,
    }
}

fn monitors(seeded: &[Value], input: &Value) -> Result<Value, AwsError> {
    let wanted = strings_at(input, &["MonitorArnList"]);
    if let Some(unknown) = wanted.iter().find(|arn| {
        !seeded
            .iter()
            .any(|m| str_at(m, &["MonitorArn"]) == Some(**arn))
    }) {
        return Err(AwsError::bad_request(
            "UnknownMonitorException",
            format!("Cost anomaly monitor {unknown} does not exist for the account"),
        ));
    }
    let selected: Vec<&Value> = seeded
        .iter()
        .filter(|m| {
            wanted.is_empty() || str_at(m, &["MonitorArn"]).is_some_and(|a| wanted.contains(&a))
        })
        .collect();
    let (rows, next) = paged(&selected, input, 100)?;
    Ok(with_token(json!({ "AnomalyMonitors": rows }), next))
}

fn comparisons(seed: Option<&Value>, input: &Value) -> Result<Value, AwsError> {
    let metric = comparison_request(input)?;
    let seed = seed.ok_or_else(no_data)?;
    let rows: Vec<Value> = list_at(seed, &["CostAndUsageComparisons"])
        .iter()
        .map(|r| only_metric(r, metric))
        .collect();
    let (rows, next) = paged(&rows, input, 50)?;
    let mut out = json!({ "CostAndUsageComparisons": rows });
    if let Some(total) = at(seed, &["TotalCostAndUsage"]) {
        out["TotalCostAndUsage"] = keep_key(total, metric);
    }
    Ok(with_token(out, next))
}

fn drivers(seed: Option<&Value>, input: &Value) -> Result<Value, AwsError> {
    let metric = comparison_request(input)?;
    let seed = seed.ok_or_else(no_data)?;
    let rows: Vec<Value> = list_at(seed, &["CostComparisonDrivers"])
        .iter()
        .map(|r| only_metric(r, metric))
        .collect();
    let (rows, next) = paged(&rows, input, 10)?;
    Ok(with_token(json!({ "CostComparisonDrivers": rows }), next))
}

/// Checks the two periods and returns `MetricForComparison`.
fn comparison_request(input: &Value) -> Result<&str, AwsError> {
    period(input, "BaselineTimePeriod")?;
    period(input, "ComparisonTimePeriod")?;
    str_at(input, &["MetricForComparison"])
        .ok_or_else(|| validation("MetricForComparison is required"))
}

/// A row whose `Metrics` map (and its drivers' maps) keeps only `metric`, as AWS returns it.
fn only_metric(row: &Value, metric: &str) -> Value {
    let mut out = row.clone();
    if let Some(metrics) = at(row, &["Metrics"]) {
        out["Metrics"] = keep_key(metrics, metric);
    }
    if let Some(Value::Array(drivers)) = out.get_mut("CostDrivers") {
        for driver in drivers.iter_mut() {
            if let Some(metrics) = at(driver, &["Metrics"]).cloned() {
                driver["Metrics"] = keep_key(&metrics, metric);
            }
        }
    }
    out
}

fn keep_key(map: &Value, key: &str) -> Value {
    let kept: Map<String, Value> = map
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() == key)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(kept)
}

/// `(Start, End)` of the `DateInterval` named `key`, checked to be present and ordered.
fn period<'a>(input: &'a Value, key: &str) -> Result<(&'a str, &'a str), AwsError> {
    let start = str_at(input, &[key, "Start"]);
    let end = str_at(input, &[key, "End"]);
    match (start, end) {
        (Some(s), Some(e)) if day(s) < day(e) => Ok((day(s), day(e))),
        (Some(_), Some(_)) => Err(validation(&format!("{key}: Start must be before End"))),
        _ => Err(validation(&format!("{key} with Start and End is required"))),
    }
}

fn overlaps(row: &Value, path: &[&str], start: &str, end: &str) -> bool {
    let at_key = |k: &str| {
        let mut full = path.to_vec();
        full.push(k);
        str_at(row, &full).map(day)
    };
    matches!((at_key("Start"), at_key("End")), (Some(s), Some(e)) if s < end && e > start)
}

fn paged<'a, T>(
    items: &'a [T],
    input: &Value,
    default: usize,
) -> Result<(&'a [T], Option<String>), AwsError> {
    let size = at(input, &["MaxResults"])
        .and_then(number)
        .map(|n| n as i64);
    page(items, str_at(input, &["NextPageToken"]), size, default).map_err(|e| match e {
        PageError::BadToken => AwsError::bad_request(
            "InvalidNextTokenException",
            "The pagination token is invalid.",
        ),
        PageError::BadSize => validation("MaxResults must be at least 1"),
    })
}

fn with_token(mut value: Value, token: Option<String>) -> Value {
    if let Some(token) = token {
        value["NextPageToken"] = Value::from(token);
    }
    value
}

fn validation(message: &str) -> AwsError {
    AwsError::bad_request("ValidationException", message)
}

fn no_data() -> AwsError {
    AwsError::bad_request(
        "DataUnavailableException",
        "Insufficient amount of historical data to generate the result.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds() -> Seeds {
        Seeds {
            forecast: Some(
                json!({"Total": {"Amount": "999", "Unit": "USD"}, "ForecastResultsByTime": [
            {"TimePeriod": {"Start": "2024-06-01", "End": "2024-06-02"}, "MeanValue": "10.5"},
            {"TimePeriod": {"Start": "2024-06-02", "End": "2024-06-03"}, "MeanValue": "11.5"},
            {"TimePeriod": {"Start": "2024-06-03", "End": "2024-06-04"}, "MeanValue": "12"}]}),
            ),
            anomalies: vec![
                json!({"AnomalyId": "a1", "AnomalyStartDate": "2024-05-02T00:00:00Z", "MonitorArn": "m1", "Impact": {"TotalImpact": 50.0}}),
                json!({"AnomalyId": "a2", "AnomalyStartDate": "2024-05-20", "MonitorArn": "m2", "Impact": {"TotalImpact": 500.0}, "Feedback": "YES"}),
            ],
            monitors: vec![
                json!({"MonitorArn": "m1", "MonitorName": "svc"}),
                json!({"MonitorArn": "m2", "MonitorName": "acct"}),
            ],
            comparisons: Some(json!({"CostAndUsageComparisons": [
            {"CostAndUsageSelector": {"Dimensions": {"Key": "SERVICE", "Values": ["EC2"]}},
             "Metrics": {"UnblendedCost": {"BaselineTimePeriodAmount": "1"}, "BlendedCost": {"BaselineTimePeriodAmount": "2"}}}],
            "TotalCostAndUsage": {"UnblendedCost": {"Difference": "5"}, "BlendedCost": {}}})),
            ..Seeds::default()
        }
    }

    fn ids(out: &Value, key: &str, field: &str) -> Vec<String> {
        list_at(out, &[key])
            .iter()
            .map(|v| v[field].as_str().unwrap_or("").to_owned())
            .collect()
    }

    #[test]
    fn forecast_keeps_the_requested_window_and_sums_it() {
        let input = json!({"TimePeriod": {"Start": "2024-06-02", "End": "2024-06-04"}, "Metric": "UNBLENDED_COST", "Granularity": "DAILY"});
        let out = answer(&seeds(), "GetCostForecast", &input).unwrap();
        assert_eq!(out["Total"], json!({"Amount": "23.5", "Unit": "USD"}));
        assert_eq!(out["ForecastResultsByTime"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn forecast_validates_like_aws() {
        let s = seeds();
        let base = json!({"TimePeriod": {"Start": "2024-06-02", "End": "2024-06-04"}, "Metric": "UNBLENDED_COST", "Granularity": "DAILY"});
        for (path, bad) in [
            ("Metric", json!("COST")),
            ("Granularity", json!("HOURLY")),
            (
                "TimePeriod",
                json!({"Start": "2024-06-04", "End": "2024-06-02"}),
            ),
        ] {
            let mut input = base.clone();
            input[path] = bad;
            assert_eq!(
                answer(&s, "GetCostForecast", &input).unwrap_err().code,
                "ValidationException",
                "{path}"
            );
        }
        assert_eq!(
            answer(&Seeds::default(), "GetCostForecast", &base)
                .unwrap_err()
                .code,
            "DataUnavailableException"
        );
    }

    #[test]
    fn anomalies_filter_by_window_monitor_and_impact() {
        let s = seeds();
        let all = answer(
            &s,
            "GetAnomalies",
            &json!({"DateInterval": {"StartDate": "2024-05-01"}}),
        )
        .unwrap();
        assert_eq!(ids(&all, "Anomalies", "AnomalyId"), ["a1", "a2"]);
        let window = json!({"DateInterval": {"StartDate": "2024-05-01", "EndDate": "2024-05-10"}});
        assert_eq!(
            ids(
                &answer(&s, "GetAnomalies", &window).unwrap(),
                "Anomalies",
                "AnomalyId"
            ),
            ["a1"]
        );
        let big = json!({"DateInterval": {"StartDate": "2024-05-01"}, "TotalImpact": {"NumericOperator": "GREATER_THAN", "StartValue": 100}});
        assert_eq!(
            ids(
                &answer(&s, "GetAnomalies", &big).unwrap(),
                "Anomalies",
                "AnomalyId"
            ),
            ["a2"]
        );
        let paged = answer(
            &s,
            "GetAnomalies",
            &json!({"DateInterval": {"StartDate": "2024-05-01"}, "MaxResults": 1}),
        )
        .unwrap();
        assert!(paged["NextPageToken"].is_string());
        assert!(answer(&s, "GetAnomalies", &json!({})).is_err());
    }

    #[test]
    fn monitors_by_arn() {
        let s = seeds();
        let out = answer(&s, "GetAnomalyMonitors", &json!({"MonitorArnList": ["m2"]})).unwrap();
        assert_eq!(ids(&out, "AnomalyMonitors", "MonitorName"), ["acct"]);
        assert_eq!(
            answer(&s, "GetAnomalyMonitors", &json!({"MonitorArnList": ["zz"]}))
                .unwrap_err()
                .code,
            "UnknownMonitorException"
        );
    }

    #[test]
    fn comparisons_keep_only_the_requested_metric() {
        let input = json!({"BaselineTimePeriod": {"Start": "2024-04-01", "End": "2024-05-01"},
                           "ComparisonTimePeriod": {"Start": "2024-05-01", "End": "2024-06-01"}, "MetricForComparison": "UnblendedCost"});
        let out = answer(&seeds(), "GetCostAndUsageComparisons", &input).unwrap();
        assert_eq!(
            out["CostAndUsageComparisons"][0]["Metrics"],
            json!({"UnblendedCost": {"BaselineTimePeriodAmount": "1"}})
        );
        assert_eq!(
            out["TotalCostAndUsage"],
            json!({"UnblendedCost": {"Difference": "5"}})
        );
        assert_eq!(
            answer(&seeds(), "GetCostComparisonDrivers", &input)
                .unwrap_err()
                .code,
            "DataUnavailableException"
        );
    }
}
