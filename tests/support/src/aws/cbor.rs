//! Re-encoding between CloudWatch's Smithy RPC v2 CBOR bodies and moto's JSON 1.0 bodies.
//!
//! CBOR → JSON needs no schema: CBOR says what each item is, a timestamp (tag 1) becomes epoch
//! seconds (what JSON 1.0 uses) and a byte string becomes base64.
//!
//! JSON → CBOR does need one, because smithy-rs decodes strictly: a timestamp must be tag 1 over
//! a float, a `double` member must be a CBOR float even when JSON wrote `5`, an `integer` or
//! `long` member must be a CBOR integer, and a blob must be a byte string. [`member_kind`] holds
//! that knowledge, keyed by member name. It was derived from the response deserializers of
//! `aws-sdk-cloudwatch` 1.102.0 and 1.140.0 (`src/protocol_serde/shape_*.rs`, each
//! `decoder.timestamp()`, `double()`, `integer()`, `long()` and `blob()` call); no member name is
//! used with two different types in either version, so the name alone is enough. A member's kind
//! also applies to the items of a list (`Timestamps`, `Values`) and the values of a map
//! (`ExtendedStatistics`) it names.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ciborium::Value as Cbor;
use serde_json::{Map, Value};

/// The CBOR tag for epoch-seconds timestamps (RFC 8949 §3.4.2).
const EPOCH_TAG: u64 = 1;

/// How a JSON scalar must be written in CBOR for smithy-rs to accept it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Timestamp,
    Double,
    Integer,
    Blob,
}

/// The wire kind of a CloudWatch output member, or `None` for strings, booleans and structures.
pub fn member_kind(name: &str) -> Option<Kind> {
    use Kind::*;
    Some(match name {
        "Timestamp"
        | "Timestamps"
        | "StartTime"
        | "EndTime"
        | "StartDate"
        | "EndDate"
        | "StateUpdatedTimestamp"
        | "StateTransitionedTimestamp"
        | "LastUpdatedTimestamp"
        | "AlarmConfigurationUpdatedTimestamp"
        | "CreationDate"
        | "LastUpdateDate"
        | "LastModified"
        | "CreatedAt"
        | "UpdatedAt"
        | "ExpireDate" => Timestamp,
        "Values"
        | "ExtendedStatistics"
        | "SampleCount"
        | "Average"
        | "Sum"
        | "Minimum"
        | "Maximum"
        | "Threshold"
        | "AggregateValue"
        | "ApproximateAggregateValue"
        | "ApproximateValue"
        | "MaxContributorValue"
        | "UniqueContributors" => Double,
        "Period"
        | "EvaluationPeriods"
        | "DatapointsToAlarm"
        | "ActionsSuppressorWaitPeriod"
        | "ActionsSuppressorExtensionPeriod"
        | "ApproximateUniqueCount"
        | "Size"
        | "ActionLogLineCount"
        | "EvaluationInterval"
        | "PendingPeriod"
        | "RecoveryPeriod"
        | "QueryResultsToAlarm"
        | "QueryResultsToEvaluate"
        | "WarmUpPeriodDurationInMinutes"
        | "StartTimeOffset"
        | "EndTimeOffset" => Integer,
        "MetricWidgetImage" => Blob,
        _ => return None,
    })
}

/// Decodes a CBOR request body into JSON; an empty body is an empty input structure.
pub fn cbor_to_json(bytes: &[u8]) -> Result<Value, String> {
    if bytes.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let value: Cbor =
        ciborium::from_reader(bytes).map_err(|e| format!("invalid CBOR body: {e}"))?;
    Ok(to_json(value))
}

fn to_json(value: Cbor) -> Value {
    match value {
        Cbor::Integer(i) => integer_to_json(i128::from(i)),
        Cbor::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        Cbor::Bytes(b) => Value::String(BASE64.encode(b)),
        Cbor::Text(s) => Value::String(s),
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Null => Value::Null,
        Cbor::Tag(_, inner) => to_json(*inner),
        Cbor::Array(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Cbor::Map(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| (key_text(k), to_json(v)))
                .collect(),
        ),
        _ => Value::Null,
    }
}

fn integer_to_json(i: i128) -> Value {
    if let Ok(v) = i64::try_from(i) {
        Value::from(v)
    } else if let Ok(v) = u64::try_from(i) {
        Value::from(v)
    } else {
        Value::from(i as f64)
    }
}

fn key_text(key: Cbor) -> String {
    match key {
        Cbor::Text(s) => s,
        other => to_json(other).to_string(),
    }
}

/// Encodes a JSON 1.0 CloudWatch response body as CBOR, typing members by [`member_kind`].
pub fn json_to_cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and every `Cbor` we build is serialisable.
    if ciborium::into_writer(&to_cbor(value, None), &mut out).is_err() {
        out.clear();
    }
    out
}

/// Encodes a plain map of strings (an error body) as CBOR.
pub fn error_body(code: &str, message: &str) -> Vec<u8> {
    json_to_cbor(&serde_json::json!({ "__type": code, "message": message }))
}

fn to_cbor(value: &Value, kind: Option<Kind>) -> Cbor {
    match value {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => number_to_cbor(n, kind),
        Value::String(s) => string_to_cbor(s, kind),
        Value::Array(items) => Cbor::Array(items.iter().map(|v| to_cbor(v, kind)).collect()),
        Value::Object(map) => Cbor::Map(
            map.iter()
                .map(|(k, v)| (Cbor::Text(k.clone()), to_cbor(v, member_kind(k).or(kind))))
                .collect(),
        ),
    }
}

