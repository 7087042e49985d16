//! CloudWatch percentile statistics (`p99`, `p99.9`), which moto lacks: it fails on them. Every
//! PutMetricData the gateway bridges is also recorded here as raw values, so percentile queries
//! (GetMetricData with a `pNN` MetricStat, GetMetricStatistics with `ExtendedStatistics`) are
//! answered from those values while everything else still comes from moto.
//!
//! A percentile is the nearest-rank value over the period's samples, each weighted by its
//! `Counts` entry. CloudWatch estimates percentiles instead, so ties to exact answers in tests are
//! on distinct, well-separated values. `StatisticValues` (pre-aggregated sets) carry no samples
//! and are not recorded; metrics written straight to moto, not through the gateway, are not seen.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::json::{at, epoch_seconds, list_at, number, str_at};

/// Samples kept; the oldest go first, so a long soak cannot grow the gateway without bound.
const CAPACITY: usize = 1_000_000;

/// One recorded sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub namespace: String,
    pub name: String,
    /// `(Name, Value)` pairs, sorted, so equal sets compare equal.
    pub dimensions: Vec<(String, String)>,
    pub unit: String,
    pub seconds: f64,
    pub value: f64,
    pub weight: f64,
}

/// Which metric and buckets a query asks for.
struct Selector<'a> {
    namespace: &'a str,
    name: &'a str,
    dimensions: Vec<(String, String)>,
    unit: Option<&'a str>,
    start: f64,
    end: f64,
    period: f64,
}

/// The percentile of a `pNN` statistic name, if it is one.
pub fn percentile_of(stat: &str) -> Option<f64> {
    let p: f64 = stat.strip_prefix('p')?.parse().ok()?;
    (0.0..=100.0).contains(&p).then_some(p)
}

/// Records the samples of a PutMetricData input (JSON 1.0 form).
pub fn record(samples: &mut Vec<Sample>, input: &Value) {
    let namespace = str_at(input, &["Namespace"]).unwrap_or("");
    for datum in list_at(input, &["MetricData"]) {
        for (value, weight) in values_of(datum) {
            samples.push(Sample {
                namespace: namespace.to_owned(),
                name: str_at(datum, &["MetricName"]).unwrap_or("").to_owned(),
                dimensions: dimensions(datum),
                unit: str_at(datum, &["Unit"]).unwrap_or("None").to_owned(),
                seconds: at(datum, &["Timestamp"])
                    .and_then(epoch_seconds)
                    .unwrap_or_else(now),
                value,
                weight,
            });
        }
    }
    if samples.len() > CAPACITY {
        samples.drain(..samples.len() - CAPACITY);
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `(value, weight)` pairs from `Value` or from `Values` with optional `Counts`.
fn values_of(datum: &Value) -> Vec<(f64, f64)> {
    let values = list_at(datum, &["Values"]);
    if values.is_empty() {
        return at(datum, &["Value"])
            .and_then(number)
            .map(|v| vec![(v, 1.0)])
            .unwrap_or_default();
    }
    let counts = list_at(datum, &["Counts"]);
    values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Some((number(v)?, counts.get(i).and_then(number).unwrap_or(1.0))))
        .filter(|(v, w)| v.is_finite() && w.is_finite() && *w > 0.0)
        .collect()
}

fn dimensions(metric: &Value) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = list_at(metric, &["Dimensions"])
        .iter()
        .filter_map(|d| {
            Some((
                str_at(d, &["Name"])?.to_owned(),
                str_at(d, &["Value"])?.to_owned(),
            ))
        })
        .collect();
    pairs.sort();
    pairs
}

/// Whether a GetMetricData input has a percentile query the gateway must answer.
pub fn has_percentile_query(input: &Value) -> bool {
    list_at(input, &["MetricDataQueries"])
        .iter()
        .any(is_percentile_query)
}

fn is_percentile_query(query: &Value) -> bool {
    str_at(query, &["MetricStat", "Stat"])
        .and_then(percentile_of)
        .is_some()
}

