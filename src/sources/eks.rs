//! Live EKS control plane: clusters and node groups, as JSON in the API's own field names.

use async_trait::async_trait;
use aws_config::SdkConfig;
use serde_json::{Value, json};

use super::EksSource;
use super::aws::map_sdk_error;
use crate::error::ToolResult;

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
