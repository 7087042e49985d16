//! Cost over time: `cost_compare` (two periods and the drivers of the change),
//! `cost_forecast` (Cost Explorer's forecast beside the engine's) and `cost_anomalies`
//! (Cost Anomaly Detection beside the engine's detector over daily cost by service).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveTime};
use eks_ops_engine::allocation::shift;
use eks_ops_engine::anomaly::{self, DetectorConfig, Direction, SignalMode};
use eks_ops_engine::forecast::{self, ForecastConfig, Method};
use eks_ops_engine::series::Series;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::cost::{parse_day, parse_group_key};
use super::params::{AwsArgs, in_range};
use super::{Context, READ, Reply, ToolDef};
use crate::error::{ToolError, ToolResult};
use crate::output::Budget;
use crate::output::text::table;
use crate::sources::cost::{CostAnomaly, ForecastPeriod, GroupComparison};
use crate::sources::{CostRequest, CostRow};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "cost_compare",
            "Compare AWS cost between two periods",
            "Cost of two periods and the top drivers of the change by one key, absolute and %. Uses GetCostAndUsageComparisons/GetCostComparisonDrivers where the account has them, else two GetCostAndUsage calls; says which.",
            READ,
            cost_compare,
        ),
        ToolDef::new(
            "cost_forecast",
            "Forecast AWS cost",
            "Cost Explorer's forecast (GetCostForecast, with a prediction interval) for the next days, beside the engine's own forecast from the daily cost history as a cross-check, and the gap between them.",
            READ,
            cost_forecast,
        ),
        ToolDef::new(
            "cost_anomalies",
            "Find AWS cost anomalies",
            "Cost Anomaly Detection findings (impact, root causes by service, usage type, region) plus the engine's anomaly detector over daily cost per service, naming the service that moved, when, and by how much.",
            READ,
            cost_anomalies,
        ),
    ]
}

/// A date range: first day and the day after the last.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// YYYY-MM-DD.
    pub start: String,
    /// YYYY-MM-DD, exclusive.
    pub end: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareParams {
    /// Earlier period; default the 7 days before `comparison`.
    pub baseline: Option<Period>,
    /// Later period; default the last 7 full days.
    pub comparison: Option<Period>,
    /// SERVICE (default), USAGE_TYPE, LINKED_ACCOUNT, REGION, INSTANCE_TYPE, tag:KEY or cost_category:NAME.
    pub group_by: Option<String>,
    /// UnblendedCost (default), AmortizedCost or NetUnblendedCost.
    pub metric: Option<String>,
    /// Drivers listed (1-50, default 10).
    pub top: Option<u32>,
    #[serde(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Driver {
    pub key: String,
    pub baseline: f64,
    pub comparison: f64,
    pub change: f64,
    /// Change in % of the baseline; absent when the baseline is 0.
    pub change_percent: Option<f64>,
    /// What Cost Explorer says moved inside this group: (type, name, change).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<(String, String, f64)>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CompareOutput {
    pub baseline: (String, String),
    pub comparison: (String, String),
    pub group_by: String,
    pub metric: String,
    /// `GetCostAndUsageComparisons` or `GetCostAndUsage` (two calls).
    pub path: String,
    /// Why the comparison API was not used, when it was not.
    pub fallback_reason: Option<String>,
    pub baseline_total: f64,
    pub comparison_total: f64,
    pub change: f64,
    pub change_percent: Option<f64>,
    /// Largest absolute changes first.
    pub drivers: Vec<Driver>,
    /// Net change of the groups not listed.
    pub rest_change: f64,
}

const COST_METRICS: [&str; 3] = ["UnblendedCost", "AmortizedCost", "NetUnblendedCost"];

fn metric_arg(metric: Option<&str>) -> ToolResult<String> {
    let metric = metric.unwrap_or("UnblendedCost");
    if COST_METRICS.contains(&metric) {
        return Ok(metric.to_string());
    }
    Err(ToolError::invalid(
        "metric",
        format!("`{metric}` is not one of {}", COST_METRICS.join(", ")),
    ))
}

