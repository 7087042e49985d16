//! The deny list that makes the stand-in answer 403 as a cluster with a narrow Role would.
//!
//! Rules name what the caller may NOT do, because tests care about the few refusals, not about
//! writing out a full Role. A rule limited to one namespace also refuses the same verb at the
//! cluster scope: a caller who cannot list pods in `kube-system` holds no ClusterRole that lists
//! pods everywhere, so a cluster-wide list is refused too, exactly as RBAC would.

use serde::{Deserialize, Serialize};

/// The user the 403 messages name unless the builder or `rbac-deny.yaml` says otherwise.
pub const DEFAULT_USER: &str = "system:serviceaccount:ops:eks-ops-mcp";

/// One refused (verb, resource, namespace) combination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenyRule {
    /// `get`, `list`, `watch`, or `*`.
    pub verb: String,
    /// A plural resource (`pods`), a subresource (`pods/log`), or `*`.
    pub resource: String,
    /// The namespace the refusal applies to; absent means every namespace and the cluster scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The API group (`""` for core, `apps`, ...); absent matches every group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// The shape of `rbac-deny.yaml`: `{ user: ..., deny: [ {verb, resource, namespace}, ... ] }`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenyFile {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub deny: Vec<DenyRule>,
}

/// What a request asks the authorizer.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub namespace: Option<&'a str>,
    pub namespaced: bool,
}

impl DenyRule {
    /// A rule refusing `verb` on `resource` in every namespace and at the cluster scope.
    pub fn new(verb: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            verb: verb.into(),
            resource: resource.into(),
            namespace: None,
            group: None,
        }
    }

    /// Limits the refusal to one namespace (and cluster-wide requests for the same resource).
    pub fn in_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Limits the refusal to one API group (`""` for core).
    pub fn in_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Whether this rule refuses the access.
    pub fn refuses(&self, access: &Access<'_>) -> bool {
        let verb = self.verb == "*" || self.verb == access.verb;
        let resource = self.resource == "*" || self.resource == access.resource;
        let group = self.group.as_deref().is_none_or(|g| g == access.group);
        verb && resource && group && self.covers_namespace(access)
    }

    fn covers_namespace(&self, access: &Access<'_>) -> bool {
        match (&self.namespace, access.namespace) {
            (None, _) => true,
            (Some(rule_ns), Some(ns)) => rule_ns == ns,
            (Some(_), None) => access.namespaced,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access<'a>(verb: &'a str, resource: &'a str, ns: Option<&'a str>) -> Access<'a> {
        Access {
            verb,
            group: "",
            resource,
            namespace: ns,
            namespaced: true,
        }
    }

    #[test]
    fn namespaced_rule_refuses_its_namespace_and_cluster_scope_only() {
        let rule = DenyRule::new("list", "pods").in_namespace("kube-system");
        assert!(rule.refuses(&access("list", "pods", Some("kube-system"))));
        assert!(rule.refuses(&access("list", "pods", None)));
        assert!(!rule.refuses(&access("list", "pods", Some("shop"))));
        assert!(!rule.refuses(&access("get", "pods", Some("kube-system"))));
        assert!(!rule.refuses(&access("list", "pods/log", Some("kube-system"))));
    }

    #[test]
    fn wildcards_and_groups() {
        let rule = DenyRule::new("*", "*").in_group("apps");
        let mut a = access("get", "deployments", Some("shop"));
        assert!(!rule.refuses(&a));
        a.group = "apps";
        assert!(rule.refuses(&a));
    }

    #[test]
    fn deny_file_parses() {
        let text = "user: alice\ndeny:\n  - {verb: list, resource: secrets}\n";
        let file: DenyFile = serde_yaml::from_str(text).unwrap();
        assert_eq!(file.user.as_deref(), Some("alice"));
        assert_eq!(file.deny, vec![DenyRule::new("list", "secrets")]);
    }
}
