//! Metric tools: CloudWatch metrics and PromQL, both answered as engine series with a summary
//! per series and points downsampled to fit the response budget.

use std::collections::BTreeMap;
use std::sync::Arc;

use eks_ops_engine::series::{Series, SeriesSummary};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::params::{AwsArgs, in_range, non_empty};
use super::{Context, READ, Reply, ToolDef};
use crate::error::{ToolError, ToolResult};
use crate::output::{Budget, Truncation};
use crate::sources::{ExpressionAnswer, ExpressionQuery, MetricQuery, PromQuery};
use crate::time::resolve_window;

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "cloudwatch_query_metrics",
            "Query CloudWatch metrics",
            "CloudWatch GetMetricData: one metric and statistic (percentiles like p99 too), or metric math / a Metrics Insights query in `expression`. Period is chosen to fit `points` unless given. Returns per-series summary (min, max, mean, p95, last, slope, missing share), downsampled points and CloudWatch's messages.",
            READ,
            query_cloudwatch,
        ),
        ToolDef::new(
            "prometheus_query",
            "Query Prometheus",
            "Run PromQL against Prometheus or Amazon Managed Prometheus: a range query over the window, or instant with `instant: true`. Returns per-series summary and downsampled points; PromQL errors are passed through.",
            READ,
            query_prometheus,
        ),
    ]
}

/// Statistics of one series, as shown to the model.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Summary {
    pub points: usize,
    pub missing_share: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    pub p95: Option<f64>,
    pub last: Option<f64>,
    /// Least-squares slope, value units per hour.
    pub slope_per_hour: Option<f64>,
}

impl From<SeriesSummary> for Summary {
    fn from(s: SeriesSummary) -> Self {
        Summary {
            points: s.points,
            missing_share: s.missing_share,
            min: s.min,
            max: s.max,
            mean: s.mean,
            p95: s.p95,
            last: s.last,
            slope_per_hour: s.slope_per_hour,
        }
    }
}

/// One series: labels, summary, and `[unix_ms, value]` points.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SeriesOut {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub summary: Summary,
    pub points: Vec<(i64, f64)>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SeriesOutput {
    /// The backend that answered.
    pub source: String,
    pub start: String,
    pub end: String,
    pub series: Vec<SeriesOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
    /// Discovery answers: series, label names or label values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub discovered: Vec<String>,
    /// The backend's notes on the answer: evaluation errors, partial data.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<String>,
}

/// Shapes series for output: every series keeps its summary; points share what the budget leaves.
/// Sizes are measured, not guessed: labels differ a lot between backends.
pub fn shape_series(
    all: Vec<Series>,
    target_points: usize,
    budget: &Budget,
) -> (Vec<SeriesOut>, Option<Truncation>) {
    let total = all.len();
    let bare: Vec<(Series, SeriesOut)> = all
        .into_iter()
        .map(|s| {
            let out = SeriesOut {
                name: s.name.clone(),
                labels: s.labels.clone(),
                unit: s.unit.clone(),
                summary: s.summary().into(),
                points: Vec::new(),
            };
            (s, out)
        })
        .collect();
    // Series without points may use 60% of the budget; what is left of 85% goes to points.
    let mut used = 0usize;
    let mut kept = Vec::new();
    for (s, out) in bare {
        let size = serde_json::to_vec(&out).map(|v| v.len() + 1).unwrap_or(0);
        if used + size > budget.bytes * 6 / 10 && !kept.is_empty() {
            break;
        }
        used += size;
        kept.push((s, out));
    }
    // A point is `[13-digit ms, value]`, about 32 bytes with its comma.
    let per_series_points =
        ((budget.bytes * 85 / 100).saturating_sub(used) / 32 / kept.len().max(1))
            .clamp(2, target_points.max(2));
    let out: Vec<SeriesOut> = kept
        .into_iter()
        .map(|(s, mut out)| {
            out.points = s.downsample(per_series_points);
            out
        })
        .collect();
    let truncated = (out.len() < total).then(|| Truncation {
        total,
        returned: out.len(),
        how_to_get_more: "aggregate in the query (sum by, topk) or narrow the label matchers, or raise response_bytes".into(),
    });
    (out, truncated)
}

