//! Sources: where tools get data. Each family is a trait with a live backend and the snapshot
//! backend, and [`Sources`] hands tools the right one for a `cluster`, `region` or `profile`.
//!
//! - cluster: [`ClusterSource`], live via kube ([`kube`]), offline via [`snapshot`];
//! - metrics: [`MetricsSource`], live via CloudWatch ([`cloudwatch`]) and Prometheus/AMP
//!   ([`prometheus`]), offline via the bundle's series;
//! - logs: [`LogsSource`], live via CloudWatch Logs ([`cloudwatch_logs`]);
//! - cost: [`CostSource`], live via Cost Explorer ([`cost`]);
//! - EKS control plane: [`EksSource`], live via the EKS API ([`eks`]).
//!
//! Nothing here connects at start-up: live clients are built on first use and cached.

pub mod alarms;
pub mod aws;
pub mod cloudwatch;
pub mod cloudwatch_logs;
pub mod container_insights;
pub mod cost;
pub mod eks;
pub mod kinds;
pub mod kube;
pub mod pricing;
pub mod prometheus;
pub mod selector;
pub mod service_graph;
pub mod snapshot;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eks_ops_engine::series::Series;
use serde_json::Value;

use crate::config::{Settings, SourceMode};
use crate::error::{ToolError, ToolResult};
use crate::time::Window;

pub use kinds::KindInfo;

/// A list request for any kind.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub kind: KindInfo,
    /// `None` lists across all namespaces.
    pub namespace: Option<String>,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    /// Page size; `None` lists everything.
    pub limit: Option<u32>,
    pub continue_token: Option<String>,
}

/// One page of objects, as JSON in the API server's shape; `Arc<Value>` from
/// [`ClusterSource::list_shared`].
#[derive(Debug, Clone, Default)]
pub struct ObjectPage<T = Value> {
    pub items: Vec<T>,
    /// Token for the next page, when there is one.
    pub continue_token: Option<String>,
    /// Objects left after this page, when the server says.
    pub remaining: Option<u64>,
}

/// A container log request; mirrors the `pods/log` subresource.
#[derive(Debug, Clone, Default)]
pub struct LogRequest {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub previous: bool,
    pub since: Option<DateTime<Utc>>,
    pub tail_lines: Option<u64>,
    pub limit_bytes: Option<u64>,
}

/// One log line with its timestamp as the kubelet recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub at: Option<DateTime<Utc>>,
    pub text: String,
}

/// Kubernetes state of one cluster.
#[async_trait]
pub trait ClusterSource: Send + Sync {
    /// The name tools use for this cluster.
    fn name(&self) -> &str;
    /// "Now" for relative windows: the wall clock live, the capture time for a snapshot.
    fn now(&self) -> DateTime<Utc>;
    /// Kinds the cluster serves, CRDs included.
    async fn kinds(&self) -> ToolResult<Vec<KindInfo>>;
    async fn list(&self, request: &ListRequest) -> ToolResult<ObjectPage>;
    /// [`ClusterSource::list`] for callers that only read the objects: a source holding them in
    /// memory shares them instead of copying each one per call.
    async fn list_shared(&self, request: &ListRequest) -> ToolResult<ObjectPage<Arc<Value>>> {
        let page = self.list(request).await?;
        Ok(ObjectPage {
            items: page.items.into_iter().map(Arc::new).collect(),
            continue_token: page.continue_token,
            remaining: page.remaining,
        })
    }
    async fn get(&self, kind: &KindInfo, namespace: Option<&str>, name: &str) -> ToolResult<Value>;
    /// core/v1 Events (events.k8s.io/v1 converted to that shape), optionally in one namespace.
    async fn events(&self, namespace: Option<&str>) -> ToolResult<Vec<Value>>;
    async fn pod_logs(&self, request: &LogRequest) -> ToolResult<Vec<LogLine>>;

    /// Resolves a user-supplied kind (`pods`, `Pod`, `deploy`, `nodepools.karpenter.sh`).
    async fn resolve_kind(&self, kind: &str) -> ToolResult<KindInfo> {
        let kinds = self.kinds().await?;
        kinds::resolve(&kinds, kind)
    }
}

/// Which AWS account, region and credentials a call uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AwsTarget {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub role_arn: Option<String>,
}

/// A CloudWatch metric query in GetMetricData terms.
#[derive(Debug, Clone)]
pub struct MetricQuery {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
    pub stat: String,
    pub period_secs: i32,
}

