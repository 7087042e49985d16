//! Works out which AWS service, operation and wire protocol a request is for, the way AWS itself
//! does: the SigV4 credential scope names the service, then `X-Amz-Target`, the RPC v2 path, the
//! query `Action` or the REST path names the operation.

use axum::http::{HeaderMap, Method, Uri};
use bytes::Bytes;

/// The wire protocol of a call, which decides the shape of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Smithy RPC v2 CBOR (CloudWatch in aws-sdk-cloudwatch ≥ 1.100).
    RpcV2Cbor,
    AwsJson10,
    AwsJson11,
    /// REST paths with JSON bodies (EKS).
    RestJson,
    /// Form-encoded `Action=` requests with XML answers (STS).
    Query,
    /// Anything else, e.g. moto's own `/moto-api/` paths.
    Unknown,
}

/// One incoming request, classified.
#[derive(Debug, Clone)]
pub struct Call {
    /// The SigV4 signing name (`monitoring`, `eks`, `ce`, `pricing`, `sts`, `logs`, ...), or "".
    pub service: String,
    /// The operation name as in the API reference (`DescribeCluster`), or "".
    pub operation: String,
    pub protocol: Protocol,
    /// From the credential scope; `us-east-1` when unsigned.
    pub region: String,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Call {
    /// Percent-decoded path segments, without empty ones.
    pub fn segments(&self) -> Vec<String> {
        self.uri
            .path()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect()
    }

    /// The query-string parameters, decoded, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let query = self.uri.query().unwrap_or("");
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    /// The IAM action prefix of the service (`monitoring` signs CloudWatch, whose actions are
    /// `cloudwatch:*`).
    pub fn iam_prefix(&self) -> &str {
        match self.service.as_str() {
            "monitoring" => "cloudwatch",
            other => other,
        }
    }
}

/// Decodes `%XX` escapes in a path segment; a malformed escape is kept as written.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Classifies a request from its parts.
pub fn classify(method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Call {
    let (region, scoped) = credential_scope(&headers, &uri).unwrap_or_default();
    let mut call = Call {
        service: scoped,
        operation: String::new(),
        protocol: Protocol::Unknown,
        region: if region.is_empty() {
            "us-east-1".into()
        } else {
            region
        },
        method,
        uri,
        headers,
        body,
    };
    let (protocol, operation, implied) = operation_of(&call);
    call.protocol = protocol;
    call.operation = operation;
    if call.service.is_empty() {
        call.service = implied.to_owned();
    }
    call
}

/// `(region, service)` from `Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...`
/// or from a presigned URL's `X-Amz-Credential`.
fn credential_scope(headers: &HeaderMap, uri: &Uri) -> Option<(String, String)> {
    let from_header = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .map(|rest| rest.split([',', ' ']).next().unwrap_or("").to_owned());
    let credential = from_header.or_else(|| {
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "X-Amz-Credential")
            .map(|(_, v)| v.into_owned())
    })?;
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [.., region, service, "aws4_request"] => {
            Some(((*region).to_owned(), (*service).to_owned()))
        }
        _ => None,
    }
}