fn number_to_cbor(n: &serde_json::Number, kind: Option<Kind>) -> Cbor {
    let as_float = n.as_f64().unwrap_or(0.0);
    match kind {
        Some(Kind::Timestamp) => epoch(as_float),
        Some(Kind::Double) => Cbor::Float(as_float),
        Some(Kind::Integer) => Cbor::Integer(integral(n, as_float).into()),
        _ if n.is_f64() => Cbor::Float(as_float),
        _ => Cbor::Integer(integral(n, as_float).into()),
    }
}

/// An integer view of a JSON number; floats are truncated and clamped (`as` saturates).
fn integral(n: &serde_json::Number, as_float: f64) -> i64 {
    n.as_i64()
        .or_else(|| n.as_u64().map(|u| i64::try_from(u).unwrap_or(i64::MAX)))
        .unwrap_or(as_float as i64)
}

fn string_to_cbor(s: &str, kind: Option<Kind>) -> Cbor {
    match kind {
        Some(Kind::Timestamp) => match super::json::epoch_seconds(&Value::from(s)) {
            Some(secs) => epoch(secs),
            None => Cbor::Text(s.to_owned()),
        },
        Some(Kind::Blob) => BASE64
            .decode(s)
            .map_or_else(|_| Cbor::Text(s.to_owned()), Cbor::Bytes),
        _ => Cbor::Text(s.to_owned()),
    }
}

fn epoch(seconds: f64) -> Cbor {
    Cbor::Tag(EPOCH_TAG, Box::new(Cbor::Float(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(bytes: &[u8]) -> Cbor {
        ciborium::from_reader(bytes).unwrap()
    }

    fn field<'a>(map: &'a Cbor, key: &str) -> &'a Cbor {
        let Cbor::Map(entries) = map else {
            panic!("not a map: {map:?}")
        };
        entries
            .iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no {key}"))
    }

    #[test]
    fn timestamps_get_tag_one_over_a_float() {
        let body = json!({"MetricDataResults": [{"Id": "q", "Timestamps": [1700000000, "2023-11-14T22:13:21Z"], "Values": [5, 2.5]}]});
        let out = decode(&json_to_cbor(&body));
        let Cbor::Array(results) = field(&out, "MetricDataResults") else {
            panic!()
        };
        let Cbor::Array(ts) = field(&results[0], "Timestamps") else {
            panic!()
        };
        assert_eq!(ts[0], Cbor::Tag(1, Box::new(Cbor::Float(1_700_000_000.0))));
        assert_eq!(ts[1], Cbor::Tag(1, Box::new(Cbor::Float(1_700_000_001.0))));
        let Cbor::Array(values) = field(&results[0], "Values") else {
            panic!()
        };
        assert_eq!(
            values[0],
            Cbor::Float(5.0),
            "a double written as 5 stays a float"
        );
        assert_eq!(field(&results[0], "Id"), &Cbor::Text("q".into()));
    }

    #[test]
    fn integers_doubles_maps_and_blobs_follow_the_model() {
        let body = json!({"Period": 60.0, "Threshold": 90, "ExtendedStatistics": {"p99": 3},
                          "MetricWidgetImage": "aGk=", "Other": 7, "Ratio": 0.5});
        let out = decode(&json_to_cbor(&body));
        assert_eq!(field(&out, "Period"), &Cbor::Integer(60.into()));
        assert_eq!(field(&out, "Threshold"), &Cbor::Float(90.0));
        assert_eq!(
            field(field(&out, "ExtendedStatistics"), "p99"),
            &Cbor::Float(3.0)
        );
        assert_eq!(
            field(&out, "MetricWidgetImage"),
            &Cbor::Bytes(b"hi".to_vec())
        );
        assert_eq!(field(&out, "Other"), &Cbor::Integer(7.into()));
        assert_eq!(field(&out, "Ratio"), &Cbor::Float(0.5));
    }

    #[test]
    fn requests_decode_to_json_one_zero() {
        let request = Cbor::Map(vec![
            (
                Cbor::Text("StartTime".into()),
                Cbor::Tag(1, Box::new(Cbor::Float(1.5))),
            ),
            (
                Cbor::Text("Values".into()),
                Cbor::Array(vec![Cbor::Float(f64::NAN), Cbor::Integer(3.into())]),
            ),
            (Cbor::Text("Blob".into()), Cbor::Bytes(b"hi".to_vec())),
            (Cbor::Integer(7.into()), Cbor::Bool(true)),
        ]);
        let mut bytes = Vec::new();
        ciborium::into_writer(&request, &mut bytes).unwrap();
        let json = cbor_to_json(&bytes).unwrap();
        assert_eq!(
            json,
            json!({"StartTime": 1.5, "Values": [null, 3], "Blob": "aGk=", "7": true})
        );
    }

    #[test]
    fn empty_and_garbage_bodies() {
        assert_eq!(cbor_to_json(&[]).unwrap(), json!({}));
        assert!(cbor_to_json(&[0xff, 0x00]).is_err());
        let out = decode(&json_to_cbor(
            &json!({"Timestamp": "not a time", "Size": 1e300}),
        ));
        assert_eq!(field(&out, "Timestamp"), &Cbor::Text("not a time".into()));
        assert_eq!(field(&out, "Size"), &Cbor::Integer(i64::MAX.into()));
    }
}
