//! Cost tools: Cost Explorer breakdowns with typed group-by and filter objects.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::params::{AwsArgs, in_range};
use super::{Context, READ, Reply, ToolDef};
use crate::error::{ToolError, ToolResult};
use crate::output::Budget;
use crate::output::text::table;
use crate::sources::CostRequest;

pub fn tools() -> Vec<ToolDef> {
    let mut tools = vec![ToolDef::new(
        "cost_breakdown",
        "Break down AWS cost",
        "Cost Explorer cost for a date range, grouped by up to two keys (SERVICE, USAGE_TYPE, LINKED_ACCOUNT, REGION, INSTANCE_TYPE, tag:KEY, cost_category:NAME), with an optional filter object. Returns the total, the top groups with their share, the rest rolled up, and per-period totals.",
        READ,
        cost_breakdown,
    )];
    tools.extend(super::cost_trend::tools());
    tools.extend(super::cost_workload::tools());
    tools.extend(super::cost_rightsizing::tools());
    tools
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakdownParams {
    /// First day, YYYY-MM-DD; default 30 days before `end`.
    pub start: Option<String>,
    /// Day after the last, YYYY-MM-DD (exclusive); default today.
    pub end: Option<String>,
    /// DAILY (default), MONTHLY or HOURLY.
    pub granularity: Option<String>,
    /// UnblendedCost (default), AmortizedCost, NetUnblendedCost or UsageQuantity.
    pub metric: Option<String>,
    /// Up to two keys: SERVICE, USAGE_TYPE, LINKED_ACCOUNT, REGION, INSTANCE_TYPE, tag:KEY, cost_category:NAME.
    pub group_by: Option<Vec<String>>,
    /// Cost Explorer expression object: {"Dimensions":{"Key":"SERVICE","Values":[...]}}, {"Tags":{...}}, {"And":[...]}, {"Or":[...]}, {"Not":{...}}.
    #[schemars(schema_with = "filter_schema")]
    pub filter: Option<Value>,
    /// Groups listed before the rest is rolled up (1-50, default 10).
    pub top: Option<u32>,
    #[serde(flatten)]
    pub aws: AwsArgs,
}

/// The filter is an object with Cost Explorer's expression keys, never a JSON string; nested
/// levels stay untyped in the schema because a recursive schema would cost more than the
/// whole tool, and `expression_from_json` checks them with errors naming the path.
fn filter_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "properties": {
            "And": {"type": "array", "items": {"type": "object"}},
            "Or": {"type": "array", "items": {"type": "object"}},
            "Not": {"type": "object"},
            "Dimensions": {"type": "object"},
            "Tags": {"type": "object"},
            "CostCategories": {"type": "object"}
        },
        "additionalProperties": false
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GroupCost {
    pub keys: Vec<String>,
    pub amount: f64,
    /// Share of the total, 0-1.
    pub share: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BreakdownOutput {
    pub start: String,
    pub end: String,
    pub metric: String,
    pub unit: String,
    pub total: f64,
    pub top: Vec<GroupCost>,
    /// Everything below the top groups.
    pub rest: Option<GroupCost>,
    /// Total per period start.
    pub by_period: BTreeMap<String, f64>,
    /// True when any period is still an estimate.
    pub estimated: bool,
}

const DIMENSIONS: [&str; 5] = [
    "SERVICE",
    "USAGE_TYPE",
    "LINKED_ACCOUNT",
    "REGION",
    "INSTANCE_TYPE",
];
const METRICS: [&str; 4] = [
    "UnblendedCost",
    "AmortizedCost",
    "NetUnblendedCost",
    "UsageQuantity",
];

/// Turns `SERVICE`, `tag:team` or `cost_category:Env` into a Cost Explorer group definition.
pub fn parse_group_key(key: &str) -> ToolResult<(String, String)> {
    if let Some(tag) = key.strip_prefix("tag:").filter(|t| !t.is_empty()) {
        return Ok(("TAG".into(), tag.into()));
    }
    if let Some(cc) = key.strip_prefix("cost_category:").filter(|t| !t.is_empty()) {
        return Ok(("COST_CATEGORY".into(), cc.into()));
    }
    let upper = key.to_ascii_uppercase();
    if DIMENSIONS.contains(&upper.as_str()) {
        return Ok(("DIMENSION".into(), upper));
    }
    Err(ToolError::invalid(
        "group_by",
        format!(
            "`{key}` is not a group key; use {}, tag:KEY or cost_category:NAME",
            DIMENSIONS.join(", ")
        ),
    ))
}

pub fn parse_day(field: &str, text: &str) -> ToolResult<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| ToolError::invalid(field, format!("`{text}` is not a date; use YYYY-MM-DD")))
}

