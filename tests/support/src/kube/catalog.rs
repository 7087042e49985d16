//! The resources the stand-in serves: the built-in kinds, the kinds CustomResourceDefinitions in
//! the bundle declare, and any other kind a bundle carries.
//!
//! Built-in objects are checked against their k8s-openapi type here ([`typed`]), so the fixture
//! cannot drift from what a real API server could return.

use k8s_openapi::api::{apps, autoscaling, batch, core, discovery, networking, policy};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

/// The verbs the API server lists for every served resource; the stand-in answers only get and
/// list, but discovery reports what a real cluster would so clients pick the same code paths.
pub const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// One served resource (a group/version/plural), as discovery describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// Built-in kinds have typed checks, fixed field selectors and typed list items.
    pub builtin: bool,
}

impl Resource {
    /// `v1` for core, `apps/v1` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// (group, version, kind, plural, namespaced, short names, in category `all`)
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    bool,
);

// One row per kind reads better than rustfmt's one-field-per-line layout.
#[rustfmt::skip]
const BUILTINS: &[Builtin] = &[
    ("", "v1", "Pod", "pods", true, &["po"], true),
    ("", "v1", "Service", "services", true, &["svc"], true),
    ("", "v1", "Endpoints", "endpoints", true, &["ep"], false),
    ("", "v1", "Event", "events", true, &["ev"], false),
    ("", "v1", "ConfigMap", "configmaps", true, &["cm"], false),
    ("", "v1", "Secret", "secrets", true, &[], false),
    ("", "v1", "Node", "nodes", false, &["no"], false),
    ("", "v1", "Namespace", "namespaces", false, &["ns"], false),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, &["pvc"], false),
    ("", "v1", "PersistentVolume", "persistentvolumes", false, &["pv"], false),
    ("", "v1", "ResourceQuota", "resourcequotas", true, &["quota"], false),
    ("", "v1", "ServiceAccount", "serviceaccounts", true, &["sa"], false),
    ("apps", "v1", "Deployment", "deployments", true, &["deploy"], true),
    ("apps", "v1", "ReplicaSet", "replicasets", true, &["rs"], true),
    ("apps", "v1", "StatefulSet", "statefulsets", true, &["sts"], true),
    ("apps", "v1", "DaemonSet", "daemonsets", true, &["ds"], true),
    ("apps", "v1", "ControllerRevision", "controllerrevisions", true, &[], false),
    ("events.k8s.io", "v1", "Event", "events", true, &["ev"], false),
    ("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, &["hpa"], true),
    ("batch", "v1", "Job", "jobs", true, &[], true),
    ("batch", "v1", "CronJob", "cronjobs", true, &["cj"], true),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", true, &["ing"], false),
    ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", true, &["pdb"], false),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", false, &["crd", "crds"], false),
    ("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true, &[], false),
];

/// Every served resource, in the order discovery lists them.
#[derive(Debug, Clone)]
pub struct Catalog {
    resources: Vec<Resource>,
}

impl Catalog {
    /// The built-ins, then each CRD's served versions, then any kind seen only in `objects`
    /// (`(apiVersion, kind, namespaced)`), with a guessed plural.
    pub fn build(crds: &[Value], seen: &[(String, String, bool)]) -> Self {
        let mut resources: Vec<Resource> = BUILTINS.iter().map(builtin).collect();
        for crd in crds {
            for r in from_crd(crd) {
                push_new(&mut resources, r);
            }
        }
        for (api_version, kind, namespaced) in seen {
            let (group, version) = split_api_version(api_version);
            if !resources
                .iter()
                .any(|r| r.group == group && r.kind == *kind)
            {
                resources.push(guessed(group, version, kind, *namespaced));
            }
        }
        Self { resources }
    }

    /// The resource served at `group/version/plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&Resource> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    /// The first resource of a kind, used to file bundle objects under their plural.
    pub fn by_kind(&self, group: &str, kind: &str) -> Option<&Resource> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.kind == kind)
    }

    /// Groups (core excluded) with their versions, in catalog order; the first version is the
    /// preferred one.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for r in self.resources.iter().filter(|r| !r.group.is_empty()) {
            match out.iter_mut().find(|(g, _)| *g == r.group) {
                Some((_, versions)) if !versions.contains(&r.version) => {
                    versions.push(r.version.clone())
                }
                Some(_) => {}
                None => out.push((r.group.clone(), vec![r.version.clone()])),
            }
        }
        out
    }

    /// The resources of one group version.
    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources
            .iter()
            .filter(move |r| r.group == group && r.version == version)
    }
}

fn push_new(resources: &mut Vec<Resource>, r: Resource) {
    let taken = resources
        .iter()
        .any(|x| x.group == r.group && x.version == r.version && x.plural == r.plural);
    if !taken {
        resources.push(r);
    }
}

fn builtin(b: &Builtin) -> Resource {
    let (group, version, kind, plural, namespaced, short, all) = *b;
    Resource {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        namespaced,
        short_names: short.iter().map(|s| s.to_string()).collect(),
        categories: if all { vec!["all".into()] } else { Vec::new() },
        builtin: true,
    }
}

/// `("apps", "v1")` from `apps/v1`, `("", "v1")` from `v1`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// One resource per served version of a CustomResourceDefinition.
fn from_crd(crd: &Value) -> Vec<Resource> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let (Some(group), Some(kind), Some(plural)) = (
        spec["group"].as_str(),
        names["kind"].as_str(),
        names["plural"].as_str(),
    ) else {
        return Vec::new();
    };
    let served = spec["versions"].as_array().into_iter().flatten();
    served
        .filter(|v| v["served"].as_bool().unwrap_or(true))
        .filter_map(|v| v["name"].as_str())
        .map(|version| Resource {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: names["singular"]
                .as_str()
                .map_or_else(|| kind.to_lowercase(), String::from),
            namespaced: spec["scope"].as_str() != Some("Cluster"),
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            builtin: false,
        })
        .collect()
}

