//! The gateway's own state: what tests seeded for the stand-ins, the active faults, and the log
//! of requests seen. Seed bodies are the real AWS response shapes; each is checked here when it
//! arrives, so a malformed fixture fails at seeding rather than deep inside an SDK.

use std::collections::BTreeMap;

use serde_json::Value;

use super::control::{Fault, FaultAction, RequestRecord, SeedKind};
use super::json::{at, epoch_seconds, list_at, str_at};
use super::percentile::Sample;

/// Requests kept in the log; older ones are dropped so a long soak cannot grow it without bound.
const LOG_CAPACITY: usize = 10_000;

/// Seeded responses, one field per stand-in family.
#[derive(Debug, Default)]
pub struct Seeds {
    /// EKS `Addon` objects, as in DescribeAddon's `addon`.
    pub addons: Vec<Value>,
    /// EKS `AddonInfo` objects, as in DescribeAddonVersions' `addons`.
    pub addon_infos: Vec<Value>,
    /// EKS `Insight` objects per cluster name, as in DescribeInsight's `insight`.
    pub insights: BTreeMap<String, Vec<Value>>,
    /// A GetCostForecast response.
    pub forecast: Option<Value>,
    /// Cost Explorer `Anomaly` and `AnomalyMonitor` objects.
    pub anomalies: Vec<Value>,
    pub monitors: Vec<Value>,
    /// A GetCostAndUsageComparisons response.
    pub comparisons: Option<Value>,
    /// A GetCostComparisonDrivers response.
    pub drivers: Option<Value>,
    /// Price-list products, parsed from the `PriceList` strings.
    pub products: Vec<Value>,
    /// CloudWatch `AlarmHistoryItem` objects in JSON 1.0 form.
    pub alarm_history: Vec<Value>,
    /// A GetServiceGraph response body (`{"Services": [...]}`).
    pub service_graph: Option<Value>,
}

#[derive(Debug, Default)]
pub struct State {
    pub seeds: Seeds,
    pub faults: Vec<Fault>,
    pub log: Vec<RequestRecord>,
    /// Raw samples of every PutMetricData bridged, for percentile statistics.
    pub samples: Vec<Sample>,
}

/// What the matching faults ask for: a delay, and whether to deny.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FaultPlan {
    pub delay_ms: u64,
    /// The principal to name in AccessDenied, when denied.
    pub deny_as: Option<String>,
}

impl State {
    pub fn record(&mut self, record: RequestRecord) {
        if self.log.len() >= LOG_CAPACITY {
            self.log.remove(0);
        }
        self.log.push(record);
    }

    /// The faults that apply to `(service, operation)`: the longest delay and the first denial.
    pub fn fault_plan(&self, service: &str, operation: &str) -> FaultPlan {
        let mut plan = FaultPlan::default();
        for fault in self.faults.iter().filter(|f| f.matches(service, operation)) {
            match &fault.action {
                FaultAction::Delay { delay_ms } => plan.delay_ms = plan.delay_ms.max(*delay_ms),
                FaultAction::AccessDenied { principal } => {
                    plan.deny_as
                        .get_or_insert_with(|| principal.clone().unwrap_or_else(default_principal));
                }
            }
        }
        plan
    }

    /// Replaces one family's seeded state with `body`, after checking its shape.
    pub fn seed(&mut self, kind: SeedKind, body: Value) -> Result<(), String> {
        let s = &mut self.seeds;
        match kind {
            SeedKind::Addons => {
                s.addons = objects_with(&body, "addons", &["clusterName", "addonName"])?;
                s.addon_infos = objects_with(&body, "addonInfos", &["addonName"])?;
            }
            SeedKind::Insights => {
                let cluster =
                    str_at(&body, &["clusterName"]).ok_or("clusterName (string) is required")?;
                let insights = objects_with(&body, "insights", &["id"])?;
                s.insights.insert(cluster.to_owned(), insights);
            }
            SeedKind::Forecast => s.forecast = Some(checked_forecast(body)?),
            SeedKind::Anomalies => {
                s.anomalies = objects_with(&body, "Anomalies", &["AnomalyId"])?;
                s.monitors = objects_with(&body, "AnomalyMonitors", &["MonitorArn"])?;
            }
            SeedKind::Comparisons => {
                s.comparisons = Some(with_list(body, "CostAndUsageComparisons")?)
            }
            SeedKind::Drivers => s.drivers = Some(with_list(body, "CostComparisonDrivers")?),
            SeedKind::Pricing => s.products = price_list(&body)?,
            SeedKind::AlarmHistory => s.alarm_history = alarm_history(&body)?,
            SeedKind::ServiceGraph => {
                objects_with(&body, "Services", &["Name"])?;
                s.service_graph = Some(body);
            }
        }
        Ok(())
    }
}

/// The principal named in AccessDenied messages when a fault does not say.
pub fn default_principal() -> String {
    format!("arn:aws:sts::{}:assumed-role/x/y", super::errors::ACCOUNT)
}