async fn cost_breakdown(
    ctx: Arc<Context>,
    p: BreakdownParams,
    budget: Budget,
) -> ToolResult<Reply<BreakdownOutput>> {
    let today = ctx.sources.now().await?.date_naive();
    let end = p
        .end
        .as_deref()
        .map(|e| parse_day("end", e))
        .transpose()?
        .unwrap_or(today + Duration::days(1));
    let start = p
        .start
        .as_deref()
        .map(|s| parse_day("start", s))
        .transpose()?
        .unwrap_or(end - Duration::days(30));
    if start >= end {
        return Err(ToolError::invalid(
            "end",
            format!("{end} is not after start {start}"),
        ));
    }
    // Cost Explorer keeps 14 months (38 with multi-year data enabled); HOURLY only 14 days.
    if (end - start).num_days() > 14 * 31 {
        return Err(ToolError::invalid(
            "start",
            "the range is longer than Cost Explorer's 14 months; shorten it",
        ));
    }
    let granularity = p
        .granularity
        .clone()
        .unwrap_or_else(|| "DAILY".into())
        .to_ascii_uppercase();
    if !["DAILY", "MONTHLY", "HOURLY"].contains(&granularity.as_str()) {
        return Err(ToolError::invalid(
            "granularity",
            format!("`{granularity}` is not DAILY, MONTHLY or HOURLY"),
        ));
    }
    if granularity == "HOURLY" && (end - start).num_days() > 14 {
        return Err(ToolError::invalid(
            "granularity",
            "HOURLY covers at most the last 14 days; use DAILY or shorten the range",
        ));
    }
    let metric = p.metric.clone().unwrap_or_else(|| "UnblendedCost".into());
    if !METRICS.contains(&metric.as_str()) {
        return Err(ToolError::invalid(
            "metric",
            format!("`{metric}` is not one of {}", METRICS.join(", ")),
        ));
    }
    let keys = p.group_by.clone().unwrap_or_default();
    if keys.len() > 2 {
        return Err(ToolError::invalid(
            "group_by",
            "Cost Explorer groups by at most two keys",
        ));
    }
    let group_by = keys
        .iter()
        .map(|k| parse_group_key(k))
        .collect::<ToolResult<Vec<_>>>()?;
    if let Some(filter) = &p.filter {
        crate::sources::cost::expression_from_json(filter)?;
    }
    let top_n = in_range("top", p.top, 1, 50, 10)? as usize;
    let source = ctx.sources.cost(&p.aws.target()).await?;
    let request = CostRequest {
        start: start.to_string(),
        end: end.to_string(),
        granularity,
        metric: metric.clone(),
        group_by,
        filter: p.filter.clone(),
    };
    let rows = source
        .cost_and_usage(&request)
        .await
        .map_err(|e| hourly_refused(e, &request.granularity))?;
    let unit = rows
        .first()
        .map(|r| r.unit.clone())
        .unwrap_or_else(|| "USD".into());
    let total: f64 = rows.iter().map(|r| r.amount).sum();
    let mut by_group: BTreeMap<Vec<String>, f64> = BTreeMap::new();
    let mut by_period: BTreeMap<String, f64> = BTreeMap::new();
    for r in &rows {
        *by_group.entry(r.keys.clone()).or_default() += r.amount;
        *by_period.entry(r.start.clone()).or_default() += r.amount;
    }
    let share = |a: f64| {
        if total.abs() > f64::EPSILON {
            a / total
        } else {
            0.0
        }
    };
    let mut groups: Vec<GroupCost> = by_group
        .into_iter()
        .map(|(keys, amount)| GroupCost {
            keys,
            amount,
            share: share(amount),
        })
        .collect();
    groups.sort_by(|a, b| b.amount.total_cmp(&a.amount));
    let rest_groups = groups.split_off(top_n.min(groups.len()));
    let rest = (!rest_groups.is_empty()).then(|| {
        let amount = rest_groups.iter().map(|g| g.amount).sum();
        GroupCost {
            keys: vec![format!("{} other groups", rest_groups.len())],
            amount,
            share: share(amount),
        }
    });
    let (by_period_kept, _) = budget.take(by_period.into_iter().collect::<Vec<_>>(), 0.3);
    let estimated = rows.iter().any(|r| r.estimated);
    let cells: Vec<Vec<String>> = groups
        .iter()
        .chain(rest.iter())
        .map(|g| {
            vec![
                g.keys.join(" / "),
                format!("{:.2}", g.amount),
                format!("{:.1}%", g.share * 100.0),
            ]
        })
        .collect();
    let summary = format!(
        "{metric} {start} to {end}: {total:.2} {unit}{}\n{}",
        if estimated {
            " (includes estimates)"
        } else {
            ""
        },
        table(&["GROUP", "AMOUNT", "SHARE"], &cells)
    );
    Ok(Reply {
        summary,
        data: BreakdownOutput {
            start: start.to_string(),
            end: end.to_string(),
            metric,
            unit,
            total,
            top: groups,
            rest,
            by_period: by_period_kept.into_iter().collect(),
            estimated,
        },
    })
}

/// Cost Explorer answers HOURLY on an account without hourly data with a ValidationException;
/// that is the caller's choice of granularity, so it reads as an invalid argument.
fn hourly_refused(err: ToolError, granularity: &str) -> ToolError {
    match err {
        ToolError::Backend { detail, .. }
            if granularity == "HOURLY"
                && detail.contains("ValidationException")
                && detail.to_ascii_lowercase().contains("hourly") =>
        {
            ToolError::invalid(
                "granularity",
                format!(
                    "this account has no hourly cost data (enable it in Cost Explorer preferences); use DAILY ({detail})"
                ),
            )
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hourly_on_an_account_without_it_names_granularity() {
        let refused = || {
            ToolError::backend(
                "ce:GetCostAndUsage",
                "ValidationException: Hourly granularity is not enabled for this account",
            )
        };
        let e = hourly_refused(refused(), "HOURLY");
        assert!(e.to_string().contains("`granularity`"), "{e}");
        assert!(matches!(
            hourly_refused(refused(), "DAILY"),
            ToolError::Backend { .. }
        ));
    }

    #[test]
    fn group_keys() {
        assert_eq!(
            parse_group_key("service").unwrap(),
            ("DIMENSION".into(), "SERVICE".into())
        );
        assert_eq!(
            parse_group_key("tag:team").unwrap(),
            ("TAG".into(), "team".into())
        );
        assert_eq!(
            parse_group_key("cost_category:Env").unwrap(),
            ("COST_CATEGORY".into(), "Env".into())
        );
        assert!(parse_group_key("tag:").is_err());
        assert!(
            parse_group_key("AZ")
                .unwrap_err()
                .to_string()
                .contains("`group_by`")
        );
    }
}
