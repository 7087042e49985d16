//! `cloudwatch_query_logs`: CloudWatch Logs by filter_log_events (pattern, groups, stream
//! prefix, window, paging) or Logs Insights (started, polled with backoff, stopped on timeout or
//! cancellation), over named groups or the cluster's Container Insights and control plane
//! groups. Caller text only enters a query as an escaped literal. When events are cut, the
//! log-template summary (the engine's miner, as pod logs use) says what the rest looked like.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use eks_ops_engine::logtemplate::{MinerConfig, TemplateMiner};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::params::{AwsArgs, in_range, non_empty};
use super::{Context, READ, Reply, ToolDef};
use crate::error::{ToolError, ToolResult};
use crate::output::{Budget, Truncation};
use crate::sources::LogEvent;
use crate::sources::cloudwatch_logs::{InsightsResult, filter_term, insights_string};
use crate::time::{Window, resolve_window};

pub fn tools() -> Vec<ToolDef> {
    vec![ToolDef::new(
        "cloudwatch_query_logs",
        "Query CloudWatch Logs",
        "CloudWatch Logs for a window: mode `filter` (filter_log_events: pattern or literal `contains`, stream prefix, paging) or `insights` (a Logs Insights query, stopped if it outlasts `timeout_secs`). Groups default to the cluster's Container Insights group (`kind`: application, host, dataplane, performance, control_plane). Cut results add log templates.",
        READ,
        query_logs,
    )]
}

const KINDS: [&str; 5] = [
    "application",
    "host",
    "dataplane",
    "performance",
    "control_plane",
];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsParams {
    /// `filter` (default) or `insights`.
    pub mode: Option<String>,
    /// Log group names; default: the cluster's group of `kind`.
    pub log_groups: Option<Vec<String>>,
    /// application (default), host, dataplane, performance or control_plane.
    pub kind: Option<String>,
    /// EKS cluster name for the default groups; default: the only one with Container Insights.
    pub cluster: Option<String>,
    /// Literal text to match (escaped for you); use instead of `pattern`/`query`.
    pub contains: Option<String>,
    /// filter mode: a CloudWatch Logs filter pattern, used as given.
    pub pattern: Option<String>,
    /// insights mode: a full Logs Insights query, used as given.
    pub query: Option<String>,
    /// filter mode: only streams starting with this.
    pub stream_prefix: Option<String>,
    /// Duration (`1h`) or time; default 1h.
    pub since: Option<String>,
    pub until: Option<String>,
    /// Events or rows (1-10000, default 100).
    pub limit: Option<u32>,
    /// filter mode: `next_page` of the previous answer.
    pub page: Option<String>,
    /// insights mode: seconds to wait before stopping the query (1-300, default 30).
    pub timeout_secs: Option<u64>,
    #[serde(flatten)]
    pub aws: AwsArgs,
}

/// A recurring line shape among the fetched events.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TemplateOut {
    pub template: String,
    pub count: u64,
    pub example: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LogsOutput {
    pub mode: String,
    pub log_groups: Vec<String>,
    pub events: Vec<LogEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insights: Option<InsightsResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Pass as `page` for the next events.
    pub next_page: Option<String>,
    /// Line templates over everything fetched, when events or rows were cut.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<TemplateOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
}

/// The Container Insights or control plane group of `kind` for `cluster`.
pub fn group_for(cluster: &str, kind: &str) -> String {
    match kind {
        "control_plane" => format!("/aws/eks/{cluster}/cluster"),
        k => format!("/aws/containerinsights/{cluster}/{k}"),
    }
}

/// The cluster of a Container Insights or control plane group name.
fn cluster_of(group: &str) -> Option<&str> {
    group
        .strip_prefix("/aws/containerinsights/")
        .or_else(|| group.strip_prefix("/aws/eks/"))
        .and_then(|rest| rest.split('/').next())
        .filter(|c| !c.is_empty())
}

