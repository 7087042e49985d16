//! The one error type tools return, and how it reads to the model.
//!
//! Every failure a caller can act on becomes a [`ToolError`]; the server turns it into a tool result
//! with `isError: true` whose text names what failed and what to do next (the field to fix, the IAM
//! action or RBAC verb that is missing, the names that do exist, the timeout that ran out). Bugs in
//! the server itself are the only thing that becomes a JSON-RPC error.

use std::time::Duration;

/// A failure the model (or the operator behind it) can act on.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// An argument is missing, of the wrong type, or out of range.
    #[error("invalid argument `{field}`: {problem}")]
    InvalidArgument { field: String, problem: String },

    /// A named thing (cluster, object, log group) does not exist; `available` lists what does.
    #[error("{what} `{name}` not found{}", list_available(.available))]
    NotFound {
        what: String,
        name: String,
        available: Vec<String>,
    },

    /// The backend refused: `permission` names the IAM action or RBAC verb to grant.
    #[error("access denied: missing permission {permission}{}", detail_suffix(.detail))]
    AccessDenied { permission: String, detail: String },

    /// A backend did not answer in time.
    #[error("{what} timed out after {}s; narrow the window or query, or raise the timeout", .after.as_secs())]
    Timeout { what: String, after: Duration },

    /// A backend could not be reached or answered with an unexpected error.
    #[error("{what} failed: {detail}")]
    Backend { what: String, detail: String },

    /// The tool needs configuration that is absent, e.g. a Prometheus URL.
    #[error("{what} is not configured: {how}")]
    NotConfigured { what: String, how: String },

    /// The tool writes, and the server runs read-only.
    #[error("`{tool}` changes the cluster; the server is read-only (start it with --allow-write)")]
    WriteDisabled { tool: String },
}

/// Result alias for tool code.
pub type ToolResult<T> = Result<T, ToolError>;

impl ToolError {
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ToolError::InvalidArgument {
            field: field.into(),
            problem: problem.into(),
        }
    }

    pub fn not_found(
        what: impl Into<String>,
        name: impl Into<String>,
        available: Vec<String>,
    ) -> Self {
        ToolError::NotFound {
            what: what.into(),
            name: name.into(),
            available,
        }
    }

    pub fn backend(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        ToolError::Backend {
            what: what.into(),
            detail: detail.to_string(),
        }
    }

    /// Stable machine-readable code, carried in the error result for clients that branch on it.
    pub fn code(&self) -> &'static str {
        match self {
            ToolError::InvalidArgument { .. } => "invalid_argument",
            ToolError::NotFound { .. } => "not_found",
            ToolError::AccessDenied { .. } => "access_denied",
            ToolError::Timeout { .. } => "timeout",
            ToolError::Backend { .. } => "backend_error",
            ToolError::NotConfigured { .. } => "not_configured",
            ToolError::WriteDisabled { .. } => "write_disabled",
        }
    }
}

fn list_available(available: &[String]) -> String {
    const SHOWN: usize = 20;
    if available.is_empty() {
        return String::new();
    }
    let mut names = available[..available.len().min(SHOWN)].join(", ");
    if available.len() > SHOWN {
        names.push_str(&format!(", … ({} more)", available.len() - SHOWN));
    }
    format!("; available: {names}")
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

/// Turns a serde error on tool arguments into an error that names the field.
pub fn from_argument_error(err: serde_path_to_error::Error<serde_json::Error>) -> ToolError {
    let path = err.path().to_string();
    let inner = err.inner().to_string();
    // serde reports a missing field at the parent path, with the name only in the message.
    if let Some(name) = inner
        .strip_prefix("missing field `")
        .and_then(|s| s.split('`').next())
    {
        let field = if path == "." {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
        return ToolError::invalid(field, "is required");
    }
    if let Some(name) = inner
        .strip_prefix("unknown field `")
        .and_then(|s| s.split('`').next())
    {
        let expected = inner.split("expected").nth(1).unwrap_or("").trim();
        return ToolError::invalid(
            name,
            format!("is not a parameter of this tool; expected {expected}"),
        );
    }
    let field = if path == "." {
        "arguments".to_string()
    } else {
        path
    };
    let problem = inner
        .split(" at line ")
        .next()
        .unwrap_or(&inner)
        .to_string();
    ToolError::invalid(field, problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> ToolError {
        match serde_path_to_error::deserialize::<_, T>(v) {
            Ok(_) => panic!("expected an error"),
            Err(e) => from_argument_error(e),
        }
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Args {
        kind: String,
        limit: Option<u32>,
    }

    #[test]
    fn names_the_missing_field() {
        let err = parse::<Args>(serde_json::json!({}));
        assert_eq!(err.to_string(), "invalid argument `kind`: is required");
    }

    #[test]
    fn names_the_wrongly_typed_field() {
        let err = parse::<Args>(serde_json::json!({"kind": "Pod", "limit": "ten"}));
        let text = err.to_string();
        assert!(
            text.starts_with("invalid argument `limit`: invalid type: string \"ten\""),
            "{text}"
        );
    }

    #[test]
    fn names_an_unknown_field() {
        let err = parse::<Args>(serde_json::json!({"kind": "Pod", "limt": 3}));
        assert!(
            err.to_string()
                .starts_with("invalid argument `limt`: is not a parameter")
        );
    }

    #[test]
    fn not_found_lists_what_exists() {
        let err = ToolError::not_found("cluster", "prod", vec!["dev".into(), "stage".into()]);
        assert_eq!(
            err.to_string(),
            "cluster `prod` not found; available: dev, stage"
        );
    }
}
