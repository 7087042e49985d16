//! Container Insights as workload signals: which `ContainerInsights` metric and dimension set
//! answers each normalised signal for a node, a workload, a pod or a whole namespace, and how
//! the answers are relabelled to the names Prometheus and bundles use. Pure planning only; the
//! calls happen in [`super::cloudwatch`].
//!
//! Container Insights' `PodName` dimension is the pod's owner (the workload), `FullPodName`
//! (enhanced observability) the pod itself, and node metrics carry `InstanceId` besides
//! `NodeName`, so the exact dimension sets are discovered with ListMetrics, never guessed.

use std::collections::{BTreeMap, BTreeSet};

use eks_ops_engine::series::Series;
use schemars::JsonSchema;
use serde::Serialize;

use super::MetricQuery;
use crate::error::{ToolError, ToolResult};

pub const NAMESPACE: &str = "ContainerInsights";

/// Normalised signal, Container Insights metric, statistic: pods and workloads.
pub const POD_SIGNALS: [(&str, &str, &str); 7] = [
    ("cpu_utilization_percent", "pod_cpu_utilization", "Average"),
    (
        "cpu_over_limit_percent",
        "pod_cpu_utilization_over_pod_limit",
        "Average",
    ),
    (
        "memory_utilization_percent",
        "pod_memory_utilization",
        "Average",
    ),
    (
        "memory_over_limit_percent",
        "pod_memory_utilization_over_pod_limit",
        "Maximum",
    ),
    ("restarts", "pod_number_of_container_restarts", "Maximum"),
    (
        "network_rx_bytes_per_second",
        "pod_network_rx_bytes",
        "Average",
    ),
    (
        "network_tx_bytes_per_second",
        "pod_network_tx_bytes",
        "Average",
    ),
];

/// The same for nodes; names match the bundles' node signals.
pub const NODE_SIGNALS: [(&str, &str, &str); 5] = [
    ("node_cpu_utilization", "node_cpu_utilization", "Average"),
    (
        "node_memory_utilization",
        "node_memory_utilization",
        "Average",
    ),
    (
        "node_filesystem_utilization",
        "node_filesystem_utilization",
        "Maximum",
    ),
    ("node_pod_count", "node_number_of_running_pods", "Maximum"),
    (
        "node_network_bytes_per_second",
        "node_network_total_bytes",
        "Average",
    ),
];

/// One CloudWatch metric identity, as ListMetrics returns it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
pub struct MetricId {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: BTreeMap<String, String>,
}

/// A ListMetrics filter: dimension values of `None` match any value of that dimension.
#[derive(Debug, Clone, Default)]
pub struct MetricFilter {
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    pub dimensions: Vec<(String, Option<String>)>,
}

impl MetricFilter {
    pub fn matches(&self, m: &MetricId) -> bool {
        self.namespace.as_ref().is_none_or(|n| *n == m.namespace)
            && self
                .metric_name
                .as_ref()
                .is_none_or(|n| *n == m.metric_name)
            && self.dimensions.iter().all(|(k, v)| match v {
                Some(v) => m.dimensions.get(k) == Some(v),
                None => m.dimensions.contains_key(k),
            })
    }
}

/// What the signals are about.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    Node(String),
    Pods {
        namespace: String,
        workload: Option<String>,
        pod: Option<String>,
    },
}

impl Scope {
    /// Reads the scope from workload-signal labels (`node`, or `namespace` plus optional
    /// `workload` or `pod`).
    pub fn from_labels(labels: &[(String, String)]) -> ToolResult<Scope> {
        let get = |k: &str| {
            labels
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        if let Some(node) = get("node") {
            return Ok(Scope::Node(node));
        }
        let namespace = get("namespace").ok_or_else(|| {
            ToolError::invalid(
                "namespace",
                "Container Insights pod metrics need a namespace (or a node)",
            )
        })?;
        Ok(Scope::Pods {
            namespace,
            workload: get("workload"),
            pod: get("pod"),
        })
    }

    /// The ListMetrics filter for this scope in `cluster`.
    pub fn filter(&self, cluster: &str) -> MetricFilter {
        let mut dimensions = vec![("ClusterName".to_string(), Some(cluster.to_string()))];
        match self {
            Scope::Node(node) => dimensions.push(("NodeName".into(), Some(node.clone()))),
            Scope::Pods {
                namespace,
                workload,
                pod,
            } => {
                dimensions.push(("Namespace".into(), Some(namespace.clone())));
                dimensions.push(("PodName".into(), workload.clone()));
                if let Some(pod) = pod {
                    dimensions.push(("FullPodName".into(), Some(pod.clone())));
                }
            }
        }
        MetricFilter {
            namespace: Some(NAMESPACE.into()),
            metric_name: None,
            dimensions,
        }
    }

    /// The exact dimension names of the metrics that answer this scope.
    fn dimension_names(&self) -> BTreeSet<&'static str> {
        let names: &[&'static str] = match self {
            Scope::Node(_) => &["ClusterName", "InstanceId", "NodeName"],
            Scope::Pods { pod: Some(_), .. } => {
                &["ClusterName", "FullPodName", "Namespace", "PodName"]
            }
            Scope::Pods { .. } => &["ClusterName", "Namespace", "PodName"],
        };
        names.iter().copied().collect()
    }

    fn table(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        match self {
            Scope::Node(_) => &NODE_SIGNALS,
            Scope::Pods { .. } => &POD_SIGNALS,
        }
    }
}