/// The objects of the optional array `key`, each required to have string members `required`.
fn objects_with(body: &Value, key: &str, required: &[&str]) -> Result<Vec<Value>, String> {
    if at(body, &[key]).is_some_and(|v| !v.is_array()) {
        return Err(format!("{key} must be an array"));
    }
    list_at(body, &[key])
        .iter()
        .enumerate()
        .map(
            |(i, item)| match required.iter().find(|r| str_at(item, &[r]).is_none()) {
                Some(missing) => Err(format!("{key}[{i}].{missing} (string) is required")),
                None => Ok(item.clone()),
            },
        )
        .collect()
}

fn with_list(body: Value, key: &str) -> Result<Value, String> {
    match at(&body, &[key]) {
        Some(Value::Array(_)) => Ok(body),
        _ => Err(format!("{key} (array) is required")),
    }
}

fn checked_forecast(body: Value) -> Result<Value, String> {
    let results = objects_with(&body, "ForecastResultsByTime", &[])?;
    for (i, r) in results.iter().enumerate() {
        if str_at(r, &["TimePeriod", "Start"]).is_none()
            || str_at(r, &["TimePeriod", "End"]).is_none()
        {
            return Err(format!(
                "ForecastResultsByTime[{i}].TimePeriod needs Start and End"
            ));
        }
        if at(r, &["MeanValue"])
            .and_then(super::json::number)
            .is_none()
        {
            return Err(format!(
                "ForecastResultsByTime[{i}].MeanValue must be a number string"
            ));
        }
    }
    with_list(body, "ForecastResultsByTime")
}

/// `PriceList` entries are JSON strings in the real API; objects are accepted too.
fn price_list(body: &Value) -> Result<Vec<Value>, String> {
    let entries = list_at(body, &["PriceList"]);
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let product = match entry {
                Value::String(text) => serde_json::from_str(text)
                    .map_err(|e| format!("PriceList[{i}] is not JSON: {e}"))?,
                other => other.clone(),
            };
            match str_at(&product, &["serviceCode"]) {
                Some(_) => Ok(product),
                None => Err(format!("PriceList[{i}].serviceCode (string) is required")),
            }
        })
        .collect()
}

fn alarm_history(body: &Value) -> Result<Vec<Value>, String> {
    let items = objects_with(body, "AlarmHistoryItems", &["AlarmName"])?;
    match items
        .iter()
        .position(|item| at(item, &["Timestamp"]).and_then(epoch_seconds).is_none())
    {
        Some(i) => Err(format!(
            "AlarmHistoryItems[{i}].Timestamp must be epoch seconds or RFC 3339"
        )),
        None => Ok(items),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seeds_are_checked() {
        let mut state = State::default();
        assert!(
            state
                .seed(SeedKind::Addons, json!({"addons": [{"addonName": "x"}]}))
                .is_err()
        );
        assert!(state.seed(SeedKind::Addons, json!({"addons": {}})).is_err());
        assert!(
            state
                .seed(SeedKind::Insights, json!({"insights": []}))
                .is_err()
        );
        assert!(
            state
                .seed(
                    SeedKind::Forecast,
                    json!({"ForecastResultsByTime": [{"MeanValue": "1"}]})
                )
                .is_err()
        );
        assert!(
            state
                .seed(SeedKind::Pricing, json!({"PriceList": ["{not json"]}))
                .is_err()
        );
        assert!(
            state
                .seed(
                    SeedKind::AlarmHistory,
                    json!({"AlarmHistoryItems": [{"AlarmName": "a", "Timestamp": "soon"}]})
                )
                .is_err()
        );
        assert!(state.seed(SeedKind::Drivers, json!({})).is_err());
        state.seed(SeedKind::Pricing, json!({"PriceList": ["{\"serviceCode\":\"AmazonEC2\"}", {"serviceCode": "AmazonEKS"}]})).unwrap();
        assert_eq!(state.seeds.products.len(), 2);
    }

    #[test]
    fn fault_plan_combines_matching_faults() {
        let mut state = State::default();
        state.faults.push(Fault::delay("eks", "*", 50));
        state
            .faults
            .push(Fault::delay("eks", "DescribeCluster", 20));
        state
            .faults
            .push(Fault::access_denied("eks", "DescribeCluster"));
        let plan = state.fault_plan("eks", "DescribeCluster");
        assert_eq!(
            plan,
            FaultPlan {
                delay_ms: 50,
                deny_as: Some(default_principal())
            }
        );
        assert_eq!(state.fault_plan("eks", "ListClusters").deny_as, None);
        assert_eq!(
            state.fault_plan("ce", "GetCostForecast"),
            FaultPlan::default()
        );
    }

    #[test]
    fn log_is_bounded() {
        let mut state = State::default();
        for i in 0..LOG_CAPACITY + 5 {
            state.record(RequestRecord {
                path: i.to_string(),
                ..RequestRecord::default()
            });
        }
        assert_eq!(state.log.len(), LOG_CAPACITY);
        assert_eq!(state.log[0].path, "5");
    }
}
