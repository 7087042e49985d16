//! Small accessors over `serde_json::Value` shared by the stand-ins, which all read loosely typed
//! request bodies and seeded AWS response shapes.

use serde_json::Value;

/// The string at `path` (object keys), if every step exists and the leaf is a string.
pub fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path)?.as_str()
}

/// The value at `path` (object keys), if every step exists and the leaf is not null.
pub fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let leaf = path.iter().try_fold(value, |v, key| v.get(key))?;
    (!leaf.is_null()).then_some(leaf)
}

/// The array at `path`, or an empty slice when it is absent or not an array.
pub fn list_at<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    at(value, path)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The strings in the array at `path`; non-string entries are skipped.
pub fn strings_at<'a>(value: &'a Value, path: &[&str]) -> Vec<&'a str> {
    list_at(value, path)
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// A number given either as a JSON number or as a decimal string (Cost Explorer amounts are
/// strings).
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Epoch seconds from a JSON number or an RFC 3339 string, the two ways AWS JSON protocols and
/// our seed bodies write timestamps.
pub fn epoch_seconds(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64().filter(|s| s.is_finite()),
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis() as f64 / 1000.0),
        _ => None,
    }
}

/// The first ten characters of a date or date-time string (`YYYY-MM-DD`), which compare
/// correctly as text; Cost Explorer writes both forms.
pub fn day(value: &str) -> &str {
    value.get(..10).unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_and_nulls() {
        let v = json!({"a": {"b": "x", "n": null}, "l": [1, "s"]});
        assert_eq!(str_at(&v, &["a", "b"]), Some("x"));
        assert!(at(&v, &["a", "n"]).is_none());
        assert!(at(&v, &["a", "missing", "deeper"]).is_none());
        assert_eq!(strings_at(&v, &["l"]), vec!["s"]);
        assert!(list_at(&v, &["a"]).is_empty());
    }

    #[test]
    fn numbers_and_times() {
        assert_eq!(number(&json!("12.5")), Some(12.5));
        assert_eq!(number(&json!(3)), Some(3.0));
        assert_eq!(number(&json!("abc")), None);
        assert_eq!(
            epoch_seconds(&json!("1970-01-01T00:01:00.500Z")),
            Some(60.5)
        );
        assert_eq!(epoch_seconds(&json!(12)), Some(12.0));
        assert_eq!(epoch_seconds(&json!("yesterday")), None);
        assert_eq!(day("2024-05-01T00:00:00Z"), "2024-05-01");
        assert_eq!(day("2024"), "2024");
    }
}
