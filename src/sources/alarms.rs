//! CloudWatch alarms: DescribeAlarms (metric and composite) and DescribeAlarmHistory, live
//! through the SDK or from a bundle's `alarms/alarms.json`, which holds the same API shapes.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_cloudwatch::types::{AlarmType, HistoryItemType, ScanBy, StateValue};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::aws::map_sdk_error;
use super::snapshot::Bundle;
use crate::error::{ToolError, ToolResult};
use crate::time::Window;

/// One alarm, metric or composite.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Alarm {
    pub name: String,
    /// `metric` or `composite`.
    pub kind: String,
    pub state: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_updated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
    /// Statistic or extended statistic (p99).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation_periods: Option<i32>,
    /// A composite alarm's rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// One DescribeAlarmHistory item.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AlarmHistory {
    pub alarm: String,
    pub timestamp: String,
    pub kind: String,
    pub summary: String,
}

/// Which alarms to describe.
#[derive(Debug, Clone, Default)]
pub struct AlarmFilter {
    /// ALARM, OK, INSUFFICIENT_DATA; empty for all.
    pub states: Vec<String>,
    pub name_prefix: Option<String>,
}

impl AlarmFilter {
    pub fn matches(&self, a: &Alarm) -> bool {
        (self.states.is_empty() || self.states.contains(&a.state))
            && self
                .name_prefix
                .as_ref()
                .is_none_or(|p| a.name.starts_with(p.as_str()))
    }
}

#[async_trait]
pub trait AlarmsSource: Send + Sync {
    async fn alarms(&self, filter: &AlarmFilter) -> ToolResult<Vec<Alarm>>;
    /// State changes in the window, newest first, for one alarm or all.
    async fn history(&self, alarm: Option<&str>, window: Window) -> ToolResult<Vec<AlarmHistory>>;
}

pub struct LiveAlarms {
    client: aws_sdk_cloudwatch::Client,
}

impl LiveAlarms {
    pub fn new(sdk: &SdkConfig) -> Self {
        LiveAlarms {
            client: aws_sdk_cloudwatch::Client::new(sdk),
        }
    }

    async fn describe(&self, state: Option<&str>, filter: &AlarmFilter) -> ToolResult<Vec<Alarm>> {
        let mut out = Vec::new();
        let mut next = None;
        for _ in 0..50 {
            let page = self
                .client
                .describe_alarms()
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .set_state_value(state.map(StateValue::from))
                .set_alarm_name_prefix(filter.name_prefix.clone())
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| map_sdk_error("cloudwatch:DescribeAlarms", e))?;
            out.extend(page.metric_alarms().iter().map(from_metric_alarm));
            out.extend(page.composite_alarms().iter().map(from_composite_alarm));
            next = page.next_token;
            if next.is_none() {
                break;
            }
        }
        Ok(out)
    }
}

fn time_text(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    let ms = t?.to_millis().ok()?;
    DateTime::<Utc>::from_timestamp_millis(ms).map(|d| d.to_rfc3339())
}

fn from_metric_alarm(a: &aws_sdk_cloudwatch::types::MetricAlarm) -> Alarm {
    // An alarm on a math expression names its metrics in `metrics`; show the first stat's.
    let stat_metric = a
        .metrics()
        .iter()
        .find_map(|q| q.metric_stat())
        .and_then(|s| s.metric());
    let dims = match stat_metric {
        Some(m) if a.metric_name().is_none() => m.dimensions(),
        _ => a.dimensions(),
    };
    Alarm {
        name: a.alarm_name().unwrap_or_default().to_string(),
        kind: "metric".into(),
        state: a
            .state_value()
            .map(|s| s.as_str())
            .unwrap_or("")
            .to_string(),
        reason: a.state_reason().unwrap_or_default().to_string(),
        state_updated: time_text(a.state_updated_timestamp()),
        description: a.alarm_description().map(str::to_string),
        namespace: a
            .namespace()
            .or(stat_metric.and_then(|m| m.namespace()))
            .map(str::to_string),
        metric_name: a
            .metric_name()
            .or(stat_metric.and_then(|m| m.metric_name()))
            .map(str::to_string),
        dimensions: dims
            .iter()
            .filter_map(|d| Some((d.name()?.to_string(), d.value()?.to_string())))
            .collect(),
        statistic: a
            .statistic()
            .map(|s| s.as_str().to_string())
            .or(a.extended_statistic().map(str::to_string)),
        period: a.period(),
        threshold: a.threshold(),
        comparison: a.comparison_operator().map(|c| c.as_str().to_string()),
        evaluation_periods: a.evaluation_periods(),
        rule: None,
    }
}

