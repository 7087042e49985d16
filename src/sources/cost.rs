//! Live Cost Explorer: GetCostAndUsage with typed group-by and filters, all pages.

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
