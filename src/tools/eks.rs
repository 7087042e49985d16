//! EKS control-plane tools: clusters and their node groups, add-ons (with the newest version
//! compatible with the cluster) and upgrade-readiness insights.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::params::{AwsArgs, non_empty};
use super::{Context, READ, Reply, ToolDef};
use crate::error::{ToolError, ToolResult};
use crate::output::text::{clip, table};
use crate::output::{Budget, Truncation};
use crate::sources::EksSource;

pub fn tools() -> Vec<ToolDef> {
    vec![
        ToolDef::new(
            "eks_list_clusters",
            "List EKS clusters",
            "EKS cluster names in a region.",
            READ,
            list_clusters,
        ),
        ToolDef::new(
            "eks_describe_cluster",
            "Describe an EKS cluster",
            "One EKS cluster: version, platform version, status, endpoint access, logging, health issues, and its node groups (scaling, instance types, AMI type, version skew against the control plane, health).",
            READ,
            describe_cluster,
        ),
        ToolDef::new(
            "eks_list_addons",
            "List EKS add-ons",
            "Installed EKS add-ons: version, status, health issues, and whether a newer version compatible with the cluster's Kubernetes version exists (DescribeAddonVersions), with the default one.",
            READ,
            list_addons,
        ),
        ToolDef::new(
            "eks_get_insights",
            "Get EKS upgrade insights",
            "EKS cluster insights (upgrade readiness, misconfiguration): status and reason, recommendation, affected resources. Errors and warnings first.",
            READ,
            get_insights,
        ),
    ]
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    #[serde(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ListOutput {
    pub clusters: Vec<String>,
}

