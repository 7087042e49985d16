//! `cost_workload`: cluster cost per namespace, workload and label, allocated the OpenCost way
//! (node price split into CPU and memory, charged by max(request, usage), the rest idle), plus
//! the EKS control plane fee. Also gathers the nodes, pods and usage that `cost_rightsizing`
//! reads.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use eks_ops_engine::allocation::{self, Allocation, NodeCost, PodCost, PodUse};
use eks_ops_engine::diagnose::parse_quantity;
use eks_ops_engine::series::Series;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::params::{AwsArgs, in_range};
use super::{Context, READ, Reply, ToolDef};
use crate::error::{ToolError, ToolResult};
use crate::output::Budget;
use crate::output::text::table;
use crate::sources::pricing::NodePrices;
use crate::sources::{ClusterSource, ListRequest};
use crate::time::{Window, resolve_window};

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "cost_workload",
        "Cost per namespace and workload",
        "Cluster cost for a window, OpenCost-style: node hourly prices (Pricing API; Spot by discount) charged to pods by max(request, usage) of CPU and memory, the rest idle. Top namespaces, workloads, label values; idle share; efficiency (usage/request); control plane fee.",
        READ,
        cost_workload,
    )]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadCostParams {
    /// Cluster; default the current one.
    pub cluster: Option<String>,
    /// Window start: duration back from `until`, or instant; default 24h.
    pub since: Option<String>,
    /// Window end; default now.
    pub until: Option<String>,
    /// Only list this namespace.
    pub namespace: Option<String>,
    /// Pod label key to total cost by.
    pub label: Option<String>,
    /// vCPU price over GiB price when splitting a node (default 7.46).
    pub cpu_to_memory_price_ratio: Option<f64>,
    /// Spot discount if no Spot price is known (0-0.95, default 0.65).
    pub spot_discount: Option<f64>,
    /// EKS control plane USD/h (default 0.10).
    pub control_plane_hourly: Option<f64>,
    /// Rows per list (1-50, default 10).
    pub top: Option<u32>,
    #[serde(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CostLine {
    pub name: String,
    pub cost: f64,
    /// Usage cost over request cost; absent without usage.
    pub efficiency: Option<f64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct NodeLine {
    pub name: String,
    pub instance_type: String,
    pub capacity_type: String,
    pub hourly_price: Option<f64>,
    pub cost: f64,
    pub idle: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WorkloadCostOutput {
    pub cluster: String,
    pub start: String,
    pub end: String,
    pub hours: f64,
    /// Nodes plus control plane, USD.
    pub total: f64,
    pub nodes_cost: f64,
    pub control_plane_cost: f64,
    pub idle_cost: f64,
    /// Idle over node cost, 0-1.
    pub idle_share: f64,
    /// Cluster-wide usage cost over request cost.
    pub efficiency: Option<f64>,
    pub namespaces: Vec<CostLine>,
    /// `namespace/Kind/name`.
    pub workloads: Vec<CostLine>,
    /// By the value of the `label` key (`(none)` when unset).
    pub labels: Vec<CostLine>,
    pub nodes: Vec<NodeLine>,
    /// Where usage came from, or why allocation used requests only.
    pub usage: String,
    pub pricing: String,
    /// Instance types without a price (their nodes count as 0).
    pub unpriced: Vec<String>,
}

/// A node as cost allocation and rightsizing see it.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub name: String,
    pub instance_type: String,
    pub capacity_type: String,
    pub nodegroup: String,
    pub region: String,
    pub cpu: f64,
    pub memory: f64,
    pub created: Option<DateTime<Utc>>,
}

/// A running pod's requests, limits and owner.
#[derive(Debug, Clone)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    pub node: String,
    /// `Kind/name` of the owning workload.
    pub workload: String,
    pub labels: BTreeMap<String, String>,
    pub cpu_request: f64,
    pub memory_request: f64,
    pub cpu_limit: Option<f64>,
    pub memory_limit: Option<f64>,
    pub started: Option<DateTime<Utc>>,
}

