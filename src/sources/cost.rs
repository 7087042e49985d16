//! Live Cost Explorer: GetCostAndUsage with typed group-by and filters, all pages; period
//! comparisons and their drivers, forecasts with prediction intervals, and anomaly findings.

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_costexplorer::types::{
    DateInterval, Expression, Granularity, GroupDefinition, GroupDefinitionType,
};

use super::aws::map_sdk_error;
use super::{CostRequest, CostRow, CostSource};
use crate::error::{ToolError, ToolResult};

pub struct LiveCost {
    client: aws_sdk_costexplorer::Client,
}

impl LiveCost {
    pub fn new(sdk: &SdkConfig) -> Self {
        LiveCost {
            client: aws_sdk_costexplorer::Client::new(sdk),
        }
    }
}

#[async_trait]
impl CostSource for LiveCost {
    async fn cost_and_usage(&self, req: &CostRequest) -> ToolResult<Vec<CostRow>> {
        let period = DateInterval::builder()
            .start(&req.start)
            .end(&req.end)
            .build()
            .map_err(|e| ToolError::invalid("start", e.to_string()))?;
        let groups = req
            .group_by
            .iter()
            .map(|(t, k)| {
                GroupDefinition::builder()
                    .r#type(GroupDefinitionType::from(t.as_str()))
                    .key(k)
                    .build()
            })
            .collect::<Vec<_>>();
        let filter = req.filter.as_ref().map(expression_from_json).transpose()?;
        let mut rows = Vec::new();
        let mut token = None;
        for _ in 0..50 {
            let out = self
                .client
                .get_cost_and_usage()
                .time_period(period.clone())
                .granularity(Granularity::from(req.granularity.as_str()))
                .metrics(&req.metric)
                .set_group_by((!groups.is_empty()).then(|| groups.clone()))
                .set_filter(filter.clone())
                .set_next_page_token(token)
                .send()
                .await
                .map_err(|e| map_sdk_error("ce:GetCostAndUsage", e))?;
            for result in out.results_by_time() {
                let (start, end) = result
                    .time_period()
                    .map(|p| (p.start().to_string(), p.end().to_string()))
                    .unwrap_or_default();
                let metric_of = |m: Option<
                    &std::collections::HashMap<String, aws_sdk_costexplorer::types::MetricValue>,
                >| {
                    m.and_then(|m| m.get(&req.metric)).map(|v| {
                        (
                            v.amount()
                                .and_then(|a| a.parse::<f64>().ok())
                                .unwrap_or(0.0),
                            v.unit().unwrap_or("USD").to_string(),
                        )
                    })
                };
                if result.groups().is_empty()
                    && let Some((amount, unit)) = metric_of(result.total())
                {
                    {
                        rows.push(CostRow {
                            start: start.clone(),
                            end: end.clone(),
                            keys: Vec::new(),
                            amount,
                            unit,
                            estimated: result.estimated(),
                        });
                    }
                }
                for g in result.groups() {
                    if let Some((amount, unit)) = metric_of(g.metrics()) {
                        rows.push(CostRow {
                            start: start.clone(),
                            end: end.clone(),
                            keys: g.keys().to_vec(),
                            amount,
                            unit,
                            estimated: result.estimated(),
                        });
                    }
                }
            }
            token = out.next_page_token;
            if token.is_none() {
                break;
            }
        }
        Ok(rows)
    }
}

/// Builds a Cost Explorer expression from its JSON shape (And/Or/Not/Dimensions/Tags/CostCategories).
pub fn expression_from_json(v: &serde_json::Value) -> ToolResult<Expression> {
    const KEYS: [&str; 6] = ["And", "Or", "Not", "Dimensions", "Tags", "CostCategories"];
    let Some(map) = v.as_object() else {
        return Err(ToolError::invalid(
            "filter",
            "must be an expression object (not a string or list)",
        ));
    };
    if let Some(k) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(ToolError::invalid(
            format!("filter.{k}"),
            format!("is not an expression key; use {}", KEYS.join(", ")),
        ));
    }
    use aws_sdk_costexplorer::types::{CostCategoryValues, Dimension, DimensionValues, TagValues};
    let strings = |v: Option<&serde_json::Value>| -> Vec<String> {
        v.and_then(|x| x.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut b = Expression::builder();
    if let Some(items) = v.get("And").and_then(|x| x.as_array()) {
        b = b.set_and(Some(
            items
                .iter()
                .map(expression_from_json)
                .collect::<ToolResult<Vec<_>>>()?,
        ));
    }
    if let Some(items) = v.get("Or").and_then(|x| x.as_array()) {
        b = b.set_or(Some(
            items
                .iter()
                .map(expression_from_json)
                .collect::<ToolResult<Vec<_>>>()?,
        ));
    }
    if let Some(inner) = v.get("Not") {
        b = b.not(expression_from_json(inner)?);
    }
    if let Some(d) = v.get("Dimensions") {
        let key = d
            .get("Key")
            .and_then(|k| k.as_str())
            .ok_or_else(|| ToolError::invalid("filter.Dimensions.Key", "is required"))?;
        b = b.dimensions(
            DimensionValues::builder()
                .key(Dimension::from(key))
                .set_values(Some(strings(d.get("Values"))))
                .build(),
        );
    }
    if let Some(t) = v.get("Tags") {
        b = b.tags(
            TagValues::builder()
                .set_key(t.get("Key").and_then(|k| k.as_str()).map(String::from))
                .set_values(Some(strings(t.get("Values"))))
                .build(),
        );
    }
    if let Some(c) = v.get("CostCategories") {
        b = b.cost_categories(
            CostCategoryValues::builder()
                .set_key(c.get("Key").and_then(|k| k.as_str()).map(String::from))
                .set_values(Some(strings(c.get("Values"))))
                .build(),
        );
    }
    Ok(b.build())
}

/// One group's cost in two periods, and what drove the change when Cost Explorer says.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct GroupComparison {
    pub key: String,
    pub baseline: f64,
    pub comparison: f64,
    /// `(type, name, difference)` from GetCostComparisonDrivers, largest first.
    pub drivers: Vec<(String, String, f64)>,
}

