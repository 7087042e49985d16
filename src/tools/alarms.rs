//! CloudWatch discovery tools: `cloudwatch_get_alarms` (active metric and composite alarms, their
//! history and the metric behind each) and `cloudwatch_list_metrics` (ListMetrics de-duplicated,
//! plus a guide from Kubernetes objects to Container Insights metrics and dimensions).

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::metrics::{Summary, auto_period};
use super::params::{AwsArgs, in_range};
use super::{Context, READ, Reply, ToolDef};
use crate::error::{ToolError, ToolResult};
use crate::output::{Budget, Truncation};
use crate::sources::MetricQuery;
use crate::sources::alarms::{Alarm, AlarmFilter, AlarmHistory};
use crate::sources::container_insights::{MetricFilter, MetricId};
use crate::time::{Window, resolve_window};

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "cloudwatch_get_alarms",
            "CloudWatch alarms",
            "Active CloudWatch alarms (ALARM and INSUFFICIENT_DATA by default), metric and composite, filtered by name prefix or metric namespace. Each metric alarm comes with its threshold and a summary of the metric behind it over the window; `history` adds state changes.",
            READ,
            get_alarms,
        ),
        ToolDef::new(
            "cloudwatch_list_metrics",
            "List CloudWatch metrics",
            "ListMetrics de-duplicated, filtered by namespace, metric name and dimensions (a value of \"*\" means any). `guide: true` maps pods, nodes, namespaces, services and clusters to their Container Insights metrics and dimensions.",
            READ,
            list_metrics,
        ),
    ]
}

const STATES: [&str; 3] = ["ALARM", "INSUFFICIENT_DATA", "OK"];
/// Metric alarms whose metric is fetched; each is one GetMetricData query.
const MAX_METRIC_LOOKUPS: usize = 10;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlarmParams {
    /// ALARM, INSUFFICIENT_DATA, OK; default ALARM and INSUFFICIENT_DATA.
    pub states: Option<Vec<String>>,
    pub name_prefix: Option<String>,
    /// Metric namespace, e.g. ContainerInsights; composites stay when their rule names a match.
    pub namespace: Option<String>,
    /// Add state changes in the window (DescribeAlarmHistory).
    pub history: Option<bool>,
    /// Summarise the metric behind each metric alarm (default true).
    pub include_metric: Option<bool>,
    /// Duration (`3h`) or time; default 3h.
    pub since: Option<String>,
    pub until: Option<String>,
    #[serde(flatten)]
    pub aws: AwsArgs,
}