/// The part of a GetMetricData input that moto can answer: the same input without the
/// percentile queries, or `None` when only percentile queries were asked.
pub fn moto_part(input: &Value) -> Option<Value> {
    let theirs: Vec<Value> = list_at(input, &["MetricDataQueries"])
        .iter()
        .filter(|q| !is_percentile_query(q))
        .cloned()
        .collect();
    if theirs.is_empty() {
        return None;
    }
    let mut rest = input.clone();
    rest["MetricDataQueries"] = Value::from(theirs);
    Some(rest)
}

/// Merges moto's results with the percentile queries' results, in query order.
pub fn merge_metric_data(samples: &[Sample], input: &Value, from_moto: Option<Value>) -> Value {
    let moto_results = from_moto
        .as_ref()
        .map_or(&[][..], |v| list_at(v, &["MetricDataResults"]));
    let descending = str_at(input, &["ScanBy"]) != Some("TimestampAscending");
    let results: Vec<Value> = list_at(input, &["MetricDataQueries"])
        .iter()
        .filter_map(|q| {
            let id = str_at(q, &["Id"])?;
            if !is_percentile_query(q) {
                return moto_results
                    .iter()
                    .find(|r| str_at(r, &["Id"]) == Some(id))
                    .cloned();
            }
            let returned = at(q, &["ReturnData"])
                .and_then(Value::as_bool)
                .unwrap_or(true);
            returned.then(|| percentile_result(samples, input, q, descending))
        })
        .collect();
    let messages = from_moto
        .as_ref()
        .and_then(|v| at(v, &["Messages"]).cloned())
        .unwrap_or_else(|| json!([]));
    json!({ "MetricDataResults": results, "Messages": messages })
}

fn percentile_result(samples: &[Sample], input: &Value, query: &Value, descending: bool) -> Value {
    let mut points = metric_stat_points(samples, input, query);
    if descending {
        points.reverse();
    }
    let name = str_at(query, &["MetricStat", "Metric", "MetricName"]).unwrap_or("");
    let label = str_at(query, &["Label"]).unwrap_or(name);
    json!({
        "Id": str_at(query, &["Id"]),
        "Label": label,
        "Timestamps": points.iter().map(|p| p.0).collect::<Vec<_>>(),
        "Values": points.iter().map(|p| p.1).collect::<Vec<_>>(),
        "StatusCode": "Complete",
    })
}

/// The points of one GetMetricData `MetricStat` query, any statistic, computed from samples:
/// `(period start in seconds, value)`, oldest first.
pub fn metric_stat_points(samples: &[Sample], input: &Value, query: &Value) -> Vec<(f64, f64)> {
    let stat = str_at(query, &["MetricStat", "Stat"]).unwrap_or("Average");
    let metric = at(query, &["MetricStat", "Metric"])
        .cloned()
        .unwrap_or_else(|| json!({}));
    let selector = Selector {
        namespace: str_at(&metric, &["Namespace"]).unwrap_or(""),
        name: str_at(&metric, &["MetricName"]).unwrap_or(""),
        dimensions: dimensions(&metric),
        unit: str_at(query, &["MetricStat", "Unit"]),
        start: at(input, &["StartTime"])
            .and_then(epoch_seconds)
            .unwrap_or(0.0),
        end: at(input, &["EndTime"])
            .and_then(epoch_seconds)
            .unwrap_or(0.0),
        period: at(query, &["MetricStat", "Period"])
            .and_then(number)
            .unwrap_or(60.0),
    };
    buckets(samples, &selector)
        .into_iter()
        .filter_map(|(t, bucket)| Some((t, statistic(stat, bucket)?)))
        .collect()
}

/// One statistic over a period's samples.
pub fn statistic(stat: &str, bucket: Vec<&Sample>) -> Option<f64> {
    if bucket.is_empty() {
        return None;
    }
    let count: f64 = bucket.iter().map(|s| s.weight).sum();
    let sum: f64 = bucket.iter().map(|s| s.value * s.weight).sum();
    let values = bucket.iter().map(|s| s.value);
    match stat {
        "SampleCount" => Some(count),
        "Sum" => Some(sum),
        "Average" => Some(sum / count),
        "Minimum" => values.reduce(f64::min),
        "Maximum" => values.reduce(f64::max),
        other => nearest_rank(bucket, percentile_of(other)?),
    }
}

