//! Response budgets: how many bytes of structured output one tool call may return.
//!
//! Tools take rows while they fit ([`Budget::take`]) and report what they left out in a
//! [`Truncation`], which always says how to get the rest. [`enforce`] is the safety net behind
//! them: it cuts the largest arrays of anything still too large.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::error::ToolError;

/// Budget when the caller names none: about 6k tokens.
pub const DEFAULT_BUDGET_BYTES: usize = 24_000;
/// The most a caller may raise the budget to.
pub const MAX_BUDGET_BYTES: usize = 200_000;
const MIN_BUDGET_BYTES: usize = 2_000;

/// The byte budget of one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub bytes: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            bytes: DEFAULT_BUDGET_BYTES,
        }
    }
}

/// What a list left out and how to get it.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct Truncation {
    /// Items that matched.
    pub total: usize,
    /// Items returned here.
    pub returned: usize,
    /// How to get the rest.
    pub how_to_get_more: String,
}

impl Budget {
    /// Validates the optional `response_bytes` argument.
    pub fn from_arg(arg: Option<u64>) -> Result<Budget, ToolError> {
        match arg {
            None => Ok(Budget::default()),
            Some(b) if (MIN_BUDGET_BYTES as u64..=MAX_BUDGET_BYTES as u64).contains(&b) => {
                Ok(Budget { bytes: b as usize })
            }
            Some(b) => Err(ToolError::invalid(
                "response_bytes",
                format!("{b} is out of range; use {MIN_BUDGET_BYTES}..={MAX_BUDGET_BYTES}"),
            )),
        }
    }

    /// Keeps leading items while their JSON fits in `share` of the budget (0 < share <= 1).
    /// Returns the kept items and how many were dropped.
    pub fn take<T: Serialize>(&self, items: Vec<T>, share: f64) -> (Vec<T>, usize) {
        let limit = (self.bytes as f64 * share.clamp(0.05, 1.0)) as usize;
        let mut used = 0usize;
        let total = items.len();
        let mut kept = Vec::new();
        for item in items {
            let size = json_len(&item).map(|n| n + 1).unwrap_or(0);
            if used + size > limit && !kept.is_empty() {
                break;
            }
            used += size;
            kept.push(item);
        }
        let dropped = total - kept.len();
        (kept, dropped)
    }
}

/// Cuts the largest arrays in `value` until its JSON fits in `bytes`. Returns how many array
/// items were dropped, or `None` when it already fit.
pub fn enforce(value: &mut Value, bytes: usize) -> Option<usize> {
    let mut dropped = 0usize;
    for _ in 0..64 {
        let size = json_len(value).unwrap_or(0);
        if size <= bytes {
            break;
        }
        match largest_array(value) {
            Some(array) if array.len() > 1 => {
                let keep = array.len() / 2;
                dropped += array.len() - keep;
                array.truncate(keep);
            }
            _ => {
                // Nothing left to halve: clip long strings instead of failing the call.
                clip_strings(value, bytes / 8);
                break;
            }
        }
    }
    (dropped > 0).then_some(dropped)
}

fn largest_array(value: &mut Value) -> Option<&mut Vec<Value>> {
    fn size_of(v: &Value) -> usize {
        json_len(v).unwrap_or(0)
    }
    // Find the path of the largest array first, then borrow it mutably once.
    fn find(v: &Value, path: &mut Vec<PathStep>, best: &mut (usize, Vec<PathStep>)) {
        match v {
            Value::Array(items) => {
                let s = size_of(v);
                if s > best.0 && items.len() > 1 {
                    *best = (s, path.clone());
                }
                for (i, item) in items.iter().enumerate() {
                    path.push(PathStep::Index(i));
                    find(item, path, best);
                    path.pop();
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    path.push(PathStep::Key(k.clone()));
                    find(item, path, best);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut best = (0, Vec::new());
    find(value, &mut Vec::new(), &mut best);
    if best.0 == 0 {
        return None;
    }
    let mut cur = value;
    for step in best.1 {
        cur = match step {
            PathStep::Index(i) => cur.get_mut(i)?,
            PathStep::Key(k) => cur.get_mut(k.as_str())?,
        };
    }
    cur.as_array_mut()
}

/// The length of `value`'s compact JSON, counted without building the text: every call sizes
/// its answer this way at least once, so an allocation per measurement adds up.
pub fn json_len<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<usize> {
    let mut counter = ByteCounter(0);
    serde_json::to_writer(&mut counter, value)?;
    Ok(counter.0)
}

struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Clone)]
enum PathStep {
    Index(usize),
    Key(String),
}

fn clip_strings(value: &mut Value, max: usize) {
    match value {
        Value::String(s) if s.len() > max => {
            *s = super::text::clip(s, max);
        }
        Value::Array(items) => items.iter_mut().for_each(|v| clip_strings(v, max)),
        Value::Object(map) => map.values_mut().for_each(|v| clip_strings(v, max)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn from_arg_checks_the_range() {
        assert_eq!(Budget::from_arg(None).unwrap().bytes, DEFAULT_BUDGET_BYTES);
        assert_eq!(Budget::from_arg(Some(50_000)).unwrap().bytes, 50_000);
        let err = Budget::from_arg(Some(10)).unwrap_err().to_string();
        assert!(err.contains("response_bytes"), "{err}");
        assert!(Budget::from_arg(Some(MAX_BUDGET_BYTES as u64 + 1)).is_err());
    }

    #[test]
    fn take_keeps_what_fits_and_counts_the_rest() {
        let items: Vec<String> = (0..1000).map(|i| format!("item-{i:04}")).collect();
        let (kept, dropped) = Budget { bytes: 2_000 }.take(items, 1.0);
        assert!(kept.len() < 1000 && !kept.is_empty());
        assert_eq!(kept.len() + dropped, 1000);
        assert!(serde_json::to_vec(&kept).unwrap().len() <= 2_000);
    }

    #[test]
    fn json_len_counts_the_compact_text() {
        let v = json!({"name": "é-pod", "n": [1, 2.5, null], "nested": {"a": "quote\"d"}});
        assert_eq!(json_len(&v).unwrap(), serde_json::to_vec(&v).unwrap().len());
    }

    #[test]
    fn enforce_cuts_the_largest_array() {
        let mut v = json!({"small": [1, 2], "big": (0..5000).collect::<Vec<_>>()});
        let dropped = enforce(&mut v, 4_000).unwrap();
        assert!(serde_json::to_vec(&v).unwrap().len() <= 4_000);
        assert_eq!(v["small"], json!([1, 2]));
        assert!(dropped > 4000);
        let mut fits = json!({"a": 1});
        assert_eq!(enforce(&mut fits, 100), None);
    }

    #[test]
    fn enforce_clips_a_single_huge_string() {
        let mut v = json!({"log": "x".repeat(100_000)});
        enforce(&mut v, 4_000);
        assert!(serde_json::to_vec(&v).unwrap().len() <= 4_000);
    }
}
