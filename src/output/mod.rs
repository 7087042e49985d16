//! Everything that shapes what leaves the server: response budgets, redaction and the final
//! tool-result envelope. Tools build typed data and a summary; [`finish`] redacts both, enforces
//! the budget and produces the MCP result.

pub mod budget;
pub mod redact;
pub mod text;

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::Value;

pub use budget::{Budget, Truncation};
pub use redact::Redactor;

/// A tool's successful answer before redaction and budgeting.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// A compact, human-readable answer: what the model reads first.
    pub summary: String,
    /// The structured result, matching the tool's declared output schema.
    pub data: Value,
}

impl ToolOutput {
    pub fn new(summary: impl Into<String>, data: &impl serde::Serialize) -> Self {
        ToolOutput {
            summary: summary.into(),
            data: serde_json::to_value(data).unwrap_or(Value::Null),
        }
    }
}

/// Redacts, fits within `budget`, and wraps an output as a successful MCP tool result.
pub fn finish(output: ToolOutput, budget: &Budget, redactor: &Redactor) -> CallToolResult {
    let ToolOutput { summary, mut data } = output;
    redactor.redact_value(&mut data);
    let mut summary = redactor.redact_text(&summary).into_owned();
    if let Some(cut) = budget::enforce(&mut data, budget.bytes) {
        summary.push_str(&format!(
            "\n[output cut to fit the response budget: {cut} array items dropped; narrow the query or raise response_bytes (max {})]",
            budget::MAX_BUDGET_BYTES
        ));
    }
    let summary = text::clip(&summary, budget.bytes);
    // Not `CallToolResult::structured`: it renders the whole value as text only for us to replace it.
    let mut result = CallToolResult::success(vec![ContentBlock::text(summary)]);
    result.structured_content = Some(data);
    result
}
