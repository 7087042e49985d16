//! The snapshot backend: serves every source trait from a bundle directory (format in
//! `examples/snapshots/README.md`), or from a bundle compiled into the binary.
//!
//! A bundle is read on first use, not at start-up, and then kept in memory; container logs are
//! read per request because they are the bulk of a bundle. "Now" is the manifest's capture time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eks_ops_engine::series::Series;
use include_dir::{Dir, include_dir};
use serde::Deserialize;
use serde_json::Value;

use super::kinds::{self, KindInfo};
use super::selector::{FieldSelector, LabelSelector};
use super::{
    ClusterSource, CostRequest, CostRow, CostSource, EksSource, ListRequest, LogEvent, LogLine,
    LogRequest, LogsSource, MetricQuery, MetricsSource, ObjectPage, PromQuery,
};
use crate::error::{ToolError, ToolResult};
use crate::time::Window;

/// Bundles shipped inside the binary, so the demo and tests need no files.
static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/examples/snapshots");

/// Names of the bundles compiled in.
pub fn builtin_names() -> Vec<String> {
    BUILTIN
        .dirs()
        .filter(|d| d.get_file(d.path().join("manifest.yaml")).is_some())
        .map(|d| d.path().display().to_string())
        .collect()
}

/// Where a bundle's files come from.
#[derive(Debug, Clone)]
enum Files {
    Dir(PathBuf),
    Builtin(String),
}

impl Files {
    fn read(&self, rel: &str) -> Option<String> {
        match self {
            Files::Dir(root) => std::fs::read_to_string(root.join(rel)).ok(),
            Files::Builtin(name) => BUILTIN
                .get_file(format!("{name}/{rel}"))
                .and_then(|f| f.contents_utf8())
                .map(str::to_string),
        }
    }

