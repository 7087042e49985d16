//! EKS control plane: clusters and node groups ([`EksSource`]), and cluster health
//! ([`EksHealthSource`]: add-ons, their available versions, upgrade insights), as JSON in the
//! API's own field names, live from the EKS API or from a bundle's `eks/` files.

use async_trait::async_trait;
use aws_config::SdkConfig;
use serde_json::{Value, json};

use super::EksSource;
use super::aws::map_sdk_error;
use super::snapshot::Bundle;
use crate::error::{ToolError, ToolResult};

/// Add-ons and upgrade insights of a cluster.
#[async_trait]
pub trait EksHealthSource: Send + Sync {
    /// DescribeAddon `addon` objects, one per installed add-on.
    async fn addons(&self, cluster: &str) -> ToolResult<Vec<Value>>;
    /// DescribeAddonVersions `addons` (AddonInfo) for these add-ons on this Kubernetes version.
    async fn addon_versions(
        &self,
        names: &[String],
        kubernetes_version: &str,
    ) -> ToolResult<Vec<Value>>;
    /// DescribeInsight `insight` objects.
    async fn insights(&self, cluster: &str) -> ToolResult<Vec<Value>>;
}

/// Upper bound on list pages; EKS pages are 100 items, clusters have a few dozen of each.
const MAX_PAGES: usize = 20;

pub struct LiveEks {
    client: aws_sdk_eks::Client,
}

impl LiveEks {
    pub fn new(sdk: &SdkConfig) -> Self {
        LiveEks {
            client: aws_sdk_eks::Client::new(sdk),
        }
    }
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Value {
    t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
        .map(Value::String)
        .unwrap_or(Value::Null)
}

#[async_trait]
impl EksSource for LiveEks {
    async fn list_clusters(&self) -> ToolResult<Vec<String>> {
        let mut names = Vec::new();
        let mut token = None;
        for _ in 0..20 {
            let out = self
                .client
                .list_clusters()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| map_sdk_error("eks:ListClusters", e))?;
            names.extend(out.clusters.unwrap_or_default());
            token = out.next_token;
            if token.is_none() {
                break;
            }
        }
        Ok(names)
    }

    async fn describe_cluster(&self, name: &str) -> ToolResult<Value> {
        let out = self
            .client
            .describe_cluster()
            .name(name)
            .send()
            .await
            .map_err(|e| map_sdk_error("eks:DescribeCluster", e))?;
        let Some(c) = out.cluster else {
            return Ok(Value::Null);
        };
        let vpc = c.resources_vpc_config();
        Ok(json!({
            "name": c.name(),
            "arn": c.arn(),
            "version": c.version(),
            "platformVersion": c.platform_version(),
            "status": c.status().map(|s| s.as_str()),
            "endpoint": c.endpoint(),
            "createdAt": time(c.created_at()),
            "endpointPublicAccess": vpc.map(|v| v.endpoint_public_access()),
            "endpointPrivateAccess": vpc.map(|v| v.endpoint_private_access()),
            "publicAccessCidrs": vpc.map(|v| v.public_access_cidrs().to_vec()),
            "logging": c.logging().map(|l| l.cluster_logging().iter().filter(|s| s.enabled() == Some(true)).flat_map(|s| s.types().iter().map(|t| t.as_str().to_string())).collect::<Vec<_>>()),
            "oidcIssuer": c.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer()),
            "health": c.health().map(|h| h.issues().iter().map(|i| json!({"code": i.code().map(|c| c.as_str()), "message": i.message()})).collect::<Vec<_>>()),
            "tags": c.tags(),
        }))
    }

    async fn nodegroups(&self, cluster: &str) -> ToolResult<Vec<Value>> {
        let list = self
            .client
            .list_nodegroups()
            .cluster_name(cluster)
            .send()
            .await
            .map_err(|e| map_sdk_error("eks:ListNodegroups", e))?;
        let mut out = Vec::new();
        for name in list.nodegroups() {
            let d = self
                .client
                .describe_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .send()
                .await
                .map_err(|e| map_sdk_error("eks:DescribeNodegroup", e))?;
            let Some(ng) = d.nodegroup else { continue };
            out.push(json!({
                "nodegroupName": ng.nodegroup_name(),
                "status": ng.status().map(|s| s.as_str()),
                "version": ng.version(),
                "releaseVersion": ng.release_version(),
                "amiType": ng.ami_type().map(|a| a.as_str()),
                "capacityType": ng.capacity_type().map(|c| c.as_str()),
                "instanceTypes": ng.instance_types(),
                "scalingConfig": ng.scaling_config().map(|s| json!({"minSize": s.min_size(), "maxSize": s.max_size(), "desiredSize": s.desired_size()})),
                "health": ng.health().map(|h| h.issues().iter().map(|i| json!({"code": i.code().map(|c| c.as_str()), "message": i.message()})).collect::<Vec<_>>()),
            }));
        }
        Ok(out)
    }
}

fn issues(issues: &[aws_sdk_eks::types::AddonIssue]) -> Value {
    issues
        .iter()
        .map(|i| json!({"code": i.code().map(|c| c.as_str()), "message": i.message(), "resourceIds": i.resource_ids()}))
        .collect()
}

fn insight_status(s: Option<&aws_sdk_eks::types::InsightStatus>) -> Value {
    json!({"status": s.and_then(|s| s.status()).map(|v| v.as_str()), "reason": s.and_then(|s| s.reason())})
}

