//! X-Ray `GetServiceGraph` stand-in. moto implements the operation as a placeholder that always
//! answers an empty `Services` list, so the gateway answers it from a seeded graph instead: the
//! seed is a real GetServiceGraph response body, returned with the caller's window echoed.

use serde_json::{Value, json};

use super::errors::AwsError;

/// Answers GetServiceGraph from `seed` (`{"Services": [...]}`); the window is required, as AWS
/// requires it.
pub fn service_graph(seed: Option<&Value>, input: &Value) -> Result<Value, AwsError> {
    let start = input.get("StartTime").filter(|v| !v.is_null());
    let end = input.get("EndTime").filter(|v| !v.is_null());
    let (Some(start), Some(end)) = (start, end) else {
        return Err(AwsError::bad_request(
            "InvalidRequestException",
            "StartTime and EndTime are required",
        ));
    };
    let services = seed
        .and_then(|s| s.get("Services"))
        .cloned()
        .unwrap_or_else(|| json!([]));
    Ok(json!({
        "StartTime": start,
        "EndTime": end,
        "Services": services,
        "ContainsOldGroupVersions": false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_the_window_and_serves_the_seed() {
        let seed = json!({"Services": [{"ReferenceId": 0, "Name": "frontend", "Edges": []}]});
        let out = service_graph(Some(&seed), &json!({"StartTime": 1.0, "EndTime": 2.0})).unwrap();
        assert_eq!(out["Services"][0]["Name"], "frontend");
        assert_eq!(out["EndTime"], 2.0);
        let empty = service_graph(None, &json!({"StartTime": 1.0, "EndTime": 2.0})).unwrap();
        assert_eq!(empty["Services"], json!([]));
        assert!(service_graph(Some(&seed), &json!({"StartTime": 1.0})).is_err());
    }
}
