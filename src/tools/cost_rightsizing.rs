//! `cost_rightsizing`: per workload, requests and limits against p95/p99 usage over the
//! window, recommended requests with headroom and the monthly saving at the node's unit
//! rates; per node group, instance family against the pods' shape, Spot and Graviton
//! candidates.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Duration;
use eks_ops_engine::allocation::rightsizing::{self, HOURS_PER_MONTH};
use eks_ops_engine::allocation::{self, NodeCost};
use eks_ops_engine::series::quantile;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::cost_workload::{NodeInfo, PodInfo, PodUsage, inventory, pod_usage};
use super::params::{AwsArgs, in_range};
use super::{Context, READ, Reply, ToolDef};
use crate::error::{ToolError, ToolResult};
use crate::output::Budget;
use crate::output::text::table;
use crate::time::resolve_window;

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "cost_rightsizing",
        "Rightsize workloads and node groups",
        "Per workload: CPU and memory requests/limits against p95/p99 usage over the window, recommended requests with headroom, and the monthly saving at node prices. Per node group: instance family against the pods' memory-per-core shape, Spot and Graviton candidates.",
        READ,
        cost_rightsizing,
    )]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RightsizingParams {
    /// Cluster; default the current one.
    pub cluster: Option<String>,
    /// Window start: duration back from `until`, or instant; default 24h.
    pub since: Option<String>,
    /// Window end; default now.
    pub until: Option<String>,
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Headroom over the usage percentile, 0-2 (default 0.2 = 20%).
    pub headroom: Option<f64>,
    /// Spot discount for Spot savings (0-0.95, default 0.65).
    pub spot_discount: Option<f64>,
    /// Workloads listed (1-50, default 10).
    pub top: Option<u32>,
    #[serde(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ResourceAdvice {
    pub request: f64,
    pub limit: Option<f64>,
    pub p95: f64,
    pub p99: f64,
    pub recommended: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WorkloadAdvice {
    /// `namespace/Kind/name`.
    pub workload: String,
    pub replicas: usize,
    /// Cores per pod.
    pub cpu: ResourceAdvice,
    /// Bytes per pod.
    pub memory: ResourceAdvice,
    /// USD a month at the recommendation; negative when it asks for more.
    pub monthly_saving: f64,
    /// `near memory limit`, `missing request`, `under-provisioned`, `over-provisioned` or `ok`.
    pub verdict: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct NodeGroupAdvice {
    pub nodegroup: String,
    pub instance_types: Vec<String>,
    pub capacity_type: String,
    pub nodes: usize,
    pub monthly_cost: f64,
    /// GiB per core the pods on it use (max of request and p95 usage).
    pub workload_gib_per_core: Option<f64>,
    pub family_gib_per_core: Option<f64>,
    /// Family class that fits the pods better (c, m or r), if any.
    pub better_class: Option<String>,
    /// Only restartable pods (Deployments, Jobs, DaemonSets): Spot is an option.
    pub spot_candidate: bool,
    pub spot_monthly_saving: Option<f64>,
    /// x86 family with an arm64 (Graviton) counterpart; check images are multi-arch.
    pub graviton_candidate: bool,
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RightsizingOutput {
    pub cluster: String,
    pub start: String,
    pub end: String,
    pub headroom: f64,
    /// Largest saving first.
    pub workloads: Vec<WorkloadAdvice>,
    /// Sum of the positive savings listed.
    pub total_monthly_saving: f64,
    pub node_groups: Vec<NodeGroupAdvice>,
    /// Workloads skipped for want of usage.
    pub without_usage: usize,
    pub pricing: String,
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

async fn cost_rightsizing(
    ctx: Arc<Context>,
    p: RightsizingParams,
    budget: Budget,
) -> ToolResult<Reply<RightsizingOutput>> {
    let headroom = fraction("headroom", p.headroom, 2.0, 0.2)?;
    let discount = fraction("spot_discount", p.spot_discount, 0.95, 0.65)?;
    let top = in_range("top", p.top, 1, 50, 10)? as usize;
    let now = ctx.sources.now().await?;
    let window = resolve_window(
        p.since.as_deref(),
        p.until.as_deref(),
        Duration::hours(24),
        now,
    )?;
    let cluster = ctx.sources.cluster(p.cluster.as_deref()).await?;
    let (nodes, mut pods) = inventory(cluster.as_ref()).await?;
    if let Some(ns) = &p.namespace {
        pods.retain(|pod| &pod.namespace == ns);
    }
    let usage = pod_usage(&ctx, &p.aws, window)
        .await
        .map_err(|why| ToolError::NotConfigured {
            what: "usage metrics".into(),
            how: format!("rightsizing needs pod CPU and memory usage: {why}"),
        })?;
    let prices = super::cost_workload::price_nodes(&ctx, &p.aws, &nodes).await?;
    let rates = node_rate_map(&nodes, &prices, discount);
    let (mut advice, without_usage) = workload_advice(&pods, &usage, &rates, headroom);
    advice.sort_by(|a, b| b.monthly_saving.total_cmp(&a.monthly_saving));
    let total: f64 = advice.iter().map(|a| a.monthly_saving.max(0.0)).sum();
    advice.truncate(top);
    let (workloads, _) = budget.take(advice, 0.5);
    let node_groups = group_advice(&nodes, &pods, &usage, &rates, discount);
    let out = RightsizingOutput {
        cluster: cluster.name().to_string(),
        start: window.start.to_rfc3339(),
        end: window.end.to_rfc3339(),
        headroom,
        workloads,
        total_monthly_saving: total,
        node_groups,
        without_usage,
        pricing: prices.source,
    };
    Ok(Reply {
        summary: summary(&out),
        data: out,
    })
}

/// Per node: (hourly price, USD per core-hour, USD per byte-hour).
type Rates = BTreeMap<String, (f64, f64, f64)>;

fn node_rate_map(
    nodes: &[NodeInfo],
    prices: &crate::sources::pricing::NodePrices,
    discount: f64,
) -> Rates {
    nodes
        .iter()
        .map(|n| {
            let od = prices.on_demand.get(&n.instance_type).copied();
            let price = if n.capacity_type == "SPOT" {
                prices
                    .spot
                    .get(&n.instance_type)
                    .copied()
                    .or_else(|| od.map(|p| allocation::spot_price(p, discount)))
            } else {
                od
            }
            .unwrap_or(0.0);
            let cost = NodeCost {
                name: n.name.clone(),
                hourly_price: price,
                cpu_cores: n.cpu,
                memory_bytes: n.memory,
                hours: 1.0,
            };
            let (cpu, byte) =
                allocation::node_rates(&cost, allocation::default_cpu_to_memory_ratio());
            (n.name.clone(), (price, cpu, byte))
        })
        .collect()
}

fn percentile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    quantile(&mut v, q).unwrap_or(0.0)
}

struct Group<'a> {
    pods: Vec<&'a PodInfo>,
    cpu: Vec<f64>,
    memory: Vec<f64>,
}

fn workload_advice(
    pods: &[PodInfo],
    usage: &BTreeMap<(String, String), PodUsage>,
    rates: &Rates,
    headroom: f64,
) -> (Vec<WorkloadAdvice>, usize) {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for pod in pods {
        let g = groups
            .entry(format!("{}/{}", pod.namespace, pod.workload))
            .or_insert_with(|| Group {
                pods: Vec::new(),
                cpu: Vec::new(),
                memory: Vec::new(),
            });
        g.pods.push(pod);
        if let Some(u) = usage.get(&(pod.namespace.clone(), pod.name.clone())) {
            g.cpu.extend(&u.cpu);
            g.memory.extend(&u.memory);
        }
    }
    let mut skipped = 0;
    let mut out = Vec::new();
    for (name, g) in groups {
        if g.cpu.is_empty() && g.memory.is_empty() {
            skipped += 1;
            continue;
        }
        out.push(advise(name, &g, rates, headroom));
    }
    (out, skipped)
}

fn advise(name: String, g: &Group, rates: &Rates, headroom: f64) -> WorkloadAdvice {
    let n = g.pods.len().max(1) as f64;
    let max_of = |f: fn(&PodInfo) -> f64| g.pods.iter().map(|p| f(p)).fold(0.0, f64::max);
    let limit_of =
        |f: fn(&PodInfo) -> Option<f64>| g.pods.iter().filter_map(|p| f(p)).reduce(f64::max);
    let resource = |request: f64, limit: Option<f64>, samples: &[f64], q: f64, floor: f64| {
        let (p95, p99) = (percentile(samples, 0.95), percentile(samples, 0.99));
        let basis = if q > 0.97 { p99 } else { p95 };
        ResourceAdvice {
            request,
            limit,
            p95,
            p99,
            recommended: rightsizing::recommend(basis, headroom, floor),
        }
    };
    // CPU throttles when short, memory is killed: CPU from p95, memory from p99.
    let cpu = resource(
        max_of(|p| p.cpu_request),
        limit_of(|p| p.cpu_limit),
        &g.cpu,
        0.95,
        0.01,
    );
    let memory = resource(
        max_of(|p| p.memory_request),
        limit_of(|p| p.memory_limit),
        &g.memory,
        0.99,
        32.0 * 1024.0 * 1024.0,
    );
    let (cpu_rate, byte_rate) = {
        let known: Vec<(f64, f64)> = g
            .pods
            .iter()
            .filter_map(|p| rates.get(&p.node).map(|r| (r.1, r.2)))
            .collect();
        let k = known.len().max(1) as f64;
        (
            known.iter().map(|r| r.0).sum::<f64>() / k,
            known.iter().map(|r| r.1).sum::<f64>() / k,
        )
    };
    let saving = rightsizing::monthly_saving(cpu.request, cpu.recommended, cpu_rate, n)
        + rightsizing::monthly_saving(memory.request, memory.recommended, byte_rate, n);
    WorkloadAdvice {
        verdict: verdict(&cpu, &memory),
        workload: name,
        replicas: g.pods.len(),
        cpu,
        memory,
        monthly_saving: saving,
    }
}

fn verdict(cpu: &ResourceAdvice, memory: &ResourceAdvice) -> String {
    if memory
        .limit
        .is_some_and(|l| l > 0.0 && memory.p99 >= 0.9 * l)
    {
        return "near memory limit".into();
    }
    // Without a request the scheduler cannot place the pod by its size: say so before
    // calling it short.
    if cpu.request <= 0.0 || memory.request <= 0.0 {
        return "missing request".into();
    }
    if cpu.p95 > cpu.request || memory.p99 > memory.request {
        return "under-provisioned".into();
    }
    let low = |r: &ResourceAdvice| r.request > 0.0 && r.recommended < 0.7 * r.request;
    if low(cpu) || low(memory) {
        return "over-provisioned".into();
    }
    "ok".into()
}

fn group_advice(
    nodes: &[NodeInfo],
    pods: &[PodInfo],
    usage: &BTreeMap<(String, String), PodUsage>,
    rates: &Rates,
    discount: f64,
) -> Vec<NodeGroupAdvice> {
    let mut groups: BTreeMap<String, Vec<&NodeInfo>> = BTreeMap::new();
    for n in nodes {
        let key = if n.nodegroup.is_empty() {
            "(unmanaged)".to_string()
        } else {
            n.nodegroup.clone()
        };
        groups.entry(key).or_default().push(n);
    }
    groups
        .into_iter()
        .map(|(name, members)| one_group(name, &members, pods, usage, rates, discount))
        .collect()
}

fn one_group(
    name: String,
    members: &[&NodeInfo],
    pods: &[PodInfo],
    usage: &BTreeMap<(String, String), PodUsage>,
    rates: &Rates,
    discount: f64,
) -> NodeGroupAdvice {
    let on = |p: &&PodInfo| members.iter().any(|n| n.name == p.node);
    let here: Vec<&PodInfo> = pods.iter().filter(on).collect();
    let (mut cores, mut bytes) = (0.0, 0.0);
    for p in &here {
        let u = usage.get(&(p.namespace.clone(), p.name.clone()));
        let p95 = |v: Option<&Vec<f64>>| v.map(|v| percentile(v, 0.95)).unwrap_or(0.0);
        cores += p.cpu_request.max(p95(u.map(|u| &u.cpu)));
        bytes += p.memory_request.max(p95(u.map(|u| &u.memory)));
    }
    let mut types: Vec<String> = members.iter().map(|n| n.instance_type.clone()).collect();
    types.sort();
    types.dedup();
    let family = types
        .first()
        .map(|t| rightsizing::instance_family(t).to_string())
        .unwrap_or_default();
    let gib = bytes / (1024.0 * 1024.0 * 1024.0);
    let fit = rightsizing::family_fit(&family, cores, gib);
    let monthly: f64 = members
        .iter()
        .filter_map(|n| rates.get(&n.name).map(|r| r.0 * HOURS_PER_MONTH))
        .sum();
    let capacity = members
        .first()
        .map(|n| n.capacity_type.clone())
        .unwrap_or_default();
    let restartable = here.iter().all(|p| {
        ["Deployment/", "DaemonSet/", "Job/", "CronJob/"]
            .iter()
            .any(|k| p.workload.starts_with(k))
    });
    let spot_candidate = capacity == "ON_DEMAND" && restartable && !here.is_empty();
    let graviton = !family.is_empty()
        && !rightsizing::is_graviton(&family)
        && rightsizing::family_gib_per_core(&family).is_some();
    let mut notes = Vec::new();
    if let Some(c) = fit.as_ref().and_then(|f| f.better_class) {
        notes.push(format!(
            "pods use {:.1} GiB per core; a {c}-family fits better than {family}",
            fit.as_ref().map(|f| f.workload_gib_per_core).unwrap_or(0.0)
        ));
    }
    if capacity == "ON_DEMAND" && !restartable {
        notes.push("runs StatefulSets or bare pods: keep on-demand".into());
    }
    NodeGroupAdvice {
        nodegroup: name,
        instance_types: types,
        nodes: members.len(),
        monthly_cost: monthly,
        workload_gib_per_core: fit.as_ref().map(|f| f.workload_gib_per_core),
        family_gib_per_core: fit.as_ref().map(|f| f.family_gib_per_core),
        better_class: fit.and_then(|f| f.better_class).map(String::from),
        spot_candidate,
        spot_monthly_saving: spot_candidate.then_some(monthly * discount),
        graviton_candidate: graviton,
        capacity_type: capacity,
        notes,
    }
}

fn summary(o: &RightsizingOutput) -> String {
    let cores = |v: f64| format!("{v:.3}");
    let mib = |v: f64| format!("{:.0}Mi", v / (1024.0 * 1024.0));
    let rows: Vec<Vec<String>> = o
        .workloads
        .iter()
        .map(|w| {
            vec![
                w.workload.clone(),
                format!("{}->{}", cores(w.cpu.request), cores(w.cpu.recommended)),
                format!("{}->{}", mib(w.memory.request), mib(w.memory.recommended)),
                format!("{:.2}", w.monthly_saving),
                w.verdict.clone(),
            ]
        })
        .collect();
    let mut text = format!(
        "{} {} to {}: {:.2} USD/month saved by the recommendations ({:.0}% headroom; {} workloads without usage)\n{}",
        o.cluster,
        o.start,
        o.end,
        o.total_monthly_saving,
        o.headroom * 100.0,
        o.without_usage,
        table(
            &["WORKLOAD", "CPU REQ", "MEM REQ", "USD/MONTH", "VERDICT"],
            &rows
        )
    );
    for g in &o.node_groups {
        text.push_str(&format!(
            "\nnode group {} ({} x {}, {}): {:.2} USD/month{}{}{}",
            g.nodegroup,
            g.nodes,
            g.instance_types.join("/"),
            g.capacity_type,
            g.monthly_cost,
            g.spot_monthly_saving
                .map(|s| format!("; Spot candidate, saves ~{s:.2}"))
                .unwrap_or_default(),
            if g.graviton_candidate {
                "; Graviton candidate (check images for arm64)"
            } else {
                ""
            },
            g.notes.iter().map(|n| format!("; {n}")).collect::<String>()
        ));
    }
    text
}
