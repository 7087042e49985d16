//! `k8s_workload_metrics`: the resource picture of one workload, pod or node over a window
//! (CPU and throttling, memory against its limit, restarts, network; filesystem and pod count for
//! nodes), from whichever backend answers workload signals: Prometheus, Container Insights or a
//! snapshot. Every series keeps its summary; points share what the budget leaves.

use std::collections::BTreeMap;
use std::sync::Arc;

use eks_ops_engine::series::Series;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::metrics::{SeriesOut, series_summary_text, shape_series};
use super::params::{AwsArgs, in_range, non_empty};
use super::{Context, READ, Reply, ToolDef};
use crate::error::{ToolError, ToolResult};
use crate::output::{Budget, Truncation};
use crate::sources::container_insights::{NODE_SIGNALS, POD_SIGNALS};
use crate::time::resolve_window;

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "k8s_workload_metrics",
        "Workload, pod or node metrics",
        "CPU usage and throttling, memory working set vs limit, restarts and network for a workload or pod; CPU, memory, filesystem and pod count for a node. From Prometheus or Container Insights, whichever is configured. Per-series summary, downsampled points, and peak-vs-limit lines.",
        READ,
        workload_metrics,
    )]
}

/// Signals Prometheus and bundles answer for pods; Container Insights adds its own.
const POD_PROM_SIGNALS: [&str; 7] = [
    "cpu_usage_cores",
    "cpu_throttled_ratio",
    "memory_working_set_bytes",
    "memory_limit_bytes",
    "restarts",
    "network_rx_bytes_per_second",
    "network_tx_bytes_per_second",
];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadParams {
    /// Namespace of the workload or pod.
    pub namespace: Option<String>,
    /// Deployment, StatefulSet or DaemonSet name; its pods are matched by name.
    pub workload: Option<String>,
    pub pod: Option<String>,
    /// A node name instead of a workload or pod.
    pub node: Option<String>,
    /// Only these signals, e.g. ["memory_working_set_bytes","restarts"]; default all.
    pub signals: Option<Vec<String>>,
    /// EKS cluster name for Container Insights; default: the server's, or the only one reporting.
    pub cluster: Option<String>,
    /// Duration (`3h`) or time; default 3h.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Target points per series (10-1440, default 120).
    pub points: Option<u32>,
    #[serde(flatten)]
    pub aws: AwsArgs,
}

/// Peak use against a limit, per pod and container.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LimitLine {
    pub pod: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    pub resource: String,
    /// Peak usage in the signal's unit (bytes; percent of limit for Container Insights).
    pub peak: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<f64>,
    /// Peak as a share of the limit (1.0 = at the limit).
    pub peak_share: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WorkloadMetricsOutput {
    /// The backend that answered.
    pub source: String,
    /// What was measured, e.g. `workload shop/checkout`.
    pub target: String,
    pub start: String,
    pub end: String,
    pub series: Vec<SeriesOut>,
    pub limits: Vec<LimitLine>,
    /// Requested signals with no data in the window.
    pub signals_without_data: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
}

/// What the call is about, as workload-signal labels plus a display name.
#[derive(Debug)]
struct Target {
    labels: Vec<(String, String)>,
    what: &'static str,
    name: String,
    node: bool,
}

fn target(p: &WorkloadParams) -> ToolResult<Target> {
    let given = [&p.workload, &p.pod, &p.node]
        .iter()
        .filter(|v| v.is_some())
        .count();
    if given != 1 {
        return Err(ToolError::invalid(
            "workload",
            "name exactly one of `workload`, `pod` or `node`",
        ));
    }
    if let Some(node) = &p.node {
        let node = non_empty("node", node)?.to_string();
        return Ok(Target {
            labels: vec![("node".into(), node.clone())],
            what: "node",
            name: node,
            node: true,
        });
    }
    let namespace = p
        .namespace
        .as_deref()
        .ok_or_else(|| ToolError::invalid("namespace", "required with `workload` or `pod`"))
        .and_then(|n| non_empty("namespace", n))?
        .to_string();
    let (key, what, value) = match (&p.workload, &p.pod) {
        (Some(w), _) => ("workload", "workload", non_empty("workload", w)?),
        (_, Some(pod)) => ("pod", "pod", non_empty("pod", pod)?),
        _ => unreachable_target()?,
    };
    Ok(Target {
        labels: vec![
            ("namespace".into(), namespace.clone()),
            (key.into(), value.to_string()),
        ],
        what,
        name: format!("{namespace}/{value}"),
        node: false,
    })
}