fn from_composite_alarm(a: &aws_sdk_cloudwatch::types::CompositeAlarm) -> Alarm {
    Alarm {
        name: a.alarm_name().unwrap_or_default().to_string(),
        kind: "composite".into(),
        state: a
            .state_value()
            .map(|s| s.as_str())
            .unwrap_or("")
            .to_string(),
        reason: a.state_reason().unwrap_or_default().to_string(),
        state_updated: time_text(a.state_updated_timestamp()),
        description: a.alarm_description().map(str::to_string),
        namespace: None,
        metric_name: None,
        dimensions: BTreeMap::new(),
        statistic: None,
        period: None,
        threshold: None,
        comparison: None,
        evaluation_periods: None,
        rule: a.alarm_rule().map(str::to_string),
    }
}

#[async_trait]
impl AlarmsSource for LiveAlarms {
    async fn alarms(&self, filter: &AlarmFilter) -> ToolResult<Vec<Alarm>> {
        // DescribeAlarms takes one state per call.
        let mut out = Vec::new();
        if filter.states.is_empty() {
            out = self.describe(None, filter).await?;
        }
        for state in &filter.states {
            out.extend(self.describe(Some(state), filter).await?);
        }
        // Some endpoints ignore StateValue; keep each alarm once, in the states asked for.
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|a| filter.matches(a) && seen.insert(a.name.clone()));
        Ok(out)
    }

    async fn history(&self, alarm: Option<&str>, window: Window) -> ToolResult<Vec<AlarmHistory>> {
        let mut out = Vec::new();
        let mut next = None;
        for _ in 0..10 {
            let page = self
                .client
                .describe_alarm_history()
                .set_alarm_name(alarm.map(str::to_string))
                .alarm_types(AlarmType::MetricAlarm)
                .alarm_types(AlarmType::CompositeAlarm)
                .history_item_type(HistoryItemType::StateUpdate)
                .start_date(aws_smithy_types::DateTime::from_millis(window.start_ms()))
                .end_date(aws_smithy_types::DateTime::from_millis(window.end_ms()))
                .scan_by(ScanBy::TimestampDescending)
                .max_records(100)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| map_sdk_error("cloudwatch:DescribeAlarmHistory", e))?;
            out.extend(page.alarm_history_items().iter().map(|h| {
                AlarmHistory {
                    alarm: h.alarm_name().unwrap_or_default().to_string(),
                    timestamp: time_text(h.timestamp()).unwrap_or_default(),
                    kind: h
                        .history_item_type()
                        .map(|k| k.as_str().to_string())
                        .unwrap_or_default(),
                    summary: h.history_summary().unwrap_or_default().to_string(),
                }
            }));
            next = page.next_token;
            if next.is_none() {
                break;
            }
        }
        Ok(out)
    }
}

/// The bundle's `alarms/alarms.json`: `MetricAlarms`, `CompositeAlarms` and `AlarmHistoryItems`
/// as the DescribeAlarms and DescribeAlarmHistory JSON responses spell them.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmsFile {
    #[serde(default)]
    pub metric_alarms: Vec<Value>,
    #[serde(default)]
    pub composite_alarms: Vec<Value>,
    #[serde(default)]
    pub alarm_history_items: Vec<Value>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Parses an alarm in DescribeAlarms JSON shape.
