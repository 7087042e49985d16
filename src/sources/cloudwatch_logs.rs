//! Live CloudWatch Logs: log group discovery, filter_log_events with pagination, and Logs
//! Insights queries that are stopped when the caller gives up on them (timeout, cancellation).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::types::QueryStatus;
use chrono::{TimeZone, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use super::aws::map_sdk_error;
use super::snapshot::Bundle;
use super::{LogEvent, LogsSource};
use crate::error::{ToolError, ToolResult};
use crate::time::Window;

pub struct LiveLogs {
    client: aws_sdk_cloudwatchlogs::Client,
}

impl LiveLogs {
    pub fn new(sdk: &SdkConfig) -> Self {
        LiveLogs {
            client: aws_sdk_cloudwatchlogs::Client::new(sdk),
        }
    }
}

#[async_trait]
impl LogsSource for LiveLogs {
    async fn log_groups(&self, prefix: Option<&str>) -> ToolResult<Vec<String>> {
        let mut groups = Vec::new();
        let mut next = None;
        for _ in 0..20 {
            let out = self
                .client
                .describe_log_groups()
                .set_log_group_name_prefix(prefix.map(str::to_string))
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| map_sdk_error("logs:DescribeLogGroups", e))?;
            groups.extend(
                out.log_groups()
                    .iter()
                    .filter_map(|g| g.log_group_name().map(str::to_string)),
            );
            next = out.next_token;
            if next.is_none() {
                break;
            }
        }
        Ok(groups)
    }

    async fn filter(
        &self,
        groups: &[String],
        pattern: Option<&str>,
        window: Window,
        limit: usize,
        next: Option<String>,
    ) -> ToolResult<(Vec<LogEvent>, Option<String>)> {
        let mut events = Vec::new();
        let mut token = next;
        for group in groups {
            loop {
                let out = self
                    .client
                    .filter_log_events()
                    .log_group_name(group)
                    .set_filter_pattern(pattern.map(str::to_string))
                    .start_time(window.start_ms())
                    .end_time(window.end_ms())
                    .limit(limit.clamp(1, 10_000) as i32)
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(|e| map_sdk_error("logs:FilterLogEvents", e))?;
                events.extend(out.events().iter().map(to_event));
                token = out.next_token;
                if events.len() >= limit || token.is_none() {
                    break;
                }
            }
            if events.len() >= limit {
                break;
            }
        }
        events.sort_by_key(|e| e.timestamp);
        events.truncate(limit);
        Ok((events, token))
    }

    async fn filter_streams(
        &self,
        group: &str,
        stream_prefix: &str,
        pattern: Option<&str>,
        window: Window,
        limit: usize,
        next: Option<String>,
    ) -> ToolResult<(Vec<LogEvent>, Option<String>)> {
        let out = self
            .client
            .filter_log_events()
            .log_group_name(group)
            .log_stream_name_prefix(stream_prefix)
            .set_filter_pattern(pattern.map(str::to_string))
            .start_time(window.start_ms())
            .end_time(window.end_ms())
            .limit(limit.clamp(1, 10_000) as i32)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| map_sdk_error("logs:FilterLogEvents", e))?;
        let events = out.events().iter().map(to_event).collect();
        Ok((events, out.next_token))
    }
}

fn to_event(e: &aws_sdk_cloudwatchlogs::types::FilteredLogEvent) -> LogEvent {
    LogEvent {
        timestamp: Utc
            .timestamp_millis_opt(e.timestamp().unwrap_or_default())
            .single()
            .unwrap_or_default(),
        stream: e.log_stream_name().unwrap_or_default().to_string(),
        message: e.message().unwrap_or_default().to_string(),
    }
}

/// What a finished, failed or abandoned Insights query returned.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct InsightsResult {
    /// Complete, Failed, Cancelled, Timeout, or `Stopped` when this server gave up waiting.
    pub status: String,
    pub rows: Vec<BTreeMap<String, String>>,
    pub records_matched: f64,
    pub records_scanned: f64,
    pub bytes_scanned: f64,
    /// Why a stop request failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// CloudWatch Logs Insights.
#[async_trait]
pub trait LogsInsights: Send + Sync {
    /// Runs `query` over `groups`, polling with backoff until it ends or `wait` passes; a query
    /// still running then (or when the caller drops this future) is stopped.
    async fn insights(
        &self,
        groups: &[String],
        query: &str,
        window: Window,
        limit: i32,
        wait: Duration,
    ) -> ToolResult<InsightsResult>;
}

/// Stops a started query unless it was seen to end: on timeout, and when the tool call is
/// cancelled and its future dropped mid-poll.
struct StopOnDrop {
    client: aws_sdk_cloudwatchlogs::Client,
    query_id: String,
    ended: bool,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let client = self.client.clone();
        let id = self.query_id.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = client.stop_query().query_id(id).send().await;
            });
        }
    }
}