/// `target` checked that one of the three is set; this keeps the match total without a panic.
fn unreachable_target<T>() -> ToolResult<T> {
    Err(ToolError::invalid(
        "workload",
        "name exactly one of `workload`, `pod` or `node`",
    ))
}

/// The signals this scope can show, in display order.
fn known_signals(node: bool) -> Vec<&'static str> {
    if node {
        NODE_SIGNALS.iter().map(|(s, _, _)| *s).collect()
    } else {
        let mut all: Vec<&str> = POD_PROM_SIGNALS.to_vec();
        all.extend(POD_SIGNALS.iter().map(|(s, _, _)| *s));
        let mut seen = std::collections::BTreeSet::new();
        all.retain(|s| seen.insert(*s));
        all
    }
}

fn wanted_signals(requested: Option<&[String]>, node: bool) -> ToolResult<Vec<String>> {
    let known = known_signals(node);
    let Some(requested) = requested.filter(|r| !r.is_empty()) else {
        return Ok(known.iter().map(|s| s.to_string()).collect());
    };
    for s in requested {
        if !known.contains(&s.as_str()) {
            return Err(ToolError::invalid(
                "signals",
                format!("`{s}` is not a signal here; use {}", known.join(", ")),
            ));
        }
    }
    Ok(requested.to_vec())
}

async fn workload_metrics(
    ctx: Arc<Context>,
    p: WorkloadParams,
    budget: Budget,
) -> ToolResult<Reply<WorkloadMetricsOutput>> {
    let mut target = target(&p)?;
    let signals = wanted_signals(p.signals.as_deref(), target.node)?;
    let points = in_range("points", p.points, 10, 1440, 120)?;
    if ctx.sources.is_snapshot() {
        // Checks the name against the bundle's cluster; series carry no cluster label.
        ctx.sources.cluster(p.cluster.as_deref()).await?;
    } else if let Some(c) = p.cluster.clone().or(ctx.settings.cluster.clone()) {
        target.labels.push(("cluster".into(), c));
    }
    let metrics = ctx.sources.metrics(&p.aws.target()).await?;
    let now = ctx.sources.now().await?;
    let window = resolve_window(
        p.since.as_deref(),
        p.until.as_deref(),
        chrono::Duration::hours(3),
        now,
    )?;
    let mut series = metrics
        .workload_signals(&target.labels, &signals, window)
        .await?;
    series.retain(|s| !s.is_empty());
    if series.is_empty() {
        return Err(nothing_found(&ctx, &p, &target, window).await);
    }
    let order = known_signals(target.node);
    series.sort_by_key(|s| {
        let rank = order
            .iter()
            .position(|n| *n == s.name)
            .unwrap_or(usize::MAX);
        (rank, s.labels.clone())
    });
    let without: Vec<String> = signals
        .iter()
        .filter(|s| !series.iter().any(|x| x.name == **s))
        .filter(|s| produced_by_any(s))
        .cloned()
        .collect();
    let limits = limit_lines(&series);
    let (shaped, truncated) = shape_series(series, points as usize, &budget);
    let header = format!(
        "{} {} from {}, {} to {}",
        target.what,
        target.name,
        metrics.describe(),
        window.start.to_rfc3339(),
        window.end.to_rfc3339()
    );
    let mut summary = series_summary_text(&header, &shaped, truncated.as_ref());
    for l in &limits {
        summary.push_str(&format!("\n{}", limit_text(l)));
    }
    Ok(Reply {
        summary,
        data: WorkloadMetricsOutput {
            source: metrics.describe(),
            target: format!("{} {}", target.what, target.name),
            start: window.start.to_rfc3339(),
            end: window.end.to_rfc3339(),
            series: shaped,
            limits,
            signals_without_data: without,
            truncated,
        },
    })
}

/// Backend-specific names (Container Insights' percentages, Prometheus' byte counts) are not
/// "missing" when the other backend answers; only signals both could produce are reported.
fn produced_by_any(signal: &str) -> bool {
    let prom = POD_PROM_SIGNALS.contains(&signal);
    let ci = POD_SIGNALS.iter().any(|(s, _, _)| *s == signal);
    let node = NODE_SIGNALS.iter().any(|(s, _, _)| *s == signal);
    (prom && ci) || node
}