/// Parses and checks a period against Cost Explorer's limits (14 months back, start < end).
fn period_arg(field: &str, p: &Period, today: NaiveDate) -> ToolResult<(NaiveDate, NaiveDate)> {
    let start = parse_day(&format!("{field}.start"), &p.start)?;
    let end = parse_day(&format!("{field}.end"), &p.end)?;
    if start >= end {
        return Err(ToolError::invalid(
            format!("{field}.end"),
            format!("{end} is not after start {start}"),
        ));
    }
    if (today - start).num_days() > 14 * 31 {
        return Err(ToolError::invalid(
            format!("{field}.start"),
            "Cost Explorer keeps 14 months of history; start later",
        ));
    }
    Ok((start, end))
}

fn pct(change: f64, base: f64) -> Option<f64> {
    (base.abs() > 1e-9).then(|| change / base * 100.0)
}

async fn cost_compare(
    ctx: Arc<Context>,
    p: CompareParams,
    _budget: Budget,
) -> ToolResult<Reply<CompareOutput>> {
    let today = ctx.sources.now().await?.date_naive();
    let comparison = match &p.comparison {
        Some(c) => period_arg("comparison", c, today)?,
        None => (today - Duration::days(7), today),
    };
    let baseline = match &p.baseline {
        Some(b) => period_arg("baseline", b, today)?,
        None => {
            let len = comparison.1 - comparison.0;
            (comparison.0 - len, comparison.0)
        }
    };
    if baseline.0 > comparison.0 {
        return Err(ToolError::invalid(
            "baseline",
            "starts after `comparison`; put the earlier period in `baseline`",
        ));
    }
    let group_text = p.group_by.clone().unwrap_or_else(|| "SERVICE".into());
    let group = parse_group_key(&group_text)?;
    let metric = metric_arg(p.metric.as_deref())?;
    let top = in_range("top", p.top, 1, 50, 10)? as usize;
    let days = |r: (NaiveDate, NaiveDate)| (r.0.to_string(), r.1.to_string());
    let (b, c) = (days(baseline), days(comparison));
    let (groups, path, reason) = compare_groups(&ctx, &p.aws, &b, &c, &metric, &group).await?;
    Ok(compare_reply(
        groups, top, b, c, group_text, metric, path, reason,
    ))
}

type Span = (String, String);

/// The comparison API when the account has it, else two GetCostAndUsage calls.
async fn compare_groups(
    ctx: &Context,
    aws: &AwsArgs,
    b: &Span,
    c: &Span,
    metric: &str,
    group: &(String, String),
) -> ToolResult<(Vec<GroupComparison>, String, Option<String>)> {
    let target = aws.target();
    let reason = match ctx.sources.cost_live(&target).await? {
        None => "a snapshot holds daily cost only".to_string(),
        Some(live) => {
            let (bs, cs) = ((b.0.as_str(), b.1.as_str()), (c.0.as_str(), c.1.as_str()));
            match live.comparisons(bs, cs, metric, group).await {
                Ok(mut rows) => {
                    if let Ok(drivers) = live.drivers(bs, cs, metric, group).await {
                        attach_drivers(&mut rows, drivers);
                    }
                    return Ok((rows, "GetCostAndUsageComparisons".into(), None));
                }
                Err(e @ (ToolError::AccessDenied { .. } | ToolError::Backend { .. })) => {
                    e.to_string()
                }
                Err(e) => return Err(e),
            }
        }
    };
    let source = ctx.sources.cost(&target).await?;
    let sum = |rows: Vec<CostRow>| {
        let mut by: BTreeMap<String, f64> = BTreeMap::new();
        for r in rows {
            let key = r.keys.first().cloned().unwrap_or_else(|| "(total)".into());
            *by.entry(key).or_default() += r.amount;
        }
        by
    };
    let request = |s: &Span| CostRequest {
        start: s.0.clone(),
        end: s.1.clone(),
        granularity: "DAILY".into(),
        metric: metric.to_string(),
        group_by: vec![group.clone()],
        filter: None,
    };
    let before = sum(source.cost_and_usage(&request(b)).await?);
    let after = sum(source.cost_and_usage(&request(c)).await?);
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let rows = keys
        .into_iter()
        .map(|k| GroupComparison {
            key: k.clone(),
            baseline: before.get(k).copied().unwrap_or(0.0),
            comparison: after.get(k).copied().unwrap_or(0.0),
            drivers: Vec::new(),
        })
        .collect();
    Ok((rows, "GetCostAndUsage".into(), Some(reason)))
}

