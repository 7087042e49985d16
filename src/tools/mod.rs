//! The tool registry: every tool's name, description, schemas, annotations and handler, in one
//! catalog that the server lists, the CLI calls and `tools/` snapshots.
//!
//! A tool is a typed parameter struct (its doc comments are the schema the model reads), a
//! typed output struct, and an async function from the first to the second. The registry adds
//! what all tools share: argument parsing with errors that name the field, the `response_bytes`
//! budget, redaction, the per-call timeout and cancellation.

pub mod alarms;
pub mod cost;
pub mod cost_rightsizing;
pub mod cost_trend;
pub mod cost_workload;
pub mod diagnose;
pub mod eks;
pub mod incident;
pub mod insight;
pub mod k8s;
pub mod logs;
pub mod metrics;
pub mod nodes;
pub mod params;
pub mod progress;
pub mod rollout;
pub mod workload;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::error::{ToolError, ToolResult, from_argument_error};
use crate::output::{self, Budget, Redactor, ToolOutput};
use crate::sources::Sources;

/// What every tool call can reach.
pub struct Context {
    pub settings: Arc<Settings>,
    pub sources: Sources,
    pub redactor: Redactor,
}

impl Context {
    pub fn new(settings: Arc<Settings>) -> Arc<Context> {
        Arc::new(Context {
            redactor: Redactor::new(settings.allow_sensitive_data),
            sources: Sources::new(settings.clone()),
            settings,
        })
    }
}

/// A typed answer: the structured data and the summary the model reads first.
pub struct Reply<O> {
    pub summary: String,
    pub data: O,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Handler =
    Box<dyn Fn(Arc<Context>, Value, Budget) -> BoxFuture<ToolResult<ToolOutput>> + Send + Sync>;

/// The four MCP tool annotations, all set explicitly.
#[derive(Debug, Clone, Copy)]
pub struct Hints {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    /// Talks to systems outside the server (clusters, AWS); false for snapshot-only tools.
    pub open_world: bool,
}

/// A read-only tool that queries a cluster or AWS.
pub const READ: Hints = Hints {
    read_only: true,
    destructive: false,
    idempotent: true,
    open_world: true,
};

/// One tool in the catalog.
pub struct ToolDef {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub hints: Hints,
    input_schema: Arc<JsonObject>,
    output_schema: Arc<JsonObject>,
    handler: Handler,
}

impl ToolDef {
    /// Builds a tool from a typed handler.
    pub fn new<P, O, F, Fut>(
        name: &'static str,
        title: &'static str,
        description: &'static str,
        hints: Hints,
        run: F,
    ) -> ToolDef
    where
        P: DeserializeOwned + JsonSchema + Send + 'static,
        O: Serialize + JsonSchema + Send + 'static,
        F: Fn(Arc<Context>, P, Budget) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ToolResult<Reply<O>>> + Send + 'static,
    {
        let run = Arc::new(run);
        let handler: Handler = Box::new(move |ctx, args, budget| {
            let run = run.clone();
            Box::pin(async move {
                let params: P =
                    serde_path_to_error::deserialize(args).map_err(from_argument_error)?;
                let reply = run(ctx, params, budget).await?;
                Ok(ToolOutput::new(reply.summary, &reply.data))
            })
        });
        let mut input = params::schema_object::<P>();
        params::add_budget_property(&mut input);
        ToolDef {
            name,
            title,
            description,
            hints,
            input_schema: Arc::new(input),
            output_schema: Arc::new(params::output_schema_object::<O>()),
            handler,
        }
    }

    /// The MCP view of this tool, as tools/list serves it.
    pub fn to_mcp(&self) -> Tool {
        let annotations = ToolAnnotations::new()
            .read_only(self.hints.read_only)
            .destructive(self.hints.destructive)
            .idempotent(self.hints.idempotent)
            .open_world(self.hints.open_world);
        Tool::new(self.name, self.description, self.input_schema.clone())
            .with_title(self.title)
            .with_raw_output_schema(self.output_schema.clone())
            .with_annotations(annotations)
    }
}

/// All tools, in catalog order.
pub struct Registry {
    tools: Vec<ToolDef>,
}

impl Registry {
    pub fn new() -> Registry {
        let mut tools = Vec::new();
        tools.extend(k8s::tools());
        tools.extend(eks::tools());
        tools.extend(rollout::tools());
        tools.extend(nodes::tools());
        tools.extend(metrics::tools());
        tools.extend(workload::tools());
        tools.extend(alarms::tools());
        tools.extend(logs::tools());
        tools.extend(cost::tools());
        tools.extend(incident::tools());
        tools.extend(diagnose::tools());
        tools.extend(insight::tools());
        Registry { tools }
    }

    /// Tools served under these settings: writing tools only with `--allow-write`.
    pub fn visible<'a>(&'a self, settings: &'a Settings) -> impl Iterator<Item = &'a ToolDef> + 'a {
        self.tools
            .iter()
            .filter(move |t| t.hints.read_only || settings.allow_write)
    }

    pub fn get(&self, name: &str) -> Option<&ToolDef> {
        self.tools.iter().find(|t| t.name == name)
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.tools.iter().map(|t| t.name).collect()
    }

    /// Runs a tool: budget, parsing, timeout, cancellation, redaction. Tool failures come back as
    /// results with `isError: true`; only an unknown tool is an `Err`.
    pub async fn call(
        &self,
        ctx: Arc<Context>,
        name: &str,
        args: Option<JsonObject>,
        cancel: CancellationToken,
    ) -> Result<CallToolResult, UnknownTool> {
        let tool = self
            .get(name)
            .filter(|t| t.hints.read_only || ctx.settings.allow_write)
            .ok_or_else(|| UnknownTool {
                name: name.to_string(),
                available: self.visible(&ctx.settings).map(|t| t.name).collect(),
            })?;
        let mut args = args.unwrap_or_default();
        let budget = match args
            .remove("response_bytes")
            .map(params::budget_arg)
            .transpose()
        {
            Ok(b) => b.unwrap_or_default(),
            Err(e) => return Ok(error_result(&e, &ctx.redactor)),
        };
        let timeout = Duration::from_secs(ctx.settings.call_timeout_secs);
        let redactor = ctx.redactor;
        let run = (tool.handler)(ctx, Value::Object(args), budget);
        let outcome = tokio::select! {
            r = tokio::time::timeout(timeout, run) => r.unwrap_or_else(|_| Err(ToolError::Timeout { what: format!("tool {name}"), after: timeout })),
            _ = cancel.cancelled() => Err(ToolError::backend(format!("tool {name}"), "cancelled by the client")),
        };
        Ok(match outcome {
            Ok(output) => output::finish(output, &budget, &redactor),
            Err(e) => error_result(&e, &redactor),
        })
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

/// A call named a tool that is not served.
#[derive(Debug)]
pub struct UnknownTool {
    pub name: String,
    pub available: Vec<&'static str>,
}

impl std::fmt::Display for UnknownTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown tool `{}`; available: {}",
            self.name,
            self.available.join(", ")
        )
    }
}

fn error_result(err: &ToolError, redactor: &Redactor) -> CallToolResult {
    let text = format!("error ({}): {err}", err.code());
    CallToolResult::error(vec![ContentBlock::text(
        redactor.redact_text(&text).into_owned(),
    )])
}

/// The whole catalog as JSON, one entry per tool, as `tools/` stores it.
pub fn catalog_json(registry: &Registry, settings: &Settings) -> Vec<Value> {
    registry
        .visible(settings)
        .map(|t| serde_json::to_value(t.to_mcp()).unwrap_or(Value::Null))
        .collect()
}