#[async_trait]
impl EksHealthSource for LiveEks {
    async fn addons(&self, cluster: &str) -> ToolResult<Vec<Value>> {
        let mut names = Vec::new();
        let mut token = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .client
                .list_addons()
                .cluster_name(cluster)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| map_sdk_error("eks:ListAddons", e))?;
            names.extend(out.addons.unwrap_or_default());
            token = out.next_token;
            if token.is_none() {
                break;
            }
        }
        let mut out = Vec::new();
        for name in names {
            let d = self
                .client
                .describe_addon()
                .cluster_name(cluster)
                .addon_name(&name)
                .send()
                .await
                .map_err(|e| map_sdk_error("eks:DescribeAddon", e))?;
            let Some(a) = d.addon else { continue };
            out.push(json!({
                "addonName": a.addon_name(),
                "addonVersion": a.addon_version(),
                "status": a.status().map(|s| s.as_str()),
                "health": {"issues": issues(a.health().map(|h| h.issues()).unwrap_or_default())},
                "createdAt": time(a.created_at()),
                "modifiedAt": time(a.modified_at()),
                "serviceAccountRoleArn": a.service_account_role_arn(),
            }));
        }
        Ok(out)
    }

    async fn addon_versions(
        &self,
        names: &[String],
        kubernetes_version: &str,
    ) -> ToolResult<Vec<Value>> {
        let mut out = Vec::new();
        for name in names {
            let mut token = None;
            for _ in 0..MAX_PAGES {
                let page = self
                    .client
                    .describe_addon_versions()
                    .addon_name(name)
                    .kubernetes_version(kubernetes_version)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| map_sdk_error("eks:DescribeAddonVersions", e))?;
                out.extend(page.addons().iter().map(|info| {
                    json!({
                        "addonName": info.addon_name(),
                        "type": info.r#type(),
                        "owner": info.owner(),
                        "addonVersions": info.addon_versions().iter().map(|v| json!({
                            "addonVersion": v.addon_version(),
                            "compatibilities": v.compatibilities().iter().map(|c| json!({
                                "clusterVersion": c.cluster_version(),
                                "defaultVersion": c.default_version(),
                            })).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    })
                }));
                token = page.next_token;
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(out)
    }

    async fn insights(&self, cluster: &str) -> ToolResult<Vec<Value>> {
        let mut ids = Vec::new();
        let mut token = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .client
                .list_insights()
                .cluster_name(cluster)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| map_sdk_error("eks:ListInsights", e))?;
            ids.extend(
                out.insights()
                    .iter()
                    .filter_map(|i| i.id().map(str::to_string)),
            );
            token = out.next_token;
            if token.is_none() {
                break;
            }
        }
        let mut out = Vec::new();
        for id in ids {
            let d = self
                .client
                .describe_insight()
                .cluster_name(cluster)
                .id(&id)
                .send()
                .await
                .map_err(|e| map_sdk_error("eks:DescribeInsight", e))?;
            let Some(i) = d.insight else { continue };
            out.push(json!({
                "id": i.id(),
                "name": i.name(),
                "category": i.category().map(|c| c.as_str()),
                "kubernetesVersion": i.kubernetes_version(),
                "lastRefreshTime": time(i.last_refresh_time()),
                "lastTransitionTime": time(i.last_transition_time()),
                "description": i.description(),
                "insightStatus": insight_status(i.insight_status()),
                "recommendation": i.recommendation(),
                "additionalInfo": i.additional_info(),
                "resources": i.resources().iter().map(|r| json!({
                    "kubernetesResourceUri": r.kubernetes_resource_uri(),
                    "arn": r.arn(),
                    "insightStatus": insight_status(r.insight_status()),
                })).collect::<Vec<_>>(),
            }));
        }
        Ok(out)
    }
}

/// Parses a bundle's `eks/<file>` and returns its `key` list, for this bundle's cluster only.
async fn bundle_list(
    bundle: &Bundle,
    cluster: &str,
    file: &str,
    key: &str,
) -> ToolResult<Vec<Value>> {
    EksSource::describe_cluster(bundle, cluster).await?;
    let path = format!("eks/{file}");
    let text = bundle.read_file(&path).ok_or_else(|| {
        ToolError::not_found("snapshot file", path.clone(), bundle.list_files("eks"))
    })?;
    let doc: Value = serde_yaml::from_str(&text)
        .map_err(|e| ToolError::backend(format!("reading snapshot {path}"), e))?;
    Ok(doc
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

#[async_trait]
impl EksHealthSource for Bundle {
    async fn addons(&self, cluster: &str) -> ToolResult<Vec<Value>> {
        // Installed add-ons are part of the cluster description the bundle already holds.
        bundle_list(self, cluster, "cluster.yaml", "addons").await
    }

    async fn addon_versions(
        &self,
        names: &[String],
        kubernetes_version: &str,
    ) -> ToolResult<Vec<Value>> {
        let cluster = self.manifest()?.cluster.clone();
        let infos = bundle_list(self, &cluster, "addons.yaml", "addonVersions").await?;
        // The same filter DescribeAddonVersions applies: named add-ons, versions compatible with
        // the Kubernetes version.
        Ok(infos
            .into_iter()
            .filter(|i| {
                i.get("addonName")
                    .and_then(Value::as_str)
                    .is_some_and(|n| names.iter().any(|w| w == n))
            })
            .map(|mut i| {
                if let Some(versions) = i.get_mut("addonVersions").and_then(Value::as_array_mut) {
                    versions.retain(|v| compatible(v, kubernetes_version));
                }
                i
            })
            .collect())
    }

    async fn insights(&self, cluster: &str) -> ToolResult<Vec<Value>> {
        bundle_list(self, cluster, "insights.yaml", "insights").await
    }
}

fn compatible(version: &Value, kubernetes_version: &str) -> bool {
    version
        .get("compatibilities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c.get("clusterVersion").and_then(Value::as_str) == Some(kubernetes_version))
}