pub fn alarm_from_json(v: &Value, composite: bool) -> Alarm {
    let dimensions = v
        .get("Dimensions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| Some((text(d, "Name")?, text(d, "Value")?)))
        .collect();
    Alarm {
        name: text(v, "AlarmName").unwrap_or_default(),
        kind: if composite { "composite" } else { "metric" }.into(),
        state: text(v, "StateValue").unwrap_or_default(),
        reason: text(v, "StateReason").unwrap_or_default(),
        state_updated: text(v, "StateUpdatedTimestamp"),
        description: text(v, "AlarmDescription"),
        namespace: text(v, "Namespace"),
        metric_name: text(v, "MetricName"),
        dimensions,
        statistic: text(v, "Statistic").or(text(v, "ExtendedStatistic")),
        period: v.get("Period").and_then(Value::as_i64).map(|p| p as i32),
        threshold: v.get("Threshold").and_then(Value::as_f64),
        comparison: text(v, "ComparisonOperator"),
        evaluation_periods: v
            .get("EvaluationPeriods")
            .and_then(Value::as_i64)
            .map(|p| p as i32),
        rule: text(v, "AlarmRule"),
    }
}

impl Bundle {
    fn alarms_file(&self) -> ToolResult<AlarmsFile> {
        match self.read_file("alarms/alarms.json") {
            None => Ok(AlarmsFile::default()),
            Some(t) => serde_json::from_str(&t)
                .map_err(|e| ToolError::backend("snapshot alarms/alarms.json", e)),
        }
    }
}

#[async_trait]
impl AlarmsSource for Bundle {
    async fn alarms(&self, filter: &AlarmFilter) -> ToolResult<Vec<Alarm>> {
        let file = self.alarms_file()?;
        let metric = file.metric_alarms.iter().map(|v| alarm_from_json(v, false));
        let composite = file
            .composite_alarms
            .iter()
            .map(|v| alarm_from_json(v, true));
        Ok(metric
            .chain(composite)
            .filter(|a| filter.matches(a))
            .collect())
    }

    async fn history(&self, alarm: Option<&str>, window: Window) -> ToolResult<Vec<AlarmHistory>> {
        let file = self.alarms_file()?;
        let mut out: Vec<(DateTime<Utc>, AlarmHistory)> = file
            .alarm_history_items
            .iter()
            .filter_map(|h| {
                let at = DateTime::parse_from_rfc3339(&text(h, "Timestamp")?)
                    .ok()?
                    .with_timezone(&Utc);
                Some((
                    at,
                    AlarmHistory {
                        alarm: text(h, "AlarmName")?,
                        timestamp: at.to_rfc3339(),
                        kind: text(h, "HistoryItemType").unwrap_or_default(),
                        summary: text(h, "HistorySummary").unwrap_or_default(),
                    },
                ))
            })
            .filter(|(at, h)| window.contains(*at) && alarm.is_none_or(|a| a == h.alarm))
            .collect();
        out.sort_by_key(|h| std::cmp::Reverse(h.0));
        Ok(out.into_iter().map(|(_, h)| h).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_describe_alarms_json() {
        let a = alarm_from_json(
            &json!({"AlarmName": "x", "StateValue": "ALARM", "MetricName": "m", "Namespace": "AWS/ELB",
                    "Dimensions": [{"Name": "LoadBalancer", "Value": "lb"}], "ExtendedStatistic": "p99",
                    "Threshold": 1.5, "Period": 60}),
            false,
        );
        assert_eq!(a.statistic.as_deref(), Some("p99"));
        assert_eq!(a.dimensions["LoadBalancer"], "lb");
        assert_eq!(a.threshold, Some(1.5));
        let c = alarm_from_json(&json!({"AlarmName": "c", "AlarmRule": "ALARM(x)"}), true);
        assert_eq!(c.kind, "composite");
        let f = AlarmFilter {
            states: vec!["ALARM".into()],
            name_prefix: Some("x".into()),
        };
        assert!(f.matches(&a) && !f.matches(&c));
        // Garbage in any field is an empty alarm, not a panic.
        let g = alarm_from_json(&json!({"Period": "soon", "Dimensions": 3}), false);
        assert!(g.name.is_empty() && g.period.is_none());
    }
}