/// The protocol, the operation, and the service the request implies when it is unsigned.
fn operation_of(call: &Call) -> (Protocol, String, &'static str) {
    let path = call.uri.path();
    if let Some(rest) = path.strip_prefix("/service/") {
        let op = rest.rsplit_once("/operation/").map_or("", |(_, op)| op);
        let service = if rest.starts_with("GraniteServiceVersion20100801/") {
            "monitoring"
        } else {
            ""
        };
        return (Protocol::RpcV2Cbor, op.to_owned(), service);
    }
    if let Some(target) = header(&call.headers, "x-amz-target") {
        let (prefix, op) = target.rsplit_once('.').unwrap_or(("", target));
        let protocol = match header(&call.headers, "content-type") {
            Some(ct) if ct.contains("x-amz-json-1.0") => Protocol::AwsJson10,
            _ => Protocol::AwsJson11,
        };
        return (protocol, op.to_owned(), service_of_target(prefix));
    }
    if let Some(action) = query_action(call) {
        return (Protocol::Query, action, "");
    }
    if call.service == "xray" {
        // X-Ray is REST JSON: the operation is the path (`POST /ServiceGraph`).
        let op = match path.trim_end_matches('/') {
            "/ServiceGraph" => "GetServiceGraph",
            "/TraceGraph" => "GetTraceGraph",
            "/TraceSummaries" => "GetTraceSummaries",
            "/Traces" => "BatchGetTraces",
            "/TraceSegments" => "PutTraceSegments",
            _ => "",
        };
        return (Protocol::RestJson, op.to_owned(), "");
    }
    if call.service == "eks" {
        return (
            Protocol::RestJson,
            eks_operation(&call.method, &call.segments()).to_owned(),
            "",
        );
    }
    (Protocol::Unknown, String::new(), "")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn service_of_target(prefix: &str) -> &'static str {
    match prefix {
        "GraniteServiceVersion20100801" => "monitoring",
        "AWSInsightsIndexService" => "ce",
        "AWSPriceListService" => "pricing",
        "Logs_20140328" => "logs",
        _ => "",
    }
}

/// `Action` from a form-encoded body or the query string (awsQuery protocol).
fn query_action(call: &Call) -> Option<String> {
    let form = header(&call.headers, "content-type")
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let body_pairs = if form { call.body.as_ref() } else { &[] };
    let query = call.uri.query().unwrap_or("").as_bytes();
    [body_pairs, query].into_iter().find_map(|bytes| {
        url::form_urlencoded::parse(bytes)
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.into_owned())
    })
}

/// EKS REST routes: `(method, path pattern, operation)`, `*` matching one segment.
const EKS_ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "clusters", "ListClusters"),
    ("POST", "clusters", "CreateCluster"),
    ("GET", "clusters/*", "DescribeCluster"),
    ("DELETE", "clusters/*", "DeleteCluster"),
    ("POST", "clusters/*/update-config", "UpdateClusterConfig"),
    ("POST", "clusters/*/updates", "UpdateClusterVersion"),
    ("GET", "clusters/*/updates", "ListUpdates"),
    ("GET", "clusters/*/updates/*", "DescribeUpdate"),
    ("GET", "clusters/*/node-groups", "ListNodegroups"),
    ("POST", "clusters/*/node-groups", "CreateNodegroup"),
    ("GET", "clusters/*/node-groups/*", "DescribeNodegroup"),
    ("DELETE", "clusters/*/node-groups/*", "DeleteNodegroup"),
    ("GET", "clusters/*/fargate-profiles", "ListFargateProfiles"),
    (
        "POST",
        "clusters/*/fargate-profiles",
        "CreateFargateProfile",
    ),
    (
        "GET",
        "clusters/*/fargate-profiles/*",
        "DescribeFargateProfile",
    ),
    (
        "DELETE",
        "clusters/*/fargate-profiles/*",
        "DeleteFargateProfile",
    ),
    ("GET", "clusters/*/addons", "ListAddons"),
    ("POST", "clusters/*/addons", "CreateAddon"),
    ("GET", "clusters/*/addons/*", "DescribeAddon"),
    ("DELETE", "clusters/*/addons/*", "DeleteAddon"),
    ("GET", "addons/supported-versions", "DescribeAddonVersions"),
    ("POST", "clusters/*/insights", "ListInsights"),
    ("GET", "clusters/*/insights/*", "DescribeInsight"),
    ("GET", "clusters/*/access-entries", "ListAccessEntries"),
    ("GET", "clusters/*/access-entries/*", "DescribeAccessEntry"),
    (
        "GET",
        "clusters/*/pod-identity-associations",
        "ListPodIdentityAssociations",
    ),
    (
        "GET",
        "clusters/*/identity-provider-configs",
        "ListIdentityProviderConfigs",
    ),
    ("GET", "tags/*", "ListTagsForResource"),
    ("POST", "tags/*", "TagResource"),
    ("DELETE", "tags/*", "UntagResource"),
];

fn eks_operation(method: &Method, segments: &[String]) -> &'static str {
    EKS_ROUTES
        .iter()
        .find(|(m, pattern, _)| *m == method.as_str() && matches(pattern, segments))
        .map_or("", |(_, _, op)| op)
}