fn guessed(group: &str, version: &str, kind: &str, namespaced: bool) -> Resource {
    Resource {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: pluralize(&kind.to_lowercase()),
        singular: kind.to_lowercase(),
        namespaced,
        short_names: Vec::new(),
        categories: Vec::new(),
        builtin: false,
    }
}

/// The API machinery's default plural for a lowercase kind (`policy` → `policies`).
fn pluralize(singular: &str) -> String {
    let ends = |s: &str| singular.ends_with(s);
    if ends("s") || ends("x") || ends("z") || ends("ch") || ends("sh") {
        format!("{singular}es")
    } else if let Some(stem) = singular.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        format!("{stem}ies")
    } else {
        format!("{singular}s")
    }
}

/// Round-trips a built-in object through its k8s-openapi type, which rejects wrong field types
/// and drops fields the type does not know. Other kinds pass through unchanged.
pub fn typed(group: &str, kind: &str, value: Value) -> Result<Value, String> {
    match (group, kind) {
        ("", "Pod") => roundtrip::<core::v1::Pod>(value),
        ("", "Service") => roundtrip::<core::v1::Service>(value),
        ("", "Endpoints") => roundtrip::<core::v1::Endpoints>(value),
        ("", "Event") => roundtrip::<core::v1::Event>(value),
        ("", "ConfigMap") => roundtrip::<core::v1::ConfigMap>(value),
        ("", "Secret") => roundtrip::<core::v1::Secret>(value),
        ("", "Node") => roundtrip::<core::v1::Node>(value),
        ("", "Namespace") => roundtrip::<core::v1::Namespace>(value),
        ("", "PersistentVolumeClaim") => roundtrip::<core::v1::PersistentVolumeClaim>(value),
        ("", "PersistentVolume") => roundtrip::<core::v1::PersistentVolume>(value),
        ("", "ResourceQuota") => roundtrip::<core::v1::ResourceQuota>(value),
        ("", "ServiceAccount") => roundtrip::<core::v1::ServiceAccount>(value),
        _ => typed_grouped(group, kind, value),
    }
}

fn typed_grouped(group: &str, kind: &str, value: Value) -> Result<Value, String> {
    match (group, kind) {
        ("apps", "Deployment") => roundtrip::<apps::v1::Deployment>(value),
        ("apps", "ReplicaSet") => roundtrip::<apps::v1::ReplicaSet>(value),
        ("apps", "StatefulSet") => roundtrip::<apps::v1::StatefulSet>(value),
        ("apps", "DaemonSet") => roundtrip::<apps::v1::DaemonSet>(value),
        ("apps", "ControllerRevision") => roundtrip::<apps::v1::ControllerRevision>(value),
        ("batch", "Job") => roundtrip::<batch::v1::Job>(value),
        ("batch", "CronJob") => roundtrip::<batch::v1::CronJob>(value),
        ("autoscaling", "HorizontalPodAutoscaler") => {
            roundtrip::<autoscaling::v2::HorizontalPodAutoscaler>(value)
        }
        ("events.k8s.io", "Event") => roundtrip::<k8s_openapi::api::events::v1::Event>(value),
        ("discovery.k8s.io", "EndpointSlice") => roundtrip::<discovery::v1::EndpointSlice>(value),
        ("policy", "PodDisruptionBudget") => roundtrip::<policy::v1::PodDisruptionBudget>(value),
        ("networking.k8s.io", "Ingress") => roundtrip::<networking::v1::Ingress>(value),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            roundtrip::<CustomResourceDefinition>(value)
        }
        _ => Ok(value),
    }
}

fn roundtrip<T>(value: Value) -> Result<Value, String>
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let typed: T = serde_json::from_value(value).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crds_declare_served_versions() {
        let crd = json!({"spec": {"group": "karpenter.sh", "scope": "Cluster",
            "names": {"kind": "NodePool", "plural": "nodepools", "singular": "nodepool",
                      "categories": ["karpenter"]},
            "versions": [{"name": "v1", "served": true}, {"name": "v1beta1", "served": false}]}});
        let catalog = Catalog::build(&[crd], &[]);
        let r = catalog.find("karpenter.sh", "v1", "nodepools").unwrap();
        assert!(!r.namespaced);
        assert_eq!(r.categories, vec!["karpenter"]);
        assert!(
            catalog
                .find("karpenter.sh", "v1beta1", "nodepools")
                .is_none()
        );
    }

    #[test]
    fn undeclared_kinds_get_a_default_plural() {
        let seen = vec![("example.com/v1".into(), "Policy".into(), true)];
        let catalog = Catalog::build(&[], &seen);
        assert!(catalog.find("example.com", "v1", "policies").is_some());
        assert_eq!(pluralize("ingress"), "ingresses");
        assert_eq!(pluralize("gateway"), "gateways");
    }

    #[test]
    fn typed_check_rejects_wrong_field_types() {
        let bad = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "a", "labels": {"ok": true}}});
        assert!(typed("", "Pod", bad).is_err());
        let crd_obj = json!({"anything": [1, 2]});
        assert_eq!(
            typed("karpenter.sh", "NodePool", crd_obj.clone()),
            Ok(crd_obj)
        );
    }

    #[test]
    fn groups_list_each_group_once() {
        let catalog = Catalog::build(&[], &[]);
        let groups = catalog.groups();
        let apps = groups.iter().filter(|(g, _)| g == "apps").count();
        assert_eq!(apps, 1);
        assert!(groups.iter().all(|(g, _)| !g.is_empty()));
    }
}
