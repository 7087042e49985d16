//! EKS control-plane tools: clusters and their node groups.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::params::{AwsArgs, non_empty};
use super::{Context, READ, Reply, ToolDef};
use crate::error::ToolResult;
use crate::output::Budget;

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
