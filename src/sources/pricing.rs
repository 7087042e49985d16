//! Node prices for cost allocation: on-demand hourly prices from the Price List query API
//! (GetProducts, Linux, shared tenancy) live, or a bundle's `cost/node_prices.json` offline.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_pricing::types::{Filter, FilterType};
use serde::Deserialize;
use serde_json::Value;

use super::aws::map_sdk_error;
use super::snapshot::Bundle;
use crate::error::{ToolError, ToolResult};

/// USD per hour by instance type.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct NodePrices {
    #[serde(default)]
    pub on_demand: BTreeMap<String, f64>,
    /// Spot prices where the source knows them; otherwise callers apply a discount.
    #[serde(default)]
    pub spot: BTreeMap<String, f64>,
    /// Where the prices came from, for summaries.
    #[serde(default)]
    pub source: String,
}

/// Instance prices.
#[async_trait]
pub trait PricingSource: Send + Sync {
    /// Prices of `types` in `region`; a type that cannot be priced is absent.
    async fn node_prices(&self, region: &str, types: &[String]) -> ToolResult<NodePrices>;
}

pub struct LivePricing {
    client: aws_sdk_pricing::Client,
}

impl LivePricing {
    /// The Price List API answers in us-east-1 whatever region the prices are for.
    pub fn new(sdk: &SdkConfig) -> Self {
        let config = aws_sdk_pricing::config::Builder::from(sdk)
            .region(aws_config::Region::new("us-east-1"))
            .build();
        LivePricing {
            client: aws_sdk_pricing::Client::from_conf(config),
        }
    }

    async fn on_demand(&self, region: &str, instance_type: &str) -> ToolResult<Option<f64>> {
        let term = |field: &str, value: &str| {
            Filter::builder()
                .r#type(FilterType::TermMatch)
                .field(field)
                .value(value)
                .build()
                .map_err(|e| ToolError::backend("pricing:GetProducts", e))
        };
        let out = self
            .client
            .get_products()
            .service_code("AmazonEC2")
            .filters(term("instanceType", instance_type)?)
            .filters(term("regionCode", region)?)
            .filters(term("operatingSystem", "Linux")?)
            .filters(term("tenancy", "Shared")?)
            .filters(term("preInstalledSw", "NA")?)
            .filters(term("capacitystatus", "Used")?)
            .max_results(10)
            .send()
            .await
            .map_err(|e| map_sdk_error("pricing:GetProducts", e))?;
        Ok(out.price_list().iter().find_map(|p| on_demand_price(p)))
    }
}

#[async_trait]
impl PricingSource for LivePricing {
    async fn node_prices(&self, region: &str, types: &[String]) -> ToolResult<NodePrices> {
        let mut prices = NodePrices {
            source: format!("Price List API, {region}"),
            ..NodePrices::default()
        };
        for t in types {
            if let Some(p) = self.on_demand(region, t).await? {
                prices.on_demand.insert(t.clone(), p);
            }
        }
        Ok(prices)
    }
}

/// The first positive USD price in a product document's on-demand terms.
pub fn on_demand_price(product_json: &str) -> Option<f64> {
    let doc: Value = serde_json::from_str(product_json).ok()?;
    let offers = doc.pointer("/terms/OnDemand")?.as_object()?;
    offers
        .values()
        .filter_map(|o| o.get("priceDimensions")?.as_object())
        .flat_map(|dims| dims.values())
        .filter_map(|d| {
            d.pointer("/pricePerUnit/USD")?
                .as_str()?
                .parse::<f64>()
                .ok()
        })
        .find(|p| p.is_finite() && *p > 0.0)
}

#[async_trait]
impl PricingSource for Bundle {
    async fn node_prices(&self, region: &str, types: &[String]) -> ToolResult<NodePrices> {
        let text =
            self.read_file("cost/node_prices.json")
                .ok_or_else(|| {
                    ToolError::NotConfigured {
                what: "node prices".into(),
                how: "this bundle has no cost/node_prices.json (see examples/snapshots/README.md)"
                    .into(),
            }
                })?;
        let mut prices: NodePrices = serde_json::from_str(&text)
            .map_err(|e| ToolError::backend("snapshot cost/node_prices.json", e))?;
        prices
            .on_demand
            .retain(|t, p| types.contains(t) && p.is_finite() && *p >= 0.0);
        prices
            .spot
            .retain(|t, p| types.contains(t) && p.is_finite() && *p >= 0.0);
        prices.source = format!("snapshot cost/node_prices.json, {region}");
        Ok(prices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_from_a_product_document() {
        let doc = r#"{"product":{"sku":"X"},"terms":{"OnDemand":{"X.JRTCKXETXF":{"priceDimensions":
            {"X.JRTCKXETXF.6YS6EN2CT7":{"unit":"Hrs","pricePerUnit":{"USD":"0.1920000000"}}}}}}}"#;
        assert_eq!(on_demand_price(doc), Some(0.192));
        assert_eq!(on_demand_price(r#"{"terms":{}}"#), None);
        assert_eq!(on_demand_price("not json"), None);
    }
}