/// GetMetricStatistics answered from samples, for inputs with `ExtendedStatistics`.
pub fn metric_statistics(samples: &[Sample], input: &Value) -> Value {
    let selector = Selector {
        namespace: str_at(input, &["Namespace"]).unwrap_or(""),
        name: str_at(input, &["MetricName"]).unwrap_or(""),
        dimensions: dimensions(input),
        unit: str_at(input, &["Unit"]),
        start: at(input, &["StartTime"])
            .and_then(epoch_seconds)
            .unwrap_or(0.0),
        end: at(input, &["EndTime"])
            .and_then(epoch_seconds)
            .unwrap_or(0.0),
        period: at(input, &["Period"]).and_then(number).unwrap_or(60.0),
    };
    let datapoints: Vec<Value> = buckets(samples, &selector)
        .into_iter()
        .map(|(t, bucket)| datapoint(input, t, &bucket))
        .collect();
    json!({ "Label": selector.name, "Datapoints": datapoints })
}

fn datapoint(input: &Value, seconds: f64, bucket: &[&Sample]) -> Value {
    let mut point = Map::new();
    point.insert("Timestamp".into(), Value::from(seconds));
    point.insert(
        "Unit".into(),
        Value::from(bucket.first().map_or("None", |s| s.unit.as_str())),
    );
    for stat in list_at(input, &["Statistics"])
        .iter()
        .filter_map(Value::as_str)
        .filter(|s| percentile_of(s).is_none())
    {
        if let Some(value) = statistic(stat, bucket.to_vec()) {
            point.insert(stat.to_owned(), Value::from(value));
        }
    }
    let extended: Map<String, Value> = list_at(input, &["ExtendedStatistics"])
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|name| {
            Some((
                name.to_owned(),
                Value::from(nearest_rank(bucket.to_vec(), percentile_of(name)?)?),
            ))
        })
        .collect();
    point.insert("ExtendedStatistics".into(), Value::Object(extended));
    Value::Object(point)
}

/// Samples of the selected metric in `[start, end)`, grouped into periods counted from `start`,
/// oldest first.
fn buckets<'a>(samples: &'a [Sample], sel: &Selector<'_>) -> Vec<(f64, Vec<&'a Sample>)> {
    let period = if sel.period.is_finite() && sel.period >= 1.0 {
        sel.period
    } else {
        60.0
    };
    let mut out: Vec<(f64, Vec<&Sample>)> = Vec::new();
    let mut selected: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.namespace == sel.namespace && s.name == sel.name && s.dimensions == sel.dimensions
        })
        .filter(|s| sel.unit.is_none_or(|u| s.unit == u))
        .filter(|s| s.seconds >= sel.start && s.seconds < sel.end)
        .collect();
    selected.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    for sample in selected {
        let slot = sel.start + ((sample.seconds - sel.start) / period).floor() * period;
        match out.last_mut() {
            Some((t, bucket)) if *t == slot => bucket.push(sample),
            _ => out.push((slot, vec![sample])),
        }
    }
    out
}