/// One GetMetricData call around an expression: metric math over `metrics` (ids `m1`, `m2`, … in
/// order) or, when `expression` starts with SELECT, a Metrics Insights query on its own.
#[derive(Debug, Clone)]
pub struct ExpressionQuery {
    pub expression: String,
    pub metrics: Vec<MetricQuery>,
    /// Period of a Metrics Insights query; metric math takes the periods of its metrics.
    pub period_secs: i32,
}

impl ExpressionQuery {
    pub fn is_insights(&self) -> bool {
        is_metrics_insights(&self.expression)
    }
}

/// Whether a CloudWatch expression is a Metrics Insights query rather than metric math.
pub fn is_metrics_insights(expression: &str) -> bool {
    expression
        .trim_start()
        .get(..6)
        .is_some_and(|w| w.eq_ignore_ascii_case("select"))
}

/// What an expression returned: one series per result (a SEARCH or GROUP BY gives many), and
/// CloudWatch's own messages (evaluation errors, partial data), which the caller must see.
#[derive(Debug, Default)]
pub struct ExpressionAnswer {
    pub series: Vec<Series>,
    pub messages: Vec<String>,
}

/// A PromQL query: instant at `window.end` when `step_secs` is `None`, else a range query.
#[derive(Debug, Clone)]
pub struct PromQuery {
    pub query: String,
    pub window: Window,
    pub step_secs: Option<u64>,
}

/// Metric time series from CloudWatch, Prometheus/AMP or a bundle.
#[async_trait]
pub trait MetricsSource: Send + Sync {
    /// Human name of the backend, for summaries ("CloudWatch eu-west-1", "snapshot shop-prod").
    fn describe(&self) -> String;
    async fn cloudwatch(&self, queries: &[MetricQuery], window: Window) -> ToolResult<Vec<Series>>;
    /// Metric math or a Metrics Insights query; only live CloudWatch evaluates them.
    async fn cloudwatch_expression(
        &self,
        _query: &ExpressionQuery,
        _window: Window,
    ) -> ToolResult<ExpressionAnswer> {
        Err(ToolError::NotConfigured {
            what: "metric math and Metrics Insights".into(),
            how: "a snapshot holds plain metric series: drop `expression`, or run against CloudWatch (no --snapshot)".into(),
        })
    }
    async fn promql(&self, query: &PromQuery) -> ToolResult<Vec<Series>>;
    /// Normalised workload signals (see the snapshot README) whose labels match all of `labels`.
    async fn workload_signals(
        &self,
        labels: &[(String, String)],
        signals: &[String],
        window: Window,
    ) -> ToolResult<Vec<Series>>;
    /// Prometheus series, label names or label values (`what`); only live Prometheus has them.
    async fn prom_discover(
        &self,
        _what: &str,
        _label: Option<&str>,
        _selector: Option<&str>,
        _window: Window,
    ) -> ToolResult<Vec<String>> {
        Err(ToolError::NotConfigured {
            what: "Prometheus discovery".into(),
            how: "a snapshot has no Prometheus; start the server with --prometheus-url".into(),
        })
    }
}

/// One log event from CloudWatch Logs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct LogEvent {
    pub timestamp: DateTime<Utc>,
    pub stream: String,
    pub message: String,
}

/// CloudWatch Logs.
#[async_trait]
pub trait LogsSource: Send + Sync {
    async fn log_groups(&self, prefix: Option<&str>) -> ToolResult<Vec<String>>;
    /// filter_log_events over groups in a window; returns events and a next-page token.
    async fn filter(
        &self,
        groups: &[String],
        pattern: Option<&str>,
        window: Window,
        limit: usize,
        next: Option<String>,
    ) -> ToolResult<(Vec<LogEvent>, Option<String>)>;
    /// `filter` restricted to streams starting with `stream_prefix`. The default filters the
    /// page after fetching; live CloudWatch Logs filters server-side.
    async fn filter_streams(
        &self,
        group: &str,
        stream_prefix: &str,
        pattern: Option<&str>,
        window: Window,
        limit: usize,
        next: Option<String>,
    ) -> ToolResult<(Vec<LogEvent>, Option<String>)> {
        let (mut events, next) = self
            .filter(&[group.to_string()], pattern, window, limit, next)
            .await?;
        events.retain(|e| e.stream.starts_with(stream_prefix));
        Ok((events, next))
    }
}

