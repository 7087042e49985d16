//! Which findings a diagnosis reports: the whole cluster, one namespace, or one workload and
//! its neighbourhood (its ReplicaSets and pods, their nodes, the Services selecting them, its
//! HPA and the claims its pods mount).

use super::context::*;
use super::finding::{Finding, ResourceRef};
use super::services::{selector, selects};
use k8s_openapi::api::core::v1::Pod;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// What to diagnose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum Scope {
    Cluster,
    /// Objects in the namespace, plus the nodes its pods run on.
    Namespace {
        namespace: String,
    },
    /// A Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, Pod or Service (kind is
    /// case-insensitive) and what it depends on.
    Workload {
        namespace: String,
        kind: String,
        name: String,
    },
}

pub(crate) enum Filter {
    All,
    Members(HashSet<ResourceRef>),
}

impl Filter {
    pub fn new(ctx: &Ctx, scope: &Scope) -> Filter {
        match scope {
            Scope::Cluster => Filter::All,
            Scope::Namespace { namespace } => {
                let pods = ctx.pods_in(namespace).to_vec();
                let mut members = neighbours(ctx, namespace, &pods, false);
                members.extend(namespace_objects(ctx, namespace));
                Filter::Members(members)
            }
            Scope::Workload {
                namespace,
                kind,
                name,
            } => Filter::Members(workload(ctx, namespace, &canonical_kind(kind), name)),
        }
    }

    pub fn keeps(&self, f: &Finding) -> bool {
        match self {
            Filter::All => true,
            Filter::Members(set) => set.contains(&f.resource),
        }
    }
}

fn canonical_kind(kind: &str) -> String {
    let known = [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "Pod",
        "Service",
    ];
    let lower = kind.to_ascii_lowercase();
    let short = match lower.as_str() {
        "deploy" => "deployment",
        "sts" => "statefulset",
        "ds" => "daemonset",
        "rs" => "replicaset",
        "svc" => "service",
        other => other,
    };
    (known.iter())
        .find(|k| k.to_ascii_lowercase() == short)
        .map_or(kind.to_string(), |k| k.to_string())
}

/// Every namespaced object of the view in `namespace`, whatever its kind.
fn namespace_objects(ctx: &Ctx, namespace: &str) -> Vec<ResourceRef> {
    let v = ctx.view;
    let metas = (v.deployments.iter().map(|o| ("Deployment", &o.metadata)))
        .chain(v.replica_sets.iter().map(|o| ("ReplicaSet", &o.metadata)))
        .chain(v.stateful_sets.iter().map(|o| ("StatefulSet", &o.metadata)))
        .chain(v.daemon_sets.iter().map(|o| ("DaemonSet", &o.metadata)))
        .chain(v.jobs.iter().map(|o| ("Job", &o.metadata)))
        .chain(v.services.iter().map(|o| ("Service", &o.metadata)))
        .chain(
            v.hpas
                .iter()
                .map(|o| ("HorizontalPodAutoscaler", &o.metadata)),
        )
        .chain(
            v.pvcs
                .iter()
                .map(|o| ("PersistentVolumeClaim", &o.metadata)),
        )
        .chain(
            v.resource_quotas
                .iter()
                .map(|o| ("ResourceQuota", &o.metadata)),
        );
    (metas.filter(|(_, m)| ns(m) == namespace))
        .map(|(kind, m)| ResourceRef::namespaced(kind, namespace, name(m)))
        .collect()
}

fn workload(ctx: &Ctx, namespace: &str, kind: &str, root: &str) -> HashSet<ResourceRef> {
    let mut controllers = vec![ResourceRef::namespaced(kind, namespace, root)];
    if kind == "Deployment" {
        let owned = ctx.replica_sets_of(namespace, root);
        controllers.extend(
            owned.map(|rs| ResourceRef::namespaced("ReplicaSet", namespace, name(&rs.metadata))),
        );
    }
    let pods: Vec<&Pod> = match kind {
        "Pod" => ctx
            .pods_in(namespace)
            .iter()
            .copied()
            .filter(|p| name(&p.metadata) == root)
            .collect(),
        "Service" => service_pods(ctx, namespace, root),
        _ => controllers
            .iter()
            .flat_map(|c| ctx.pods_owned_by(namespace, &c.name).iter().copied())
            .collect(),
    };
    let mut members = neighbours(ctx, namespace, &pods, kind != "Service");
    members.extend(controllers);
    members.extend(hpas_of(ctx, namespace, kind, root));
    members
}

fn service_pods<'a>(ctx: &Ctx<'a>, namespace: &str, svc: &str) -> Vec<&'a Pod> {
    let found = ctx
        .view
        .services
        .iter()
        .find(|s| ns(&s.metadata) == namespace && name(&s.metadata) == svc);
    let Some(sel) = found.and_then(selector) else {
        return Vec::new();
    };
    ctx.pods_in(namespace)
        .iter()
        .copied()
        .filter(|p| selects(sel, p))
        .collect()
}

/// The pods themselves, their nodes and claims, and (optionally) Services selecting them.
fn neighbours(
    ctx: &Ctx,
    namespace: &str,
    pods: &[&Pod],
    with_services: bool,
) -> HashSet<ResourceRef> {
    let mut out = HashSet::new();
    for pod in pods {
        out.insert(pod_ref(pod));
        if let Some(node) = node_of(pod) {
            out.insert(ResourceRef::cluster("Node", node));
        }
        let volumes = pod.spec.as_ref().and_then(|s| s.volumes.as_ref());
        for claim in volumes
            .into_iter()
            .flatten()
            .filter_map(|v| v.persistent_volume_claim.as_ref())
        {
            out.insert(ResourceRef::namespaced(
                "PersistentVolumeClaim",
                namespace,
                &claim.claim_name,
            ));
        }
    }
    if with_services {
        let services = ctx
            .view
            .services
            .iter()
            .filter(|s| ns(&s.metadata) == namespace);
        for svc in services {
            if selector(svc).is_some_and(|sel| pods.iter().any(|p| selects(sel, p))) {
                out.insert(ResourceRef::namespaced(
                    "Service",
                    namespace,
                    name(&svc.metadata),
                ));
            }
        }
    }
    out
}

fn hpas_of(ctx: &Ctx, namespace: &str, kind: &str, root: &str) -> Vec<ResourceRef> {
    (ctx.view.hpas.iter())
        .filter(|h| ns(&h.metadata) == namespace)
        .filter(|h| h.spec.scale_target_ref.kind == kind && h.spec.scale_target_ref.name == root)
        .map(|h| ResourceRef::namespaced("HorizontalPodAutoscaler", namespace, name(&h.metadata)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_normalised() {
        assert_eq!(canonical_kind("deploy"), "Deployment");
        assert_eq!(canonical_kind("STATEFULSET"), "StatefulSet");
        assert_eq!(canonical_kind("svc"), "Service");
        assert_eq!(canonical_kind("CronJob"), "CronJob");
    }
}
