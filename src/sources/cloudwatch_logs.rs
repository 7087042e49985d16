//! Live CloudWatch Logs: log group discovery and filter_log_events with pagination.

use async_trait::async_trait;
use aws_config::SdkConfig;
use chrono::{TimeZone, Utc};

use super::aws::map_sdk_error;
use super::{LogEvent, LogsSource};
use crate::error::ToolResult;
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
                for e in out.events() {
                    events.push(LogEvent {
                        timestamp: Utc
                            .timestamp_millis_opt(e.timestamp().unwrap_or_default())
                            .single()
                            .unwrap_or_default(),
                        stream: e.log_stream_name().unwrap_or_default().to_string(),
                        message: e.message().unwrap_or_default().to_string(),
                    });
                }
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
}
