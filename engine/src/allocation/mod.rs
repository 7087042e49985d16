//! OpenCost-style cost allocation: each node's price split into CPU and memory rates, charged
//! to pods by `max(request, usage)` of each resource, the unclaimed rest reported as the node's
//! idle cost. Also rightsizing maths ([`rightsizing`]) and change detection for short daily
//! cost series ([`shift`]). Pure: prices, capacities and usage come in as plain numbers.

pub mod rightsizing;
pub mod shift;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// OpenCost's default list prices, USD per vCPU-hour and per GiB-hour; only their ratio is
/// used here, to split a node's price between its CPU and memory.
pub const OPENCOST_CPU_HOURLY: f64 = 0.031611;
pub const OPENCOST_GIB_HOURLY: f64 = 0.004237;

/// Price of one vCPU relative to one GiB of memory (OpenCost defaults: about 7.46).
pub fn default_cpu_to_memory_ratio() -> f64 {
    OPENCOST_CPU_HOURLY / OPENCOST_GIB_HOURLY
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// A node and what it costs over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeCost {
    pub name: String,
    /// USD per hour (already discounted for Spot).
    pub hourly_price: f64,
    pub cpu_cores: f64,
    pub memory_bytes: f64,
    /// Hours the node ran in the window.
    pub hours: f64,
}

/// A pod's requests and observed usage on one node; usage `None` when unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodUse {
    pub namespace: String,
    pub workload: String,
    pub pod: String,
    pub node: String,
    pub cpu_request: f64,
    pub memory_request: f64,
    /// Average cores used over the window.
    pub cpu_usage: Option<f64>,
    /// Average bytes used over the window.
    pub memory_usage: Option<f64>,
    /// Hours the pod ran on the node in the window.
    pub hours: f64,
}

/// What one pod is charged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodCost {
    pub namespace: String,
    pub workload: String,
    pub pod: String,
    pub node: String,
    pub cpu_cost: f64,
    pub memory_cost: f64,
    /// Cost of what the pod requested (for efficiency).
    pub request_cost: f64,
    /// Cost of what the pod used, when usage is known.
    pub usage_cost: Option<f64>,
}

impl PodCost {
    pub fn total(&self) -> f64 {
        self.cpu_cost + self.memory_cost
    }
}

/// A node's cost split into allocated and idle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeSplit {
    pub name: String,
    pub total: f64,
    pub allocated: f64,
    pub idle: f64,
}

/// The allocation of every node and pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    pub pods: Vec<PodCost>,
    pub nodes: Vec<NodeSplit>,
}

impl Allocation {
    pub fn node_total(&self) -> f64 {
        self.nodes.iter().map(|n| n.total).sum()
    }

    pub fn idle_total(&self) -> f64 {
        self.nodes.iter().map(|n| n.idle).sum()
    }

    /// Pod cost summed by `key` (namespace, workload...), largest first.
    pub fn by<F: Fn(&PodCost) -> String>(&self, key: F) -> Vec<(String, f64)> {
        let mut sums: BTreeMap<String, f64> = BTreeMap::new();
        for p in &self.pods {
            *sums.entry(key(p)).or_default() += p.total();
        }
        let mut out: Vec<(String, f64)> = sums.into_iter().collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }

    /// Usage cost over request cost for pods with known usage: OpenCost's total efficiency.
    pub fn efficiency(&self) -> Option<f64> {
        let known = self.pods.iter().filter_map(|p| Some((p.usage_cost?, p)));
        let (used, requested) =
            known.fold((0.0, 0.0), |(u, r), (uc, p)| (u + uc, r + p.request_cost));
        (requested > 0.0).then(|| used / requested)
    }
}

/// USD per core-hour and per byte-hour of a node, splitting its price by `cpu_to_memory` (the
/// price of a core over that of a GiB). A node with no capacity has zero rates.
pub fn node_rates(node: &NodeCost, cpu_to_memory: f64) -> (f64, f64) {
    let ratio = finite_or(cpu_to_memory, default_cpu_to_memory_ratio()).max(0.0);
    let price = finite_or(node.hourly_price, 0.0).max(0.0);
    let cores = finite_or(node.cpu_cores, 0.0).max(0.0);
    let gib = finite_or(node.memory_bytes, 0.0).max(0.0) / GIB;
    let units = ratio * cores + gib;
    if units <= 0.0 {
        return (0.0, 0.0);
    }
    let gib_rate = price / units;
    (gib_rate * ratio, gib_rate / GIB)
}

fn finite_or(x: f64, default: f64) -> f64 {
    if x.is_finite() { x } else { default }
}