/// One Cost Explorer result row: a period, the group keys and metric amounts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct CostRow {
    pub start: String,
    pub end: String,
    pub keys: Vec<String>,
    pub amount: f64,
    pub unit: String,
    pub estimated: bool,
}

/// A GetCostAndUsage request in typed form.
#[derive(Debug, Clone)]
pub struct CostRequest {
    pub start: String,
    pub end: String,
    pub granularity: String,
    pub metric: String,
    pub group_by: Vec<(String, String)>,
    pub filter: Option<Value>,
}

/// Cost Explorer.
#[async_trait]
pub trait CostSource: Send + Sync {
    async fn cost_and_usage(&self, request: &CostRequest) -> ToolResult<Vec<CostRow>>;
}

/// EKS control plane facts.
#[async_trait]
pub trait EksSource: Send + Sync {
    async fn list_clusters(&self) -> ToolResult<Vec<String>>;
    async fn describe_cluster(&self, name: &str) -> ToolResult<Value>;
    async fn nodegroups(&self, cluster: &str) -> ToolResult<Vec<Value>>;
}

/// Hands tools the source for a cluster or AWS target, live or from a snapshot.
pub struct Sources {
    settings: Arc<Settings>,
    snapshot: Option<Arc<snapshot::Bundle>>,
    clusters: kube::ClusterCache,
    aws: aws::AwsConfigCache,
}