/// The weighted nearest-rank percentile: the smallest value whose cumulative weight reaches
/// `p`% of the total.
fn nearest_rank(mut bucket: Vec<&Sample>, p: f64) -> Option<f64> {
    bucket.sort_by(|a, b| a.value.total_cmp(&b.value));
    let total: f64 = bucket.iter().map(|s| s.weight).sum();
    let rank = (p / 100.0 * total).max(f64::MIN_POSITIVE);
    let mut seen = 0.0;
    for sample in &bucket {
        seen += sample.weight;
        if seen >= rank {
            return Some(sample.value);
        }
    }
    bucket.last().map(|s| s.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(values: &[f64], seconds: f64) -> Value {
        json!({"Namespace": "N", "MetricData": [{"MetricName": "latency", "Timestamp": seconds,
               "Dimensions": [{"Name": "svc", "Value": "a"}], "Values": values, "Unit": "Milliseconds"}]})
    }

    fn samples() -> Vec<Sample> {
        let mut s = Vec::new();
        record(
            &mut s,
            &put(&(1..=100).map(f64::from).collect::<Vec<_>>(), 120.0),
        );
        record(&mut s, &put(&[500.0], 190.0));
        record(
            &mut s,
            &json!({"Namespace": "N", "MetricData": [{"MetricName": "latency", "Timestamp": 130,
            "Dimensions": [{"Name": "svc", "Value": "b"}], "Value": 9999}]}),
        );
        s
    }

    #[test]
    fn percentile_names() {
        assert_eq!(percentile_of("p99"), Some(99.0));
        assert_eq!(percentile_of("p99.9"), Some(99.9));
        assert_eq!(percentile_of("p101"), None);
        assert_eq!(percentile_of("Sum"), None);
        assert_eq!(percentile_of("pNaN"), None);
    }

    #[test]
    fn get_metric_data_answers_percentiles_and_keeps_moto_results() {
        let metric = json!({"Namespace": "N", "MetricName": "latency", "Dimensions": [{"Name": "svc", "Value": "a"}]});
        let input = json!({"StartTime": 120, "EndTime": 240, "ScanBy": "TimestampAscending", "MetricDataQueries": [
            {"Id": "sum", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "Sum"}},
            {"Id": "p90", "MetricStat": {"Metric": metric, "Period": 60, "Stat": "p90"}},
            {"Id": "hidden", "ReturnData": false, "MetricStat": {"Metric": metric, "Period": 60, "Stat": "p50"}}]});
        assert!(has_percentile_query(&input));
        let rest = moto_part(&input).unwrap();
        assert_eq!(rest["MetricDataQueries"].as_array().unwrap().len(), 1);
        assert_eq!(rest["StartTime"], 120);
        let only_ours = json!({"MetricDataQueries": [{"Id": "p", "MetricStat": {"Stat": "p50"}}]});
        assert!(moto_part(&only_ours).is_none());
        let moto = json!({"MetricDataResults": [{"Id": "sum", "Values": [1.0]}]});
        let out = merge_metric_data(&samples(), &input, Some(moto));
        let results = out["MetricDataResults"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0]["Id"], "sum");
        assert_eq!(results[1]["Timestamps"], json!([120.0, 180.0]));
        assert_eq!(results[1]["Values"], json!([90.0, 500.0]));
    }

    #[test]
    fn get_metric_statistics_with_extended_statistics() {
        let input = json!({"Namespace": "N", "MetricName": "latency", "Dimensions": [{"Name": "svc", "Value": "a"}],
            "StartTime": 0, "EndTime": 600, "Period": 600, "Statistics": ["SampleCount", "Maximum"], "ExtendedStatistics": ["p50", "p99", "x"]});
        let out = metric_statistics(&samples(), &input);
        let point = &out["Datapoints"][0];
        assert_eq!(
            (point["SampleCount"].as_f64(), point["Maximum"].as_f64()),
            (Some(101.0), Some(500.0))
        );
        assert_eq!(
            point["ExtendedStatistics"],
            json!({"p50": 51.0, "p99": 100.0})
        );
        assert!(point.get("Sum").is_none());
        assert_eq!(point["Unit"], "Milliseconds");
    }

    #[test]
    fn weights_and_bad_values() {
        let mut s = Vec::new();
        record(
            &mut s,
            &json!({"Namespace": "N", "MetricData": [{"MetricName": "m", "Timestamp": 0,
            "Values": [1, 2, "x", null], "Counts": [9, 1]}]}),
        );
        assert_eq!(s.len(), 2);
        assert_eq!(nearest_rank(s.iter().collect(), 90.0), Some(1.0));
        assert_eq!(nearest_rank(s.iter().collect(), 91.0), Some(2.0));
        assert_eq!(nearest_rank(s.iter().collect(), 0.0), Some(1.0));
        assert_eq!(nearest_rank(Vec::new(), 50.0), None);
    }
}