fn matches(pattern: &str, segments: &[String]) -> bool {
    let parts: Vec<&str> = pattern.split('/').collect();
    parts.len() == segments.len() && parts.iter().zip(segments).all(|(p, s)| *p == "*" || p == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> Call {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        classify(
            method.parse().unwrap(),
            uri.parse().unwrap(),
            map,
            Bytes::from(body.to_owned()),
        )
    }

    const EKS_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/eks/aws4_request, SignedHeaders=host, Signature=x";

    #[test]
    fn eks_rest_paths() {
        let c = call(
            "GET",
            "/clusters/demo/addons/vpc-cni",
            &[("authorization", EKS_AUTH)],
            "",
        );
        assert_eq!(
            (c.service.as_str(), c.operation.as_str()),
            ("eks", "DescribeAddon")
        );
        assert_eq!(
            (c.region.as_str(), c.protocol),
            ("eu-west-1", Protocol::RestJson)
        );
        let c = call(
            "POST",
            "/clusters/demo/insights",
            &[("authorization", EKS_AUTH)],
            "{}",
        );
        assert_eq!(c.operation, "ListInsights");
        let c = call(
            "GET",
            "/addons/supported-versions?addonName=x",
            &[("authorization", EKS_AUTH)],
            "",
        );
        assert_eq!(c.operation, "DescribeAddonVersions");
        let c = call(
            "PATCH",
            "/clusters/demo",
            &[("authorization", EKS_AUTH)],
            "",
        );
        assert_eq!(c.operation, "");
    }

    #[test]
    fn cbor_json_and_query_protocols() {
        let c = call(
            "POST",
            "/service/GraniteServiceVersion20100801/operation/GetMetricData",
            &[],
            "",
        );
        assert_eq!(
            (c.service.as_str(), c.operation.as_str(), c.protocol),
            ("monitoring", "GetMetricData", Protocol::RpcV2Cbor)
        );
        let c = call(
            "POST",
            "/",
            &[
                ("x-amz-target", "AWSInsightsIndexService.GetCostForecast"),
                ("content-type", "application/x-amz-json-1.1"),
            ],
            "{}",
        );
        assert_eq!(
            (c.service.as_str(), c.operation.as_str(), c.protocol),
            ("ce", "GetCostForecast", Protocol::AwsJson11)
        );
        let c = call(
            "POST",
            "/",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=A/20240101/us-east-1/sts/aws4_request",
                ),
            ],
            "Action=GetCallerIdentity&Version=2011-06-15",
        );
        assert_eq!(
            (c.service.as_str(), c.operation.as_str(), c.protocol),
            ("sts", "GetCallerIdentity", Protocol::Query)
        );
        let c = call("POST", "/moto-api/reset", &[], "");
        assert_eq!(
            (c.service.as_str(), c.operation.as_str(), c.protocol),
            ("", "", Protocol::Unknown)
        );
        assert_eq!(c.region, "us-east-1");
    }

    #[test]
    fn path_segments_are_percent_decoded() {
        let c = call(
            "GET",
            "/tags/arn%3Aaws%3Aeks%3Aus-east-1%3A1%3Acluster%2Fdemo",
            &[("authorization", EKS_AUTH)],
            "",
        );
        assert_eq!(
            c.segments(),
            vec!["tags", "arn:aws:eks:us-east-1:1:cluster/demo"]
        );
        assert_eq!(c.operation, "ListTagsForResource");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }

    #[test]
    fn presigned_scope_and_malformed_authorization() {
        let c = call(
            "GET",
            "/?X-Amz-Credential=A%2F20240101%2Fap-south-1%2Fsts%2Faws4_request&Action=GetCallerIdentity",
            &[],
            "",
        );
        assert_eq!(
            (c.service.as_str(), c.region.as_str()),
            ("sts", "ap-south-1")
        );
        let c = call(
            "GET",
            "/clusters",
            &[("authorization", "Credential=garbage")],
            "",
        );
        assert_eq!(c.service, "");
    }
}