/// Nodes and running pods of a cluster.
pub async fn inventory(cluster: &dyn ClusterSource) -> ToolResult<(Vec<NodeInfo>, Vec<PodInfo>)> {
    let list = |kind| async move {
        let kind = cluster.resolve_kind(kind).await?;
        let page = cluster
            .list(&ListRequest {
                kind,
                ..ListRequest::default()
            })
            .await?;
        Ok::<_, ToolError>(page.items)
    };
    let nodes = list("Node").await?.iter().map(node_info).collect();
    let pods = list("Pod").await?.iter().filter_map(pod_info).collect();
    Ok((nodes, pods))
}

fn text_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn qty(v: &Value, pointer: &str) -> Option<f64> {
    text_at(v, pointer)
        .and_then(parse_quantity)
        .filter(|q| *q >= 0.0)
}

fn time_at(v: &Value, pointer: &str) -> Option<DateTime<Utc>> {
    text_at(v, pointer)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn label<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.pointer("/metadata/labels")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
}

fn node_info(n: &Value) -> NodeInfo {
    let first = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| label(n, k))
            .unwrap_or("")
            .to_string()
    };
    let capacity = first(&[
        "eks.amazonaws.com/capacityType",
        "karpenter.sh/capacity-type",
    ]);
    NodeInfo {
        name: text_at(n, "/metadata/name").unwrap_or("").to_string(),
        instance_type: first(&[
            "node.kubernetes.io/instance-type",
            "beta.kubernetes.io/instance-type",
        ]),
        capacity_type: if capacity.eq_ignore_ascii_case("spot") {
            "SPOT".into()
        } else {
            "ON_DEMAND".into()
        },
        nodegroup: first(&["eks.amazonaws.com/nodegroup", "karpenter.sh/nodepool"]),
        region: first(&["topology.kubernetes.io/region"]),
        cpu: qty(n, "/status/capacity/cpu")
            .or_else(|| qty(n, "/status/allocatable/cpu"))
            .unwrap_or(0.0),
        memory: qty(n, "/status/capacity/memory")
            .or_else(|| qty(n, "/status/allocatable/memory"))
            .unwrap_or(0.0),
        created: time_at(n, "/metadata/creationTimestamp"),
    }
}

fn pod_info(p: &Value) -> Option<PodInfo> {
    let phase = text_at(p, "/status/phase").unwrap_or("");
    let node = text_at(p, "/spec/nodeName")?;
    if !matches!(phase, "Running" | "Pending") {
        return None;
    }
    let containers = p
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let sum = |path: &str| containers.iter().filter_map(|c| qty(c, path)).sum::<f64>();
    let all = |path: &str| containers.iter().map(|c| qty(c, path)).sum::<Option<f64>>();
    Some(PodInfo {
        namespace: text_at(p, "/metadata/namespace")
            .unwrap_or("default")
            .to_string(),
        name: text_at(p, "/metadata/name").unwrap_or("").to_string(),
        node: node.to_string(),
        workload: owner(p),
        labels: p
            .pointer("/metadata/labels")
            .and_then(|l| serde_json::from_value(l.clone()).ok())
            .unwrap_or_default(),
        cpu_request: sum("/resources/requests/cpu"),
        memory_request: sum("/resources/requests/memory"),
        cpu_limit: all("/resources/limits/cpu"),
        memory_limit: all("/resources/limits/memory"),
        started: time_at(p, "/status/startTime"),
    })
}

