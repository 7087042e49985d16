//! Insight tools over metric series: `anomaly_detect` (the engine's streaming detectors, as
//! anomalous windows per series) and `anomaly_forecast` (forecast with intervals, predicted
//! peak and the capacity planner's replicas or nodes).
//!
//! Both read one input of four kinds (inline points, a workload signal, PromQL, a CloudWatch
//! metric) through the same sources the metric tools use, so a series that `prometheus_query`
//! shows is exactly the series analysed here.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use eks_ops_engine::anomaly::{self, AnomalyEvent, DetectorConfig};
use eks_ops_engine::forecast::capacity::{self, CapacityPlan, CapacityRequest};
use eks_ops_engine::forecast::{self, Forecast, ForecastConfig, Method};
use eks_ops_engine::series::Series;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::metrics::{Summary, auto_period};
use super::params::{AwsArgs, non_empty};
use super::{Context, READ, Reply, ToolDef};
use crate::error::{ToolError, ToolResult};
use crate::output::{Budget, Truncation};
use crate::sources::{MetricQuery, PromQuery};
use crate::time::{Window, parse_duration, resolve_window};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "anomaly_detect",
            "Detect anomalies in a metric",
            "Find anomalous windows (spike, level shift, variance or trend change) in inline points, a workload signal, PromQL or a CloudWatch metric: onset, end, score, magnitude, expected band. Needs 100+ samples (warm-up). Most anomalous series first.",
            READ,
            detect,
        ),
        ToolDef::new(
            "anomaly_forecast",
            "Forecast a metric and plan capacity",
            "Forecast a metric (same inputs as anomaly_detect) over `horizon` with 80%/95% intervals and the predicted peak; with `capacity` per replica or node, the replicas/nodes needed at `target_utilization` and when to scale.",
            READ,
            forecast_tool,
        ),
    ]
}

/// Declares a params struct with the shared series inputs plus its own fields. One flattened
/// struct inside another loses `deny_unknown_fields`' field list in serde, so the inputs are
/// spelled out per struct and only `AwsArgs` is flattened, as in the metric tools.
macro_rules! series_params {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Default, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Inline series: `[[unix_ms, value], ...]`.
            pub points: Option<Vec<(i64, f64)>>,
            /// Workload signal, e.g. memory_working_set_bytes, cpu_usage_cores; needs `namespace`.
            pub signal: Option<String>,
            /// Kubernetes namespace for `signal`.
            pub namespace: Option<String>,
            /// Narrow `signal` to one pod.
            pub pod: Option<String>,
            /// Narrow `signal` to one workload (Deployment, StatefulSet...).
            pub workload: Option<String>,
            /// PromQL range query.
            pub query: Option<String>,
            /// CloudWatch metric name; with `metric_namespace`, `dimensions`, `stat`.
            pub metric_name: Option<String>,
            /// CloudWatch namespace, e.g. ContainerInsights.
            pub metric_namespace: Option<String>,
            /// CloudWatch dimensions, name → value.
            pub dimensions: Option<BTreeMap<String, String>>,
            /// CloudWatch statistic; default Average.
            pub stat: Option<String>,
            /// Duration (`6h`) or time.
            pub since: Option<String>,
            pub until: Option<String>,
            /// Merge the matched series into one: sum, mean or max (a workload's pods across restarts).
            pub combine: Option<String>,
            $($(#[$fmeta])* pub $field: $ty,)*
            #[serde(flatten)]
            pub aws: AwsArgs,
        }

        impl $name {
            fn series_input(&self) -> SeriesInput<'_> {
                SeriesInput {
                    points: self.points.as_deref(),
                    signal: self.signal.as_deref(),
                    namespace: self.namespace.as_deref(),
                    pod: self.pod.as_deref(),
                    workload: self.workload.as_deref(),
                    query: self.query.as_deref(),
                    metric_name: self.metric_name.as_deref(),
                    metric_namespace: self.metric_namespace.as_deref(),
                    dimensions: self.dimensions.as_ref(),
                    stat: self.stat.as_deref(),
                    since: self.since.as_deref(),
                    until: self.until.as_deref(),
                    combine: self.combine.as_deref(),
                    aws: &self.aws,
                }
            }
        }
    };
}