impl Sources {
    /// Builds the source registry. Does no network I/O; a snapshot is read on first use.
    pub fn new(settings: Arc<Settings>) -> Self {
        install_crypto_provider();
        let snapshot = match &settings.mode {
            SourceMode::Live => None,
            SourceMode::SnapshotDir(dir) => Some(Arc::new(snapshot::Bundle::from_dir(dir.clone()))),
            SourceMode::SnapshotBuiltin(name) => Some(Arc::new(snapshot::Bundle::builtin(name))),
        };
        let aws = aws::AwsConfigCache::new(settings.clone());
        Sources {
            clusters: kube::ClusterCache::new(settings.clone(), aws.clone()),
            settings,
            snapshot,
            aws,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn is_snapshot(&self) -> bool {
        self.snapshot.is_some()
    }

    /// The bundle in snapshot mode, for sources that read its files directly.
    pub fn snapshot(&self) -> Option<&Arc<snapshot::Bundle>> {
        self.snapshot.as_ref()
    }

    /// "Now" for relative windows: the capture time of a snapshot, else the wall clock. A bundle's
    /// data ends at its capture, so "the last hour" must mean the hour before it.
    pub async fn now(&self) -> ToolResult<DateTime<Utc>> {
        match &self.snapshot {
            Some(bundle) => Ok(bundle.manifest()?.captured_at),
            None => Ok(crate::time::wall_clock_now()),
        }
    }

    /// The cluster named `cluster` (a kubeconfig context or EKS cluster name), or the default.
    pub async fn cluster(&self, cluster: Option<&str>) -> ToolResult<Arc<dyn ClusterSource>> {
        match &self.snapshot {
            Some(bundle) => bundle.cluster(cluster).await,
            None => self.clusters.get(cluster).await,
        }
    }

    pub async fn metrics(&self, target: &AwsTarget) -> ToolResult<Arc<dyn MetricsSource>> {
        if let Some(bundle) = &self.snapshot {
            return Ok(bundle.clone());
        }
        // Prometheus needs no AWS account; CloudWatch and AMP do.
        match self.aws.get(target).await {
            Ok(config) => {
                let prom = prometheus::PromClient::from_settings(&self.settings, Some(&config))?;
                Ok(Arc::new(cloudwatch::LiveMetrics::new(Ok(&config), prom)))
            }
            Err(aws_error) if self.settings.prometheus_url.is_some() => {
                let prom = prometheus::PromClient::from_settings(&self.settings, None)?;
                Ok(Arc::new(cloudwatch::LiveMetrics::new(Err(aws_error), prom)))
            }
            Err(e) => Err(e),
        }
    }

    /// CloudWatch metric discovery (ListMetrics), or the bundle's CloudWatch series.
    pub async fn metric_catalog(
        &self,
        target: &AwsTarget,
    ) -> ToolResult<Arc<dyn cloudwatch::MetricCatalog>> {
        if let Some(bundle) = &self.snapshot {
            return Ok(bundle.clone());
        }
        let config = self.aws.get(target).await?;
        Ok(Arc::new(cloudwatch::LiveMetrics::new(Ok(&config), None)))
    }

    /// CloudWatch alarms and their history, or the bundle's `alarms/alarms.json`.
    pub async fn alarms(&self, target: &AwsTarget) -> ToolResult<Arc<dyn alarms::AlarmsSource>> {
        if let Some(bundle) = &self.snapshot {
            return Ok(bundle.clone());
        }
        let config = self.aws.get(target).await?;
        Ok(Arc::new(alarms::LiveAlarms::new(&config)))
    }

    /// CloudWatch Logs Insights; the snapshot backend says it has none.
    pub async fn logs_insights(
        &self,
        target: &AwsTarget,
    ) -> ToolResult<Arc<dyn cloudwatch_logs::LogsInsights>> {
        if let Some(bundle) = &self.snapshot {
            return Ok(bundle.clone());
        }
        let config = self.aws.get(target).await?;
        Ok(Arc::new(cloudwatch_logs::LiveLogs::new(&config)))
    }

    pub async fn logs(&self, target: &AwsTarget) -> ToolResult<Arc<dyn LogsSource>> {
        if let Some(bundle) = &self.snapshot {
            return Ok(bundle.clone());
        }
        let config = self.aws.get(target).await?;
        Ok(Arc::new(cloudwatch_logs::LiveLogs::new(&config)))
    }

    pub async fn cost(&self, target: &AwsTarget) -> ToolResult<Arc<dyn CostSource>> {
        if let Some(bundle) = &self.snapshot {
            return Ok(bundle.clone());
        }
        let config = self.aws.get(target).await?;
        Ok(Arc::new(cost::LiveCost::new(&config)))
    }

    /// Instance prices: the Price List API live, `cost/node_prices.json` from a bundle.
    pub async fn pricing(&self, target: &AwsTarget) -> ToolResult<Arc<dyn pricing::PricingSource>> {
        if let Some(bundle) = &self.snapshot {
            return Ok(bundle.clone());
        }
        let config = self.aws.get(target).await?;
        Ok(Arc::new(pricing::LivePricing::new(&config)))
    }

    /// Cost Explorer beyond GetCostAndUsage (comparisons, forecast, anomalies); `None` in
    /// snapshot mode, where tools fall back to the bundle's daily cost.
    pub async fn cost_live(&self, target: &AwsTarget) -> ToolResult<Option<cost::LiveCost>> {
        if self.snapshot.is_some() {
            return Ok(None);
        }
        let config = self.aws.get(target).await?;
        Ok(Some(cost::LiveCost::new(&config)))
    }

    /// X-Ray's service graph, or the bundle's copy of it.
    pub async fn trace_graph(
        &self,
        target: &AwsTarget,
    ) -> ToolResult<Arc<dyn service_graph::TraceGraphSource>> {
        if let Some(bundle) = &self.snapshot {
            return Ok(bundle.clone());
        }
        let config = self.aws.get(target).await?;
        Ok(Arc::new(service_graph::LiveXray::new(&config)))
    }

    pub async fn eks(&self, target: &AwsTarget) -> ToolResult<Arc<dyn EksSource>> {
        if let Some(bundle) = &self.snapshot {
            return Ok(bundle.clone());
        }
        let config = self.aws.get(target).await?;
        Ok(Arc::new(eks::LiveEks::new(&config)))
    }

    /// EKS add-ons and upgrade insights, live or from the bundle's `eks/` files.
    pub async fn eks_health(
        &self,
        target: &AwsTarget,
    ) -> ToolResult<Arc<dyn eks::EksHealthSource>> {
        if let Some(bundle) = &self.snapshot {
            return Ok(bundle.clone());
        }
        let config = self.aws.get(target).await?;
        Ok(Arc::new(eks::LiveEks::new(&config)))
    }
}

/// rustls is built with two crypto providers here (ring through kube, aws-lc-rs through the AWS
/// SDK), and with two it cannot pick a default: the first TLS client would panic. Choose aws-lc-rs
/// once, before any client exists.
fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

/// Maps a failed join of a spawned fetch to a tool error instead of a panic.
pub fn join_error(what: &str, err: tokio::task::JoinError) -> ToolError {
    ToolError::backend(what, format!("task failed: {err}"))
}