/// `Kind/name` of the pod's workload: a ReplicaSet stands for its Deployment (its name less
/// the pod-template hash), a Job for its CronJob when the name ends in a schedule stamp.
fn owner(p: &Value) -> String {
    let pod = text_at(p, "/metadata/name").unwrap_or("");
    let Some(o) = p
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .and_then(|o| o.first())
    else {
        return format!("Pod/{pod}");
    };
    let kind = text_at(o, "/kind").unwrap_or("Pod");
    let name = text_at(o, "/name").unwrap_or(pod);
    let strip = |name: &str| {
        name.rsplit_once('-')
            .map(|(base, _)| base.to_string())
            .unwrap_or_else(|| name.to_string())
    };
    match kind {
        "ReplicaSet" => match label(p, "pod-template-hash") {
            Some(h) => format!(
                "Deployment/{}",
                name.strip_suffix(&format!("-{h}")).unwrap_or(name)
            ),
            None => format!("Deployment/{}", strip(name)),
        },
        "Job"
            if name
                .rsplit_once('-')
                .is_some_and(|(_, s)| s.len() >= 8 && s.chars().all(|c| c.is_ascii_digit())) =>
        {
            format!("CronJob/{}", strip(name))
        }
        _ => format!("{kind}/{name}"),
    }
}

/// Per pod (namespace, name): usage samples of CPU cores and memory bytes, summed over its
/// containers at each timestamp.
#[derive(Debug, Default, Clone)]
pub struct PodUsage {
    pub cpu: Vec<f64>,
    pub memory: Vec<f64>,
}

impl PodUsage {
    pub fn mean(values: &[f64]) -> Option<f64> {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64)
    }
}

/// Usage per pod from the metrics source's workload signals; `Err` holds why there is none.
pub async fn pod_usage(
    ctx: &Context,
    aws: &AwsArgs,
    window: Window,
) -> Result<BTreeMap<(String, String), PodUsage>, String> {
    let metrics = ctx
        .sources
        .metrics(&aws.target())
        .await
        .map_err(|e| e.to_string())?;
    let signals = [
        "cpu_usage_cores".to_string(),
        "memory_working_set_bytes".to_string(),
    ];
    let series = metrics
        .workload_signals(&[], &signals, window)
        .await
        .map_err(|e| e.to_string())?;
    let mut sums: BTreeMap<(String, String, bool), BTreeMap<i64, f64>> = BTreeMap::new();
    for s in &series {
        add_series(&mut sums, s);
    }
    let mut out: BTreeMap<(String, String), PodUsage> = BTreeMap::new();
    for ((ns, pod, is_cpu), points) in sums {
        let entry = out.entry((ns, pod)).or_default();
        let values: Vec<f64> = points.into_values().collect();
        if is_cpu {
            entry.cpu = values;
        } else {
            entry.memory = values;
        }
    }
    if out.is_empty() {
        return Err(format!(
            "{} has no pod usage in the window",
            metrics.describe()
        ));
    }
    Ok(out)
}

fn add_series(sums: &mut BTreeMap<(String, String, bool), BTreeMap<i64, f64>>, s: &Series) {
    let (Some(ns), Some(pod)) = (s.labels.get("namespace"), s.labels.get("pod")) else {
        return;
    };
    let is_cpu = s.name == "cpu_usage_cores";
    let points = sums.entry((ns.clone(), pod.clone(), is_cpu)).or_default();
    for (t, v) in s.timestamps.iter().zip(&s.values) {
        if v.is_finite() {
            *points.entry(*t).or_default() += v;
        }
    }
}

fn hours_in(window: &Window, since: Option<DateTime<Utc>>) -> f64 {
    let start = since.map_or(window.start, |s| s.max(window.start));
    ((window.end - start).num_seconds().max(0) as f64) / 3600.0
}

/// Each node's hourly price: on-demand by type, Spot from the source or by `spot_discount`.
fn node_price(n: &NodeInfo, prices: &NodePrices, spot_discount: f64) -> Option<f64> {
    let od = prices.on_demand.get(&n.instance_type).copied();
    if n.capacity_type == "SPOT" {
        return prices
            .spot
            .get(&n.instance_type)
            .copied()
            .or_else(|| od.map(|p| allocation::spot_price(p, spot_discount)));
    }
    od
}