/// Distinct `ClusterName` values among metrics, for choosing or naming the cluster.
pub fn cluster_names(found: &[MetricId]) -> Vec<String> {
    found
        .iter()
        .filter_map(|m| m.dimensions.get("ClusterName").cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// GetMetricData queries for the wanted signals (all when `signals` is empty) among the metrics
/// ListMetrics found, each paired with its signal name.
pub fn plan(
    found: &[MetricId],
    scope: &Scope,
    signals: &[String],
    period_secs: i32,
) -> Vec<(&'static str, MetricQuery)> {
    let dims = scope.dimension_names();
    let mut out = Vec::new();
    for (signal, metric, stat) in scope.table() {
        if !signals.is_empty() && !signals.iter().any(|s| s == signal) {
            continue;
        }
        let matching = found.iter().filter(|m| {
            m.metric_name == *metric
                && m.dimensions
                    .keys()
                    .map(String::as_str)
                    .collect::<BTreeSet<_>>()
                    == dims
        });
        for m in matching {
            out.push((
                *signal,
                MetricQuery {
                    namespace: NAMESPACE.into(),
                    metric_name: metric.to_string(),
                    dimensions: m.dimensions.clone().into_iter().collect(),
                    stat: stat.to_string(),
                    period_secs,
                },
            ));
        }
    }
    out
}

/// Renames a GetMetricData series to its signal and Container Insights dimensions to the
/// Kubernetes label names (`PodName` is the workload, `FullPodName` the pod).
pub fn relabel(mut series: Series, signal: &str) -> Series {
    let mut labels = BTreeMap::new();
    for (k, v) in std::mem::take(&mut series.labels) {
        let key = match k.as_str() {
            "Dimension.Namespace" => "namespace",
            "PodName" => "workload",
            "FullPodName" => "pod",
            "NodeName" => "node",
            "InstanceId" => "instance_id",
            "ClusterName" => "cluster",
            "stat" => "stat",
            _ => continue,
        };
        labels.insert(key.to_string(), v);
    }
    labels.insert("source_metric".into(), series.name.clone());
    series.labels = labels;
    series.name = signal.to_string();
    series
}

/// A CloudWatch period (a multiple of 60 s) near `step_secs`.
pub fn period_for(step_secs: u64) -> i32 {
    (step_secs.div_ceil(60).clamp(1, 1440) * 60) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(name: &str, dims: &[(&str, &str)]) -> MetricId {
        MetricId {
            namespace: NAMESPACE.into(),
            metric_name: name.into(),
            dimensions: dims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn plans_only_exact_dimension_sets() {
        let found = vec![
            metric(
                "pod_memory_utilization",
                &[
                    ("ClusterName", "c"),
                    ("Namespace", "shop"),
                    ("PodName", "checkout"),
                ],
            ),
            // A service-level roll-up of the same metric must not be read as the pod's.
            metric(
                "pod_memory_utilization",
                &[
                    ("ClusterName", "c"),
                    ("Namespace", "shop"),
                    ("Service", "checkout"),
                ],
            ),
            metric(
                "node_cpu_utilization",
                &[
                    ("ClusterName", "c"),
                    ("NodeName", "n1"),
                    ("InstanceId", "i-1"),
                ],
            ),
        ];
        let scope = Scope::from_labels(&[
            ("namespace".into(), "shop".into()),
            ("workload".into(), "checkout".into()),
        ])
        .unwrap();
        let plan = plan(&found, &scope, &[], 60);
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].0, "memory_utilization_percent");
        assert_eq!(plan[0].1.stat, "Average");
        let node = Scope::from_labels(&[("node".into(), "n1".into())]).unwrap();
        let plan = super::plan(&found, &node, &["node_cpu_utilization".into()], 120);
        assert_eq!(plan.len(), 1);
        assert!(
            plan[0]
                .1
                .dimensions
                .contains(&("InstanceId".into(), "i-1".into()))
        );
    }

    #[test]
    fn filters_and_scopes() {
        let scope = Scope::from_labels(&[
            ("namespace".into(), "shop".into()),
            ("pod".into(), "checkout-abc".into()),
        ])
        .unwrap();
        let f = scope.filter("prod");
        assert!(
            f.dimensions
                .contains(&("FullPodName".into(), Some("checkout-abc".into())))
        );
        assert!(f.dimensions.contains(&("PodName".into(), None)));
        assert!(
            Scope::from_labels(&[("workload".into(), "x".into())])
                .unwrap_err()
                .to_string()
                .contains("`namespace`")
        );
        let m = metric(
            "a",
            &[
                ("ClusterName", "prod"),
                ("Namespace", "shop"),
                ("PodName", "checkout"),
                ("FullPodName", "checkout-abc"),
            ],
        );
        assert!(f.matches(&m));
        assert!(!Scope::Node("n".into()).filter("prod").matches(&m));
    }

    #[test]
    fn relabels_to_kubernetes_names() {
        let mut s = Series::new("pod_cpu_utilization", vec![0], vec![1.0]);
        for (k, v) in [
            ("Namespace", "ContainerInsights"),
            ("Dimension.Namespace", "shop"),
            ("PodName", "checkout"),
            ("ClusterName", "prod"),
            ("stat", "Average"),
        ] {
            s.labels.insert(k.into(), v.into());
        }
        let s = relabel(s, "cpu_utilization_percent");
        assert_eq!(s.name, "cpu_utilization_percent");
        assert_eq!(s.labels["namespace"], "shop");
        assert_eq!(s.labels["workload"], "checkout");
        assert_eq!(s.labels["source_metric"], "pod_cpu_utilization");
        assert_eq!(period_for(15), 60);
        assert_eq!(period_for(61), 120);
        assert_eq!(period_for(u64::MAX), 86_400);
    }
}