async fn resolve_groups(ctx: &Context, p: &LogsParams) -> ToolResult<Vec<String>> {
    if let Some(groups) = p.log_groups.as_ref().filter(|g| !g.is_empty()) {
        return groups
            .iter()
            .map(|g| non_empty("log_groups", g).map(str::to_string))
            .collect();
    }
    let kind = p.kind.as_deref().unwrap_or("application");
    if !KINDS.contains(&kind) {
        return Err(ToolError::invalid(
            "kind",
            format!("`{kind}` is not a group kind; use {}", KINDS.join(", ")),
        ));
    }
    let logs = ctx.sources.logs(&p.aws.target()).await?;
    let mut known = logs.log_groups(Some("/aws/containerinsights/")).await?;
    known.extend(logs.log_groups(Some("/aws/eks/")).await?);
    let clusters: BTreeSet<&str> = known.iter().filter_map(|g| cluster_of(g)).collect();
    let cluster = match p.cluster.clone().or(ctx.settings.cluster.clone()) {
        Some(c) => c,
        None if clusters.len() == 1 => clusters
            .iter()
            .next()
            .map(|c| c.to_string())
            .unwrap_or_default(),
        None => {
            return Err(ToolError::invalid(
                "cluster",
                format!(
                    "name the cluster or pass log_groups; clusters with log groups: {}",
                    clusters.into_iter().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    };
    let group = group_for(&cluster, kind);
    if known.contains(&group) {
        Ok(vec![group])
    } else {
        Err(ToolError::not_found("log group", group, known))
    }
}

async fn query_logs(
    ctx: Arc<Context>,
    p: LogsParams,
    budget: Budget,
) -> ToolResult<Reply<LogsOutput>> {
    let mode = p.mode.clone().unwrap_or_else(|| "filter".into());
    let limit = in_range("limit", p.limit, 1, 10_000, 100)? as usize;
    let now = ctx.sources.now().await?;
    let window = resolve_window(
        p.since.as_deref(),
        p.until.as_deref(),
        chrono::Duration::hours(1),
        now,
    )?;
    match mode.as_str() {
        "filter" => filter_mode(ctx, p, window, limit, budget).await,
        "insights" => insights_mode(ctx, p, window, limit, budget).await,
        m => Err(ToolError::invalid(
            "mode",
            format!("`{m}` is not a mode; use filter or insights"),
        )),
    }
}

fn filter_pattern(p: &LogsParams) -> ToolResult<Option<String>> {
    if p.query.is_some() {
        return Err(ToolError::invalid(
            "query",
            "a Logs Insights query needs mode `insights`",
        ));
    }
    match (&p.contains, &p.pattern) {
        (Some(_), Some(_)) => Err(ToolError::invalid(
            "contains",
            "give `contains` or `pattern`, not both",
        )),
        (Some(c), None) => Ok(Some(filter_term(c))),
        (None, pattern) => Ok(pattern.clone().filter(|p| !p.trim().is_empty())),
    }
}

/// Paging over several groups: the token names the group index and that group's own token.
fn split_token(token: Option<&str>, groups: usize) -> ToolResult<(usize, Option<String>)> {
    let Some(t) = token else { return Ok((0, None)) };
    let bad = || ToolError::invalid("page", "not a token from this tool; omit it to start over");
    let (index, inner) = t.split_once('|').ok_or_else(bad)?;
    let index: usize = index.parse().map_err(|_| bad())?;
    if index >= groups {
        return Err(bad());
    }
    Ok((index, (!inner.is_empty()).then(|| inner.to_string())))
}

async fn filter_mode(
    ctx: Arc<Context>,
    p: LogsParams,
    window: Window,
    limit: usize,
    budget: Budget,
) -> ToolResult<Reply<LogsOutput>> {
    let pattern = filter_pattern(&p)?;
    let groups = resolve_groups(&ctx, &p).await?;
    let logs = ctx.sources.logs(&p.aws.target()).await?;
    let (mut index, mut inner) = split_token(p.page.as_deref(), groups.len())?;
    let mut events = Vec::new();
    let mut next_token = None;
    for _ in 0..100 {
        let group = &groups[index];
        let (page, next) = match &p.stream_prefix {
            Some(prefix) => {
                logs.filter_streams(
                    group,
                    prefix,
                    pattern.as_deref(),
                    window,
                    limit - events.len(),
                    inner.take(),
                )
                .await?
            }
            None => {
                logs.filter(
                    std::slice::from_ref(group),
                    pattern.as_deref(),
                    window,
                    limit - events.len(),
                    inner.take(),
                )
                .await?
            }
        };
        events.extend(page);
        match next {
            Some(t) => inner = Some(t),
            None if index + 1 < groups.len() => index += 1,
            None => break,
        }
        if events.len() >= limit {
            next_token = Some(format!("{index}|{}", inner.clone().unwrap_or_default()));
            break;
        }
    }
    events.sort_by_key(|e| e.timestamp);
    let fetched: Vec<(i64, String)> = events
        .iter()
        .map(|e| (e.timestamp.timestamp_millis(), e.message.clone()))
        .collect();
    let total = events.len();
    let (events, dropped) = budget.take(events, 0.6);
    let templates = if dropped > 0 || next_token.is_some() {
        templates_of(&fetched)
    } else {
        Vec::new()
    };
    let truncated = (dropped > 0).then(|| Truncation {
        total,
        returned: events.len(),
        how_to_get_more: "narrow the window or pattern, lower limit, or raise response_bytes"
            .into(),
    });
    let summary = filter_text(&groups, &events, total, next_token.is_some(), &templates);
    Ok(Reply {
        summary,
        data: LogsOutput {
            mode: "filter".into(),
            log_groups: groups,
            events,
            insights: None,
            next_page: next_token,
            templates,
            truncated,
        },
    })
}

/// The 10 most frequent line shapes, from the engine's template miner.
fn templates_of(lines: &[(i64, String)]) -> Vec<TemplateOut> {
    let Ok(mut miner) = TemplateMiner::new(MinerConfig::default()) else {
        return Vec::new();
    };
    for (t, line) in lines {
        miner.feed(*t, line);
    }
    miner
        .templates()
        .into_iter()
        .take(10)
        .map(|t| TemplateOut {
            template: t.template,
            count: t.count,
            example: t.example,
        })
        .collect()
}

fn filter_text(
    groups: &[String],
    events: &[LogEvent],
    total: usize,
    more: bool,
    templates: &[TemplateOut],
) -> String {
    let mut out = format!(
        "{total} events from {}{}",
        groups.join(", "),
        if more {
            " (more: pass next_page as page)"
        } else {
            ""
        }
    );
    if events.len() < total {
        out.push_str(&format!("; {} shown", events.len()));
    }
    for t in templates {
        out.push_str(&format!("\ntemplate x{}: {}", t.count, t.template));
    }
    for e in events.iter().take(50) {
        out.push_str(&format!(
            "\n{} {} {}",
            e.timestamp.to_rfc3339(),
            e.stream,
            e.message
        ));
    }
    out
}

/// The Insights query: the caller's own, or one built around an escaped literal.
fn insights_query(p: &LogsParams, limit: usize) -> ToolResult<String> {
    if p.pattern.is_some() {
        return Err(ToolError::invalid(
            "pattern",
            "a filter pattern needs mode `filter`; in insights use `query` or `contains`",
        ));
    }
    match (&p.query, &p.contains) {
        (Some(_), Some(_)) => Err(ToolError::invalid(
            "contains",
            "give `query` or `contains`, not both",
        )),
        (Some(q), None) => Ok(non_empty("query", q)?.to_string()),
        (None, contains) => {
            let filter = contains
                .as_deref()
                .map(|c| format!(" | filter strcontains(@message, {})", insights_string(c)))
                .unwrap_or_default();
            Ok(format!(
                "fields @timestamp, @logStream, @message{filter} | sort @timestamp desc | limit {limit}"
            ))
        }
    }
}

async fn insights_mode(
    ctx: Arc<Context>,
    p: LogsParams,
    window: Window,
    limit: usize,
    budget: Budget,
) -> ToolResult<Reply<LogsOutput>> {
    let query = insights_query(&p, limit)?;
    let wait = Duration::from_secs(in_range("timeout_secs", p.timeout_secs, 1, 300, 30)?);
    let groups = resolve_groups(&ctx, &p).await?;
    let insights = ctx.sources.logs_insights(&p.aws.target()).await?;
    let mut result = insights
        .insights(&groups, &query, window, limit as i32, wait)
        .await?;
    let lines: Vec<(i64, String)> = result
        .rows
        .iter()
        .filter_map(|r| r.get("@message").map(|m| (0, m.clone())))
        .collect();
    let total = result.rows.len();
    let (rows, dropped) = budget.take(std::mem::take(&mut result.rows), 0.6);
    result.rows = rows;
    let templates = if dropped > 0 {
        templates_of(&lines)
    } else {
        Vec::new()
    };
    let mut summary = match result.status.as_str() {
        "Stopped" => format!(
            "Logs Insights query still running after {}s; it was stopped (StopQuery{}). Narrow the window or groups, or raise timeout_secs.",
            wait.as_secs(),
            result
                .note
                .as_ref()
                .map(|n| format!(", which answered: {n}"))
                .unwrap_or_default()
        ),
        s => format!(
            "Logs Insights {s}: {total} rows; {} records matched of {} scanned ({} bytes) in {}",
            result.records_matched,
            result.records_scanned,
            result.bytes_scanned,
            groups.join(", ")
        ),
    };
    for t in &templates {
        summary.push_str(&format!("\ntemplate x{}: {}", t.count, t.template));
    }
    for r in result.rows.iter().take(30) {
        let row: Vec<String> = r.iter().map(|(k, v)| format!("{k}={v}")).collect();
        summary.push_str(&format!("\n{}", row.join(" ")));
    }
    let truncated = (dropped > 0).then(|| Truncation {
        total,
        returned: result.rows.len(),
        how_to_get_more:
            "aggregate with stats in the query, narrow the window, or raise response_bytes".into(),
    });
    Ok(Reply {
        summary,
        data: LogsOutput {
            mode: "insights".into(),
            log_groups: groups,
            events: Vec::new(),
            insights: Some(result),
            next_page: None,
            templates,
            truncated,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: serde_json::Value) -> LogsParams {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn groups_and_tokens() {
        assert_eq!(
            group_for("prod", "host"),
            "/aws/containerinsights/prod/host"
        );
        assert_eq!(group_for("prod", "control_plane"), "/aws/eks/prod/cluster");
        assert_eq!(cluster_of("/aws/eks/prod/cluster"), Some("prod"));
        assert_eq!(cluster_of("/other"), None);
        assert_eq!(
            split_token(Some("1|abc"), 2).unwrap(),
            (1, Some("abc".into()))
        );
        assert_eq!(split_token(None, 2).unwrap(), (0, None));
        for bad in ["5|x", "x|y", "nopipe"] {
            assert!(
                split_token(Some(bad), 2)
                    .unwrap_err()
                    .to_string()
                    .contains("`page`")
            );
        }
    }

    #[test]
    fn caller_text_is_escaped_into_queries() {
        let q = insights_query(
            &params(serde_json::json!({"contains": "x\" | stats count(*) by y"})),
            50,
        )
        .unwrap();
        assert_eq!(
            q,
            r#"fields @timestamp, @logStream, @message | filter strcontains(@message, "x\" | stats count(*) by y") | sort @timestamp desc | limit 50"#
        );
        assert!(insights_query(&params(serde_json::json!({"pattern": "ERROR"})), 5).is_err());
        assert_eq!(
            filter_pattern(&params(serde_json::json!({"contains": "OOM \"killed\""}))).unwrap(),
            Some(r#""OOM \"killed\"""#.to_string())
        );
        assert!(filter_pattern(&params(serde_json::json!({"query": "fields x"}))).is_err());
    }
}