/// Where the series come from: exactly one of `points`, `signal`, `query`, `metric_name`.
struct SeriesInput<'a> {
    points: Option<&'a [(i64, f64)]>,
    signal: Option<&'a str>,
    namespace: Option<&'a str>,
    pod: Option<&'a str>,
    workload: Option<&'a str>,
    query: Option<&'a str>,
    metric_name: Option<&'a str>,
    metric_namespace: Option<&'a str>,
    dimensions: Option<&'a BTreeMap<String, String>>,
    stat: Option<&'a str>,
    since: Option<&'a str>,
    until: Option<&'a str>,
    combine: Option<&'a str>,
    aws: &'a AwsArgs,
}

/// The fetched series and where they came from.
struct Fetched {
    series: Vec<Series>,
    source: String,
    window: Option<Window>,
}

/// Rejects no input or more than one, naming the field.
fn chosen_input(input: &SeriesInput<'_>) -> ToolResult<&'static str> {
    let given: Vec<&'static str> = [
        ("points", input.points.is_some()),
        ("signal", input.signal.is_some()),
        ("query", input.query.is_some()),
        ("metric_name", input.metric_name.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, set)| set.then_some(f))
    .collect();
    match given.as_slice() {
        [one] => Ok(one),
        [] => Err(ToolError::invalid(
            "points",
            "give one input: points, signal (+ namespace), query (PromQL) or metric_name (CloudWatch)",
        )),
        [first, second, ..] => Err(ToolError::invalid(
            *second,
            format!("give only one input; `{first}` and `{second}` were both set"),
        )),
    }
}

async fn fetch(
    ctx: &Context,
    input: &SeriesInput<'_>,
    default_since: Duration,
) -> ToolResult<Fetched> {
    let which = chosen_input(input)?;
    let combine = combine_arg(input.combine)?;
    let mut fetched = if which == "points" {
        inline_points(input.points.unwrap_or_default())?
    } else {
        fetch_source(ctx, input, which, default_since).await?
    };
    if let Some(how) = combine {
        fetched.series = combined(&fetched.series, how).into_iter().collect();
    }
    Ok(fetched)
}

#[derive(Debug, Clone, Copy)]
enum Combine {
    Sum,
    Mean,
    Max,
}

fn combine_arg(text: Option<&str>) -> ToolResult<Option<Combine>> {
    match text.map(|t| t.trim().to_ascii_lowercase()).as_deref() {
        None => Ok(None),
        Some("sum") => Ok(Some(Combine::Sum)),
        Some("mean") => Ok(Some(Combine::Mean)),
        Some("max") => Ok(Some(Combine::Max)),
        Some(other) => Err(ToolError::invalid(
            "combine",
            format!("`{other}` is not sum, mean or max"),
        )),
    }
}