fn fraction(field: &str, v: Option<f64>, max: f64, default: f64) -> ToolResult<f64> {
    match v {
        None => Ok(default),
        Some(x) if x.is_finite() && (0.0..=max).contains(&x) => Ok(x),
        Some(x) => Err(ToolError::invalid(
            field,
            format!("{x} is not in 0..={max}"),
        )),
    }
}

async fn cost_workload(
    ctx: Arc<Context>,
    p: WorkloadCostParams,
    budget: Budget,
) -> ToolResult<Reply<WorkloadCostOutput>> {
    let ratio = match p.cpu_to_memory_price_ratio {
        None => allocation::default_cpu_to_memory_ratio(),
        Some(r) if r.is_finite() && r > 0.0 && r <= 1000.0 => r,
        Some(r) => {
            return Err(ToolError::invalid(
                "cpu_to_memory_price_ratio",
                format!("{r} must be above 0 and at most 1000"),
            ));
        }
    };
    let discount = fraction("spot_discount", p.spot_discount, 0.95, 0.65)?;
    let fee = fraction("control_plane_hourly", p.control_plane_hourly, 10.0, 0.10)?;
    let top = in_range("top", p.top, 1, 50, 10)? as usize;
    let now = ctx.sources.now().await?;
    let window = resolve_window(
        p.since.as_deref(),
        p.until.as_deref(),
        Duration::hours(24),
        now,
    )?;
    let cluster = ctx.sources.cluster(p.cluster.as_deref()).await?;
    let (nodes, pods) = inventory(cluster.as_ref()).await?;
    let usage = pod_usage(&ctx, &p.aws, window).await;
    let prices = price_nodes(&ctx, &p.aws, &nodes).await?;
    let (node_costs, unpriced) = node_costs(&nodes, &prices, discount, &window);
    let uses: Vec<PodUse> = pods
        .iter()
        .map(|pod| pod_use(pod, usage.as_ref().ok(), &window))
        .collect();
    let alloc = allocation::allocate(&node_costs, &uses, ratio);
    let hours = hours_in(&window, None);
    let input = Summary {
        cluster: cluster.name().to_string(),
        window,
        hours,
        control_plane_cost: fee * hours,
        usage: match &usage {
            Ok(u) => format!("max(request, usage) with usage of {} pods", u.len()),
            Err(why) => format!("requests only: {why}"),
        },
        pricing: prices.source.clone(),
        unpriced,
    };
    let out = build_output(&alloc, &pods, &nodes, &node_costs, &p, top, input);
    let (workloads, _) = budget.take(out.workloads, 0.3);
    let out = WorkloadCostOutput { workloads, ..out };
    Ok(Reply {
        summary: workload_summary(&out),
        data: out,
    })
}

pub async fn price_nodes(
    ctx: &Context,
    aws: &AwsArgs,
    nodes: &[NodeInfo],
) -> ToolResult<NodePrices> {
    let mut types: Vec<String> = nodes.iter().map(|n| n.instance_type.clone()).collect();
    types.sort();
    types.dedup();
    let region = nodes
        .iter()
        .map(|n| n.region.clone())
        .find(|r| !r.is_empty())
        .or_else(|| aws.region.clone())
        .unwrap_or_else(|| "us-east-1".into());
    let pricing = ctx.sources.pricing(&aws.target()).await?;
    pricing.node_prices(&region, &types).await
}

fn node_costs(
    nodes: &[NodeInfo],
    prices: &NodePrices,
    discount: f64,
    window: &Window,
) -> (Vec<NodeCost>, Vec<String>) {
    let mut unpriced = Vec::new();
    let costs = nodes
        .iter()
        .map(|n| {
            let price = node_price(n, prices, discount);
            if price.is_none() && !unpriced.contains(&n.instance_type) {
                unpriced.push(n.instance_type.clone());
            }
            NodeCost {
                name: n.name.clone(),
                hourly_price: price.unwrap_or(0.0),
                cpu_cores: n.cpu,
                memory_bytes: n.memory,
                hours: hours_in(window, n.created),
            }
        })
        .collect();
    (costs, unpriced)
}