/// The metric behind an alarm over the window, at the alarm's statistic and period.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlarmMetric {
    pub summary: Summary,
    /// Datapoints on the alarming side of the threshold.
    pub breaching_points: usize,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlarmOut {
    #[serde(flatten)]
    pub alarm: Alarm,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<AlarmMetric>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AlarmsOutput {
    /// Matching alarms per state.
    pub counts: BTreeMap<String, usize>,
    pub alarms: Vec<AlarmOut>,
    pub history: Vec<AlarmHistory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
}

fn states_arg(states: Option<&[String]>) -> ToolResult<Vec<String>> {
    let Some(states) = states.filter(|s| !s.is_empty()) else {
        return Ok(vec!["ALARM".into(), "INSUFFICIENT_DATA".into()]);
    };
    states
        .iter()
        .map(|s| {
            let up = s.trim().to_ascii_uppercase();
            if STATES.contains(&up.as_str()) {
                Ok(up)
            } else {
                Err(ToolError::invalid(
                    "states",
                    format!("`{s}` is not an alarm state; use {}", STATES.join(", ")),
                ))
            }
        })
        .collect()
}

/// Keeps metric alarms in `namespace` and the composites whose rule names one of them.
fn by_namespace(alarms: Vec<Alarm>, namespace: Option<&str>) -> Vec<Alarm> {
    let Some(ns) = namespace else { return alarms };
    let kept: Vec<String> = alarms
        .iter()
        .filter(|a| a.namespace.as_deref() == Some(ns))
        .map(|a| a.name.clone())
        .collect();
    alarms
        .into_iter()
        .filter(|a| match &a.rule {
            Some(rule) => kept.iter().any(|k| rule.contains(&format!("\"{k}\""))),
            None => kept.contains(&a.name),
        })
        .collect()
}

/// Whether a value is on the alarming side of the alarm's threshold.
fn breaches(alarm: &Alarm, v: f64) -> bool {
    let Some(t) = alarm.threshold else {
        return false;
    };
    match alarm.comparison.as_deref() {
        Some("GreaterThanOrEqualToThreshold") => v >= t,
        Some("GreaterThanThreshold") => v > t,
        Some("LessThanThreshold") => v < t,
        Some("LessThanOrEqualToThreshold") => v <= t,
        _ => false,
    }
}

async fn alarm_metric(
    ctx: &Context,
    aws: &AwsArgs,
    alarm: &Alarm,
    window: Window,
) -> ToolResult<Option<AlarmMetric>> {
    let (Some(namespace), Some(metric_name)) = (&alarm.namespace, &alarm.metric_name) else {
        return Ok(None);
    };
    let query = MetricQuery {
        namespace: namespace.clone(),
        metric_name: metric_name.clone(),
        dimensions: alarm.dimensions.clone().into_iter().collect(),
        stat: alarm.statistic.clone().unwrap_or_else(|| "Average".into()),
        period_secs: alarm
            .period
            .filter(|p| *p > 0)
            .unwrap_or_else(|| auto_period(window.duration().num_seconds(), 120)),
    };
    let metrics = ctx.sources.metrics(&aws.target()).await?;
    let series = metrics.cloudwatch(&[query], window).await?;
    Ok(series.into_iter().next().map(|s| AlarmMetric {
        breaching_points: s.present().filter(|(_, v)| breaches(alarm, *v)).count(),
        summary: s.summary().into(),
    }))
}

async fn get_alarms(
    ctx: Arc<Context>,
    p: AlarmParams,
    budget: Budget,
) -> ToolResult<Reply<AlarmsOutput>> {
    let filter = AlarmFilter {
        states: states_arg(p.states.as_deref())?,
        name_prefix: p.name_prefix.clone().filter(|n| !n.is_empty()),
    };
    let source = ctx.sources.alarms(&p.aws.target()).await?;
    let now = ctx.sources.now().await?;
    let window = resolve_window(
        p.since.as_deref(),
        p.until.as_deref(),
        chrono::Duration::hours(3),
        now,
    )?;
    let mut alarms = by_namespace(source.alarms(&filter).await?, p.namespace.as_deref());
    // Firing first, then by name, so a cut keeps what matters.
    alarms.sort_by(|a, b| (a.state != "ALARM", &a.name).cmp(&(b.state != "ALARM", &b.name)));
    let mut counts = BTreeMap::new();
    for a in &alarms {
        *counts.entry(a.state.clone()).or_insert(0) += 1;
    }
    let mut out = Vec::new();
    for (i, alarm) in alarms.into_iter().enumerate() {
        let metric = if p.include_metric.unwrap_or(true) && i < MAX_METRIC_LOOKUPS {
            alarm_metric(&ctx, &p.aws, &alarm, window).await?
        } else {
            None
        };
        out.push(AlarmOut { alarm, metric });
    }
    let history = if p.history.unwrap_or(false) {
        let names: Vec<&str> = out.iter().map(|a| a.alarm.name.as_str()).collect();
        let mut h = source.history(None, window).await?;
        h.retain(|item| names.contains(&item.alarm.as_str()));
        h
    } else {
        Vec::new()
    };
    let total = out.len();
    let (alarms, dropped) = budget.take(out, 0.65);
    let (history, _) = budget.take(history, 0.25);
    let truncated = (dropped > 0).then(|| Truncation {
        total,
        returned: alarms.len(),
        how_to_get_more: "filter with name_prefix, namespace or states, or raise response_bytes"
            .into(),
    });
    Ok(Reply {
        summary: alarms_text(&counts, &alarms, &history),
        data: AlarmsOutput {
            counts,
            alarms,
            history,
            truncated,
        },
    })
}

fn alarms_text(
    counts: &BTreeMap<String, usize>,
    alarms: &[AlarmOut],
    history: &[AlarmHistory],
) -> String {
    let counts_text = counts
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = if alarms.is_empty() {
        "no alarms match".to_string()
    } else {
        format!("{} alarms ({counts_text})", counts.values().sum::<usize>())
    };
    for a in alarms {
        let x = &a.alarm;
        let what = match (&x.rule, &x.metric_name) {
            (Some(rule), _) => format!("composite {rule}"),
            (None, Some(m)) => format!(
                "{}/{m} {} {} {}",
                x.namespace.as_deref().unwrap_or("?"),
                x.statistic.as_deref().unwrap_or(""),
                x.comparison.as_deref().unwrap_or(""),
                x.threshold.map(|t| t.to_string()).unwrap_or_default()
            ),
            _ => "metric math".into(),
        };
        out.push_str(&format!(
            "\n{} {} since {}: {what}",
            x.state,
            x.name,
            x.state_updated.as_deref().unwrap_or("?")
        ));
        if let Some(m) = &a.metric {
            out.push_str(&format!(
                "; metric max {} last {} ({} of {} points breaching)",
                m.summary.max.map(|v| format!("{v}")).unwrap_or("-".into()),
                m.summary.last.map(|v| format!("{v}")).unwrap_or("-".into()),
                m.breaching_points,
                m.summary.points
            ));
        }
    }
    for h in history {
        out.push_str(&format!("\n{} {}: {}", h.timestamp, h.alarm, h.summary));
    }
    out
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// e.g. ContainerInsights, AWS/EC2.
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    /// Dimension name → value; "*" matches any value of that dimension.
    pub dimensions: Option<BTreeMap<String, String>>,
    /// Add the Kubernetes → Container Insights guide.
    pub guide: Option<bool>,
    /// Metrics returned (1-1000, default 200).
    pub limit: Option<u32>,
    #[serde(flatten)]
    pub aws: AwsArgs,
}

/// Where a Kubernetes object's Container Insights metrics live.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GuideRow {
    pub object: &'static str,
    pub dimensions: &'static str,
    pub metrics: &'static str,
}

