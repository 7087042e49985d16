//! Tool parameters: schema generation kept small for the catalog, the shared `response_bytes`
//! budget argument, shared AWS arguments, and range checks that name the field.

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ToolError, ToolResult};
use crate::output::Budget;
use crate::output::budget::{DEFAULT_BUDGET_BYTES, MAX_BUDGET_BYTES};
use crate::sources::AwsTarget;

/// JSON Schema of `T` as a compact object: inlined, without `$schema`, titles, integer formats
/// or `null` alternatives (an optional field is simply not required). Every byte here is paid
/// for in every conversation.
pub fn schema_object<T: JsonSchema>() -> JsonObject {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    });
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut value = serde_json::to_value(schema).unwrap_or_else(|_| json!({"type": "object"}));
    compact(&mut value);
    // A flattened struct's doc comment surfaces as the root description; the tool's own
    // description already says what the call does.
    if let Some(map) = value.as_object_mut() {
        map.remove("description");
    }
    finish_object(value)
}

/// Output schema of `T` as it serializes (skipped-when-empty fields are optional): its top-level
/// fields with their types, and no prose. Clients validate against it and the model reads the
/// summary, so nested shapes and prose would be paid for in every conversation for nothing.
pub fn output_schema_object<T: JsonSchema>() -> JsonObject {
    let settings = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        });
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut value = serde_json::to_value(schema).unwrap_or_else(|_| json!({"type": "object"}));
    compact(&mut value);
    if let Some(props) = value.get_mut("properties").and_then(Value::as_object_mut) {
        for prop in props.values_mut() {
            strip_nested_prose(prop);
            limit_depth(prop, 0);
        }
    }
    if let Some(map) = value.as_object_mut() {
        map.remove("description");
    }
    finish_object(value)
}

fn strip_nested_prose(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("description");
            map.remove("minimum");
            if map.get("additionalProperties") == Some(&Value::Bool(true)) {
                map.remove("additionalProperties");
            }
            map.values_mut().for_each(strip_nested_prose);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nested_prose),
        _ => {}
    }
}

/// Collapses every schema below a top-level field to its bare type.
fn limit_depth(value: &mut Value, depth: usize) {
    let Value::Object(map) = value else { return };
    if depth >= 1 {
        if let Some(t) = map.get("type").cloned() {
            map.retain(|k, _| k == "type");
            map.insert("type".into(), t);
        }
        return;
    }
    if let Some(items) = map.get_mut("items") {
        limit_depth(items, depth + 1);
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        props.values_mut().for_each(|p| limit_depth(p, depth + 1));
    }
    if let Some(extra @ Value::Object(_)) = map.get_mut("additionalProperties") {
        limit_depth(extra, depth + 1);
    }
}

fn finish_object(mut value: Value) -> JsonObject {
    if let Some(map) = value.as_object_mut() {
        map.entry("type").or_insert_with(|| json!("object"));
        if map.get("properties").is_none() && map.get("type") == Some(&json!("object")) {
            map.insert("properties".into(), json!({}));
        }
    }
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

fn compact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // `true` (any value, e.g. serde_json::Value) is valid JSON Schema, but clients validate
            // property and item schemas as objects; `{}` means the same.
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                for prop in props.values_mut() {
                    if *prop == Value::Bool(true) {
                        *prop = json!({});
                    }
                }
            }
            if map.get("items") == Some(&Value::Bool(true)) {
                map.insert("items".into(), json!({}));
            }
            map.remove("$schema");
            map.remove("title");
            map.remove("format");
            map.remove("$defs");
            // `"type": ["string", "null"]` → `"type": "string"`.
            if let Some(Value::Array(types)) = map.get("type") {
                let non_null: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                if non_null.len() == 1 {
                    map.insert("type".into(), non_null[0].clone());
                }
            }
            // `anyOf: [X, {"type": "null"}]` → X.
            for key in ["anyOf", "oneOf"] {
                if let Some(Value::Array(options)) = map.get(key) {
                    let non_null: Vec<Value> = options
                        .iter()
                        .filter(|o| o.get("type") != Some(&json!("null")))
                        .cloned()
                        .collect();
                    if non_null.len() == 1 && options.len() == 2 {
                        map.remove(key);
                        if let Value::Object(inner) = non_null[0].clone() {
                            for (k, v) in inner {
                                map.entry(k).or_insert(v);
                            }
                        }
                    }
                }
            }
            // Enum lists that still include null add nothing for callers.
            if let Some(Value::Array(values)) = map.get_mut("enum") {
                values.retain(|v| !v.is_null());
            }
            // Unsigned fields' `minimum: 0` is implied by every description that gives a range.
            if map.get("minimum") == Some(&json!(0)) || map.get("minimum") == Some(&json!(0.0)) {
                map.remove("minimum");
            }
            // `default: null` says nothing.
            if map.get("default") == Some(&Value::Null) {
                map.remove("default");
            }
            map.values_mut().for_each(compact);
        }
        Value::Array(items) => items.iter_mut().for_each(compact),
        _ => {}
    }
}