fn attach_drivers(rows: &mut [GroupComparison], drivers: Vec<GroupComparison>) {
    for d in drivers {
        if let Some(row) = rows.iter_mut().find(|r| r.key == d.key) {
            row.drivers = d.drivers;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn compare_reply(
    groups: Vec<GroupComparison>,
    top: usize,
    baseline: Span,
    comparison: Span,
    group_by: String,
    metric: String,
    path: String,
    fallback_reason: Option<String>,
) -> Reply<CompareOutput> {
    let baseline_total: f64 = groups.iter().map(|g| g.baseline).sum();
    let comparison_total: f64 = groups.iter().map(|g| g.comparison).sum();
    let mut drivers: Vec<Driver> = groups
        .into_iter()
        .map(|g| {
            let change = g.comparison - g.baseline;
            Driver {
                change_percent: pct(change, g.baseline),
                key: g.key,
                baseline: g.baseline,
                comparison: g.comparison,
                change,
                causes: g.drivers.into_iter().take(3).collect(),
            }
        })
        .collect();
    drivers.sort_by(|a, b| b.change.abs().total_cmp(&a.change.abs()));
    let rest = drivers.split_off(top.min(drivers.len()));
    let change = comparison_total - baseline_total;
    let cells: Vec<Vec<String>> = drivers
        .iter()
        .map(|d| {
            vec![
                d.key.clone(),
                format!("{:.2}", d.baseline),
                format!("{:.2}", d.comparison),
                format!("{:+.2}", d.change),
                d.change_percent
                    .map(|p| format!("{p:+.1}%"))
                    .unwrap_or_else(|| "new".into()),
            ]
        })
        .collect();
    let summary = format!(
        "{metric} {} to {}: {baseline_total:.2} -> {} to {}: {comparison_total:.2} ({change:+.2}{}) by {group_by}, via {path}{}\n{}",
        baseline.0,
        baseline.1,
        comparison.0,
        comparison.1,
        pct(change, baseline_total)
            .map(|p| format!(", {p:+.1}%"))
            .unwrap_or_default(),
        fallback_reason
            .as_ref()
            .map(|r| format!(" (comparison API not used: {r})"))
            .unwrap_or_default(),
        table(&["GROUP", "BEFORE", "AFTER", "CHANGE", "%"], &cells)
    );
    Reply {
        summary,
        data: CompareOutput {
            baseline,
            comparison,
            group_by,
            metric,
            path,
            fallback_reason,
            baseline_total,
            comparison_total,
            change,
            change_percent: pct(change, baseline_total),
            rest_change: rest.iter().map(|d| d.change).sum(),
            drivers,
        },
    }
}

/// Daily cost history ending before `end`, complete days only: Cost Explorer marks the
/// current day as an estimate, and a partial day would read as a drop.
async fn daily_history(
    ctx: &Context,
    aws: &AwsArgs,
    start: NaiveDate,
    end: NaiveDate,
    metric: &str,
    by_service: bool,
) -> ToolResult<Vec<CostRow>> {
    let source = ctx.sources.cost(&aws.target()).await?;
    let rows = source
        .cost_and_usage(&CostRequest {
            start: start.to_string(),
            end: end.to_string(),
            granularity: "DAILY".into(),
            metric: metric.to_string(),
            group_by: if by_service {
                vec![("DIMENSION".into(), "SERVICE".into())]
            } else {
                Vec::new()
            },
            filter: None,
        })
        .await?;
    Ok(rows.into_iter().filter(|r| !r.estimated).collect())
}

fn day_ms(day: &str) -> Option<i64> {
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(NaiveTime::MIN).and_utc().timestamp_millis())
}

/// One series per group key (or one total series), one sample per day.
fn daily_series(rows: &[CostRow]) -> BTreeMap<String, Series> {
    let mut by: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
    for r in rows {
        let Some(ts) = day_ms(&r.start) else { continue };
        let key = r.keys.first().cloned().unwrap_or_else(|| "total".into());
        *by.entry(key).or_default().entry(ts).or_default() += r.amount;
    }
    by.into_iter()
        .map(|(name, points)| {
            let (timestamps, values) = points.into_iter().unzip();
            let series = Series {
                name: name.clone(),
                labels: BTreeMap::new(),
                unit: Some("USD".into()),
                timestamps,
                values,
            };
            (name, series)
        })
        .collect()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForecastParams {
    /// Days to forecast from today (1-90, default 30).
    pub days: Option<u32>,
    /// Days of daily history for the engine's forecast (14-365, default 90).
    pub history_days: Option<u32>,
    /// Prediction interval level in % (51-99, default 80).
    pub level: Option<u32>,
    /// UnblendedCost (default), AmortizedCost or NetUnblendedCost.
    pub metric: Option<String>,
    #[serde(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ForecastSide {
    pub total: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ForecastOutput {
    pub start: String,
    pub end: String,
    pub metric: String,
    pub level: u32,
    /// GetCostForecast; absent with the reason when it could not be had.
    pub cost_explorer: Option<ForecastSide>,
    pub cost_explorer_note: Option<String>,
    /// The engine's forecast from `history_days` complete days.
    pub engine: Option<ForecastSide>,
    pub engine_note: Option<String>,
    pub history_days_used: usize,
    /// Engine total minus Cost Explorer total, in % of the latter.
    pub gap_percent: Option<f64>,
    /// Cost Explorer's daily forecast.
    pub daily: Vec<ForecastPeriod>,
}

/// Metric names in GetCostForecast's spelling.
fn forecast_metric(metric: &str) -> &'static str {
    match metric {
        "AmortizedCost" => "AMORTIZED_COST",
        "NetUnblendedCost" => "NET_UNBLENDED_COST",
        _ => "UNBLENDED_COST",
    }
}

async fn cost_forecast(
    ctx: Arc<Context>,
    p: ForecastParams,
    budget: Budget,
) -> ToolResult<Reply<ForecastOutput>> {
    let days = in_range("days", p.days, 1, 90, 30)?;
    let history = in_range("history_days", p.history_days, 14, 365, 90)?;
    let level = in_range("level", p.level, 51, 99, 80)?;
    let metric = metric_arg(p.metric.as_deref())?;
    let today = ctx.sources.now().await?.date_naive();
    let end = today + Duration::days(i64::from(days));
    let (ce, ce_note, daily) = ce_forecast(&ctx, &p.aws, today, end, &metric, level).await?;
    let rows = daily_history(
        &ctx,
        &p.aws,
        today - Duration::days(i64::from(history)),
        today + Duration::days(1),
        &metric,
        false,
    )
    .await?;
    let series = daily_series(&rows).remove("total");
    let used = series.as_ref().map(|s| s.values.len()).unwrap_or(0);
    let (engine, engine_note) = match series.map(|s| engine_forecast(&s, today, days, level)) {
        Some(Ok(side)) => (Some(side), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, Some("no daily cost history in the window".into())),
    };
    let gap_percent = match (&ce, &engine) {
        (Some(c), Some(e)) => pct(e.total - c.total, c.total),
        _ => None,
    };
    let (daily, _) = budget.take(daily, 0.4);
    let out = ForecastOutput {
        start: today.to_string(),
        end: end.to_string(),
        metric,
        level,
        cost_explorer: ce,
        cost_explorer_note: ce_note,
        engine,
        engine_note,
        history_days_used: used,
        gap_percent,
        daily,
    };
    Ok(Reply {
        summary: forecast_summary(&out),
        data: out,
    })
}

type CeForecast = (Option<ForecastSide>, Option<String>, Vec<ForecastPeriod>);

async fn ce_forecast(
    ctx: &Context,
    aws: &AwsArgs,
    start: NaiveDate,
    end: NaiveDate,
    metric: &str,
    level: u32,
) -> ToolResult<CeForecast> {
    let Some(live) = ctx.sources.cost_live(&aws.target()).await? else {
        return Ok((
            None,
            Some("snapshot mode: the bundle holds daily cost only".into()),
            Vec::new(),
        ));
    };
    let result = live
        .forecast(
            &start.to_string(),
            &end.to_string(),
            forecast_metric(metric),
            level as i32,
        )
        .await;
    match result {
        Ok((total, daily)) => {
            let sum = |f: fn(&ForecastPeriod) -> Option<f64>| -> Option<f64> {
                daily.iter().map(f).sum::<Option<f64>>()
            };
            let side = ForecastSide {
                total,
                lower: sum(|d| d.lower),
                upper: sum(|d| d.upper),
            };
            Ok((Some(side), None, daily))
        }
        Err(e @ (ToolError::AccessDenied { .. } | ToolError::Backend { .. })) => {
            Ok((None, Some(e.to_string()), Vec::new()))
        }
        Err(e) => Err(e),
    }
}

/// Sums the engine's daily forecast over the days from `today` on. Bounds are summed per day,
/// which overstates the width of the total's interval; it is a cross-check, not a budget.
fn engine_forecast(
    series: &Series,
    today: NaiveDate,
    days: u32,
    level: u32,
) -> Result<ForecastSide, String> {
    let last = series.timestamps.last().copied().unwrap_or(0);
    let today_ms = day_ms(&today.to_string()).unwrap_or(last);
    // Days between the last complete day and today must be forecast too, then skipped.
    let skip = ((today_ms - last) / 86_400_000 - 1).max(0) as usize;
    let lvl = f64::from(level) / 100.0;
    let mut config = ForecastConfig::new(skip + days as usize, Method::Blend, vec![lvl])
        .map_err(|e| e.to_string())?;
    // Daily cost follows the working week; learning the period from a few weeks of history
    // is less reliable than saying so, once two full weeks are there to fit it.
    if series.values.len() >= 14 {
        config = config.with_period(7).map_err(|e| e.to_string())?;
    }
    let f = forecast::forecast(series, &config).map_err(|e| e.to_string())?;
    let sum = |v: &[f64]| v.iter().skip(skip).map(|x| x.max(0.0)).sum::<f64>();
    let interval = f.interval(lvl);
    Ok(ForecastSide {
        total: sum(&f.mean),
        lower: interval.map(|i| sum(&i.lower)),
        upper: interval.map(|i| sum(&i.upper)),
    })
}

fn side_text(s: &Option<ForecastSide>, note: &Option<String>) -> String {
    match (s, note) {
        (Some(s), _) => match (s.lower, s.upper) {
            (Some(l), Some(u)) => format!("{:.2} ({l:.2} to {u:.2})", s.total),
            _ => format!("{:.2}", s.total),
        },
        (None, Some(n)) => format!("unavailable ({n})"),
        (None, None) => "unavailable".into(),
    }
}

fn forecast_summary(o: &ForecastOutput) -> String {
    format!(
        "{} forecast {} to {} ({}% interval):\n  Cost Explorer: {}\n  engine ({} days of history): {}{}",
        o.metric,
        o.start,
        o.end,
        o.level,
        side_text(&o.cost_explorer, &o.cost_explorer_note),
        o.history_days_used,
        side_text(&o.engine, &o.engine_note),
        o.gap_percent
            .map(|g| format!("\n  gap: engine is {g:+.1}% of Cost Explorer"))
            .unwrap_or_default()
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnomaliesParams {
    /// Days back to search (7-365, default 30).
    pub days: Option<u32>,
    /// Smallest total impact in USD to report (default 0).
    pub min_impact: Option<f64>,
    #[serde(flatten)]
    pub aws: AwsArgs,
}

/// A change the engine's detector found in one service's daily cost.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EngineCostAnomaly {
    pub service: String,
    pub start: String,
    pub end: String,
    /// `up` or `down`.
    pub direction: String,
    /// Largest daily deviation from the expected cost, USD.
    pub magnitude: f64,
    /// Daily cost expected at onset (middle of the band).
    pub expected: f64,
    /// Peak score (streaming detector, 0-1) or robust sigmas (daily-step detector).
    pub score: f64,
    /// `streaming` (eks_ops_engine::anomaly, after its warm-up) or `daily-step`.
    pub detector: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AnomaliesOutput {
    pub start: String,
    pub end: String,
    /// Cost Anomaly Detection findings, largest impact first.
    pub cost_explorer: Vec<CostAnomaly>,
    pub cost_explorer_note: Option<String>,
    /// The engine's detector over daily cost per service, largest first.
    pub engine: Vec<EngineCostAnomaly>,
    pub services_scanned: usize,
}

async fn cost_anomalies(
    ctx: Arc<Context>,
    p: AnomaliesParams,
    budget: Budget,
) -> ToolResult<Reply<AnomaliesOutput>> {
    let days = in_range("days", p.days, 7, 365, 30)?;
    let min_impact = p.min_impact.unwrap_or(0.0);
    if !min_impact.is_finite() || min_impact < 0.0 {
        return Err(ToolError::invalid(
            "min_impact",
            "must be a number of USD, 0 or more",
        ));
    }
    let today = ctx.sources.now().await?.date_naive();
    let start = today - Duration::days(i64::from(days));
    let (mut found, note) = ce_anomalies(&ctx, &p.aws, start, today).await?;
    found.retain(|a| a.total_impact >= min_impact);
    found.sort_by(|a, b| b.total_impact.total_cmp(&a.total_impact));
    let rows = daily_history(
        &ctx,
        &p.aws,
        start,
        today + Duration::days(1),
        "UnblendedCost",
        true,
    )
    .await?;
    let series = daily_series(&rows);
    let mut engine: Vec<EngineCostAnomaly> = series
        .values()
        .flat_map(service_anomalies)
        .filter(|a| a.magnitude.abs() >= min_impact)
        .collect();
    engine.sort_by(|a, b| b.magnitude.abs().total_cmp(&a.magnitude.abs()));
    let (cost_explorer, _) = budget.take(found, 0.4);
    let (engine, _) = budget.take(engine, 0.3);
    let out = AnomaliesOutput {
        start: start.to_string(),
        end: today.to_string(),
        cost_explorer,
        cost_explorer_note: note,
        engine,
        services_scanned: series.len(),
    };
    Ok(Reply {
        summary: anomalies_summary(&out),
        data: out,
    })
}

async fn ce_anomalies(
    ctx: &Context,
    aws: &AwsArgs,
    start: NaiveDate,
    end: NaiveDate,
) -> ToolResult<(Vec<CostAnomaly>, Option<String>)> {
    let Some(live) = ctx.sources.cost_live(&aws.target()).await? else {
        return Ok((
            Vec::new(),
            Some("snapshot mode: the bundle holds daily cost only".into()),
        ));
    };
    match live.anomalies(&start.to_string(), &end.to_string()).await {
        Ok(found) => Ok((found, None)),
        Err(e @ (ToolError::AccessDenied { .. } | ToolError::Backend { .. })) => {
            Ok((Vec::new(), Some(e.to_string())))
        }
        Err(e) => Err(e),
    }
}

fn ms_day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.date_naive().to_string())
        .unwrap_or_default()
}

/// Two weeks of reference: every weekday twice, so weekend dips sit inside the spread rather
/// than outside it (one week would make each weekend look new).
const SHIFT_BASELINE_DAYS: usize = 14;
/// Robust sigmas for an unusual day: 3 flags ordinary month-end and holiday wobble, 5 misses a
/// service that grows by half.
const SHIFT_SIGMAS: f64 = 4.0;
/// Scale floor as a share of the median: billing rounds and spreads usage by a few percent a
/// day, so a flat service would otherwise flag cent-sized moves.
const SHIFT_MIN_REL: f64 = 0.03;

/// The streaming detector once it has warmed up (about 100 days); before that, the robust
/// step detector made for short daily series.
fn service_anomalies(series: &Series) -> Vec<EngineCostAnomaly> {
    let report = anomaly::detect(series, &DetectorConfig::default()).ok();
    let one = |name: &str, start: i64, end: i64, magnitude: f64, expected: f64, score: f64| {
        EngineCostAnomaly {
            service: series.name.clone(),
            start: ms_day(start),
            end: ms_day(end),
            direction: if magnitude < 0.0 { "down" } else { "up" }.into(),
            magnitude,
            expected,
            score,
            detector: name.into(),
        }
    };
    match report {
        Some(r) if r.mode != SignalMode::Auto => r
            .events
            .iter()
            .map(|e| {
                let sign = if e.direction == Direction::Down {
                    -1.0
                } else {
                    1.0
                };
                let expected = (e.expected_lower + e.expected_upper) / 2.0;
                one(
                    "streaming",
                    e.onset_ms,
                    e.end_ms,
                    sign * e.magnitude.abs(),
                    expected,
                    e.peak_score,
                )
            })
            .collect(),
        _ => {
            let at = |i: usize| series.timestamps.get(i).copied().unwrap_or(0);
            shift::shifts(
                &series.values,
                SHIFT_BASELINE_DAYS,
                SHIFT_SIGMAS,
                SHIFT_MIN_REL,
            )
            .into_iter()
            .map(|s| {
                one(
                    "daily-step",
                    at(s.start),
                    at(s.end),
                    s.magnitude,
                    s.expected,
                    s.sigmas.abs(),
                )
            })
            .collect()
        }
    }
}

fn anomalies_summary(o: &AnomaliesOutput) -> String {
    let mut lines = vec![format!(
        "Cost anomalies {} to {}: {} from Cost Anomaly Detection{}, {} from the engine over {} services",
        o.start,
        o.end,
        o.cost_explorer.len(),
        o.cost_explorer_note
            .as_ref()
            .map(|n| format!(" (unavailable: {n})"))
            .unwrap_or_default(),
        o.engine.len(),
        o.services_scanned
    )];
    for a in &o.cost_explorer {
        let cause = a
            .root_causes
            .first()
            .map(|r| {
                [&r.service, &r.usage_type, &r.region]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" / ")
            })
            .unwrap_or_default();
        lines.push(format!(
            "  CE {} from {}: impact {:.2} USD; {cause}",
            a.id,
            a.start.as_deref().unwrap_or("?"),
            a.total_impact
        ));
    }
    for e in &o.engine {
        lines.push(format!(
            "  engine ({}): {} {} from {} to {}, by {:+.2} USD/day (expected {:.2})",
            e.detector, e.service, e.direction, e.start, e.end, e.magnitude, e.expected
        ));
    }
    lines.join("\n")
}