fn pod_use(
    pod: &PodInfo,
    usage: Option<&BTreeMap<(String, String), PodUsage>>,
    window: &Window,
) -> PodUse {
    let u = usage.and_then(|u| u.get(&(pod.namespace.clone(), pod.name.clone())));
    PodUse {
        namespace: pod.namespace.clone(),
        workload: format!("{}/{}", pod.namespace, pod.workload),
        pod: pod.name.clone(),
        node: pod.node.clone(),
        cpu_request: pod.cpu_request,
        memory_request: pod.memory_request,
        cpu_usage: u.and_then(|u| PodUsage::mean(&u.cpu)),
        memory_usage: u.and_then(|u| PodUsage::mean(&u.memory)),
        hours: hours_in(window, pod.started),
    }
}

struct Summary {
    cluster: String,
    window: Window,
    hours: f64,
    control_plane_cost: f64,
    usage: String,
    pricing: String,
    unpriced: Vec<String>,
}

/// Cost and efficiency per key, largest first, keeping `top`.
fn lines<F: Fn(&PodCost) -> String>(alloc: &Allocation, key: F, top: usize) -> Vec<CostLine> {
    let mut acc: BTreeMap<String, (f64, f64, f64)> = BTreeMap::new();
    for p in &alloc.pods {
        let e = acc.entry(key(p)).or_default();
        e.0 += p.total();
        if let Some(u) = p.usage_cost {
            e.1 += u;
            e.2 += p.request_cost;
        }
    }
    let mut out: Vec<CostLine> = acc
        .into_iter()
        .map(|(name, (cost, used, req))| CostLine {
            name,
            cost,
            efficiency: (req > 0.0).then(|| used / req),
        })
        .collect();
    out.sort_by(|a, b| b.cost.total_cmp(&a.cost));
    out.truncate(top);
    out
}

fn build_output(
    alloc: &Allocation,
    pods: &[PodInfo],
    nodes: &[NodeInfo],
    node_costs: &[NodeCost],
    p: &WorkloadCostParams,
    top: usize,
    s: Summary,
) -> WorkloadCostOutput {
    let keep = |ns: &str| p.namespace.as_deref().is_none_or(|want| want == ns);
    let filtered = Allocation {
        pods: alloc
            .pods
            .iter()
            .filter(|c| keep(&c.namespace))
            .cloned()
            .collect(),
        nodes: alloc.nodes.clone(),
    };
    let label_of: BTreeMap<(String, String), String> = pods
        .iter()
        .map(|pod| {
            let value = p
                .label
                .as_ref()
                .and_then(|k| pod.labels.get(k).cloned())
                .unwrap_or_else(|| "(none)".into());
            ((pod.namespace.clone(), pod.name.clone()), value)
        })
        .collect();
    let labels = match &p.label {
        Some(_) => lines(
            &filtered,
            |c| {
                label_of
                    .get(&(c.namespace.clone(), c.pod.clone()))
                    .cloned()
                    .unwrap_or_else(|| "(none)".into())
            },
            top,
        ),
        None => Vec::new(),
    };
    let nodes_cost = alloc.node_total();
    let idle_cost = alloc.idle_total();
    let mut node_lines: Vec<NodeLine> = nodes
        .iter()
        .zip(node_costs)
        .zip(&alloc.nodes)
        .map(|((n, c), split)| NodeLine {
            name: n.name.clone(),
            instance_type: n.instance_type.clone(),
            capacity_type: n.capacity_type.clone(),
            hourly_price: (!s.unpriced.contains(&n.instance_type)).then_some(c.hourly_price),
            cost: split.total,
            idle: split.idle,
        })
        .collect();
    node_lines.sort_by(|a, b| b.idle.total_cmp(&a.idle));
    node_lines.truncate(top);
    WorkloadCostOutput {
        cluster: s.cluster,
        start: s.window.start.to_rfc3339(),
        end: s.window.end.to_rfc3339(),
        hours: s.hours,
        total: nodes_cost + s.control_plane_cost,
        nodes_cost,
        control_plane_cost: s.control_plane_cost,
        idle_cost,
        idle_share: if nodes_cost > 0.0 {
            idle_cost / nodes_cost
        } else {
            0.0
        },
        efficiency: filtered.efficiency(),
        namespaces: lines(&filtered, |c| c.namespace.clone(), top),
        workloads: lines(&filtered, |c| c.workload.clone(), top),
        labels,
        nodes: node_lines,
        usage: s.usage,
        pricing: s.pricing,
        unpriced: s.unpriced,
    }
}