fn nonneg(x: Option<f64>) -> f64 {
    x.filter(|v| v.is_finite()).unwrap_or(0.0).max(0.0)
}

/// Allocates node cost to pods. A pod on an unknown node is charged nothing. When the pods on
/// a node claim more than its capacity, their charges are scaled down so the node's cost is
/// charged once and its idle cost is zero.
pub fn allocate(nodes: &[NodeCost], pods: &[PodUse], cpu_to_memory: f64) -> Allocation {
    let mut out = Allocation {
        pods: Vec::new(),
        nodes: Vec::new(),
    };
    for node in nodes {
        let (cpu_rate, byte_rate) = node_rates(node, cpu_to_memory);
        let total = nonneg(Some(node.hourly_price)) * nonneg(Some(node.hours));
        let mut charged: Vec<PodCost> = pods
            .iter()
            .filter(|p| p.node == node.name)
            .map(|p| charge(p, cpu_rate, byte_rate))
            .collect();
        let claimed: f64 = charged.iter().map(PodCost::total).sum();
        if claimed > total && claimed > 0.0 {
            let scale = total / claimed;
            for c in &mut charged {
                c.cpu_cost *= scale;
                c.memory_cost *= scale;
            }
        }
        let allocated = claimed.min(total);
        out.nodes.push(NodeSplit {
            name: node.name.clone(),
            total,
            allocated,
            idle: total - allocated,
        });
        out.pods.extend(charged);
    }
    out
}

fn charge(p: &PodUse, cpu_rate: f64, byte_rate: f64) -> PodCost {
    let hours = nonneg(Some(p.hours));
    let (cpu_req, mem_req) = (nonneg(Some(p.cpu_request)), nonneg(Some(p.memory_request)));
    let cpu = cpu_req.max(nonneg(p.cpu_usage));
    let mem = mem_req.max(nonneg(p.memory_usage));
    let usage_cost = match (p.cpu_usage, p.memory_usage) {
        (None, None) => None,
        (c, m) => Some(hours * (nonneg(c) * cpu_rate + nonneg(m) * byte_rate)),
    };
    PodCost {
        namespace: p.namespace.clone(),
        workload: p.workload.clone(),
        pod: p.pod.clone(),
        node: p.node.clone(),
        cpu_cost: hours * cpu * cpu_rate,
        memory_cost: hours * mem * byte_rate,
        request_cost: hours * (cpu_req * cpu_rate + mem_req * byte_rate),
        usage_cost,
    }
}