/// One forecast period with its prediction interval.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct ForecastPeriod {
    pub start: String,
    pub mean: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// A Cost Anomaly Detection finding.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct CostAnomaly {
    pub id: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub monitor: String,
    /// What the monitor watches (a service, account or cost category value).
    pub dimension: Option<String>,
    pub total_impact: f64,
    pub impact_percent: Option<f64>,
    pub root_causes: Vec<RootCause>,
}

/// Where Cost Anomaly Detection places an anomaly.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct RootCause {
    pub service: Option<String>,
    pub usage_type: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    pub contribution: Option<f64>,
}

fn interval(start: &str, end: &str) -> ToolResult<DateInterval> {
    DateInterval::builder()
        .start(start)
        .end(end)
        .build()
        .map_err(|e| ToolError::invalid("start", e.to_string()))
}

fn amount(v: Option<&str>) -> f64 {
    v.and_then(|a| a.parse::<f64>().ok())
        .filter(|a| a.is_finite())
        .unwrap_or(0.0)
}

/// The group value a comparison selector names (its first dimension, tag or category value).
fn selector_key(e: Option<&Expression>) -> String {
    let Some(e) = e else {
        return "(total)".into();
    };
    e.dimensions()
        .and_then(|d| d.values().first().cloned())
        .or_else(|| e.tags().and_then(|t| t.values().first().cloned()))
        .or_else(|| {
            e.cost_categories()
                .and_then(|c| c.values().first().cloned())
        })
        .unwrap_or_else(|| "(other)".into())
}

type MetricMap =
    std::collections::HashMap<String, aws_sdk_costexplorer::types::ComparisonMetricValue>;

fn compared(m: Option<&MetricMap>, metric: &str) -> (f64, f64) {
    m.and_then(|m| m.get(metric))
        .map(|v| {
            (
                amount(v.baseline_time_period_amount()),
                amount(v.comparison_time_period_amount()),
            )
        })
        .unwrap_or((0.0, 0.0))
}

