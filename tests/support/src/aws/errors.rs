//! AWS errors in each protocol's real wire shape, so the SDKs parse their code and message.
//!
//! - REST-JSON (EKS): the status, `x-amzn-errortype: <Code>` and `{"message": ...}` plus the
//!   exception's own members (`clusterName`, `addonName`).
//! - JSON 1.0/1.1 (Cost Explorer, Pricing, Logs): `{"__type": "<Code>", "Message": ...}`.
//! - RPC v2 CBOR (CloudWatch): `{"__type", "message"}` in CBOR. CloudWatch is
//!   `awsQueryCompatible`, so an `x-amzn-query-error: <QueryCode>;Sender` header carries the code
//!   that the old query protocol used, and smithy-rs prefers it over `__type`.
//! - Query (STS): an XML `ErrorResponse`.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

use super::cbor;
use super::route::{Call, Protocol};

/// The account moto (and every seeded ARN) uses.
pub const ACCOUNT: &str = "123456789012";

/// An AWS error before it is put on the wire.
#[derive(Debug, Clone)]
pub struct AwsError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// Extra members of the exception shape (REST-JSON only).
    pub fields: Map<String, Value>,
    /// The awsQuery code for query-compatible services, sent as `x-amzn-query-error`.
    pub query_code: Option<String>,
}

impl AwsError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            fields: Map::new(),
            query_code: None,
        }
    }

    /// A 400 with the given code, the usual answer to a bad parameter.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn with_field(mut self, key: &str, value: &str) -> Self {
        self.fields.insert(key.to_owned(), Value::from(value));
        self
    }

    pub fn with_query_code(mut self, code: &str) -> Self {
        self.query_code = Some(code.to_owned());
        self
    }
}

/// The AccessDenied error a caller without the IAM permission gets, e.g.
/// `User: arn:aws:sts::123456789012:assumed-role/x/y is not authorized to perform:
/// eks:DescribeCluster on resource: arn:aws:eks:us-east-1:123456789012:cluster/demo`.
pub fn access_denied(call: &Call, principal: &str) -> AwsError {
    let action = format!("{}:{}", call.iam_prefix(), call.operation);
    let message = match resource_of(call) {
        Some(arn) => {
            format!("User: {principal} is not authorized to perform: {action} on resource: {arn}")
        }
        None => format!(
            "User: {principal} is not authorized to perform: {action} because no identity-based policy allows the {action} action"
        ),
    };
    match call.protocol {
        Protocol::RestJson => {
            AwsError::new(StatusCode::FORBIDDEN, "AccessDeniedException", message)
        }
        Protocol::RpcV2Cbor => AwsError::new(
            StatusCode::FORBIDDEN,
            "com.amazon.coral.service#AccessDeniedException",
            message,
        )
        .with_query_code("AccessDenied"),
        Protocol::Query => AwsError::new(StatusCode::FORBIDDEN, "AccessDenied", message),
        _ => AwsError::bad_request("AccessDeniedException", message),
    }
}

/// The ARN an EKS call acts on (the cluster, from the path), which AWS names in the message.
fn resource_of(call: &Call) -> Option<String> {
    let segments = call.segments();
    match (call.service.as_str(), segments.as_slice()) {
        ("eks", [first, name, ..]) if first == "clusters" => Some(format!(
            "arn:aws:eks:{}:{ACCOUNT}:cluster/{name}",
            call.region
        )),
        _ => None,
    }
}

/// Puts an error on the wire in the protocol's shape.
pub fn render(protocol: Protocol, err: &AwsError) -> Response {
    let (content_type, body) = match protocol {
        Protocol::RestJson => ("application/json", rest_json_body(err)),
        Protocol::RpcV2Cbor => (
            "application/cbor",
            cbor::error_body(&err.code, &err.message),
        ),
        Protocol::Query => ("text/xml", query_body(err).into_bytes()),
        Protocol::AwsJson10 => ("application/x-amz-json-1.0", json_body(err)),
        Protocol::AwsJson11 | Protocol::Unknown => ("application/x-amz-json-1.1", json_body(err)),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = err.status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    if protocol == Protocol::RestJson {
        insert(headers, "x-amzn-errortype", &err.code);
    }
    if protocol == Protocol::RpcV2Cbor {
        headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    }
    if let Some(code) = &err.query_code {
        insert(headers, "x-amzn-query-error", &format!("{code};Sender"));
    }
    response
}

fn insert(headers: &mut http::HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

fn rest_json_body(err: &AwsError) -> Vec<u8> {
    let mut body = err.fields.clone();
    body.insert("message".into(), Value::from(err.message.as_str()));
    serde_json::to_vec(&body).unwrap_or_default()
}

fn json_body(err: &AwsError) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "__type": err.code, "Message": err.message }))
        .unwrap_or_default()
}

fn query_body(err: &AwsError) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>",
        xml_escape(&err.code),
        xml_escape(&err.message)
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::super::route::classify;
    use super::*;
    use axum::http::HeaderMap;

    fn eks_call(path: &str) -> Call {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=A/20240101/us-west-2/eks/aws4_request"
                .parse()
                .unwrap(),
        );
        classify(
            "GET".parse().unwrap(),
            path.parse().unwrap(),
            headers,
            bytes::Bytes::new(),
        )
    }

    #[test]
    fn eks_access_denied_names_the_cluster() {
        let err = access_denied(
            &eks_call("/clusters/demo"),
            "arn:aws:sts::123456789012:assumed-role/x/y",
        );
        assert_eq!(err.status, StatusCode::FORBIDDEN);
        assert_eq!(err.code, "AccessDeniedException");
        assert_eq!(
            err.message,
            "User: arn:aws:sts::123456789012:assumed-role/x/y is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:us-west-2:123456789012:cluster/demo"
        );
        let response = render(Protocol::RestJson, &err);
        assert_eq!(
            response.headers()["x-amzn-errortype"],
            "AccessDeniedException"
        );
    }

    #[test]
    fn cbor_errors_carry_the_query_code() {
        let err =
            AwsError::bad_request("InvalidNextToken", "bad").with_query_code("InvalidNextToken");
        let response = render(Protocol::RpcV2Cbor, &err);
        assert_eq!(
            response.headers()["x-amzn-query-error"],
            "InvalidNextToken;Sender"
        );
        assert_eq!(response.headers()["smithy-protocol"], "rpc-v2-cbor");
    }

    #[test]
    fn xml_is_escaped() {
        assert_eq!(
            query_body(&AwsError::bad_request("A", "<&>"))
                .matches("&lt;&amp;&gt;")
                .count(),
            1
        );
    }
}