/// A not-found error listing the workloads, pods or nodes that do have data.
async fn nothing_found(
    ctx: &Context,
    p: &WorkloadParams,
    target: &Target,
    window: crate::time::Window,
) -> ToolError {
    let (labels, key, probe) = if target.node {
        (Vec::new(), "node", "node_pod_count")
    } else {
        let ns = target.labels[..1].to_vec();
        (ns, target.what, "restarts")
    };
    let mut available = Vec::new();
    if let Ok(metrics) = ctx.sources.metrics(&p.aws.target()).await
        && let Ok(found) = metrics
            .workload_signals(&labels, &[probe.to_string()], window)
            .await
    {
        available = found
            .iter()
            .filter_map(|s| s.labels.get(key).cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
    }
    ToolError::not_found(
        format!("metrics for {}", target.what),
        target.name.clone(),
        available,
    )
}

/// Peak memory against the limit per pod and container, from working set and limit series
/// (Prometheus, bundles) or Container Insights' percent-of-limit.
fn limit_lines(series: &[Series]) -> Vec<LimitLine> {
    let key = |s: &Series| {
        (
            s.labels
                .get("pod")
                .or(s.labels.get("workload"))
                .cloned()
                .unwrap_or_default(),
            s.labels.get("container").cloned(),
        )
    };
    let max_of = |s: &Series| s.summary().max.filter(|v| v.is_finite());
    let mut limits: BTreeMap<(String, Option<String>), f64> = BTreeMap::new();
    for s in series.iter().filter(|s| s.name == "memory_limit_bytes") {
        if let Some(v) = max_of(s).filter(|v| *v > 0.0) {
            limits.insert(key(s), v);
        }
    }
    let mut out = Vec::new();
    for s in series {
        let (pod, container) = key(s);
        let line = match s.name.as_str() {
            "memory_working_set_bytes" => max_of(s).and_then(|peak| {
                let limit = *limits.get(&(pod.clone(), container.clone()))?;
                Some((peak, Some(limit), peak / limit))
            }),
            "memory_over_limit_percent" => max_of(s).map(|peak| (peak, None, peak / 100.0)),
            _ => None,
        };
        if let Some((peak, limit, peak_share)) = line {
            out.push(LimitLine {
                pod,
                container,
                resource: "memory".into(),
                peak,
                limit,
                peak_share,
            });
        }
    }
    out.sort_by(|a, b| b.peak_share.total_cmp(&a.peak_share));
    out
}

fn limit_text(l: &LimitLine) -> String {
    let who = match &l.container {
        Some(c) => format!("{}/{c}", l.pod),
        None => l.pod.clone(),
    };
    let mib = |b: f64| format!("{:.0}Mi", b / 1_048_576.0);
    match l.limit {
        Some(limit) => format!(
            "limit: {who} memory peak {} of {} ({:.0}%)",
            mib(l.peak),
            mib(limit),
            l.peak_share * 100.0
        ),
        None => format!(
            "limit: {who} memory peak {:.0}% of its limit",
            l.peak_share * 100.0
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: serde_json::Value) -> WorkloadParams {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn exactly_one_target() {
        let both = params(serde_json::json!({"namespace": "shop", "workload": "a", "node": "n"}));
        assert!(
            target(&both)
                .unwrap_err()
                .to_string()
                .contains("exactly one")
        );
        let no_ns = params(serde_json::json!({"pod": "a"}));
        assert!(
            target(&no_ns)
                .unwrap_err()
                .to_string()
                .contains("`namespace`")
        );
        let node = target(&params(serde_json::json!({"node": "n1"}))).unwrap();
        assert!(node.node && node.labels == vec![("node".to_string(), "n1".to_string())]);
    }

    #[test]
    fn signals_are_checked_per_scope() {
        assert!(wanted_signals(Some(&["node_pod_count".into()]), false).is_err());
        assert_eq!(
            wanted_signals(None, true).unwrap().len(),
            NODE_SIGNALS.len()
        );
        let pod = wanted_signals(None, false).unwrap();
        assert!(pod.contains(&"memory_over_limit_percent".to_string()));
        assert_eq!(pod.iter().filter(|s| *s == "restarts").count(), 1);
    }

    #[test]
    fn limit_lines_pair_usage_with_limits() {
        let mk = |name: &str, v: f64| {
            Series::new(name, vec![0, 60_000], vec![v / 2.0, v])
                .with_label("pod", "checkout-1")
                .with_label("container", "app")
        };
        let lines = limit_lines(&[
            mk("memory_working_set_bytes", 500.0 * 1_048_576.0),
            mk("memory_limit_bytes", 512.0 * 1_048_576.0),
            mk("memory_working_set_bytes", f64::NAN).with_label("pod", "other"),
        ]);
        assert_eq!(lines.len(), 1);
        assert!((lines[0].peak_share - 500.0 / 512.0).abs() < 1e-9);
        assert_eq!(
            limit_text(&lines[0]),
            "limit: checkout-1/app memory peak 500Mi of 512Mi (98%)"
        );
    }
}