impl LiveCost {
    /// GetCostAndUsageComparisons grouped by `group` (type, key), all pages, with drivers
    /// from GetCostComparisonDrivers when the account serves them.
    pub async fn comparisons(
        &self,
        baseline: (&str, &str),
        comparison: (&str, &str),
        metric: &str,
        group: &(String, String),
    ) -> ToolResult<Vec<GroupComparison>> {
        let group_def = GroupDefinition::builder()
            .r#type(GroupDefinitionType::from(group.0.as_str()))
            .key(&group.1)
            .build();
        let (b, c) = (
            interval(baseline.0, baseline.1)?,
            interval(comparison.0, comparison.1)?,
        );
        let mut out = Vec::new();
        let mut token = None;
        for _ in 0..20 {
            let page = self
                .client
                .get_cost_and_usage_comparisons()
                .baseline_time_period(b.clone())
                .comparison_time_period(c.clone())
                .metric_for_comparison(metric)
                .group_by(group_def.clone())
                .set_next_page_token(token)
                .send()
                .await
                .map_err(|e| map_sdk_error("ce:GetCostAndUsageComparisons", e))?;
            for row in page.cost_and_usage_comparisons() {
                let (baseline, comparison) = compared(row.metrics(), metric);
                out.push(GroupComparison {
                    key: selector_key(row.cost_and_usage_selector()),
                    baseline,
                    comparison,
                    drivers: Vec::new(),
                });
            }
            token = page.next_page_token;
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }

    /// GetCostComparisonDrivers: per group key, the drivers of the change.
    pub async fn drivers(
        &self,
        baseline: (&str, &str),
        comparison: (&str, &str),
        metric: &str,
        group: &(String, String),
    ) -> ToolResult<Vec<GroupComparison>> {
        let out = self
            .client
            .get_cost_comparison_drivers()
            .baseline_time_period(interval(baseline.0, baseline.1)?)
            .comparison_time_period(interval(comparison.0, comparison.1)?)
            .metric_for_comparison(metric)
            .group_by(
                GroupDefinition::builder()
                    .r#type(GroupDefinitionType::from(group.0.as_str()))
                    .key(&group.1)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| map_sdk_error("ce:GetCostComparisonDrivers", e))?;
        Ok(out
            .cost_comparison_drivers()
            .iter()
            .map(|d| {
                let (baseline, comparison) = compared(d.metrics(), metric);
                let mut drivers: Vec<(String, String, f64)> = d
                    .cost_drivers()
                    .iter()
                    .map(|c| {
                        let (b, n) = compared(c.metrics(), metric);
                        (
                            c.r#type().unwrap_or("").to_string(),
                            c.name().unwrap_or("").to_string(),
                            n - b,
                        )
                    })
                    .collect();
                drivers.sort_by(|x, y| y.2.abs().total_cmp(&x.2.abs()));
                GroupComparison {
                    key: selector_key(d.cost_selector()),
                    baseline,
                    comparison,
                    drivers,
                }
            })
            .collect())
    }

    /// GetCostForecast for `[start, end)` at `level` % prediction interval; `metric` in the
    /// forecast API's spelling (UNBLENDED_COST).
    pub async fn forecast(
        &self,
        start: &str,
        end: &str,
        metric: &str,
        level: i32,
    ) -> ToolResult<(f64, Vec<ForecastPeriod>)> {
        let out = self
            .client
            .get_cost_forecast()
            .time_period(interval(start, end)?)
            .metric(aws_sdk_costexplorer::types::Metric::from(metric))
            .granularity(Granularity::Daily)
            .prediction_interval_level(level)
            .send()
            .await
            .map_err(|e| map_sdk_error("ce:GetCostForecast", e))?;
        let periods = out
            .forecast_results_by_time()
            .iter()
            .map(|r| ForecastPeriod {
                start: r
                    .time_period()
                    .map(|p| p.start().to_string())
                    .unwrap_or_default(),
                mean: amount(r.mean_value()),
                lower: r
                    .prediction_interval_lower_bound()
                    .and_then(|v| v.parse().ok()),
                upper: r
                    .prediction_interval_upper_bound()
                    .and_then(|v| v.parse().ok()),
            })
            .collect();
        Ok((amount(out.total().and_then(|t| t.amount())), periods))
    }

    /// GetAnomalies that started in `[start, end]`, all pages.
    pub async fn anomalies(&self, start: &str, end: &str) -> ToolResult<Vec<CostAnomaly>> {
        let window = aws_sdk_costexplorer::types::AnomalyDateInterval::builder()
            .start_date(start)
            .end_date(end)
            .build()
            .map_err(|e| ToolError::invalid("start", e.to_string()))?;
        let mut out = Vec::new();
        let mut token = None;
        for _ in 0..20 {
            let page = self
                .client
                .get_anomalies()
                .date_interval(window.clone())
                .set_next_page_token(token)
                .send()
                .await
                .map_err(|e| map_sdk_error("ce:GetAnomalies", e))?;
            out.extend(page.anomalies().iter().map(anomaly));
            token = page.next_page_token;
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }
}

fn anomaly(a: &aws_sdk_costexplorer::types::Anomaly) -> CostAnomaly {
    CostAnomaly {
        id: a.anomaly_id().to_string(),
        start: a.anomaly_start_date().map(String::from),
        end: a.anomaly_end_date().map(String::from),
        monitor: a.monitor_arn().to_string(),
        dimension: a.dimension_value().map(String::from),
        total_impact: a.impact().map(|i| i.total_impact()).unwrap_or(0.0),
        impact_percent: a.impact().and_then(|i| i.total_impact_percentage()),
        root_causes: a
            .root_causes()
            .iter()
            .map(|r| RootCause {
                service: r.service().map(String::from),
                usage_type: r.usage_type().map(String::from),
                region: r.region().map(String::from),
                account: r.linked_account().map(String::from),
                contribution: r.impact().map(|i| i.contribution()),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_are_objects_with_known_keys() {
        let ok = json!({"And": [{"Dimensions": {"Key": "SERVICE", "Values": ["Amazon EC2"]}},
                                {"Not": {"Tags": {"Key": "team", "Values": ["ops"]}}}]});
        let e = expression_from_json(&ok).unwrap();
        assert_eq!(e.and().len(), 2);
        let err = |v: serde_json::Value| expression_from_json(&v).unwrap_err().to_string();
        assert!(err(json!("{\"Dimensions\":{}}")).contains("`filter`"));
        assert!(err(json!({"Dimension": {}})).contains("`filter.Dimension`"));
        assert!(err(json!({"Or": [{"Tags": {}}, "x"]})).contains("`filter`"));
        assert!(err(json!({"Dimensions": {"Values": []}})).contains("`filter.Dimensions.Key`"));
    }
}
