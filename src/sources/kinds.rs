//! Kinds: what a resource type is called and where it lives in the API, and how a user's
//! spelling of it (`po`, `pods`, `Deployment`, `nodepools.karpenter.sh`) resolves to one.

use serde::Serialize;

use crate::error::{ToolError, ToolResult};

/// One API resource type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KindInfo {
    /// API group; empty for core.
    pub group: String,
    pub version: String,
    pub kind: String,
    /// Lower-case plural used in URLs.
    pub plural: String,
    pub namespaced: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub short_names: Vec<String>,
}

impl KindInfo {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural.group` for non-core kinds, as kubectl prints them.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// The built-in kinds every cluster serves, for backends without discovery (snapshots).
pub fn builtin() -> Vec<KindInfo> {
    /// group, version, kind, plural, namespaced, short names.
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        bool,
        &'static [&'static str],
    );
    const TABLE: &[Row] = &[
        ("", "v1", "Pod", "pods", true, &["po"]),
        ("", "v1", "Service", "services", true, &["svc"]),
        ("", "v1", "Endpoints", "endpoints", true, &["ep"]),
        ("", "v1", "Event", "events", true, &["ev"]),
        ("", "v1", "ConfigMap", "configmaps", true, &["cm"]),
        ("", "v1", "Secret", "secrets", true, &[]),
        ("", "v1", "Node", "nodes", false, &["no"]),
        ("", "v1", "Namespace", "namespaces", false, &["ns"]),
        (
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            true,
            &["pvc"],
        ),
        (
            "",
            "v1",
            "PersistentVolume",
            "persistentvolumes",
            false,
            &["pv"],
        ),
        (
            "",
            "v1",
            "ResourceQuota",
            "resourcequotas",
            true,
            &["quota"],
        ),
        ("", "v1", "ServiceAccount", "serviceaccounts", true, &["sa"]),
        ("apps", "v1", "Deployment", "deployments", true, &["deploy"]),
        ("apps", "v1", "ReplicaSet", "replicasets", true, &["rs"]),
        ("apps", "v1", "StatefulSet", "statefulsets", true, &["sts"]),
        ("apps", "v1", "DaemonSet", "daemonsets", true, &["ds"]),
        (
            "apps",
            "v1",
            "ControllerRevision",
            "controllerrevisions",
            true,
            &[],
        ),
        ("batch", "v1", "Job", "jobs", true, &[]),
        ("batch", "v1", "CronJob", "cronjobs", true, &["cj"]),
        (
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            true,
            &["hpa"],
        ),
        (
            "discovery.k8s.io",
            "v1",
            "EndpointSlice",
            "endpointslices",
            true,
            &[],
        ),
        (
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            true,
            &["pdb"],
        ),
        (
            "networking.k8s.io",
            "v1",
            "Ingress",
            "ingresses",
            true,
            &["ing"],
        ),
        (
            "storage.k8s.io",
            "v1",
            "StorageClass",
            "storageclasses",
            false,
            &["sc"],
        ),
        (
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
            &["crd", "crds"],
        ),
    ];
    TABLE
        .iter()
        .map(
            |(group, version, kind, plural, namespaced, short)| KindInfo {
                group: group.to_string(),
                version: version.to_string(),
                kind: kind.to_string(),
                plural: plural.to_string(),
                namespaced: *namespaced,
                short_names: short.iter().map(|s| s.to_string()).collect(),
            },
        )
        .collect()
}

/// Resolves a user's spelling of a kind against what the cluster serves. Core and the
/// well-known groups win a tie, as in kubectl, so `events` is core/v1 Event.
pub fn resolve(kinds: &[KindInfo], wanted: &str) -> ToolResult<KindInfo> {
    let w = wanted.trim().to_ascii_lowercase();
    let (name, group) = match w.split_once('.') {
        Some((n, g)) => (n.to_string(), Some(g.to_string())),
        None => (w.clone(), None),
    };
    let matches = |k: &KindInfo| {
        let name_ok = k.kind.to_ascii_lowercase() == name
            || k.plural == name
            || k.short_names.contains(&name)
            || format!("{}s", k.kind.to_ascii_lowercase()) == name;
        let group_ok = group.as_ref().is_none_or(|g| {
            k.group == *g || g.starts_with(&format!("{}.", k.version)) && g.ends_with(&k.group)
        });
        name_ok && group_ok
    };
    let mut found: Vec<&KindInfo> = kinds.iter().filter(|k| matches(k)).collect();
    found.sort_by_key(|k| (group_rank(&k.group), k.group.clone()));
    match found.first() {
        Some(k) => Ok((*k).clone()),
        None => {
            let mut names: Vec<String> = kinds.iter().map(|k| k.kind.clone()).collect();
            names.sort();
            names.dedup();
            Err(ToolError::not_found("kind", wanted, names))
        }
    }
}

fn group_rank(group: &str) -> u8 {
    match group {
        "" => 0,
        "apps" | "batch" | "autoscaling" | "policy" | "networking.k8s.io" | "storage.k8s.io" => 1,
        g if g.ends_with(".k8s.io") => 3,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_common_spellings() {
        let kinds = builtin();
        for (input, kind) in [
            ("po", "Pod"),
            ("pods", "Pod"),
            ("Pod", "Pod"),
            ("deploy", "Deployment"),
            ("HPA", "HorizontalPodAutoscaler"),
            ("events", "Event"),
            ("deployments.apps", "Deployment"),
        ] {
            assert_eq!(resolve(&kinds, input).unwrap().kind, kind, "{input}");
        }
    }

    #[test]
    fn core_events_win_over_events_k8s_io() {
        let mut kinds = builtin();
        kinds.push(KindInfo {
            group: "events.k8s.io".into(),
            version: "v1".into(),
            kind: "Event".into(),
            plural: "events".into(),
            namespaced: true,
            short_names: vec![],
        });
        assert_eq!(resolve(&kinds, "events").unwrap().group, "");
        assert_eq!(
            resolve(&kinds, "events.events.k8s.io").unwrap().group,
            "events.k8s.io"
        );
    }

    #[test]
    fn unknown_kind_lists_the_known_ones() {
        let err = resolve(&builtin(), "Gizmo").unwrap_err().to_string();
        assert!(
            err.contains("kind `Gizmo` not found") && err.contains("Deployment"),
            "{err}"
        );
    }
}