/// Adds the shared `response_bytes` argument to an input schema.
pub fn add_budget_property(schema: &mut JsonObject) {
    let props = schema.entry("properties").or_insert_with(|| json!({}));
    if let Some(props) = props.as_object_mut() {
        props.insert(
            "response_bytes".into(),
            json!({
                "type": "integer",
                "description": format!("Reply size cap in bytes (default {DEFAULT_BUDGET_BYTES}, max {MAX_BUDGET_BYTES})."),
            }),
        );
    }
}

/// Parses the `response_bytes` value, accepting a number sent as a string.
pub fn budget_arg(value: Value) -> ToolResult<Budget> {
    let n = match &value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Null => return Ok(Budget::default()),
        _ => None,
    };
    match n {
        Some(n) => Budget::from_arg(Some(n)),
        None => Err(ToolError::invalid(
            "response_bytes",
            format!("expected a positive integer, got {value}"),
        )),
    }
}

/// AWS account, region and credentials for one call.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct AwsArgs {
    /// AWS region; default: the server's.
    pub region: Option<String>,
    /// AWS profile; default: the server's.
    pub profile: Option<String>,
    /// IAM role to assume, for another account.
    pub role_arn: Option<String>,
}

impl AwsArgs {
    pub fn target(&self) -> AwsTarget {
        AwsTarget {
            region: self.region.clone(),
            profile: self.profile.clone(),
            role_arn: self.role_arn.clone(),
        }
    }
}

/// Checks an optional number against an inclusive range, naming the field on failure.
pub fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    field: &str,
    value: Option<T>,
    min: T,
    max: T,
    default: T,
) -> ToolResult<T> {
    match value {
        None => Ok(default),
        Some(v) if v >= min && v <= max => Ok(v),
        Some(v) => Err(ToolError::invalid(
            field,
            format!("{v} is out of range; use {min}..={max}"),
        )),
    }
}

/// Rejects an empty or whitespace-only required string.
pub fn non_empty<'a>(field: &str, value: &'a str) -> ToolResult<&'a str> {
    let v = value.trim();
    if v.is_empty() {
        Err(ToolError::invalid(field, "must not be empty"))
    } else {
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Example {
        /// The kind.
        kind: String,
        /// How many.
        limit: Option<u32>,
        nested: Option<AwsArgs>,
    }

    #[test]
    fn schemas_are_compact() {
        let schema = Value::Object(schema_object::<Example>());
        let text = schema.to_string();
        assert!(
            !text.contains("$schema")
                && !text.contains("\"title\"")
                && !text.contains("uint32")
                && !text.contains("null"),
            "{text}"
        );
        assert_eq!(schema["properties"]["limit"]["type"], "integer");
        assert_eq!(schema["required"], json!(["kind"]));
        assert_eq!(
            schema["properties"]["nested"]["properties"]["region"]["type"],
            "string"
        );
    }

    #[test]
    fn budget_argument() {
        assert_eq!(budget_arg(json!(50000)).unwrap().bytes, 50000);
        assert_eq!(budget_arg(json!("50000")).unwrap().bytes, 50000);
        assert!(budget_arg(json!(-5)).is_err());
        assert!(
            budget_arg(json!(true))
                .unwrap_err()
                .to_string()
                .contains("response_bytes")
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(in_range("limit", None, 1, 500, 100).unwrap(), 100);
        assert_eq!(in_range("limit", Some(5), 1, 500, 100).unwrap(), 5);
        assert!(
            in_range("limit", Some(0), 1, 500, 100)
                .unwrap_err()
                .to_string()
                .contains("`limit`")
        );
    }
}