/// A compact text view: one line per series with its summary.
pub fn series_summary_text(
    header: &str,
    series: &[SeriesOut],
    truncated: Option<&Truncation>,
) -> String {
    let f = |v: Option<f64>| {
        v.map(|x| {
            format!("{x:.4}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
    };
    let mut out = header.to_string();
    for s in series {
        let labels = s
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        out.push_str(&format!(
            "\n{}{{{labels}}} min {} max {} mean {} p95 {} last {} slope/h {} ({} pts, {:.0}% missing)",
            s.name,
            f(s.summary.min),
            f(s.summary.max),
            f(s.summary.mean),
            f(s.summary.p95),
            f(s.summary.last),
            f(s.summary.slope_per_hour),
            s.summary.points,
            s.summary.missing_share * 100.0
        ));
    }
    if let Some(t) = truncated {
        out.push_str(&format!(
            "\n[{} of {} series shown; {}]",
            t.returned, t.total, t.how_to_get_more
        ));
    }
    out
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchParams {
    /// Metric namespace, e.g. ContainerInsights or AWS/EC2.
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    /// Dimensions as name → value, e.g. {"ClusterName":"prod","Namespace":"shop"}.
    pub dimensions: Option<BTreeMap<String, String>>,
    /// Average (default), Sum, Minimum, Maximum, SampleCount, or pNN like p99.
    pub stat: Option<String>,
    /// Metric math over m1 (the metric above) and m2… (`metrics`), e.g. `100*m2/m1`, SEARCH(…); or a Metrics Insights `SELECT …` alone.
    pub expression: Option<String>,
    /// More metrics for `expression`, as m2, m3…; namespace and stat default to the above.
    pub metrics: Option<Vec<ExtraMetric>>,
    /// Period in seconds (multiple of 60); default fits `points`.
    pub period: Option<i32>,
    /// Duration (`3h`) or time; default 3h.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Target points per series (10-1440, default 120).
    pub points: Option<u32>,
    #[serde(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtraMetric {
    pub namespace: Option<String>,
    pub metric_name: String,
    pub dimensions: Option<BTreeMap<String, String>>,
    pub stat: Option<String>,
}

/// CloudWatch's limit on an expression's length.
const MAX_EXPRESSION_CHARS: usize = 2048;

/// The metric ids a math expression refers to. Ids start with a lowercase letter while functions
/// and keywords are upper case; quoted text (SEARCH terms) and numbers such as `1e3` are skipped.
fn expression_ids(expression: &str) -> Vec<&str> {
    let mut ids = Vec::new();
    let bytes = expression.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\'' || c == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != c {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
            {
                i += 1;
            }
            if c.is_ascii_lowercase() && !ids.contains(&&expression[start..i]) {
                ids.push(&expression[start..i]);
            }
        } else {
            i += 1;
        }
    }
    ids
}

/// The metrics an expression call fetches, as m1, m2…, checked against what the expression uses.
fn expression_metrics(
    p: &CloudWatchParams,
    stat: &str,
    period: i32,
    expression: &str,
) -> ToolResult<Vec<MetricQuery>> {
    let extra = p.metrics.as_deref().unwrap_or_default();
    if crate::sources::is_metrics_insights(expression) {
        for (field, given) in [
            ("namespace", p.namespace.is_some()),
            ("metric_name", p.metric_name.is_some()),
            ("dimensions", p.dimensions.is_some()),
            ("metrics", !extra.is_empty()),
        ] {
            if given {
                return Err(ToolError::invalid(
                    field,
                    "a Metrics Insights query names its metrics itself (FROM, WHERE); drop this field",
                ));
            }
        }
        return Ok(Vec::new());
    }
    let mut metrics = Vec::new();
    match (&p.namespace, &p.metric_name) {
        (Some(ns), Some(name)) => metrics.push(MetricQuery {
            namespace: non_empty("namespace", ns)?.to_string(),
            metric_name: non_empty("metric_name", name)?.to_string(),
            dimensions: p
                .dimensions
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            stat: stat.to_string(),
            period_secs: period,
        }),
        (None, None) if !extra.is_empty() => {
            return Err(ToolError::invalid(
                "metric_name",
                "m1 is the metric named by namespace and metric_name; give them before `metrics` (m2…)",
            ));
        }
        (None, None) => {}
        (Some(_), None) => {
            return Err(ToolError::invalid(
                "metric_name",
                "give it with `namespace`",
            ));
        }
        (None, Some(_)) => {
            return Err(ToolError::invalid(
                "namespace",
                "give it with `metric_name`",
            ));
        }
    }
    for (i, m) in extra.iter().enumerate() {
        let field = |name: &str| format!("metrics[{i}].{name}");
        let namespace = m
            .namespace
            .as_deref()
            .or(p.namespace.as_deref())
            .unwrap_or("");
        let stat = m.stat.as_deref().unwrap_or(stat);
        check_stat(stat).map_err(|_| {
            ToolError::invalid(field("stat"), format!("`{stat}` is not a statistic; use Average, Sum, Minimum, Maximum, SampleCount or pNN"))
        })?;
        metrics.push(MetricQuery {
            namespace: non_empty(&field("namespace"), namespace)?.to_string(),
            metric_name: non_empty(&field("metric_name"), &m.metric_name)?.to_string(),
            dimensions: m
                .dimensions
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            stat: stat.to_string(),
            period_secs: period,
        });
    }
    if let Some(unknown) = expression_ids(expression).into_iter().find(|id| {
        !id.strip_prefix('m')
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| (1..=metrics.len()).contains(&n))
    }) {
        let defined = match metrics.len() {
            0 => "no metrics are given".to_string(),
            1 => "only m1 is defined (namespace and metric_name)".to_string(),
            n => format!("m1 (namespace and metric_name) to m{n} (`metrics`) are defined"),
        };
        return Err(ToolError::invalid(
            "expression",
            format!("`{unknown}` is not a metric id: {defined}"),
        ));
    }
    Ok(metrics)
}

fn check_stat(stat: &str) -> ToolResult<()> {
    let ok = ["Average", "Sum", "Minimum", "Maximum", "SampleCount"].contains(&stat)
        || stat
            .strip_prefix('p')
            .and_then(|p| p.parse::<f64>().ok())
            .is_some_and(|p| (0.0..=100.0).contains(&p));
    if ok {
        Ok(())
    } else {
        Err(ToolError::invalid(
            "stat",
            format!(
                "`{stat}` is not a statistic; use Average, Sum, Minimum, Maximum, SampleCount or pNN (p99)"
            ),
        ))
    }
}

/// The smallest CloudWatch period that keeps a window near `points` samples.
pub fn auto_period(window_secs: i64, points: u32) -> i32 {
    let raw = (window_secs.max(60) / points.max(1) as i64).max(60);
    (((raw + 59) / 60) * 60).min(86_400) as i32
}

async fn query_cloudwatch(
    ctx: Arc<Context>,
    p: CloudWatchParams,
    budget: Budget,
) -> ToolResult<Reply<SeriesOutput>> {
    let stat = p.stat.clone().unwrap_or_else(|| "Average".into());
    check_stat(&stat)?;
    let points = in_range("points", p.points, 10, 1440, 120)?;
    let metrics = ctx.sources.metrics(&p.aws.target()).await?;
    let now = ctx.sources.now().await?;
    let window = resolve_window(
        p.since.as_deref(),
        p.until.as_deref(),
        chrono::Duration::hours(3),
        now,
    )?;
    let period = match p.period {
        Some(v) if v >= 1 && (v < 60 || v % 60 == 0) && v <= 86_400 => v,
        Some(v) => {
            return Err(ToolError::invalid(
                "period",
                format!(
                    "{v} is not a CloudWatch period; use 1, 5, 10, 30 or a multiple of 60 up to 86400"
                ),
            ));
        }
        None => auto_period(window.duration().num_seconds(), points),
    };
    // What was asked (for the header), what to check when nothing came back, and the answer.
    let (asked, empty_hint, answer) = if let Some(expression) = &p.expression {
        let query = expression_query(&p, &stat, period, expression)?;
        let kind = if query.is_insights() {
            "Metrics Insights"
        } else {
            "metric math"
        };
        (
            format!("{kind} `{}` (period {period}s)", query.expression),
            "check the metric names and dimensions, or widen the window",
            metrics.cloudwatch_expression(&query, window).await?,
        )
    } else {
        if p.metrics.is_some() {
            return Err(ToolError::invalid(
                "metrics",
                "extra metrics feed an `expression` (as m2, m3…); give one, or query them one by one",
            ));
        }
        let namespace = non_empty("namespace", p.namespace.as_deref().unwrap_or_default())?;
        let metric_name = non_empty("metric_name", p.metric_name.as_deref().unwrap_or_default())?;
        let query = MetricQuery {
            namespace: namespace.to_string(),
            metric_name: metric_name.to_string(),
            dimensions: p
                .dimensions
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            stat: stat.clone(),
            period_secs: period,
        };
        (
            format!("{namespace} {metric_name} ({stat}, period {period}s)"),
            "check the dimensions (all must match exactly) or widen the window",
            ExpressionAnswer {
                series: metrics.cloudwatch(&[query], window).await?,
                messages: Vec::new(),
            },
        )
    };
    let (series, truncated) = shape_series(answer.series, points as usize, &budget);
    let header = format!(
        "{asked} from {}, {} to {}",
        metrics.describe(),
        window.start.to_rfc3339(),
        window.end.to_rfc3339()
    );
    let mut summary = if series.iter().all(|s| s.summary.points == 0) {
        format!("{header}\nno datapoints: {empty_hint}")
    } else {
        series_summary_text(&header, &series, truncated.as_ref())
    };
    for m in &answer.messages {
        summary.push_str(&format!("\nCloudWatch: {m}"));
    }
    Ok(Reply {
        summary,
        data: SeriesOutput {
            source: metrics.describe(),
            start: window.start.to_rfc3339(),
            end: window.end.to_rfc3339(),
            series,
            truncated,
            discovered: Vec::new(),
            messages: answer.messages,
        },
    })
}

/// The GetMetricData request around `expression`, checked: length, and the metric ids it uses.
fn expression_query(
    p: &CloudWatchParams,
    stat: &str,
    period: i32,
    expression: &str,
) -> ToolResult<ExpressionQuery> {
    let expression = non_empty("expression", expression)?;
    if expression.chars().count() > MAX_EXPRESSION_CHARS {
        return Err(ToolError::invalid(
            "expression",
            format!("longer than CloudWatch's {MAX_EXPRESSION_CHARS} characters"),
        ));
    }
    Ok(ExpressionQuery {
        expression: expression.to_string(),
        metrics: expression_metrics(p, stat, period, expression)?,
        period_secs: period,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromParams {
    /// PromQL expression; with `discover`, a series selector or "".
    pub query: String,
    /// Evaluate once at `until` instead of over the window.
    pub instant: Option<bool>,
    /// Duration (`1h`) or time; default 1h.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Range step in seconds; default fits about 240 points.
    pub step: Option<u64>,
    /// Discover instead: `series` (query is a selector), `labels`, or `label_values` of `label`.
    pub discover: Option<String>,
    pub label: Option<String>,
    #[serde(flatten)]
    pub aws: AwsArgs,
}

async fn query_prometheus(
    ctx: Arc<Context>,
    p: PromParams,
    budget: Budget,
) -> ToolResult<Reply<SeriesOutput>> {
    let metrics = ctx.sources.metrics(&p.aws.target()).await?;
    let now = ctx.sources.now().await?;
    let window = resolve_window(
        p.since.as_deref(),
        p.until.as_deref(),
        chrono::Duration::hours(1),
        now,
    )?;
    let step = match (p.instant.unwrap_or(false), p.step) {
        (true, _) => None,
        (false, Some(s))
            if (1..=86_400).contains(&s)
                && window.duration().num_seconds() as u64 / s <= 11_000 =>
        {
            Some(s)
        }
        (false, Some(s)) => {
            return Err(ToolError::invalid(
                "step",
                format!(
                    "{s}s gives too many points or is out of 1..=86400; Prometheus allows 11000 per series"
                ),
            ));
        }
        (false, None) => Some(crate::sources::cloudwatch::step_for(window)),
    };
    if let Some(what) = &p.discover {
        let selector = Some(p.query.trim()).filter(|q| !q.is_empty());
        let found = metrics
            .prom_discover(what, p.label.as_deref(), selector, window)
            .await?;
        return Ok(discovery_reply(
            &metrics.describe(),
            what,
            found,
            window,
            &budget,
        ));
    }
    let series = metrics
        .promql(&PromQuery {
            query: non_empty("query", &p.query)?.to_string(),
            window,
            step_secs: step,
        })
        .await?;
    let (series, truncated) = shape_series(series, 240, &budget);
    let header = format!(
        "{} series from {} for `{}`",
        series.len()
            + truncated
                .as_ref()
                .map(|t| t.total - t.returned)
                .unwrap_or(0),
        metrics.describe(),
        p.query
    );
    let summary = series_summary_text(&header, &series, truncated.as_ref());
    Ok(Reply {
        summary,
        data: SeriesOutput {
            source: metrics.describe(),
            start: window.start.to_rfc3339(),
            end: window.end.to_rfc3339(),
            series,
            truncated,
            discovered: Vec::new(),
            messages: Vec::new(),
        },
    })
}

fn discovery_reply(
    source: &str,
    what: &str,
    found: Vec<String>,
    window: crate::time::Window,
    budget: &Budget,
) -> Reply<SeriesOutput> {
    let total = found.len();
    let (discovered, dropped) = budget.take(found, 0.8);
    let truncated = (dropped > 0).then(|| Truncation {
        total,
        returned: discovered.len(),
        how_to_get_more:
            "narrow with a selector in `query` or a shorter window, or raise response_bytes".into(),
    });
    let mut summary = format!("{total} {what} from {source}");
    for d in discovered.iter().take(100) {
        summary.push_str(&format!("\n{d}"));
    }
    Reply {
        summary,
        data: SeriesOutput {
            source: source.to_string(),
            start: window.start.to_rfc3339(),
            end: window.end.to_rfc3339(),
            series: Vec::new(),
            truncated,
            discovered,
            messages: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_fit_the_point_target() {
        assert_eq!(auto_period(3 * 3600, 120), 120);
        assert_eq!(auto_period(600, 120), 60);
        assert_eq!(auto_period(90 * 86_400, 10), 86_400);
    }

    #[test]
    fn statistics_are_checked() {
        assert!(check_stat("p99").is_ok());
        assert!(check_stat("p99.9").is_ok());
        assert!(
            check_stat("Avg")
                .unwrap_err()
                .to_string()
                .contains("`stat`")
        );
    }

    fn params(args: serde_json::Value) -> CloudWatchParams {
        serde_json::from_value(args).unwrap()
    }

    #[test]
    fn expression_ids_skip_functions_quotes_and_numbers() {
        assert_eq!(expression_ids("100*m2/m1"), vec!["m2", "m1"]);
        assert_eq!(
            expression_ids("SEARCH('{AWS/EC2,InstanceId} cpu m9', 'Average', 300)"),
            Vec::<&str>::new()
        );
        assert_eq!(expression_ids("FILL(m1, 0) * 1e3 + RATE(m1)"), vec!["m1"]);
        assert_eq!(expression_ids("m1 + \"it's\" + m_x"), vec!["m1", "m_x"]);
    }

    #[test]
    fn expression_metrics_are_numbered_and_checked() {
        let p = params(
            serde_json::json!({"namespace": "App", "metric_name": "Requests",
            "stat": "Sum", "metrics": [{"metric_name": "Errors"}, {"namespace": "Other", "metric_name": "X", "stat": "p99"}]}),
        );
        let m = expression_metrics(&p, "Sum", 60, "100*m2/m1 + m3").unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(
            (m[1].namespace.as_str(), m[1].stat.as_str()),
            ("App", "Sum")
        );
        assert_eq!(
            (m[2].namespace.as_str(), m[2].stat.as_str()),
            ("Other", "p99")
        );
        let err = expression_metrics(&p, "Sum", 60, "m4 / m1")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`expression`") && err.contains("`m4`") && err.contains("m3"),
            "{err}"
        );
        let alone = params(serde_json::json!({}));
        let err = expression_metrics(&alone, "Average", 60, "m1*2")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no metrics are given"), "{err}");
        assert!(
            expression_metrics(
                &alone,
                "Average",
                60,
                "SEARCH('{AWS/EC2} x', 'Average', 60)"
            )
            .unwrap()
            .is_empty()
        );
        let bad_stat = params(
            serde_json::json!({"namespace": "App", "metric_name": "R", "metrics": [{"metric_name": "E", "stat": "avg"}]}),
        );
        let err = expression_metrics(&bad_stat, "Sum", 60, "m2/m1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`metrics[0].stat`"), "{err}");
        let insights = params(serde_json::json!({"namespace": "App"}));
        let err = expression_metrics(&insights, "Average", 60, "select avg(x) from y")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`namespace`") && err.contains("Metrics Insights"),
            "{err}"
        );
        let half = params(serde_json::json!({"namespace": "App"}));
        assert!(
            expression_metrics(&half, "Average", 60, "m1")
                .unwrap_err()
                .to_string()
                .contains("`metric_name`")
        );
    }

    #[test]
    fn many_series_stay_within_budget() {
        let series: Vec<Series> = (0..500)
            .map(|i| {
                Series::new(
                    "cpu",
                    (0..1440).map(|t| t * 60_000).collect(),
                    (0..1440).map(|t| (t % 97) as f64).collect(),
                )
                .with_label("pod", format!("pod-{i}"))
            })
            .collect();
        for bytes in [200_000, 24_000] {
            let budget = Budget { bytes };
            let (out, truncated) = shape_series(series.clone(), 1440, &budget);
            let size = serde_json::to_vec(&out).unwrap().len();
            assert!(size <= budget.bytes, "{size} > {bytes}");
            assert!(
                out.iter().all(|s| s.summary.points == 1440),
                "summaries cover every point"
            );
            assert_eq!(
                out.len() + truncated.map(|t| t.total - t.returned).unwrap_or(0),
                500
            );
        }
        let (out, truncated) = shape_series(series, 1440, &Budget { bytes: 24_000 });
        assert!(out.len() < 500 && truncated.is_some());
    }
}