async fn list_clusters(
    ctx: Arc<Context>,
    p: ListParams,
    _budget: Budget,
) -> ToolResult<Reply<ListOutput>> {
    let clusters = ctx
        .sources
        .eks(&p.aws.target())
        .await?
        .list_clusters()
        .await?;
    let summary = format!("{} EKS clusters: {}", clusters.len(), clusters.join(", "));
    Ok(Reply {
        summary,
        data: ListOutput { clusters },
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeParams {
    /// EKS cluster name.
    pub name: String,
    #[serde(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DescribeOutput {
    pub cluster: Value,
    pub nodegroups: Vec<Value>,
    /// Node groups whose Kubernetes version differs from the control plane's.
    pub version_skew: Vec<String>,
}

async fn describe_cluster(
    ctx: Arc<Context>,
    p: DescribeParams,
    _budget: Budget,
) -> ToolResult<Reply<DescribeOutput>> {
    let eks = ctx.sources.eks(&p.aws.target()).await?;
    let name = non_empty("name", &p.name)?;
    let cluster = eks.describe_cluster(name).await?;
    let nodegroups = eks.nodegroups(name).await?;
    let version = cluster.get("version").and_then(Value::as_str).unwrap_or("");
    let version_skew: Vec<String> = nodegroups
        .iter()
        .filter_map(|ng| {
            let v = ng.get("version").and_then(Value::as_str)?;
            (v != version).then(|| {
                format!(
                    "{} runs {v}, control plane {version}",
                    ng.get("nodegroupName")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                )
            })
        })
        .collect();
    let get = |k: &str| {
        cluster
            .get(k)
            .map(|v| v.to_string().trim_matches('"').to_string())
            .unwrap_or_else(|| "-".into())
    };
    let mut summary = format!(
        "EKS {name}: version {} ({}), status {}, public endpoint {}, {} node groups",
        get("version"),
        get("platformVersion"),
        get("status"),
        get("endpointPublicAccess"),
        nodegroups.len()
    );
    for s in &version_skew {
        summary.push_str(&format!("\nversion skew: {s}"));
    }
    Ok(Reply {
        summary,
        data: DescribeOutput {
            cluster,
            nodegroups,
            version_skew,
        },
    })
}

// ---------------------------------------------------------------- add-ons and insights

/// The EKS cluster a call is about: the argument, the server's `--cluster`, or the only one.
async fn pick_cluster(
    ctx: &Context,
    eks: &dyn EksSource,
    wanted: Option<&str>,
) -> ToolResult<String> {
    if let Some(name) = wanted.or(ctx.settings.cluster.as_deref()) {
        return Ok(non_empty("cluster", name)?.to_string());
    }
    let clusters = eks.list_clusters().await?;
    match clusters.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(ToolError::not_found(
            "EKS cluster in this region",
            "(any)",
            Vec::new(),
        )),
        many => Err(ToolError::invalid(
            "cluster",
            format!(
                "several EKS clusters exist; name one of: {}",
                many.join(", ")
            ),
        )),
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddonsParams {
    /// EKS cluster name; default: the server's, or the only one.
    pub cluster: Option<String>,
    #[serde(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AddonRow {
    pub name: String,
    pub version: String,
    pub status: String,
    /// Health issues as `code: message`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<String>,
    /// Newest version compatible with the cluster, when newer than the installed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_available: Option<String>,
    /// The version EKS installs by default on this Kubernetes version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_version: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AddonsOutput {
    pub cluster: String,
    pub kubernetes_version: String,
    pub addons: Vec<AddonRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
}

async fn list_addons(
    ctx: Arc<Context>,
    p: AddonsParams,
    budget: Budget,
) -> ToolResult<Reply<AddonsOutput>> {
    let target = p.aws.target();
    let eks = ctx.sources.eks(&target).await?;
    let cluster = pick_cluster(&ctx, eks.as_ref(), p.cluster.as_deref()).await?;
    let described = eks.describe_cluster(&cluster).await?;
    let k8s = str_of(&described, "version");
    let health = ctx.sources.eks_health(&target).await?;
    let installed = health.addons(&cluster).await?;
    let names: Vec<String> = installed.iter().map(|a| str_of(a, "addonName")).collect();
    let infos = if names.is_empty() || k8s.is_empty() {
        Vec::new()
    } else {
        health.addon_versions(&names, &k8s).await?
    };
    let mut rows: Vec<AddonRow> = installed.iter().map(|a| addon_row(a, &infos)).collect();
    // Unhealthy first, then those with an update.
    rows.sort_by_key(|r| {
        (
            r.status == "ACTIVE" && r.issues.is_empty(),
            r.update_available.is_none(),
            r.name.clone(),
        )
    });
    let total = rows.len();
    let (kept, dropped) = budget.take(rows, 0.8);
    let truncated = (dropped > 0).then(|| Truncation {
        total,
        returned: kept.len(),
        how_to_get_more: "raise response_bytes".into(),
    });
    let cells: Vec<Vec<String>> = kept
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.version.clone(),
                r.status.clone(),
                r.update_available.clone().unwrap_or_else(|| "-".into()),
                r.issues.join("; "),
            ]
        })
        .collect();
    let updates = kept.iter().filter(|r| r.update_available.is_some()).count();
    let unhealthy = kept
        .iter()
        .filter(|r| r.status != "ACTIVE" || !r.issues.is_empty())
        .count();
    let summary = format!(
        "{total} add-ons on EKS {cluster} (Kubernetes {k8s}): {unhealthy} unhealthy, {updates} with a newer compatible version\n{}",
        table(&["ADDON", "VERSION", "STATUS", "UPDATE", "ISSUES"], &cells)
    );
    Ok(Reply {
        summary,
        data: AddonsOutput {
            cluster,
            kubernetes_version: k8s,
            addons: kept,
            truncated,
        },
    })
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

/// One installed add-on against the versions EKS offers for the cluster's Kubernetes version.
pub fn addon_row(addon: &Value, infos: &[Value]) -> AddonRow {
    let name = str_of(addon, "addonName");
    let version = str_of(addon, "addonVersion");
    let offered: Vec<&Value> = infos
        .iter()
        .filter(|i| str_of(i, "addonName") == name)
        .flat_map(|i| {
            i.get("addonVersions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .collect();
    let newest = offered
        .iter()
        .map(|v| str_of(v, "addonVersion"))
        .max_by(|a, b| version_key(a).cmp(&version_key(b)));
    let default_version = offered
        .iter()
        .find(|v| {
            v.get("compatibilities")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| c.get("defaultVersion").and_then(Value::as_bool) == Some(true))
        })
        .map(|v| str_of(v, "addonVersion"));
    let issues = addon
        .pointer("/health/issues")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|i| {
            clip(
                &format!("{}: {}", str_of(i, "code"), str_of(i, "message")),
                300,
            )
        })
        .collect();
    AddonRow {
        update_available: newest.filter(|n| version_key(n) > version_key(&version)),
        name,
        version,
        status: addon
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("UNKNOWN")
            .to_string(),
        issues,
        default_version,
    }
}

/// The numbers in a version (`v1.20.4-eksbuild.1` -> 1, 20, 4, 1), compared in order.
pub fn version_key(version: &str) -> Vec<u64> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().unwrap_or(u64::MAX))
        .collect()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InsightsParams {
    /// EKS cluster name; default: the server's, or the only one.
    pub cluster: Option<String>,
    /// Keep only these statuses: ERROR, WARNING, PASSING, UNKNOWN.
    pub statuses: Option<Vec<String>>,
    #[serde(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InsightRow {
    pub id: String,
    pub name: String,
    pub category: String,
    /// ERROR, WARNING, PASSING or UNKNOWN.
    pub status: String,
    pub reason: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub recommendation: String,
    /// The Kubernetes version the insight is about.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kubernetes_version: String,
    /// Affected resources as `uri (STATUS: reason)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct InsightsOutput {
    pub cluster: String,
    pub status_counts: std::collections::BTreeMap<String, usize>,
    pub insights: Vec<InsightRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
}

/// Affected resources listed per insight; the rest are counted.
const MAX_RESOURCES: usize = 10;

async fn get_insights(
    ctx: Arc<Context>,
    p: InsightsParams,
    budget: Budget,
) -> ToolResult<Reply<InsightsOutput>> {
    const STATUSES: [&str; 4] = ["ERROR", "WARNING", "UNKNOWN", "PASSING"];
    let wanted: Vec<String> = p
        .statuses
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|s| s.to_ascii_uppercase())
        .collect();
    if let Some(bad) = wanted.iter().find(|w| !STATUSES.contains(&w.as_str())) {
        return Err(ToolError::invalid(
            "statuses",
            format!("{bad} is not one of {}", STATUSES.join(", ")),
        ));
    }
    let target = p.aws.target();
    let eks = ctx.sources.eks(&target).await?;
    let cluster = pick_cluster(&ctx, eks.as_ref(), p.cluster.as_deref()).await?;
    let all = ctx
        .sources
        .eks_health(&target)
        .await?
        .insights(&cluster)
        .await?;
    let mut rows: Vec<InsightRow> = all.iter().map(insight_row).collect();
    let mut status_counts = std::collections::BTreeMap::new();
    for r in &rows {
        *status_counts.entry(r.status.clone()).or_insert(0) += 1;
    }
    rows.retain(|r| wanted.is_empty() || wanted.contains(&r.status));
    let rank = |s: &str| {
        STATUSES
            .iter()
            .position(|x| *x == s)
            .unwrap_or(STATUSES.len())
    };
    rows.sort_by(|a, b| {
        rank(&a.status)
            .cmp(&rank(&b.status))
            .then_with(|| a.name.cmp(&b.name))
    });
    let total = rows.len();
    let (kept, dropped) = budget.take(rows, 0.8);
    let truncated = (dropped > 0).then(|| Truncation {
        total,
        returned: kept.len(),
        how_to_get_more: "filter with statuses=[\"ERROR\",\"WARNING\"] or raise response_bytes"
            .into(),
    });
    let counts = status_counts
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut summary = format!("{} insights on EKS {cluster} ({counts})", all.len());
    for r in &kept {
        summary.push_str(&format!(
            "\n[{}] {} ({}): {}",
            r.status, r.name, r.category, r.reason
        ));
        if !r.recommendation.is_empty() && r.status != "PASSING" {
            summary.push_str(&format!("\n  recommendation: {}", r.recommendation));
        }
        for res in r.resources.iter().take(3) {
            summary.push_str(&format!("\n  affects {res}"));
        }
    }
    if let Some(t) = &truncated {
        summary.push_str(&format!(
            "\n[showing {} of {}; {}]",
            t.returned, t.total, t.how_to_get_more
        ));
    }
    Ok(Reply {
        summary,
        data: InsightsOutput {
            cluster,
            status_counts,
            insights: kept,
            truncated,
        },
    })
}

fn insight_row(i: &Value) -> InsightRow {
    let status_of = |v: &Value| {
        v.pointer("/insightStatus/status")
            .and_then(Value::as_str)
            .unwrap_or("UNKNOWN")
            .to_string()
    };
    let mut resources: Vec<String> = i
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| {
            let what = r
                .get("kubernetesResourceUri")
                .or_else(|| r.get("arn"))
                .and_then(Value::as_str)
                .unwrap_or("?");
            match r.pointer("/insightStatus/reason").and_then(Value::as_str) {
                Some(why) if !why.is_empty() => format!("{what} ({}: {why})", status_of(r)),
                _ => format!("{what} ({})", status_of(r)),
            }
        })
        .collect();
    if resources.len() > MAX_RESOURCES {
        let more = resources.len() - MAX_RESOURCES;
        resources.truncate(MAX_RESOURCES);
        resources.push(format!("... and {more} more"));
    }
    InsightRow {
        id: str_of(i, "id"),
        name: str_of(i, "name"),
        category: str_of(i, "category"),
        status: status_of(i),
        reason: clip(
            i.pointer("/insightStatus/reason")
                .and_then(Value::as_str)
                .unwrap_or(""),
            400,
        ),
        recommendation: clip(&str_of(i, "recommendation"), 400),
        kubernetes_version: str_of(i, "kubernetesVersion"),
        resources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_compare_by_their_numbers() {
        assert!(version_key("v1.20.4-eksbuild.1") > version_key("v1.19.6-eksbuild.7"));
        assert!(version_key("v1.12.10-eksbuild.1") > version_key("v1.12.4-eksbuild.2"));
        assert!(version_key("v1.20.4-eksbuild.2") > version_key("v1.20.4-eksbuild.1"));
        assert_eq!(version_key(""), Vec::<u64>::new());
    }

    #[test]
    fn an_addon_row_names_the_update_and_the_issues() {
        let addon = json!({"addonName": "vpc-cni", "addonVersion": "v1.19.0-eksbuild.1", "status": "DEGRADED",
            "health": {"issues": [{"code": "InsufficientNumberOfReplicas", "message": "2 of 3 pods ready"}]}});
        let infos = vec![
            json!({"addonName": "vpc-cni", "addonVersions": [
            {"addonVersion": "v1.20.4-eksbuild.1", "compatibilities": [{"clusterVersion": "1.33", "defaultVersion": false}]},
            {"addonVersion": "v1.19.0-eksbuild.1", "compatibilities": [{"clusterVersion": "1.33", "defaultVersion": true}]}]}),
            json!({"addonName": "coredns", "addonVersions": [{"addonVersion": "v9.9.9"}]}),
        ];
        let row = addon_row(&addon, &infos);
        assert_eq!(row.update_available.as_deref(), Some("v1.20.4-eksbuild.1"));
        assert_eq!(row.default_version.as_deref(), Some("v1.19.0-eksbuild.1"));
        assert_eq!(
            row.issues,
            vec!["InsufficientNumberOfReplicas: 2 of 3 pods ready"]
        );
        let newest = addon_row(
            &json!({"addonName": "vpc-cni", "addonVersion": "v1.20.4-eksbuild.1"}),
            &infos,
        );
        assert_eq!(newest.update_available, None);
        assert_eq!(newest.status, "UNKNOWN");
    }
}
