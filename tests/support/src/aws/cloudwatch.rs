//! CloudWatch over Smithy RPC v2 CBOR, which aws-sdk-cloudwatch ≥ 1.100 speaks and moto does not.
//!
//! Every operation is bridged: the CBOR request becomes a JSON 1.0 request
//! (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`) for moto, and moto's JSON answer, or its
//! error, goes back as CBOR ([`super::cbor`]). Stand-ins answer what moto lacks:
//! - DescribeAlarmHistory (moto answers 500), from seeded `AlarmHistoryItem`s with the real
//!   filters, ordering and paging;
//! - percentile statistics (moto fails on them), from the samples of every PutMetricData
//!   bridged here ([`super::percentile`]);
//! - metric math and Metrics Insights (moto does not evaluate them), from the same samples
//!   ([`super::metric_math`]).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::cbor;
use super::control::Route;
use super::errors::{AwsError, render};
use super::gateway::App;
use super::json::{at, epoch_seconds, list_at, number, str_at, strings_at};
use super::metric_math;
use super::paging::{PageError, page};
use super::percentile;
use super::proxy::{self, MotoReply};
use super::route::{Call, Protocol};

const TARGET_PREFIX: &str = "GraniteServiceVersion20100801";

/// Request headers moto needs (routing, dates, session token) or that help tracing.
const BRIDGED_HEADERS: &[&str] = &[
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "user-agent",
    "amz-sdk-invocation-id",
];

/// Answers one CloudWatch CBOR call.
pub async fn handle(app: &App, call: &Call) -> (Response, Route) {
    let input = match cbor::cbor_to_json(&call.body) {
        Ok(input) => input,
        Err(message) => {
            let err = AwsError::bad_request("SerializationException", message);
            return (cbor_error(&err), Route::Bridge);
        }
    };
    match call.operation.as_str() {
        "DescribeAlarmHistory" => {
            let result = describe_alarm_history(&app.lock().seeds.alarm_history, &input);
            (cbor_result(result), Route::StandIn)
        }
        "GetMetricStatistics" if !list_at(&input, &["ExtendedStatistics"]).is_empty() => {
            let out = percentile::metric_statistics(&app.lock().samples, &input);
            (cbor_response(StatusCode::OK, &out), Route::StandIn)
        }
        "GetMetricData" if metric_math::has_expression(&input) => {
            let result = metric_math::metric_data(&app.lock().samples, &input);
            (cbor_result(result), Route::StandIn)
        }
        "GetMetricData" if percentile::has_percentile_query(&input) => {
            (percentile_data(app, call, &input).await, Route::StandIn)
        }
        "PutMetricData" => {
            let response = bridge(app, call, &input).await;
            if response.status().is_success() {
                percentile::record(&mut app.lock().samples, &input);
            }
            (response, Route::Bridge)
        }
        _ => (bridge(app, call, &input).await, Route::Bridge),
    }
}

/// GetMetricData with percentile queries: moto answers the others, the samples the rest.
async fn percentile_data(app: &App, call: &Call, input: &Value) -> Response {
    let from_moto = match percentile::moto_part(input) {
        None => None,
        Some(rest) => match ask_moto(app, call, &rest).await {
            Ok(reply) if reply.status.is_success() => serde_json::from_slice(&reply.body).ok(),
            Ok(reply) => return from_moto(reply),
            Err(message) => return cbor_error(&proxy::unreachable(message)),
        },
    };
    let out = percentile::merge_metric_data(&app.lock().samples, input, from_moto);
    cbor_response(StatusCode::OK, &out)
}

async fn bridge(app: &App, call: &Call, input: &Value) -> Response {
    match ask_moto(app, call, input).await {
        Ok(reply) => from_moto(reply),
        Err(message) => cbor_error(&proxy::unreachable(message)),
    }
}

/// Sends `input` to moto as the JSON 1.0 form of the call's operation.
async fn ask_moto(app: &App, call: &Call, input: &Value) -> Result<MotoReply, String> {
    let mut headers = HeaderMap::new();
    for name in BRIDGED_HEADERS {
        if let Some(value) = call.headers.get(*name) {
            headers.insert(*name, value.clone());
        }
    }
    let target = format!("{TARGET_PREFIX}.{}", call.operation);
    if let Ok(value) = HeaderValue::from_str(&target) {
        headers.insert("x-amz-target", value);
    }
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    let body = Bytes::from(serde_json::to_vec(input).unwrap_or_default());
    proxy::send(app, Method::POST, "/", &headers, body).await
}