/// One series per timestamp over all inputs; labels are those every input shares.
fn combined(all: &[Series], how: Combine) -> Option<Series> {
    let first = all.first()?;
    let mut grid: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for s in all {
        for (t, v) in s.timestamps.iter().zip(&s.values) {
            if v.is_finite() {
                grid.entry(*t).or_default().push(*v);
            }
        }
    }
    let values = grid.values().map(|vs| match how {
        Combine::Sum => vs.iter().sum(),
        Combine::Mean => vs.iter().sum::<f64>() / vs.len().max(1) as f64,
        Combine::Max => vs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    });
    let mut out = Series::new(
        first.name.clone(),
        grid.keys().copied().collect(),
        values.collect(),
    );
    out.unit = first.unit.clone();
    out.labels = first
        .labels
        .iter()
        .filter(|(k, v)| all.iter().all(|s| s.labels.get(*k) == Some(*v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some(out)
}

async fn fetch_source(
    ctx: &Context,
    input: &SeriesInput<'_>,
    which: &str,
    default_since: Duration,
) -> ToolResult<Fetched> {
    let metrics = ctx.sources.metrics(&input.aws.target()).await?;
    let now = ctx.sources.now().await?;
    let window = resolve_window(input.since, input.until, default_since, now)?;
    let series = match which {
        "signal" => {
            let labels = signal_labels(input)?;
            let name = non_empty("signal", input.signal.unwrap_or(""))?;
            metrics
                .workload_signals(&labels, &[name.to_string()], window)
                .await?
        }
        "query" => {
            let secs = window.duration().num_seconds().max(60) as u64;
            let query = PromQuery {
                query: non_empty("query", input.query.unwrap_or(""))?.to_string(),
                window,
                // Finer than the chart step: the detectors need 100+ samples to warm up.
                step_secs: Some((secs / 1440).clamp(15, 3600)),
            };
            metrics.promql(&query).await?
        }
        _ => {
            let query = cloudwatch_query(input, window)?;
            metrics.cloudwatch(&[query], window).await?
        }
    };
    Ok(Fetched {
        series,
        source: metrics.describe(),
        window: Some(window),
    })
}

fn inline_points(points: &[(i64, f64)]) -> ToolResult<Fetched> {
    if points.len() < 3 || points.len() > 100_000 {
        return Err(ToolError::invalid(
            "points",
            format!("{} points given; use 3..=100000", points.len()),
        ));
    }
    let (ts, values): (Vec<i64>, Vec<f64>) = points.iter().copied().unzip();
    let mut series = Series::new("points", ts, values);
    series.normalize();
    Ok(Fetched {
        series: vec![series],
        source: "inline points".into(),
        window: None,
    })
}

fn signal_labels(input: &SeriesInput<'_>) -> ToolResult<Vec<(String, String)>> {
    let Some(ns) = input.namespace else {
        return Err(ToolError::invalid(
            "namespace",
            "required with `signal` (the pods' namespace)",
        ));
    };
    let mut labels = vec![(
        "namespace".to_string(),
        non_empty("namespace", ns)?.to_string(),
    )];
    for (key, value) in [("pod", input.pod), ("workload", input.workload)] {
        if let Some(v) = value {
            labels.push((key.to_string(), non_empty(key, v)?.to_string()));
        }
    }
    Ok(labels)
}

fn cloudwatch_query(input: &SeriesInput<'_>, window: Window) -> ToolResult<MetricQuery> {
    let Some(ns) = input.metric_namespace else {
        return Err(ToolError::invalid(
            "metric_namespace",
            "required with `metric_name`, e.g. ContainerInsights",
        ));
    };
    Ok(MetricQuery {
        namespace: non_empty("metric_namespace", ns)?.to_string(),
        metric_name: non_empty("metric_name", input.metric_name.unwrap_or(""))?.to_string(),
        dimensions: input
            .dimensions
            .map(|d| d.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        stat: input.stat.unwrap_or("Average").to_string(),
        period_secs: auto_period(window.duration().num_seconds(), 1440),
    })
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| ms.to_string())
}

fn round4(x: f64) -> f64 {
    if x.is_finite() && x.abs() < 1e12 {
        (x * 1e4).round() / 1e4
    } else {
        x
    }
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

// ---------- anomaly_detect ----------

series_params!(DetectParams {
    /// Event score threshold in (0, 1); default 0.5. Lower finds more.
    threshold: Option<f64>,
    /// A ceiling the signal must not reach (e.g. memory limit in bytes): warns ahead of it.
    limit: Option<f64>,
});

/// One anomalous window.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AnomalyOut {
    /// spike, level_shift, variance_change or trend_change.
    pub kind: String,
    pub direction: String,
    pub onset: String,
    pub end: String,
    /// Peak score in [0, 1].
    pub score: f64,
    /// Largest departure from the expected band, in value units and in sigmas.
    pub magnitude: f64,
    pub magnitude_sigmas: f64,
    pub expected_lower: f64,
    pub expected_upper: f64,
    /// Predicted time the signal reaches `limit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_eta: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SeriesAnomalies {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub summary: Summary,
    /// gauge or counts, as the detector read the signal.
    pub mode: String,
    pub max_score: f64,
    /// Anomalous windows, chronological; `anomalies_total` counts all of them.
    pub anomalies: Vec<AnomalyOut>,
    pub anomalies_total: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DetectOutput {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    pub series_analysed: usize,
    pub series_with_anomalies: usize,
    /// Most anomalous first.
    pub series: Vec<SeriesAnomalies>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
}

/// Anomalies kept per series: the strongest, shown in time order.
const EVENTS_PER_SERIES: usize = 12;

fn detector_config(p: &DetectParams) -> ToolResult<DetectorConfig> {
    let mut cfg = DetectorConfig::default();
    if let Some(t) = p.threshold {
        cfg = cfg
            .with_threshold(t)
            .map_err(|e| ToolError::invalid("threshold", e.to_string()))?;
    }
    if let Some(l) = p.limit {
        let horizon = cfg.limit_horizon_ms;
        cfg = cfg
            .with_limit(l, horizon)
            .map_err(|e| ToolError::invalid("limit", e.to_string()))?;
    }
    Ok(cfg)
}

fn event_out(e: &AnomalyEvent) -> AnomalyOut {
    AnomalyOut {
        kind: snake(&e.kind),
        direction: snake(&e.direction),
        onset: rfc3339(e.onset_ms),
        end: rfc3339(e.end_ms),
        score: round4(e.peak_score),
        magnitude: round4(e.magnitude),
        magnitude_sigmas: round4(e.magnitude_sigmas),
        expected_lower: round4(e.expected_lower),
        expected_upper: round4(e.expected_upper),
        limit_eta: e.eta_ms.map(rfc3339),
    }
}

/// Serde's snake_case name of an engine enum, so the wire names match the engine's.
fn snake<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "unknown".into(),
    }
}

fn analyse(s: &Series, cfg: &DetectorConfig) -> ToolResult<SeriesAnomalies> {
    let report =
        anomaly::detect(s, cfg).map_err(|e| ToolError::invalid("threshold", e.to_string()))?;
    let total = report.events.len();
    let mut events: Vec<&AnomalyEvent> = report.events.iter().collect();
    events.sort_by(|a, b| b.peak_score.total_cmp(&a.peak_score));
    events.truncate(EVENTS_PER_SERIES);
    events.sort_by_key(|e| e.onset_ms);
    let max_score = report
        .events
        .iter()
        .map(|e| e.peak_score)
        .fold(0.0_f64, f64::max);
    Ok(SeriesAnomalies {
        name: s.name.clone(),
        labels: s.labels.clone(),
        unit: s.unit.clone(),
        summary: s.summary().into(),
        mode: snake(&report.mode),
        max_score: round4(max_score),
        anomalies: events.into_iter().map(event_out).collect(),
        anomalies_total: total,
    })
}

async fn detect(
    ctx: Arc<Context>,
    p: DetectParams,
    budget: Budget,
) -> ToolResult<Reply<DetectOutput>> {
    let cfg = detector_config(&p)?;
    let fetched = fetch(&ctx, &p.series_input(), Duration::hours(6)).await?;
    let mut all = fetched
        .series
        .iter()
        .map(|s| analyse(s, &cfg))
        .collect::<ToolResult<Vec<_>>>()?;
    all.sort_by(|a, b| b.max_score.total_cmp(&a.max_score));
    let analysed = all.len();
    let with_anomalies = all.iter().filter(|s| s.anomalies_total > 0).count();
    let (series, dropped) = budget.take(all, 0.85);
    let total = series.len() + dropped;
    let truncated = (series.len() < total).then(|| Truncation {
        total,
        returned: series.len(),
        how_to_get_more: "narrow the input (pod, workload, label matchers) or raise response_bytes"
            .into(),
    });
    let summary = detect_summary(
        &fetched,
        &series,
        analysed,
        with_anomalies,
        truncated.as_ref(),
    );
    Ok(Reply {
        summary,
        data: DetectOutput {
            source: fetched.source,
            start: fetched.window.map(|w| w.start.to_rfc3339()),
            end: fetched.window.map(|w| w.end.to_rfc3339()),
            series_analysed: analysed,
            series_with_anomalies: with_anomalies,
            series,
            truncated,
        },
    })
}

fn detect_summary(
    fetched: &Fetched,
    series: &[SeriesAnomalies],
    analysed: usize,
    with_anomalies: usize,
    truncated: Option<&Truncation>,
) -> String {
    let mut out = format!(
        "{with_anomalies} of {analysed} series anomalous ({})",
        fetched.source
    );
    if analysed == 0 {
        out.push_str(
            "\nno series matched: check the signal name, labels or query, or widen the window",
        );
    }
    for s in series.iter().filter(|s| s.anomalies_total > 0) {
        out.push_str(&format!(
            "\n{}{{{}}} max score {:.2}, {} window(s):",
            s.name,
            labels_text(&s.labels),
            s.max_score,
            s.anomalies_total
        ));
        for a in &s.anomalies {
            out.push_str(&format!(
                "\n  {} {} {} → {} score {:.2} magnitude {} ({:.1}σ) expected {}..{}",
                a.kind,
                a.direction,
                a.onset,
                a.end,
                a.score,
                a.magnitude,
                a.magnitude_sigmas,
                a.expected_lower,
                a.expected_upper
            ));
        }
    }
    if series.iter().any(|s| s.summary.points < 100) {
        out.push_str(
            "\nnote: series under 100 samples are still in warm-up and score 0; widen the window",
        );
    }
    if let Some(t) = truncated {
        out.push_str(&format!(
            "\n[{} of {} series shown; {}]",
            t.returned, t.total, t.how_to_get_more
        ));
    }
    out
}

// ---------- anomaly_forecast ----------

series_params!(ForecastParams {
    /// How far ahead, e.g. `48h` (1m..90d); default 24h.
    horizon: Option<String>,
    /// What one replica or node serves, in the series' unit (e.g. 0.5 cores, 400 req/s).
    capacity: Option<f64>,
    /// Utilisation to plan for, in (0, 1]; default 0.7.
    target_utilization: Option<f64>,
    /// Replicas or nodes running now: adds when capacity runs short.
    current_units: Option<u32>,
});

/// One forecast step: mean and the 80% and 95% intervals.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ForecastPoint {
    /// Unix ms.
    pub t: i64,
    pub mean: f64,
    pub lo80: f64,
    pub hi80: f64,
    pub lo95: f64,
    pub hi95: f64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CapacityOut {
    pub per_unit_capacity: f64,
    pub target_utilization: f64,
    /// Demand planned for: the upper 80% bound's peak.
    pub planned_peak: f64,
    /// Replicas or nodes needed at the planned peak.
    pub units_needed: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_units: Option<u32>,
    /// First time the current units run above the target utilisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shortfall_at: Option<String>,
    /// Latest time to start scaling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SeriesForecast {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub history: Summary,
    pub method: String,
    /// Season length in samples (0: none found).
    pub period: usize,
    pub step_secs: i64,
    /// Highest point forecast and its time.
    pub peak: f64,
    pub peak_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<CapacityOut>,
    /// Downsampled forecast; the peak step is always kept.
    pub points: Vec<ForecastPoint>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ForecastOutput {
    pub source: String,
    pub horizon: String,
    pub series: Vec<SeriesForecast>,
    /// Series that could not be forecast, with the reason.
    pub skipped: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
}

/// Series forecast per call: the models are fitted per series, and the answer must stay small.
const MAX_FORECAST_SERIES: usize = 20;
const LEVELS: [f64; 2] = [0.8, 0.95];

fn horizon_arg(p: &ForecastParams) -> ToolResult<Duration> {
    let text = p.horizon.as_deref().unwrap_or("24h");
    let d = parse_duration(text).ok_or_else(|| {
        ToolError::invalid(
            "horizon",
            format!("`{text}` is not a duration like 48h or 7d"),
        )
    })?;
    if d < Duration::minutes(1) || d > Duration::days(90) {
        return Err(ToolError::invalid(
            "horizon",
            format!("`{text}` is out of range; use 1m..=90d"),
        ));
    }
    Ok(d)
}

fn capacity_request(p: &ForecastParams) -> ToolResult<Option<CapacityRequest>> {
    let target = p.target_utilization.unwrap_or(0.7);
    if !(target > 0.0 && target <= 1.0) {
        return Err(ToolError::invalid(
            "target_utilization",
            format!("{target} is not in (0, 1]"),
        ));
    }
    let Some(cap) = p.capacity else {
        return Ok(None);
    };
    if !(cap.is_finite() && cap > 0.0) {
        return Err(ToolError::invalid(
            "capacity",
            format!("{cap} must be a positive number"),
        ));
    }
    Ok(Some(CapacityRequest {
        per_unit_capacity: cap,
        target_utilisation: target,
        current_units: p.current_units,
        interval_level: Some(LEVELS[0]),
        lead_time_ms: 0,
    }))
}

fn forecast_one(
    s: &Series,
    horizon: Duration,
    req: Option<&CapacityRequest>,
    max_points: usize,
) -> Result<SeriesForecast, String> {
    let mut s = s.clone();
    s.normalize();
    let step =
        eks_ops_engine::series::median_step(&s.timestamps).ok_or("fewer than two samples")?;
    let steps = (horizon.num_milliseconds() / step).max(1);
    if steps > 100_000 {
        return Err(format!(
            "horizon is {steps} samples of {step} ms; shorten it (max 100000)"
        ));
    }
    let cfg = ForecastConfig::new(steps as usize, Method::Blend, LEVELS.to_vec())
        .map_err(|e| e.to_string())?;
    let fc = forecast::forecast(&s, &cfg).map_err(|e| e.to_string())?;
    let (peak_i, peak) = fc
        .mean
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .ok_or("the forecast has no finite values")?;
    let capacity = match req {
        Some(r) => Some(capacity_out(
            &capacity::plan(&fc, r).map_err(|e| e.to_string())?,
            r,
        )),
        None => None,
    };
    Ok(SeriesForecast {
        name: s.name.clone(),
        labels: s.labels.clone(),
        unit: s.unit.clone(),
        history: s.summary().into(),
        method: snake(&fc.method),
        period: fc.period,
        step_secs: step / 1000,
        peak: round4(peak),
        peak_at: rfc3339(fc.timestamps.get(peak_i).copied().unwrap_or(0)),
        capacity,
        points: forecast_points(&fc, peak_i, max_points),
    })
}

fn capacity_out(plan: &CapacityPlan, req: &CapacityRequest) -> CapacityOut {
    CapacityOut {
        per_unit_capacity: req.per_unit_capacity,
        target_utilization: req.target_utilisation,
        planned_peak: round4(plan.peak),
        units_needed: plan.units_needed,
        current_units: plan.current_units,
        shortfall_at: plan.shortfall_ts_ms.map(rfc3339),
        scale_by: plan.scale_by_ms.map(rfc3339),
    }
}

/// Every k-th step, plus the peak, so the shape and the maximum both survive downsampling.
fn forecast_points(fc: &Forecast, peak_i: usize, max_points: usize) -> Vec<ForecastPoint> {
    let n = fc.mean.len().min(fc.timestamps.len());
    let stride = n.div_ceil(max_points.max(2)).max(1);
    let band = |level: f64, i: usize| {
        fc.interval(level)
            .map(|iv| {
                (
                    round4(iv.lower.get(i).copied().unwrap_or(f64::NAN)),
                    round4(iv.upper.get(i).copied().unwrap_or(f64::NAN)),
                )
            })
            .unwrap_or((f64::NAN, f64::NAN))
    };
    (0..n)
        .filter(|i| i % stride == 0 || *i == peak_i || *i == n - 1)
        .map(|i| {
            let (lo80, hi80) = band(LEVELS[0], i);
            let (lo95, hi95) = band(LEVELS[1], i);
            ForecastPoint {
                t: fc.timestamps[i],
                mean: round4(fc.mean[i]),
                lo80,
                hi80,
                lo95,
                hi95,
            }
        })
        .collect()
}

async fn forecast_tool(
    ctx: Arc<Context>,
    p: ForecastParams,
    budget: Budget,
) -> ToolResult<Reply<ForecastOutput>> {
    let horizon = horizon_arg(&p)?;
    let req = capacity_request(&p)?;
    let fetched = fetch(&ctx, &p.series_input(), Duration::days(7)).await?;
    let total = fetched.series.len();
    let kept = total.min(MAX_FORECAST_SERIES);
    // About 90 bytes per forecast point, 600 per series header.
    let max_points =
        ((budget.bytes * 6 / 10).saturating_sub(kept * 600) / 90 / kept.max(1)).clamp(2, 500);
    let mut series = Vec::new();
    let mut skipped = Vec::new();
    for s in fetched.series.iter().take(kept) {
        match forecast_one(s, horizon, req.as_ref(), max_points) {
            Ok(f) => series.push(f),
            Err(why) => skipped.push(format!("{}{{{}}}: {why}", s.name, labels_text(&s.labels))),
        }
    }
    let truncated = (kept < total).then(|| Truncation {
        total,
        returned: kept,
        how_to_get_more: "aggregate in the query (sum by) or narrow pod/workload".into(),
    });
    let horizon_text = p.horizon.clone().unwrap_or_else(|| "24h".into());
    let summary = forecast_summary(
        &fetched.source,
        &horizon_text,
        &series,
        &skipped,
        truncated.as_ref(),
    );
    Ok(Reply {
        summary,
        data: ForecastOutput {
            source: fetched.source,
            horizon: horizon_text,
            series,
            skipped,
            truncated,
        },
    })
}

fn forecast_summary(
    source: &str,
    horizon: &str,
    series: &[SeriesForecast],
    skipped: &[String],
    truncated: Option<&Truncation>,
) -> String {
    let mut out = format!(
        "forecast {horizon} ahead for {} series ({source})",
        series.len()
    );
    for s in series {
        out.push_str(&format!(
            "\n{}{{{}}} {} (period {}): peak {} at {}",
            s.name,
            labels_text(&s.labels),
            s.method,
            s.period,
            s.peak,
            s.peak_at
        ));
        if let Some(c) = &s.capacity {
            out.push_str(&format!(
                "; need {} unit(s) of {} at {:.0}% for planned peak {}",
                c.units_needed,
                c.per_unit_capacity,
                c.target_utilization * 100.0,
                c.planned_peak
            ));
            if let (Some(at), Some(by)) = (&c.shortfall_at, &c.scale_by) {
                out.push_str(&format!(
                    "; current units fall short at {at}, scale by {by}"
                ));
            }
        }
    }
    for s in skipped {
        out.push_str(&format!("\nskipped {s}"));
    }
    if series.is_empty() && skipped.is_empty() {
        out.push_str(
            "\nno series matched: check the signal name, labels or query, or widen the window",
        );
    }
    if let Some(t) = truncated {
        out.push_str(&format!(
            "\n[{} of {} series forecast; {}]",
            t.returned, t.total, t.how_to_get_more
        ));
    }
    out
}
