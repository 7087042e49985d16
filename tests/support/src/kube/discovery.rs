//! Discovery documents: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/{group}`,
//! `/apis/{group}/{version}`, and the aggregated (apidiscovery.k8s.io/v2) form of `/api` and
//! `/apis` that clients ask for through the `Accept` header.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    APIGroup, APIGroupList, APIResource, APIResourceList, APIVersions, GroupVersionForDiscovery,
    ServerAddressByClientCIDR,
};
use k8s_openapi::apimachinery::pkg::version::Info;
use serde_json::{Value, json};

use super::catalog::{Catalog, Resource, VERBS};

/// The content type of an aggregated discovery answer.
pub const AGGREGATED_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the `Accept` header asks for aggregated discovery (v2 or v2beta1).
pub fn wants_aggregated(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',').any(|t| {
            let params: Vec<&str> = t.split(';').map(str::trim).collect();
            params.contains(&"g=apidiscovery.k8s.io")
                && params.contains(&"as=APIGroupDiscoveryList")
        })
    })
}

/// What an EKS control plane of the fixture's era reports.
pub fn version() -> Info {
    Info {
        major: "1".into(),
        minor: "34".into(),
        git_version: "v1.34.2-eks-b3126f4".into(),
        git_commit: "b3126f4a7f4b0a1d8e3c5f9b2a6d7c8e9f0a1b2c".into(),
        git_tree_state: "clean".into(),
        build_date: "2026-10-09T21:40:07Z".into(),
        go_version: "go1.24.9".into(),
        compiler: "gc".into(),
        platform: "linux/amd64".into(),
        ..Default::default()
    }
}

pub fn core_versions(server_address: &str) -> APIVersions {
    APIVersions {
        versions: vec!["v1".into()],
        server_address_by_client_cidrs: vec![ServerAddressByClientCIDR {
            client_cidr: "0.0.0.0/0".into(),
            server_address: server_address.into(),
        }],
    }
}

fn group_doc(group: &str, versions: &[String]) -> APIGroup {
    let gv = |v: &String| GroupVersionForDiscovery {
        group_version: format!("{group}/{v}"),
        version: v.clone(),
    };
    APIGroup {
        name: group.into(),
        preferred_version: versions.first().map(gv),
        versions: versions.iter().map(gv).collect(),
        server_address_by_client_cidrs: None,
    }
}

pub fn group_list(catalog: &Catalog) -> APIGroupList {
    let groups = catalog.groups();
    APIGroupList {
        groups: groups.iter().map(|(g, vs)| group_doc(g, vs)).collect(),
    }
}

pub fn group(catalog: &Catalog, name: &str) -> Option<APIGroup> {
    let groups = catalog.groups();
    let (g, vs) = groups.iter().find(|(g, _)| g == name)?;
    Some(group_doc(g, vs))
}

fn verbs() -> Vec<String> {
    VERBS.iter().map(|v| v.to_string()).collect()
}

fn api_resource(r: &Resource) -> APIResource {
    APIResource {
        name: r.plural.clone(),
        singular_name: r.singular.clone(),
        namespaced: r.namespaced,
        kind: r.kind.clone(),
        verbs: verbs(),
        short_names: (!r.short_names.is_empty()).then(|| r.short_names.clone()),
        categories: (!r.categories.is_empty()).then(|| r.categories.clone()),
        ..Default::default()
    }
}

/// The `pods/log` subresource entry, the only subresource the stand-in serves.
fn pod_log() -> APIResource {
    APIResource {
        name: "pods/log".into(),
        singular_name: String::new(),
        namespaced: true,
        kind: "Pod".into(),
        verbs: vec!["get".into()],
        ..Default::default()
    }
}

/// The resources of one group version, or `None` when nothing is served there.
pub fn resource_list(catalog: &Catalog, group: &str, version: &str) -> Option<APIResourceList> {
    let mut resources: Vec<APIResource> = catalog
        .in_group_version(group, version)
        .map(api_resource)
        .collect();
    if resources.is_empty() {
        return None;
    }
    if group.is_empty() {
        resources.push(pod_log());
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(APIResourceList {
        group_version,
        resources,
    })
}

fn discovery_resource(r: &Resource) -> Value {
    let mut doc = json!({
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": VERBS,
    });
    if !r.short_names.is_empty() {
        doc["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        doc["categories"] = json!(r.categories);
    }
    if r.group.is_empty() && r.plural == "pods" {
        doc["subresources"] = json!([{
            "subresource": "log",
            "responseKind": {"group": "", "version": "", "kind": "string"},
            "verbs": ["get"],
        }]);
    }
    doc
}

/// `APIGroupDiscoveryList` for the core group (`core == true`) or for every named group.
pub fn aggregated(catalog: &Catalog, core: bool) -> Value {
    let groups: Vec<(String, Vec<String>)> = if core {
        vec![(String::new(), vec!["v1".to_string()])]
    } else {
        catalog.groups()
    };
    let items: Vec<Value> = groups
        .iter()
        .map(|(g, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = catalog
                        .in_group_version(g, v)
                        .map(discovery_resource)
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            json!({"metadata": {"name": g, "creationTimestamp": null}, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        let kube =
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
        assert!(wants_aggregated(Some(kube)));
        assert!(!wants_aggregated(Some("application/json")));
        assert!(!wants_aggregated(None));
    }

    #[test]
    fn core_list_has_pod_log() {
        let catalog = Catalog::build(&[], &[]);
        let list = resource_list(&catalog, "", "v1").unwrap();
        assert!(list.resources.iter().any(|r| r.name == "pods/log"));
        assert!(resource_list(&catalog, "apps", "v9").is_none());
        let apps = group(&catalog, "apps").unwrap();
        assert_eq!(apps.preferred_version.unwrap().group_version, "apps/v1");
    }

    #[test]
    fn aggregated_core_group_has_an_empty_name() {
        let catalog = Catalog::build(&[], &[]);
        let doc = aggregated(&catalog, true);
        assert_eq!(doc["items"][0]["metadata"]["name"], "");
        let pods = &doc["items"][0]["versions"][0]["resources"];
        assert!(
            pods.as_array()
                .unwrap()
                .iter()
                .any(|r| r["resource"] == "pods")
        );
    }
}