const GUIDE: [GuideRow; 5] = [
    GuideRow {
        object: "cluster",
        dimensions: "ClusterName",
        metrics: "cluster_node_count, cluster_failed_node_count, node_cpu_utilization, pod_cpu_utilization",
    },
    GuideRow {
        object: "namespace",
        dimensions: "ClusterName, Namespace",
        metrics: "namespace_number_of_running_pods, pod_cpu_utilization, pod_memory_utilization",
    },
    GuideRow {
        object: "service",
        dimensions: "ClusterName, Namespace, Service",
        metrics: "service_number_of_running_pods, pod_cpu_utilization, pod_memory_utilization",
    },
    GuideRow {
        object: "pod (workload)",
        dimensions: "ClusterName, Namespace, PodName (the owner's name; FullPodName for one pod)",
        metrics: "pod_cpu_utilization, pod_memory_utilization, pod_*_over_pod_limit, pod_number_of_container_restarts, pod_network_rx_bytes, pod_network_tx_bytes",
    },
    GuideRow {
        object: "node",
        dimensions: "ClusterName, InstanceId, NodeName",
        metrics: "node_cpu_utilization, node_memory_utilization, node_filesystem_utilization, node_number_of_running_pods, node_network_total_bytes",
    },
];

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListOutput {
    pub metrics: Vec<MetricId>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub guide: Vec<GuideRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
}

async fn list_metrics(
    ctx: Arc<Context>,
    p: ListParams,
    budget: Budget,
) -> ToolResult<Reply<ListOutput>> {
    let limit = in_range("limit", p.limit, 1, 1000, 200)? as usize;
    let filter = MetricFilter {
        namespace: p.namespace.clone().filter(|n| !n.is_empty()),
        metric_name: p.metric_name.clone().filter(|n| !n.is_empty()),
        dimensions: p
            .dimensions
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, (v != "*").then_some(v)))
            .collect(),
    };
    let catalog = ctx.sources.metric_catalog(&p.aws.target()).await?;
    let found = catalog.list_metrics(&filter).await?;
    let total = found.len();
    let (metrics, _) = budget.take(found.into_iter().take(limit).collect(), 0.8);
    let truncated = (metrics.len() < total).then(|| Truncation {
        total,
        returned: metrics.len(),
        how_to_get_more:
            "narrow with namespace, metric_name or dimensions, or raise limit / response_bytes"
                .into(),
    });
    let guide = if p.guide.unwrap_or(false) {
        GUIDE.to_vec()
    } else {
        Vec::new()
    };
    Ok(Reply {
        summary: list_text(&metrics, total, &guide),
        data: ListOutput {
            metrics,
            guide,
            truncated,
        },
    })
}

fn list_text(metrics: &[MetricId], total: usize, guide: &[GuideRow]) -> String {
    let mut out = format!("{total} metrics (de-duplicated), {} shown", metrics.len());
    for m in metrics {
        let dims = m
            .dimensions
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        out.push_str(&format!("\n{}/{}{{{dims}}}", m.namespace, m.metric_name));
    }
    for g in guide {
        out.push_str(&format!(
            "\n{}: dimensions {}; metrics {}",
            g.object, g.dimensions, g.metrics
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm(name: &str, ns: Option<&str>, rule: Option<&str>) -> Alarm {
        Alarm {
            name: name.into(),
            kind: if rule.is_some() {
                "composite"
            } else {
                "metric"
            }
            .into(),
            state: "ALARM".into(),
            reason: String::new(),
            state_updated: None,
            description: None,
            namespace: ns.map(str::to_string),
            metric_name: ns.map(|_| "m".to_string()),
            dimensions: BTreeMap::new(),
            statistic: None,
            period: None,
            threshold: Some(5.0),
            comparison: Some("GreaterThanThreshold".into()),
            evaluation_periods: None,
            rule: rule.map(str::to_string),
        }
    }

    #[test]
    fn namespace_filter_keeps_composites_over_kept_alarms() {
        let all = vec![
            alarm("a", Some("ContainerInsights"), None),
            alarm("b", Some("AWS/ELB"), None),
            alarm("c", None, Some(r#"ALARM("a") AND ALARM("b")"#)),
            alarm("d", None, Some(r#"ALARM("b")"#)),
        ];
        let kept: Vec<String> = by_namespace(all, Some("ContainerInsights"))
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(kept, vec!["a", "c"]);
    }

    #[test]
    fn states_and_thresholds() {
        assert_eq!(
            states_arg(Some(&["alarm".into()])).unwrap(),
            vec!["ALARM".to_string()]
        );
        assert!(
            states_arg(Some(&["FIRING".into()]))
                .unwrap_err()
                .to_string()
                .contains("`states`")
        );
        let a = alarm("a", Some("x"), None);
        assert!(breaches(&a, 6.0) && !breaches(&a, 5.0) && !breaches(&a, f64::NAN));
    }
}