fn eff(e: Option<f64>) -> String {
    e.map(|e| format!("{:.0}%", e * 100.0))
        .unwrap_or_else(|| "-".into())
}

fn workload_summary(o: &WorkloadCostOutput) -> String {
    let rows = |ls: &[CostLine]| -> Vec<Vec<String>> {
        ls.iter()
            .map(|l| vec![l.name.clone(), format!("{:.2}", l.cost), eff(l.efficiency)])
            .collect()
    };
    let mut text = format!(
        "{} {} to {} ({:.1} h): {:.2} USD = nodes {:.2} (idle {:.2}, {:.0}%) + control plane {:.2}; efficiency {}\nusage: {}; prices: {}{}\n{}",
        o.cluster,
        o.start,
        o.end,
        o.hours,
        o.total,
        o.nodes_cost,
        o.idle_cost,
        o.idle_share * 100.0,
        o.control_plane_cost,
        eff(o.efficiency),
        o.usage,
        o.pricing,
        if o.unpriced.is_empty() {
            String::new()
        } else {
            format!("; no price for {} (counted as 0)", o.unpriced.join(", "))
        },
        table(&["NAMESPACE", "USD", "EFFICIENCY"], &rows(&o.namespaces)),
    );
    text.push('\n');
    text.push_str(&table(
        &["WORKLOAD", "USD", "EFFICIENCY"],
        &rows(&o.workloads),
    ));
    if !o.labels.is_empty() {
        text.push('\n');
        text.push_str(&table(
            &["LABEL VALUE", "USD", "EFFICIENCY"],
            &rows(&o.labels),
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn owners() {
        let rs = json!({"metadata": {"name": "web-7d9f-abcde", "labels": {"pod-template-hash": "7d9f"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "web-7d9f"}]}});
        assert_eq!(owner(&rs), "Deployment/web");
        let cron = json!({"metadata": {"name": "x", "ownerReferences": [{"kind": "Job", "name": "export-29123456"}]}});
        assert_eq!(owner(&cron), "CronJob/export");
        let bare = json!({"metadata": {"name": "debug"}});
        assert_eq!(owner(&bare), "Pod/debug");
        let sts = json!({"metadata": {"name": "db-0", "ownerReferences": [{"kind": "StatefulSet", "name": "db"}]}});
        assert_eq!(owner(&sts), "StatefulSet/db");
    }

    #[test]
    fn pods_sum_container_requests() {
        let pod = json!({"metadata": {"name": "a", "namespace": "shop"}, "spec": {"nodeName": "n1",
            "containers": [{"resources": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": "1"}}},
                           {"resources": {"requests": {"cpu": "250m"}}}]}, "status": {"phase": "Running"}});
        let info = pod_info(&pod).unwrap();
        assert!((info.cpu_request - 0.5).abs() < 1e-12);
        assert_eq!(info.memory_request, 1024.0 * 1024.0 * 1024.0);
        assert_eq!(info.cpu_limit, None);
        let done = json!({"spec": {"nodeName": "n1"}, "status": {"phase": "Succeeded"}});
        assert!(pod_info(&done).is_none());
    }
}