impl LiveLogs {
    async fn poll(&self, guard: &mut StopOnDrop) -> ToolResult<InsightsResult> {
        let mut delay = Duration::from_millis(200);
        loop {
            let out = self
                .client
                .get_query_results()
                .query_id(&guard.query_id)
                .send()
                .await
                .map_err(|e| map_sdk_error("logs:GetQueryResults", e))?;
            let status = out.status().map(QueryStatus::as_str).unwrap_or("Unknown");
            if !matches!(status, "Running" | "Scheduled") {
                guard.ended = true;
                return Ok(insights_result(status, &out));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }
}

fn insights_result(
    status: &str,
    out: &aws_sdk_cloudwatchlogs::operation::get_query_results::GetQueryResultsOutput,
) -> InsightsResult {
    let stats = out.statistics();
    InsightsResult {
        status: status.to_string(),
        rows: out
            .results()
            .iter()
            .map(|row| {
                row.iter()
                    .filter_map(|f| Some((f.field()?.to_string(), f.value()?.to_string())))
                    .filter(|(k, _)| k != "@ptr")
                    .collect()
            })
            .collect(),
        records_matched: stats.map(|s| s.records_matched()).unwrap_or_default(),
        records_scanned: stats.map(|s| s.records_scanned()).unwrap_or_default(),
        bytes_scanned: stats.map(|s| s.bytes_scanned()).unwrap_or_default(),
        note: None,
    }
}

#[async_trait]
impl LogsInsights for LiveLogs {
    async fn insights(
        &self,
        groups: &[String],
        query: &str,
        window: Window,
        limit: i32,
        wait: Duration,
    ) -> ToolResult<InsightsResult> {
        let started = self
            .client
            .start_query()
            .set_log_group_names(Some(groups.to_vec()))
            .query_string(query)
            .start_time(window.start.timestamp())
            .end_time(window.end.timestamp())
            .limit(limit)
            .send()
            .await
            .map_err(|e| map_sdk_error("logs:StartQuery", e))?;
        let mut guard = StopOnDrop {
            client: self.client.clone(),
            query_id: started.query_id().unwrap_or_default().to_string(),
            ended: false,
        };
        match tokio::time::timeout(wait, self.poll(&mut guard)).await {
            Ok(result) => result,
            Err(_) => {
                guard.ended = true;
                // A query can end between the last poll and the stop; CloudWatch then refuses
                // the stop, which is reported rather than failing the call.
                let stop = self
                    .client
                    .stop_query()
                    .query_id(&guard.query_id)
                    .send()
                    .await
                    .map_err(|e| map_sdk_error("logs:StopQuery", e));
                Ok(InsightsResult {
                    status: "Stopped".into(),
                    note: stop.err().map(|e| e.to_string()),
                    ..Default::default()
                })
            }
        }
    }
}

#[async_trait]
impl LogsInsights for Bundle {
    async fn insights(
        &self,
        _groups: &[String],
        _query: &str,
        _window: Window,
        _limit: i32,
        _wait: Duration,
    ) -> ToolResult<InsightsResult> {
        Err(ToolError::NotConfigured {
            what: "Logs Insights".into(),
            how: "a snapshot holds raw log events only; use mode `filter`, or run against live CloudWatch Logs".into(),
        })
    }
}

/// A CloudWatch Logs Insights string literal: the caller's text can neither end the string nor
/// start a new command.
pub fn insights_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A filter_log_events pattern matching `value` as one literal term.
pub fn filter_term(value: &str) -> String {
    insights_string(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatchlogs::operation::get_query_results::GetQueryResultsOutput;
    use aws_sdk_cloudwatchlogs::types::{QueryStatistics, ResultField};

    fn field(name: &str, value: &str) -> ResultField {
        ResultField::builder().field(name).value(value).build()
    }

    /// moto ignores `stats`, so this reads the shape CloudWatch documents for
    /// `stats count(*) by bin(5m)`: one row per bin, no `@ptr`, numbers as strings.
    #[test]
    fn stats_results_read_as_rows() {
        let out = GetQueryResultsOutput::builder()
            .status(QueryStatus::Complete)
            .results(vec![
                field("bin(5m)", "2026-12-06 13:55:00.000"),
                field("count(*)", "12"),
            ])
            .results(vec![
                field("bin(5m)", "2026-12-06 14:00:00.000"),
                field("count(*)", "3"),
            ])
            .statistics(
                QueryStatistics::builder()
                    .records_matched(15.0)
                    .records_scanned(4_000.0)
                    .bytes_scanned(512_000.0)
                    .build(),
            )
            .build();
        let result = insights_result("Complete", &out);
        assert_eq!(result.rows.len(), 2);
        assert_eq!(
            result.rows[0],
            [
                ("bin(5m)".to_string(), "2026-12-06 13:55:00.000".to_string()),
                ("count(*)".to_string(), "12".to_string())
            ]
            .into_iter()
            .collect()
        );
        assert_eq!(
            (result.records_matched, result.records_scanned),
            (15.0, 4_000.0)
        );
        let plain = GetQueryResultsOutput::builder()
            .status(QueryStatus::Complete)
            .results(vec![
                field("@timestamp", "2026-12-06 14:00:01.000"),
                field("@message", "boom"),
                field("@ptr", "CmAKJwoj"),
            ])
            .build();
        let rows = insights_result("Complete", &plain).rows;
        assert!(!rows[0].iter().any(|(k, _)| k == "@ptr"), "{rows:?}");
    }

    #[test]
    fn caller_text_stays_inside_the_literal() {
        assert_eq!(
            insights_string(r#"a" | stats count(*)"#),
            r#""a\" | stats count(*)""#
        );
        assert_eq!(insights_string("x\\\nfilter"), r#""x\\\nfilter""#);
        assert_eq!(insights_string(""), r#""""#);
    }
}