    /// File names (not paths) directly inside `rel`.
    fn list(&self, rel: &str) -> Vec<String> {
        let mut names: Vec<String> = match self {
            Files::Dir(root) => std::fs::read_dir(root.join(rel))
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default(),
            Files::Builtin(name) => BUILTIN
                .get_dir(format!("{name}/{rel}"))
                .map(|d| {
                    d.entries()
                        .iter()
                        .filter_map(|e| {
                            e.path()
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        names.sort();
        names
    }
}

/// `manifest.yaml`.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub cluster: String,
    #[serde(default)]
    pub context: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    pub captured_at: DateTime<Utc>,
    pub window: ManifestWindow,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ManifestWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Everything but container logs, parsed.
#[derive(Debug, Default)]
struct Loaded {
    manifest: Option<Manifest>,
    /// Shared, so a list hands out references rather than a copy of every object per call.
    objects: Vec<Arc<Value>>,
    events: Vec<Arc<Value>>,
    kinds: Vec<KindInfo>,
    series: Vec<Series>,
    cloudwatch_series: Vec<Series>,
    cw_logs: BTreeMap<String, Vec<LogEvent>>,
    cost: Vec<CostRow>,
    eks: Value,
}

/// A snapshot bundle; cheap to create, parsed on first use.
pub struct Bundle {
    files: Files,
    loaded: OnceLock<Result<Loaded, String>>,
}

impl Bundle {
    pub fn from_dir(dir: PathBuf) -> Self {
        Bundle {
            files: Files::Dir(dir),
            loaded: OnceLock::new(),
        }
    }

    pub fn builtin(name: &str) -> Self {
        Bundle {
            files: Files::Builtin(name.to_string()),
            loaded: OnceLock::new(),
        }
    }

    fn load(&self) -> ToolResult<&Loaded> {
        self.loaded
            .get_or_init(|| load(&self.files))
            .as_ref()
            .map_err(|e| ToolError::backend("reading the snapshot bundle", e))
    }

    /// A bundle file's text by relative path (`eks/addons.yaml`), for sources that parse their own
    /// files on demand.
    pub fn read_file(&self, rel: &str) -> Option<String> {
        self.files.read(rel)
    }

    /// File names directly inside a bundle folder, sorted.
    pub fn list_files(&self, rel: &str) -> Vec<String> {
        self.files.list(rel)
    }

    pub fn manifest(&self) -> ToolResult<&Manifest> {
        self.load()?
            .manifest
            .as_ref()
            .ok_or_else(|| ToolError::backend("snapshot", "manifest.yaml missing"))
    }

    /// The bundle's cluster when `wanted` names it (or nothing); else an error naming it.
    pub async fn cluster(
        self: &Arc<Self>,
        wanted: Option<&str>,
    ) -> ToolResult<Arc<dyn ClusterSource>> {
        let manifest = self.manifest()?;
        match wanted {
            None => Ok(self.clone()),
            Some(w) if w == manifest.cluster || Some(w) == manifest.context.as_deref() => {
                Ok(self.clone())
            }
            Some(w) => Err(ToolError::not_found(
                "cluster",
                w,
                vec![manifest.cluster.clone()],
            )),
        }
    }
}

fn load(files: &Files) -> Result<Loaded, String> {
    let manifest_text = files.read("manifest.yaml").ok_or_else(|| match files {
        Files::Builtin(name) => format!(
            "no built-in snapshot `{name}`; built in: {}",
            builtin_names().join(", ")
        ),
        Files::Dir(dir) => format!("{}/manifest.yaml is missing", dir.display()),
    })?;
    let manifest: Manifest =
        serde_yaml::from_str(&manifest_text).map_err(|e| format!("manifest.yaml: {e}"))?;
    let mut loaded = Loaded {
        manifest: Some(manifest),
        ..Default::default()
    };
    for ns in files.list("objects") {
        for file in files.list(&format!("objects/{ns}")) {
            let path = format!("objects/{ns}/{file}");
            loaded
                .objects
                .extend(read_yaml_stream(files, &path)?.into_iter().map(Arc::new));
        }
    }
    for file in files.list("events") {
        loaded.events.extend(
            read_yaml_stream(files, &format!("events/{file}"))?
                .into_iter()
                .map(Arc::new),
        );
    }
    loaded.kinds = kinds_of(&loaded.objects);
    for family in ["workload", "service"] {
        loaded
            .series
            .extend(read_series(files, &format!("metrics/{family}.jsonl"))?);
    }
    loaded.cloudwatch_series = read_series(files, "metrics/cloudwatch.jsonl")?;
    for file in files.list("cloudwatch-logs") {
        let Some(stem) = file.strip_suffix(".log") else {
            continue;
        };
        let group = stem.replace("__", "/");
        let text = files
            .read(&format!("cloudwatch-logs/{file}"))
            .unwrap_or_default();
        loaded.cw_logs.insert(group, parse_cw_log_lines(&text));
    }
    if let Some(text) = files.read("cost/cost_and_usage.json") {
        loaded.cost =
            parse_cost_results(&text).map_err(|e| format!("cost/cost_and_usage.json: {e}"))?;
    }
    if let Some(text) = files.read("eks/cluster.yaml") {
        loaded.eks = serde_yaml::from_str(&text).map_err(|e| format!("eks/cluster.yaml: {e}"))?;
    }
    Ok(loaded)
}

fn read_yaml_stream(files: &Files, path: &str) -> Result<Vec<Value>, String> {
    let text = files.read(path).unwrap_or_default();
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let value: Value = Value::deserialize(doc).map_err(|e| format!("{path}: {e}"))?;
        match value {
            Value::Null => {}
            // A `List` document holds its objects in `items`.
            Value::Object(ref m)
                if m.get("kind")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k.ends_with("List")) =>
            {
                out.extend(
                    m.get("items")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            v => out.push(v),
        }
    }
    Ok(out)
}

fn read_series(files: &Files, path: &str) -> Result<Vec<Series>, String> {
    let Some(text) = files.read(path) else {
        return Ok(Vec::new());
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let mut s: Series =
                serde_json::from_str(line).map_err(|e| format!("{path} line {}: {e}", i + 1))?;
            s.normalize();
            Ok(s)
        })
        .collect()
}

fn parse_cw_log_lines(text: &str) -> Vec<LogEvent> {
    text.lines()
        .filter_map(|line| {
            let (ts, rest) = line.split_once(' ')?;
            let (stream, message) = rest.split_once(' ').unwrap_or((rest, ""));
            Some(LogEvent {
                timestamp: DateTime::parse_from_rfc3339(ts).ok()?.with_timezone(&Utc),
                stream: stream.to_string(),
                message: message.to_string(),
            })
        })
        .collect()
}

/// Parses a GetCostAndUsage response body into rows.
pub fn parse_cost_results(text: &str) -> Result<Vec<CostRow>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for period in v
        .get("ResultsByTime")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let start = period
            .pointer("/TimePeriod/Start")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let end = period
            .pointer("/TimePeriod/End")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let estimated = period
            .get("Estimated")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut push = |keys: Vec<String>, metrics: &Value| {
            if let Some((_, m)) = metrics.as_object().and_then(|o| o.iter().next()) {
                rows.push(CostRow {
                    start: start.to_string(),
                    end: end.to_string(),
                    keys,
                    amount: m
                        .get("Amount")
                        .and_then(Value::as_str)
                        .and_then(|a| a.parse().ok())
                        .unwrap_or(0.0),
                    unit: m
                        .get("Unit")
                        .and_then(Value::as_str)
                        .unwrap_or("USD")
                        .to_string(),
                    estimated,
                });
            }
        };
        let groups = period
            .get("Groups")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if groups.is_empty() {
            push(Vec::new(), period.get("Total").unwrap_or(&Value::Null));
        }
        for g in &groups {
            let keys = g
                .get("Keys")
                .and_then(Value::as_array)
                .map(|k| {
                    k.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            push(keys, g.get("Metrics").unwrap_or(&Value::Null));
        }
    }
    Ok(rows)
}

/// Built-in kinds plus any other kind that appears among the objects (custom resources).
fn kinds_of(objects: &[Arc<Value>]) -> Vec<KindInfo> {
    let mut kinds = kinds::builtin();
    let mut seen: BTreeSet<(String, String)> = kinds
        .iter()
        .map(|k| (k.group.clone(), k.kind.clone()))
        .collect();
    for o in objects {
        let (Some(api_version), Some(kind)) = (
            o.get("apiVersion").and_then(Value::as_str),
            o.get("kind").and_then(Value::as_str),
        ) else {
            continue;
        };
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        if seen.insert((group.to_string(), kind.to_string())) {
            kinds.push(KindInfo {
                group: group.to_string(),
                version: version.to_string(),
                kind: kind.to_string(),
                plural: format!("{}s", kind.to_ascii_lowercase()),
                namespaced: o.pointer("/metadata/namespace").is_some(),
                short_names: Vec::new(),
            });
        }
    }
    kinds
}

fn object_key(o: &Value) -> (String, String) {
    let (namespace, name) = borrowed_key(o);
    (namespace.to_string(), name.to_string())
}

/// (namespace, name) without copying: lists filter and sort every object of a kind per call.
fn borrowed_key(o: &Value) -> (&str, &str) {
    let metadata = o.get("metadata");
    let s = |field: &str| {
        metadata
            .and_then(|m| m.get(field))
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    (s("namespace"), s("name"))
}

fn is_kind(o: &Value, kind: &KindInfo) -> bool {
    let api_version = o
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
    o.get("kind").and_then(Value::as_str) == Some(kind.kind.as_str()) && group == kind.group
}

impl Bundle {
    /// One page of the objects a list request matches, borrowed from the loaded bundle.
    fn page(&self, req: &ListRequest) -> ToolResult<ObjectPage<&Arc<Value>>> {
        let loaded = self.load()?;
        // No selector matches everything; skipping it spares a copy of every object's labels.
        let labels = req
            .label_selector
            .as_deref()
            .map(LabelSelector::parse)
            .transpose()?;
        let fields = FieldSelector::parse(req.field_selector.as_deref().unwrap_or(""))?;
        let source = if req.kind.kind == "Event" && req.kind.group.is_empty() {
            &loaded.events
        } else {
            &loaded.objects
        };
        let mut items: Vec<&Arc<Value>> = source
            .iter()
            .filter(|o| {
                req.kind.kind == "Event" && req.kind.group.is_empty() || is_kind(o, &req.kind)
            })
            .filter(|o| {
                req.namespace
                    .as_deref()
                    .is_none_or(|ns| borrowed_key(o).0 == ns)
            })
            .filter(|o| labels.as_ref().is_none_or(|l| l.matches_object(o)) && fields.matches(o))
            .collect();
        items.sort_by(|a, b| borrowed_key(a).cmp(&borrowed_key(b)));
        let offset = match &req.continue_token {
            None => 0,
            Some(t) => t
                .strip_prefix("offset:")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n <= items.len())
                .ok_or_else(|| {
                    ToolError::invalid(
                        "continue",
                        "token is not one this server issued; list again without it",
                    )
                })?,
        };
        let limit = req.limit.map(|l| l as usize).unwrap_or(usize::MAX);
        let end = offset.saturating_add(limit).min(items.len());
        Ok(ObjectPage {
            items: items[offset..end].to_vec(),
            continue_token: (end < items.len()).then(|| format!("offset:{end}")),
            remaining: Some((items.len() - end) as u64),
        })
    }
}

#[async_trait]
impl ClusterSource for Bundle {
    fn name(&self) -> &str {
        self.manifest()
            .map(|m| m.cluster.as_str())
            .unwrap_or("snapshot")
    }

    fn now(&self) -> DateTime<Utc> {
        self.manifest().map(|m| m.captured_at).unwrap_or_default()
    }

    async fn kinds(&self) -> ToolResult<Vec<KindInfo>> {
        Ok(self.load()?.kinds.clone())
    }

    async fn resolve_kind(&self, kind: &str) -> ToolResult<KindInfo> {
        // The default copies every kind first; every tool call resolves one.
        kinds::resolve(&self.load()?.kinds, kind)
    }

    async fn list(&self, req: &ListRequest) -> ToolResult<ObjectPage> {
        let page = self.page(req)?;
        Ok(ObjectPage {
            items: page.items.into_iter().map(|o| o.as_ref().clone()).collect(),
            continue_token: page.continue_token,
            remaining: page.remaining,
        })
    }

    async fn list_shared(&self, req: &ListRequest) -> ToolResult<ObjectPage<Arc<Value>>> {
        let page = self.page(req)?;
        Ok(ObjectPage {
            items: page.items.into_iter().cloned().collect(),
            continue_token: page.continue_token,
            remaining: page.remaining,
        })
    }

    async fn get(&self, kind: &KindInfo, namespace: Option<&str>, name: &str) -> ToolResult<Value> {
        let loaded = self.load()?;
        let source = if kind.kind == "Event" && kind.group.is_empty() {
            &loaded.events
        } else {
            &loaded.objects
        };
        let same_kind = source
            .iter()
            .filter(|o| kind.kind == "Event" || is_kind(o, kind));
        let mut names = Vec::new();
        for o in same_kind {
            let (ns, n) = object_key(o);
            if n == name && (!kind.namespaced || namespace.is_none_or(|w| w == ns)) {
                return Ok(o.as_ref().clone());
            }
            if namespace.is_none_or(|w| w == ns) {
                names.push(n);
            }
        }
        let what = match namespace {
            Some(ns) if kind.namespaced => format!("{} in namespace {ns}", kind.kind),
            _ => kind.kind.clone(),
        };
        Err(ToolError::not_found(what, name, names))
    }

    async fn events(&self, namespace: Option<&str>) -> ToolResult<Vec<Value>> {
        Ok(self
            .load()?
            .events
            .iter()
            .filter(|e| namespace.is_none_or(|ns| borrowed_key(e).0 == ns))
            .map(|e| e.as_ref().clone())
            .collect())
    }

    async fn pod_logs(&self, req: &LogRequest) -> ToolResult<Vec<LogLine>> {
        let suffix = if req.previous {
            ".previous.log"
        } else {
            ".log"
        };
        let path = format!(
            "logs/{}/{}/{}{}",
            req.namespace, req.pod, req.container, suffix
        );
        let Some(text) = self.files.read(&path) else {
            let pod_dir = format!("logs/{}/{}", req.namespace, req.pod);
            let available: Vec<String> = self
                .files
                .list(&pod_dir)
                .into_iter()
                .filter(|f| f.ends_with(suffix) && (req.previous || !f.ends_with(".previous.log")))
                .map(|f| f.trim_end_matches(suffix).to_string())
                .collect();
            let what = if req.previous {
                "previous log of container"
            } else {
                "log of container"
            };
            return Err(ToolError::not_found(
                format!("{what} in pod {}/{}", req.namespace, req.pod),
                &req.container,
                available,
            ));
        };
        Ok(select_log_lines(&text, req))
    }
}

/// Applies since, tail and byte limits to a timestamped log text, as the kubelet does.
pub fn select_log_lines(text: &str, req: &LogRequest) -> Vec<LogLine> {
    let mut lines: Vec<LogLine> = text
        .lines()
        .map(|line| match line.split_once(' ') {
            Some((ts, rest)) => match DateTime::parse_from_rfc3339(ts) {
                Ok(t) => LogLine {
                    at: Some(t.with_timezone(&Utc)),
                    text: rest.to_string(),
                },
                Err(_) => LogLine {
                    at: None,
                    text: line.to_string(),
                },
            },
            None => LogLine {
                at: None,
                text: line.to_string(),
            },
        })
        .filter(|l| match (req.since, l.at) {
            (Some(since), Some(at)) => at >= since,
            _ => true,
        })
        .collect();
    if let Some(tail) = req.tail_lines {
        let skip = lines.len().saturating_sub(tail as usize);
        lines.drain(..skip);
    }
    if let Some(limit) = req.limit_bytes {
        let mut used = 0u64;
        lines.retain(|l| {
            used += l.text.len() as u64 + 1;
            used <= limit
        });
    }
    lines
}

fn clip(series: &Series, window: Window) -> Series {
    let (s, e) = (window.start_ms(), window.end_ms());
    let mut out = Series {
        name: series.name.clone(),
        labels: series.labels.clone(),
        unit: series.unit.clone(),
        ..Default::default()
    };
    for (t, v) in series.timestamps.iter().zip(&series.values) {
        if *t >= s && *t < e {
            out.timestamps.push(*t);
            out.values.push(*v);
        }
    }
    out
}

/// Aggregates samples into `period`-second buckets with a CloudWatch statistic.
pub fn aggregate(series: &Series, period_secs: i64, stat: &str) -> Series {
    let period_ms = period_secs.max(1) * 1000;
    let mut buckets: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for (t, v) in series.present() {
        buckets
            .entry(t.div_euclid(period_ms) * period_ms)
            .or_default()
            .push(v);
    }
    let mut out = Series {
        name: series.name.clone(),
        labels: series.labels.clone(),
        unit: series.unit.clone(),
        ..Default::default()
    };
    for (t, mut vs) in buckets {
        let value = match stat {
            "Sum" => vs.iter().sum(),
            "Maximum" => vs.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
            "Minimum" => vs.iter().cloned().fold(f64::INFINITY, f64::min),
            "SampleCount" => vs.len() as f64,
            p if p.starts_with('p') => {
                let q = p[1..].parse::<f64>().unwrap_or(50.0) / 100.0;
                eks_ops_engine::series::quantile(&mut vs, q).unwrap_or(f64::NAN)
            }
            _ => vs.iter().sum::<f64>() / vs.len() as f64,
        };
        out.timestamps.push(t);
        out.values.push(value);
    }
    out
}

#[async_trait]
impl MetricsSource for Bundle {
    fn describe(&self) -> String {
        format!("snapshot {}", self.name())
    }

    async fn cloudwatch(&self, queries: &[MetricQuery], window: Window) -> ToolResult<Vec<Series>> {
        let loaded = self.load()?;
        let mut out = Vec::new();
        for q in queries {
            for s in &loaded.cloudwatch_series {
                let dims: BTreeMap<&str, &str> = s
                    .labels
                    .iter()
                    .filter(|(k, _)| *k != "Namespace")
                    // Container Insights has a dimension named `Namespace` (the Kubernetes one); the
                    // bundle keeps it apart from the metric namespace as `Dimension.Namespace`.
                    .map(|(k, v)| (k.strip_prefix("Dimension.").unwrap_or(k), v.as_str()))
                    .collect();
                let wanted: BTreeMap<&str, &str> = q
                    .dimensions
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                if s.name == q.metric_name
                    && s.labels.get("Namespace") == Some(&q.namespace)
                    && dims == wanted
                {
                    out.push(aggregate(&clip(s, window), q.period_secs as i64, &q.stat));
                }
            }
        }
        Ok(out)
    }

    async fn promql(&self, query: &PromQuery) -> ToolResult<Vec<Series>> {
        let selector = parse_selector(&query.query).ok_or_else(|| {
            ToolError::invalid("query", "a snapshot answers only series selectors such as memory_working_set_bytes{namespace=\"shop\",pod=~\"checkout-.*\"}; functions need a live Prometheus")
        })?;
        let loaded = self.load()?;
        Ok(loaded
            .series
            .iter()
            .filter(|s| selector.matches(s))
            .map(|s| clip(s, query.window))
            .filter(|s| !s.is_empty())
            .collect())
    }

    async fn workload_signals(
        &self,
        labels: &[(String, String)],
        signals: &[String],
        window: Window,
    ) -> ToolResult<Vec<Series>> {
        let loaded = self.load()?;
        Ok(loaded
            .series
            .iter()
            .filter(|s| signals.is_empty() || signals.contains(&s.name))
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
            .map(|s| clip(s, window))
            .collect())
    }
}

/// A PromQL instant-vector selector: a name and label matchers (=, !=, =~, !~).
struct Selector {
    name: Option<String>,
    matchers: Vec<(String, String, regex::Regex)>,
}

impl Selector {
    fn matches(&self, s: &Series) -> bool {
        self.name.as_ref().is_none_or(|n| *n == s.name)
            && self.matchers.iter().all(|(label, op, re)| {
                let value = if label == "__name__" {
                    s.name.as_str()
                } else {
                    s.labels.get(label).map(String::as_str).unwrap_or("")
                };
                let hit = re.is_match(value);
                if op.starts_with('!') { !hit } else { hit }
            })
    }
}

fn parse_selector(query: &str) -> Option<Selector> {
    let q = query.trim();
    let (name, body) = match q.find('{') {
        Some(i) => (q[..i].trim(), q[i + 1..].strip_suffix('}')?),
        None => (q, ""),
    };
    let valid_name = |n: &str| {
        n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    if !valid_name(name) || (name.is_empty() && body.trim().is_empty()) {
        return None;
    }
    let matcher = regex::Regex::new(
        r#"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)"#,
    )
    .ok()?;
    let mut rest = body;
    let mut matchers = Vec::new();
    while !rest.trim().is_empty() {
        let caps = matcher.captures(rest)?;
        let value = caps[3].replace("\\\"", "\"").replace("\\\\", "\\");
        let pattern = if caps[2].contains('~') {
            format!("^(?:{value})$")
        } else {
            format!("^{}$", regex::escape(&value))
        };
        matchers.push((
            caps[1].to_string(),
            caps[2].to_string(),
            regex::Regex::new(&pattern).ok()?,
        ));
        rest = &rest[caps.get(0)?.end()..];
    }
    Some(Selector {
        name: (!name.is_empty()).then(|| name.to_string()),
        matchers,
    })
}

#[async_trait]
impl LogsSource for Bundle {
    async fn log_groups(&self, prefix: Option<&str>) -> ToolResult<Vec<String>> {
        Ok(self
            .load()?
            .cw_logs
            .keys()
            .filter(|g| prefix.is_none_or(|p| g.starts_with(p)))
            .cloned()
            .collect())
    }

    async fn filter(
        &self,
        groups: &[String],
        pattern: Option<&str>,
        window: Window,
        limit: usize,
        next: Option<String>,
    ) -> ToolResult<(Vec<LogEvent>, Option<String>)> {
        let loaded = self.load()?;
        let mut events = Vec::new();
        for g in groups {
            let Some(evs) = loaded.cw_logs.get(g) else {
                return Err(ToolError::not_found(
                    "log group",
                    g,
                    loaded.cw_logs.keys().cloned().collect(),
                ));
            };
            let terms: Vec<&str> = pattern
                .map(|p| p.split_whitespace().map(|t| t.trim_matches('"')).collect())
                .unwrap_or_default();
            events.extend(
                evs.iter()
                    .filter(|e| {
                        window.contains(e.timestamp) && terms.iter().all(|t| e.message.contains(t))
                    })
                    .cloned(),
            );
        }
        events.sort_by_key(|e| e.timestamp);
        let offset = next
            .and_then(|n| n.strip_prefix("offset:").and_then(|o| o.parse().ok()))
            .unwrap_or(0usize)
            .min(events.len());
        let end = offset.saturating_add(limit).min(events.len());
        let token = (end < events.len()).then(|| format!("offset:{end}"));
        Ok((events[offset..end].to_vec(), token))
    }
}

#[async_trait]
impl CostSource for Bundle {
    async fn cost_and_usage(&self, req: &CostRequest) -> ToolResult<Vec<CostRow>> {
        if req
            .group_by
            .iter()
            .any(|(t, k)| !(t == "DIMENSION" && k == "SERVICE"))
            || req.group_by.len() > 1
        {
            return Err(ToolError::invalid(
                "group_by",
                "a snapshot holds cost grouped by SERVICE only; group by SERVICE or use a live account",
            ));
        }
        let rows = self
            .load()?
            .cost
            .iter()
            .filter(|r| r.start >= req.start && r.end <= req.end);
        if req.group_by.is_empty() {
            // Collapse the stored per-service rows into one total per period.
            let mut totals: BTreeMap<(String, String), CostRow> = BTreeMap::new();
            for r in rows {
                let e = totals
                    .entry((r.start.clone(), r.end.clone()))
                    .or_insert_with(|| CostRow {
                        keys: Vec::new(),
                        amount: 0.0,
                        ..r.clone()
                    });
                e.amount += r.amount;
            }
            return Ok(totals.into_values().collect());
        }
        Ok(rows.cloned().collect())
    }
}

#[async_trait]
impl EksSource for Bundle {
    async fn list_clusters(&self) -> ToolResult<Vec<String>> {
        Ok(vec![self.manifest()?.cluster.clone()])
    }

    async fn describe_cluster(&self, name: &str) -> ToolResult<Value> {
        let loaded = self.load()?;
        let cluster = self.manifest()?.cluster.clone();
        if name != cluster {
            return Err(ToolError::not_found("EKS cluster", name, vec![cluster]));
        }
        Ok(loaded
            .eks
            .get("cluster")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({"name": cluster})))
    }

    async fn nodegroups(&self, cluster: &str) -> ToolResult<Vec<Value>> {
        self.describe_cluster(cluster).await?;
        Ok(self
            .load()?
            .eks
            .get("nodegroups")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_parsing() {
        let s = parse_selector(
            r#"memory_working_set_bytes{namespace="shop",pod=~"checkout-.*",container!="istio"}"#,
        )
        .unwrap();
        let series = Series::new("memory_working_set_bytes", vec![1], vec![1.0])
            .with_label("namespace", "shop")
            .with_label("pod", "checkout-abc")
            .with_label("container", "app");
        assert!(s.matches(&series));
        assert!(parse_selector("rate(x[5m])").is_none());
        assert!(parse_selector("{}").is_none());
    }

    #[test]
    fn aggregate_statistics() {
        let s = Series::new(
            "x",
            vec![0, 30_000, 60_000, 90_000],
            vec![1.0, 3.0, 5.0, 7.0],
        );
        assert_eq!(aggregate(&s, 60, "Average").values, vec![2.0, 6.0]);
        assert_eq!(aggregate(&s, 60, "Maximum").values, vec![3.0, 7.0]);
        assert_eq!(aggregate(&s, 60, "Sum").values, vec![4.0, 12.0]);
        assert_eq!(aggregate(&s, 120, "SampleCount").values, vec![4.0]);
    }

    #[test]
    fn log_selection() {
        let text = "2026-11-20T14:00:00Z a\n2026-11-20T14:01:00Z bb\n2026-11-20T14:02:00Z ccc\n";
        let req = LogRequest {
            since: Some("2026-11-20T14:00:30Z".parse().unwrap()),
            ..Default::default()
        };
        assert_eq!(select_log_lines(text, &req).len(), 2);
        let req = LogRequest {
            tail_lines: Some(1),
            ..Default::default()
        };
        assert_eq!(select_log_lines(text, &req)[0].text, "ccc");
        let req = LogRequest {
            limit_bytes: Some(5),
            ..Default::default()
        };
        assert_eq!(select_log_lines(text, &req).len(), 2);
    }

    #[test]
    fn cost_parsing() {
        let rows = parse_cost_results(r#"{"ResultsByTime":[{"TimePeriod":{"Start":"2026-11-01","End":"2026-11-02"},"Groups":[{"Keys":["EC2"],"Metrics":{"UnblendedCost":{"Amount":"12.5","Unit":"USD"}}}]}]}"#).unwrap();
        assert_eq!(rows[0].amount, 12.5);
        assert_eq!(rows[0].keys, vec!["EC2"]);
    }
}