/// A Spot price from the on-demand price and a discount in [0, 1).
pub fn spot_price(on_demand: f64, discount: f64) -> f64 {
    let d = finite_or(discount, 0.0).clamp(0.0, 1.0);
    finite_or(on_demand, 0.0).max(0.0) * (1.0 - d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn pod(name: &str, node: &str, cpu: f64, mem_gib: f64, usage: Option<(f64, f64)>) -> PodUse {
        PodUse {
            namespace: "shop".into(),
            workload: name.into(),
            pod: format!("{name}-0"),
            node: node.into(),
            cpu_request: cpu,
            memory_request: mem_gib * GIB,
            cpu_usage: usage.map(|u| u.0),
            memory_usage: usage.map(|u| u.1 * GIB),
            hours: 10.0,
        }
    }

    /// Two nodes of 4 cores and 16 GiB, ratio 4 (one core costs as much as 4 GiB), so each
    /// node has 32 price units: node a at $0.32/h is $0.04 per core-hour and $0.01 per
    /// GiB-hour. Node b is Spot at 60% off $0.32/h, so $0.128/h: $0.016 and $0.004.
    fn cluster() -> (Vec<NodeCost>, Vec<PodUse>) {
        let nodes = vec![
            NodeCost {
                name: "a".into(),
                hourly_price: 0.32,
                cpu_cores: 4.0,
                memory_bytes: 16.0 * GIB,
                hours: 10.0,
            },
            NodeCost {
                name: "b".into(),
                hourly_price: spot_price(0.32, 0.6),
                cpu_cores: 4.0,
                memory_bytes: 16.0 * GIB,
                hours: 10.0,
            },
        ];
        let pods = vec![
            // Requests 1 core / 2 GiB, uses 0.5 / 3 GiB: charged 1 core and 3 GiB.
            pod("api", "a", 1.0, 2.0, Some((0.5, 3.0))),
            // Requests 0.5 / 4 GiB, uses 2 cores / 1 GiB: charged 2 cores and 4 GiB.
            pod("worker", "a", 0.5, 4.0, Some((2.0, 1.0))),
            // Requests only (no usage): 1 core / 1 GiB on the Spot node.
            pod("batch", "b", 1.0, 1.0, None),
        ];
        (nodes, pods)
    }

    #[test]
    fn shared_node_spot_node_and_idle() {
        let (nodes, pods) = cluster();
        let a = allocate(&nodes, &pods, 4.0);
        let cost = |name: &str| a.pods.iter().find(|p| p.workload == name).unwrap().clone();
        // api: 10 h x (1 x 0.04 + 3 x 0.01) = 0.70; requested 10 x (0.04 + 0.02) = 0.60.
        assert!(close(cost("api").total(), 0.70));
        assert!(close(cost("api").request_cost, 0.60));
        // worker: 10 h x (2 x 0.04 + 4 x 0.01) = 1.20.
        assert!(close(cost("worker").total(), 1.20));
        // batch on Spot: 10 h x (1 x 0.016 + 1 x 0.004) = 0.20.
        assert!(close(cost("batch").total(), 0.20));
        assert_eq!(cost("batch").usage_cost, None);
        // Node a: 3.20 total, 1.90 allocated, 1.30 idle. Node b: 1.28 total, 1.08 idle.
        assert!(close(a.nodes[0].total, 3.2) && close(a.nodes[0].idle, 1.3));
        assert!(close(a.nodes[1].total, 1.28) && close(a.nodes[1].idle, 1.08));
        assert!(close(a.idle_total(), 2.38));
        // Efficiency over pods with usage: api used 10 x (0.5 x 0.04 + 3 x 0.01) = 0.50 of
        // 0.60; worker used 10 x (2 x 0.04 + 0.01) = 0.90 of 10 x (0.02 + 0.04) = 0.60.
        assert!(close(a.efficiency().unwrap(), 1.40 / 1.20));
        assert_eq!(a.by(|p| p.namespace.clone()).len(), 1);
    }

    #[test]
    fn three_pods_share_one_node() {
        let (nodes, mut pods) = cluster();
        // Requests 0.25 core / 1 GiB, uses 0.1 / 0.5 GiB: charged its requests.
        pods.push(pod("cron", "a", 0.25, 1.0, Some((0.1, 0.5))));
        pods.retain(|p| p.node == "a");
        let a = allocate(&nodes[..1], &pods, 4.0);
        let cost = |name: &str| a.pods.iter().find(|p| p.workload == name).unwrap().total();
        // api 0.70 and worker 1.20 as above; cron: 10 h x (0.25 x 0.04 + 1 x 0.01) = 0.20.
        assert!(close(cost("api"), 0.70));
        assert!(close(cost("worker"), 1.20));
        assert!(close(cost("cron"), 0.20));
        // Node a: 3.20 in all, 2.10 charged, 1.10 idle.
        assert!(close(a.nodes[0].idle, 1.10), "{:?}", a.nodes[0]);
    }

    #[test]
    fn an_empty_node_is_all_idle() {
        let (nodes, _) = cluster();
        let a = allocate(&nodes, &[], 4.0);
        assert!(close(a.idle_total(), 3.2 + 1.28));
        assert!(a.pods.is_empty() && a.efficiency().is_none());
    }

    #[test]
    fn overclaimed_nodes_charge_their_cost_once() {
        let (nodes, _) = cluster();
        let big = vec![
            pod("x", "a", 4.0, 16.0, None),
            pod("y", "a", 4.0, 16.0, None),
        ];
        let a = allocate(&nodes[..1], &big, 4.0);
        assert!(close(a.pods.iter().map(PodCost::total).sum::<f64>(), 3.2));
        assert!(close(a.nodes[0].idle, 0.0));
    }

    #[test]
    fn bad_numbers_never_panic_or_go_negative() {
        let node = NodeCost {
            name: "n".into(),
            hourly_price: f64::NAN,
            cpu_cores: -1.0,
            memory_bytes: f64::INFINITY,
            hours: f64::NAN,
        };
        let p = PodUse {
            cpu_request: f64::NAN,
            memory_request: -5.0,
            ..pod("p", "n", 0.0, 0.0, Some((f64::NAN, f64::INFINITY)))
        };
        let a = allocate(&[node], &[p], f64::NAN);
        assert!(
            a.pods
                .iter()
                .all(|p| p.total() >= 0.0 && p.total().is_finite())
        );
        assert!(a.nodes.iter().all(|n| n.idle >= 0.0 && n.idle.is_finite()));
        assert!(close(spot_price(1.0, 2.0), 0.0));
    }
}