/// Re-encodes moto's JSON 1.0 answer, success or error, as an RPC v2 CBOR answer.
fn from_moto(reply: MotoReply) -> Response {
    let parsed: Option<Value> = serde_json::from_slice(&reply.body).ok();
    let mut response = if reply.status.is_success() {
        cbor_response(StatusCode::OK, &parsed.unwrap_or_else(|| json!({})))
    } else {
        let err = moto_error(reply.status, parsed.as_ref(), &reply.body);
        render(Protocol::RpcV2Cbor, &err)
    };
    for name in ["x-amzn-requestid", "x-amzn-query-error"] {
        if let Some(value) = reply.headers.get(name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

/// moto's error as an [`AwsError`]; a non-JSON body (moto's HTML 500 page for an operation it
/// cannot run) becomes `InternalFailure` with the start of that body.
fn moto_error(status: StatusCode, parsed: Option<&Value>, raw: &[u8]) -> AwsError {
    let code = parsed
        .and_then(|v| str_at(v, &["__type"]))
        .unwrap_or("InternalFailure");
    let message = parsed
        .and_then(|v| str_at(v, &["message"]).or_else(|| str_at(v, &["Message"])))
        .map(str::to_owned)
        .unwrap_or_else(|| {
            format!(
                "moto answered {status}: {}",
                String::from_utf8_lossy(&raw[..raw.len().min(200)])
            )
        });
    AwsError::new(status, code, message)
}

fn cbor_result(result: Result<Value, AwsError>) -> Response {
    match result {
        Ok(value) => cbor_response(StatusCode::OK, &value),
        Err(err) => cbor_error(&err),
    }
}

fn cbor_error(err: &AwsError) -> Response {
    render(Protocol::RpcV2Cbor, err)
}

fn cbor_response(status: StatusCode, value: &Value) -> Response {
    let mut response = Response::new(Body::from(cbor::json_to_cbor(value)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/cbor"),
    );
    headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    response
}

/// DescribeAlarmHistory over seeded items: filters by name, alarm type (metric alarms only when
/// none is given, as AWS does), item type and `[StartDate, EndDate]`, newest first unless
/// `ScanBy` is `TimestampAscending`, at most `MaxRecords` (1–100, default 100) per page.
pub fn describe_alarm_history(items: &[Value], input: &Value) -> Result<Value, AwsError> {
    let name = str_at(input, &["AlarmName"]);
    let types = strings_at(input, &["AlarmTypes"]);
    let item_type = str_at(input, &["HistoryItemType"]);
    let start = at(input, &["StartDate"])
        .and_then(epoch_seconds)
        .unwrap_or(f64::NEG_INFINITY);
    let end = at(input, &["EndDate"])
        .and_then(epoch_seconds)
        .unwrap_or(f64::INFINITY);
    let mut selected: Vec<(f64, &Value)> = items
        .iter()
        .filter_map(|item| Some((at(item, &["Timestamp"]).and_then(epoch_seconds)?, item)))
        .filter(|(t, _)| *t >= start && *t <= end)
        .filter(|(_, item)| name.is_none_or(|n| str_at(item, &["AlarmName"]) == Some(n)))
        .filter(|(_, item)| item_type.is_none_or(|k| str_at(item, &["HistoryItemType"]) == Some(k)))
        .filter(|(_, item)| {
            let alarm_type = str_at(item, &["AlarmType"]).unwrap_or("MetricAlarm");
            if types.is_empty() {
                alarm_type == "MetricAlarm"
            } else {
                types.contains(&alarm_type)
            }
        })
        .collect();
    selected.sort_by(|a, b| a.0.total_cmp(&b.0));
    if str_at(input, &["ScanBy"]) != Some("TimestampAscending") {
        selected.reverse();
    }
    let max = at(input, &["MaxRecords"])
        .and_then(number)
        .map(|n| n as i64);
    if max.is_some_and(|m| m > 100) {
        return Err(AwsError::bad_request(
            "InvalidParameterValue",
            "MaxRecords must be between 1 and 100",
        ));
    }
    let (rows, next) =
        page(&selected, str_at(input, &["NextToken"]), max, 100).map_err(|e| match e {
            PageError::BadToken => AwsError::bad_request(
                "InvalidNextToken",
                "The service cannot understand the NextToken",
            )
            .with_query_code("InvalidNextToken"),
            PageError::BadSize => AwsError::bad_request(
                "InvalidParameterValue",
                "MaxRecords must be between 1 and 100",
            ),
        })?;
    let mut out = json!({ "AlarmHistoryItems": rows.iter().map(|(_, item)| (*item).clone()).collect::<Vec<_>>() });
    if let Some(token) = next {
        out["NextToken"] = Value::from(token);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<Value> {
        vec![
            json!({"AlarmName": "cpu", "Timestamp": 100, "HistoryItemType": "StateUpdate", "HistorySummary": "a"}),
            json!({"AlarmName": "cpu", "Timestamp": "1970-01-01T00:05:00Z", "HistoryItemType": "ConfigurationUpdate", "HistorySummary": "b"}),
            json!({"AlarmName": "mem", "Timestamp": 200, "HistoryItemType": "StateUpdate", "HistorySummary": "c"}),
            json!({"AlarmName": "all", "AlarmType": "CompositeAlarm", "Timestamp": 250, "HistorySummary": "d"}),
        ]
    }

    fn summaries(out: &Value) -> Vec<&str> {
        out["AlarmHistoryItems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["HistorySummary"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn newest_first_metric_alarms_by_default() {
        let out = describe_alarm_history(&items(), &json!({})).unwrap();
        assert_eq!(summaries(&out), ["b", "c", "a"]);
        let out =
            describe_alarm_history(&items(), &json!({"AlarmTypes": ["CompositeAlarm"]})).unwrap();
        assert_eq!(summaries(&out), ["d"]);
    }

    #[test]
    fn filters_and_pages() {
        let input = json!({"AlarmName": "cpu", "ScanBy": "TimestampAscending", "MaxRecords": 1});
        let first = describe_alarm_history(&items(), &input).unwrap();
        assert_eq!(summaries(&first), ["a"]);
        let mut next = input.clone();
        next["NextToken"] = first["NextToken"].clone();
        let second = describe_alarm_history(&items(), &next).unwrap();
        assert_eq!(summaries(&second), ["b"]);
        assert!(second.get("NextToken").is_none());
        let window =
            json!({"StartDate": 150.0, "EndDate": 250.0, "HistoryItemType": "StateUpdate"});
        assert_eq!(
            summaries(&describe_alarm_history(&items(), &window).unwrap()),
            ["c"]
        );
    }

    #[test]
    fn bad_tokens_and_sizes_are_client_errors() {
        let err = describe_alarm_history(&items(), &json!({"NextToken": "x"})).unwrap_err();
        assert_eq!(
            (err.code.as_str(), err.query_code.as_deref()),
            ("InvalidNextToken", Some("InvalidNextToken"))
        );
        assert_eq!(
            describe_alarm_history(&items(), &json!({"MaxRecords": 0}))
                .unwrap_err()
                .code,
            "InvalidParameterValue"
        );
        assert_eq!(
            describe_alarm_history(&items(), &json!({"MaxRecords": 101}))
                .unwrap_err()
                .code,
            "InvalidParameterValue"
        );
    }

    #[test]
    fn moto_html_errors_become_internal_failures() {
        let err = moto_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            b"<html>boom</html>",
        );
        assert_eq!(err.code, "InternalFailure");
        assert!(err.message.contains("boom"));
        let parsed =
            json!({"__type": "GraniteServiceVersion20100801#ResourceNotFound", "Message": "gone"});
        let err = moto_error(StatusCode::NOT_FOUND, Some(&parsed), b"");
        assert_eq!(
            (err.code.as_str(), err.message.as_str()),
            ("GraniteServiceVersion20100801#ResourceNotFound", "gone")
        );
    }
}
