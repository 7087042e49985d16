//! Live metrics: CloudWatch GetMetricData and ListMetrics, and Prometheus/AMP through
//! [`PromClient`], behind one [`MetricsSource`]. Workload signals come from Prometheus when it is
//! configured (the PromQL for each normalised signal name is kept in one table), else from
//! Container Insights ([`super::container_insights`] plans which metrics answer them).

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::types::{
    Dimension, DimensionFilter, MessageData, Metric, MetricDataQuery, MetricDataResult, MetricStat,
    ScanBy,
};
use eks_ops_engine::series::Series;
use std::collections::BTreeSet;

use super::aws::map_sdk_error;
use super::container_insights::{self as ci, MetricFilter, MetricId, Scope};
use super::prometheus::PromClient;
use super::snapshot::Bundle;
use super::{ExpressionAnswer, ExpressionQuery, MetricQuery, MetricsSource, PromQuery};
use crate::error::{ToolError, ToolResult};
use crate::time::Window;

/// CloudWatch plus an optional Prometheus.
pub struct LiveMetrics {
    /// The CloudWatch client, or why there is none (no region or credentials).
    cloudwatch: Result<aws_sdk_cloudwatch::Client, String>,
    region: String,
    prometheus: Option<PromClient>,
}

impl LiveMetrics {
    pub fn new(sdk: Result<&SdkConfig, ToolError>, prometheus: Option<PromClient>) -> Self {
        match sdk {
            Ok(sdk) => LiveMetrics {
                cloudwatch: Ok(aws_sdk_cloudwatch::Client::new(sdk)),
                region: sdk.region().map(|r| r.to_string()).unwrap_or_default(),
                prometheus,
            },
            Err(e) => LiveMetrics {
                cloudwatch: Err(e.to_string()),
                region: String::new(),
                prometheus,
            },
        }
    }

    fn cloudwatch_client(&self) -> ToolResult<&aws_sdk_cloudwatch::Client> {
        self.cloudwatch
            .as_ref()
            .map_err(|e| ToolError::NotConfigured {
                what: "CloudWatch".into(),
                how: e.clone(),
            })
    }

    fn prometheus(&self) -> ToolResult<&PromClient> {
        self.prometheus
            .as_ref()
            .ok_or_else(|| ToolError::NotConfigured {
                what: "Prometheus".into(),
                how: "start the server with --prometheus-url URL or --amp-workspace-id ID".into(),
            })
    }
}

/// PromQL per normalised workload signal; `{sel}` is replaced by the label matchers.
const SIGNAL_QUERIES: [(&str, &str); 11] = [
    (
        "cpu_usage_cores",
        r#"sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{container!="",{sel}}[5m]))"#,
    ),
    (
        "cpu_throttled_ratio",
        r#"sum by (namespace, pod, container) (rate(container_cpu_cfs_throttled_periods_total{container!="",{sel}}[5m])) / sum by (namespace, pod, container) (rate(container_cpu_cfs_periods_total{container!="",{sel}}[5m]))"#,
    ),
    (
        "memory_working_set_bytes",
        r#"sum by (namespace, pod, container) (container_memory_working_set_bytes{container!="",{sel}})"#,
    ),
    (
        "memory_limit_bytes",
        r#"sum by (namespace, pod, container) (kube_pod_container_resource_limits{resource="memory",{sel}})"#,
    ),
    (
        "restarts",
        r#"sum by (namespace, pod, container) (kube_pod_container_status_restarts_total{{sel}})"#,
    ),
    (
        "network_rx_bytes_per_second",
        r#"sum by (namespace, pod) (rate(container_network_receive_bytes_total{{sel}}[5m]))"#,
    ),
    (
        "network_tx_bytes_per_second",
        r#"sum by (namespace, pod) (rate(container_network_transmit_bytes_total{{sel}}[5m]))"#,
    ),
    // Node signals: the node's root cgroup from cAdvisor over allocatable from kube-state-metrics.
    (
        "node_cpu_utilization",
        r#"100 * sum by (node) (rate(container_cpu_usage_seconds_total{id="/",{sel}}[5m])) / sum by (node) (kube_node_status_allocatable{resource="cpu",{sel}})"#,
    ),
    (
        "node_memory_utilization",
        r#"100 * sum by (node) (container_memory_working_set_bytes{id="/",{sel}}) / sum by (node) (kube_node_status_allocatable{resource="memory",{sel}})"#,
    ),
    (
        "node_filesystem_utilization",
        r#"100 * max by (node) (1 - node_filesystem_avail_bytes{mountpoint="/",{sel}} / node_filesystem_size_bytes{mountpoint="/",{sel}})"#,
    ),
    (
        "node_pod_count",
        r#"count by (node) (kube_pod_info{{sel}})"#,
    ),
];

/// Node signals answer only a node selector: with a namespace they would count its pods per
/// node under a node name.
fn applies(signal: &str, labels: &[(String, String)]) -> bool {
    let node_only = labels.iter().any(|(k, _)| k == "node")
        && labels.iter().all(|(k, _)| k == "node" || k == "cluster");
    !signal.starts_with("node_") || node_only
}

/// Escapes a label value for a PromQL string literal.
pub fn promql_escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Label matchers; `cluster` names the Container Insights cluster and is not a Prometheus label
/// (one Prometheus serves one cluster here).
fn matchers(labels: &[(String, String)]) -> String {
    labels
        .iter()
        .filter(|(k, _)| k != "cluster")
        .map(|(k, v)| match k.as_str() {
            // A workload's pods carry its name as a prefix; Prometheus has no owner label.
            "workload" => format!(r#"pod=~"{}-.*""#, promql_escape(&regex::escape(v))),
            _ => format!(r#"{k}="{}""#, promql_escape(v)),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A step that keeps a range query near 240 points.
pub fn step_for(window: Window) -> u64 {
    ((window.duration().num_seconds().max(60) as u64) / 240).clamp(15, 3600)
}

/// Pages of GetMetricData read per call; each holds up to 100,800 points.
const MAX_PAGES: usize = 50;

/// The id of the expression in an expression call; metrics are `m1`, `m2`, ….
const EXPRESSION_ID: &str = "e1";

fn metric_stat_query(id: String, q: &MetricQuery, return_data: bool) -> MetricDataQuery {
    let dims = q
        .dimensions
        .iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect::<Vec<_>>();
    let metric = Metric::builder()
        .namespace(&q.namespace)
        .metric_name(&q.metric_name)
        .set_dimensions(Some(dims))
        .build();
    let stat = MetricStat::builder()
        .metric(metric)
        .period(q.period_secs)
        .stat(&q.stat)
        .build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(stat)
        .return_data(return_data)
        .build()
}

/// Expression results gathered over pages. A SEARCH or a GROUP BY answers many series under one
/// id, told apart by label, and a series' points may continue on the next page.
#[derive(Default)]
struct MergedResults {
    series: Vec<Series>,
    /// The last status per series: `PartialData` on the final page means points are missing.
    status: Vec<Option<String>>,
    messages: Vec<String>,
}

impl MergedResults {
    fn add_page(&mut self, results: &[MetricDataResult], messages: &[MessageData]) {
        for result in results {
            let label = result.label().or(result.id()).unwrap_or(EXPRESSION_ID);
            let index = match self.series.iter().position(|s| s.name == label) {
                Some(i) => i,
                None => {
                    self.series.push(Series {
                        name: label.to_string(),
                        ..Default::default()
                    });
                    self.status.push(None);
                    self.series.len() - 1
                }
            };
            let series = &mut self.series[index];
            for (t, v) in result.timestamps().iter().zip(result.values()) {
                series.timestamps.push(t.to_millis().unwrap_or_default());
                series.values.push(*v);
            }
            self.status[index] = result.status_code().map(|c| c.as_str().to_string());
            for m in result.messages() {
                self.messages.push(format!("{label}: {}", message_text(m)));
            }
        }
        self.messages.extend(messages.iter().map(message_text));
    }

    fn finish(mut self) -> ExpressionAnswer {
        for (series, status) in self.series.iter().zip(&self.status) {
            if let Some(status) = status.as_deref().filter(|s| *s != "Complete") {
                self.messages
                    .push(format!("{}: status {status}", series.name));
            }
        }
        self.messages.dedup();
        self.series.iter_mut().for_each(Series::normalize);
        ExpressionAnswer {
            series: self.series,
            messages: self.messages,
        }
    }
}

fn message_text(m: &MessageData) -> String {
    match (m.code(), m.value()) {
        (Some(code), Some(value)) => format!("{code}: {value}"),
        (Some(one), None) | (None, Some(one)) => one.to_string(),
        (None, None) => "message without text".into(),
    }
}

impl LiveMetrics {
    /// Runs GetMetricData over `window`, handing each page to `on_page`, for up to
    /// [`MAX_PAGES`] pages; false when results were left unread.
    async fn metric_data_pages(
        &self,
        queries: Vec<MetricDataQuery>,
        window: Window,
        mut on_page: impl FnMut(&GetMetricDataOutput),
    ) -> ToolResult<bool> {
        let mut next = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .cloudwatch_client()?
                .get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(aws_smithy_types::DateTime::from_millis(window.start_ms()))
                .end_time(aws_smithy_types::DateTime::from_millis(window.end_ms()))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| map_sdk_error("cloudwatch:GetMetricData", e))?;
            on_page(&page);
            next = page.next_token;
            if next.is_none() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[async_trait]
impl MetricsSource for LiveMetrics {
    fn describe(&self) -> String {
        match (&self.prometheus, self.cloudwatch.is_ok()) {
            (Some(p), true) => format!("CloudWatch {} and {}", self.region, p.describe()),
            (Some(p), false) => p.describe(),
            (None, _) => format!("CloudWatch {}", self.region),
        }
    }

    async fn cloudwatch(&self, queries: &[MetricQuery], window: Window) -> ToolResult<Vec<Series>> {
        let data_queries: Vec<MetricDataQuery> = queries
            .iter()
            .enumerate()
            .map(|(i, q)| metric_stat_query(format!("m{i}"), q, true))
            .collect();
        let mut out: Vec<Series> = queries
            .iter()
            .map(|q| {
                let mut s = Series {
                    name: q.metric_name.clone(),
                    ..Default::default()
                };
                s.labels.insert("Namespace".into(), q.namespace.clone());
                s.labels.insert("stat".into(), q.stat.clone());
                for (k, v) in &q.dimensions {
                    // A dimension called `Namespace` (Container Insights' Kubernetes namespace)
                    // must not overwrite the metric namespace; bundles spell it the same way.
                    let key = if k == "Namespace" {
                        "Dimension.Namespace".to_string()
                    } else {
                        k.clone()
                    };
                    s.labels.insert(key, v.clone());
                }
                s
            })
            .collect();
        self.metric_data_pages(data_queries, window, |page| {
            for result in page.metric_data_results() {
                let Some(index) = result
                    .id()
                    .and_then(|id| id.strip_prefix('m'))
                    .and_then(|i| i.parse::<usize>().ok())
                else {
                    continue;
                };
                let Some(series) = out.get_mut(index) else {
                    continue;
                };
                for (t, v) in result.timestamps().iter().zip(result.values()) {
                    series.timestamps.push(t.to_millis().unwrap_or_default());
                    series.values.push(*v);
                }
            }
        })
        .await?;
        out.iter_mut().for_each(Series::normalize);
        Ok(out)
    }

    async fn cloudwatch_expression(
        &self,
        query: &ExpressionQuery,
        window: Window,
    ) -> ToolResult<ExpressionAnswer> {
        // The metrics feed the expression and are not returned themselves.
        let mut data_queries: Vec<MetricDataQuery> = query
            .metrics
            .iter()
            .enumerate()
            .map(|(i, q)| metric_stat_query(format!("m{}", i + 1), q, false))
            .collect();
        data_queries.push(
            MetricDataQuery::builder()
                .id(EXPRESSION_ID)
                .expression(&query.expression)
                .set_period(query.is_insights().then_some(query.period_secs))
                .return_data(true)
                .build(),
        );
        let mut merged = MergedResults::default();
        let complete = self
            .metric_data_pages(data_queries, window, |page| {
                merged.add_page(page.metric_data_results(), page.messages());
            })
            .await?;
        if !complete {
            merged.messages.push(format!(
                "stopped after {MAX_PAGES} pages of results: shorten the window or raise the period"
            ));
        }
        Ok(merged.finish())
    }

    async fn promql(&self, query: &PromQuery) -> ToolResult<Vec<Series>> {
        self.prometheus()?.query(query).await
    }

    async fn prom_discover(
        &self,
        what: &str,
        label: Option<&str>,
        selector: Option<&str>,
        window: Window,
    ) -> ToolResult<Vec<String>> {
        self.prometheus()?
            .discover(what, label, selector, window)
            .await
    }

    async fn workload_signals(
        &self,
        labels: &[(String, String)],
        signals: &[String],
        window: Window,
    ) -> ToolResult<Vec<Series>> {
        let Some(prometheus) = &self.prometheus else {
            return self.container_insights(labels, signals, window).await;
        };
        let sel = matchers(labels);
        let mut out = Vec::new();
        for (name, template) in SIGNAL_QUERIES {
            if (!signals.is_empty() && !signals.iter().any(|s| s == name)) || !applies(name, labels)
            {
                continue;
            }
            let query = template
                .replace("{sel}", &sel)
                .replace("{,", "{")
                .replace(",}", "}");
            let series = prometheus
                .query(&PromQuery {
                    query,
                    window,
                    step_secs: Some(step_for(window)),
                })
                .await?;
            out.extend(series.into_iter().map(|mut s| {
                s.name = name.to_string();
                s
            }));
        }
        Ok(out)
    }
}

impl LiveMetrics {
    /// ListMetrics with every page, de-duplicated (a metric is listed once per dimension set).
    pub async fn list_metrics(&self, filter: &MetricFilter) -> ToolResult<Vec<MetricId>> {
        let client = self.cloudwatch_client()?;
        let dims: Vec<DimensionFilter> = filter
            .dimensions
            .iter()
            .map(|(k, v)| {
                DimensionFilter::builder()
                    .name(k)
                    .set_value(v.clone())
                    .build()
            })
            .collect();
        let mut found = BTreeSet::new();
        let mut next = None;
        for _ in 0..100 {
            let out = client
                .list_metrics()
                .set_namespace(filter.namespace.clone())
                .set_metric_name(filter.metric_name.clone())
                .set_dimensions(Some(dims.clone()))
                .set_next_token(next)
                .send()
                .await
                .map_err(|e| map_sdk_error("cloudwatch:ListMetrics", e))?;
            for m in out.metrics() {
                found.insert(MetricId {
                    namespace: m.namespace().unwrap_or_default().to_string(),
                    metric_name: m.metric_name().unwrap_or_default().to_string(),
                    dimensions: m
                        .dimensions()
                        .iter()
                        .filter_map(|d| Some((d.name()?.to_string(), d.value()?.to_string())))
                        .collect(),
                });
            }
            next = out.next_token;
            if next.is_none() {
                break;
            }
        }
        Ok(found.into_iter().filter(|m| filter.matches(m)).collect())
    }

    /// The Container Insights cluster: the `cluster` label, else the only cluster reporting.
    async fn insights_cluster(&self, labels: &[(String, String)]) -> ToolResult<String> {
        if let Some((_, c)) = labels.iter().find(|(k, _)| k == "cluster") {
            return Ok(c.clone());
        }
        let found = self
            .list_metrics(&MetricFilter {
                namespace: Some(ci::NAMESPACE.into()),
                metric_name: Some("cluster_node_count".into()),
                dimensions: Vec::new(),
            })
            .await?;
        match ci::cluster_names(&found).as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(ToolError::NotConfigured {
                what: "workload metrics".into(),
                how: "no Container Insights metrics found in this region; install the amazon-cloudwatch-observability add-on or start the server with --prometheus-url".into(),
            }),
            many => Err(ToolError::invalid(
                "cluster",
                format!("several clusters report Container Insights ({}); name one", many.join(", ")),
            )),
        }
    }

    async fn container_insights(
        &self,
        labels: &[(String, String)],
        signals: &[String],
        window: Window,
    ) -> ToolResult<Vec<Series>> {
        let scope = Scope::from_labels(labels)?;
        let cluster = self.insights_cluster(labels).await?;
        let found = self.list_metrics(&scope.filter(&cluster)).await?;
        let plan = ci::plan(&found, &scope, signals, ci::period_for(step_for(window)));
        let mut out = Vec::new();
        // GetMetricData takes at most 500 queries per call.
        for chunk in plan.chunks(400) {
            let queries: Vec<MetricQuery> = chunk.iter().map(|(_, q)| q.clone()).collect();
            let series = self.cloudwatch(&queries, window).await?;
            out.extend(
                series
                    .into_iter()
                    .zip(chunk)
                    .map(|(s, (signal, _))| ci::relabel(s, signal)),
            );
        }
        Ok(out)
    }
}

/// CloudWatch metric discovery (ListMetrics), live or from a bundle's CloudWatch series.
#[async_trait]
pub trait MetricCatalog: Send + Sync {
    async fn list_metrics(&self, filter: &MetricFilter) -> ToolResult<Vec<MetricId>>;
}

#[async_trait]
impl MetricCatalog for LiveMetrics {
    async fn list_metrics(&self, filter: &MetricFilter) -> ToolResult<Vec<MetricId>> {
        LiveMetrics::list_metrics(self, filter).await
    }
}

#[async_trait]
impl MetricCatalog for Bundle {
    async fn list_metrics(&self, filter: &MetricFilter) -> ToolResult<Vec<MetricId>> {
        let text = self
            .read_file("metrics/cloudwatch.jsonl")
            .unwrap_or_default();
        let mut found = BTreeSet::new();
        for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let s: Series = serde_json::from_str(line).map_err(|e| {
                ToolError::backend(
                    "snapshot",
                    format!("metrics/cloudwatch.jsonl line {}: {e}", i + 1),
                )
            })?;
            found.insert(bundle_metric_id(s));
        }
        Ok(found.into_iter().filter(|m| filter.matches(m)).collect())
    }
}

/// A bundle series' identity: `Namespace` is the metric namespace, `Dimension.X` the dimension X.
fn bundle_metric_id(s: Series) -> MetricId {
    let mut labels = s.labels;
    let namespace = labels.remove("Namespace").unwrap_or_default();
    MetricId {
        namespace,
        metric_name: s.name,
        dimensions: labels
            .into_iter()
            .map(|(k, v)| (k.strip_prefix("Dimension.").unwrap_or(&k).to_string(), v))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::types::StatusCode;

    fn result(label: &str, points: &[(i64, f64)], status: StatusCode) -> MetricDataResult {
        MetricDataResult::builder()
            .id(EXPRESSION_ID)
            .label(label)
            .set_timestamps(Some(
                points
                    .iter()
                    .map(|p| aws_smithy_types::DateTime::from_millis(p.0))
                    .collect(),
            ))
            .set_values(Some(points.iter().map(|p| p.1).collect()))
            .status_code(status)
            .build()
    }

    /// The shape CloudWatch gives a SEARCH or GROUP BY answer: one id, a result per label, a
    /// series continued on the next page with `PartialData` until its last page.
    #[test]
    fn expression_results_merge_across_pages_by_label() {
        let mut merged = MergedResults::default();
        merged.add_page(
            &[
                result(
                    "i-1",
                    &[(60_000, 1.0), (120_000, 2.0)],
                    StatusCode::PartialData,
                ),
                result("i-2", &[(60_000, 5.0)], StatusCode::Complete),
            ],
            &[],
        );
        merged.add_page(
            &[result("i-1", &[(180_000, 3.0)], StatusCode::Complete)],
            &[MessageData::builder()
                .code("MaxQueryTimeRangeExceed")
                .value("Query time range is too large")
                .build()],
        );
        let answer = merged.finish();
        assert_eq!(answer.series.len(), 2);
        assert_eq!(answer.series[0].name, "i-1");
        assert_eq!(answer.series[0].values, vec![1.0, 2.0, 3.0]);
        assert_eq!(answer.series[0].timestamps, vec![60_000, 120_000, 180_000]);
        assert_eq!(
            answer.messages,
            vec!["MaxQueryTimeRangeExceed: Query time range is too large"]
        );
    }

    #[test]
    fn incomplete_results_and_their_messages_are_reported() {
        let mut merged = MergedResults::default();
        let failing = MetricDataResult::builder()
            .id(EXPRESSION_ID)
            .status_code(StatusCode::InternalError)
            .messages(
                MessageData::builder()
                    .code("ArithmeticError")
                    .value("Error in expression e1: division by zero")
                    .build(),
            )
            .build();
        merged.add_page(&[failing], &[]);
        let answer = merged.finish();
        assert_eq!(answer.series[0].name, "e1", "no label: the id names it");
        assert_eq!(
            answer.messages,
            vec![
                "e1: ArithmeticError: Error in expression e1: division by zero",
                "e1: status InternalError"
            ]
        );
    }

    #[test]
    fn node_signals_need_a_node_selector() {
        assert!(applies("node_pod_count", &[("node".into(), "n1".into())]));
        assert!(!applies(
            "node_pod_count",
            &[("namespace".into(), "shop".into())]
        ));
        assert!(applies("restarts", &[("namespace".into(), "shop".into())]));
        assert!(
            !applies("node_pod_count", &[]),
            "`kube_pod_info{{}}` is not valid PromQL"
        );
        assert_eq!(
            matchers(&[
                ("cluster".into(), "prod".into()),
                ("node".into(), "n1".into())
            ]),
            r#"node="n1""#
        );
    }

    #[test]
    fn matchers_escape_values() {
        let m = matchers(&[
            ("namespace".into(), r#"we"ird\ns"#.into()),
            ("workload".into(), "checkout".into()),
        ]);
        assert_eq!(m, r#"namespace="we\"ird\\ns",pod=~"checkout-.*""#);
    }

    #[test]
    fn signal_queries_render_without_dangling_commas() {
        let (_, t) = SIGNAL_QUERIES[4];
        let q = t.replace("{sel}", "").replace("{,", "{").replace(",}", "}");
        assert_eq!(
            q,
            "sum by (namespace, pod, container) (kube_pod_container_status_restarts_total{})"
        );
    }
}
