//! EKS add-ons and insights. moto lacks these (it answers 404), so the gateway serves them from
//! seeded state on the real REST-JSON paths:
//! - `GET /clusters/{name}/addons` (ListAddons), `GET /clusters/{name}/addons/{addon}`
//!   (DescribeAddon), `GET /addons/supported-versions` (DescribeAddonVersions);
//! - `POST /clusters/{name}/insights` (ListInsights), `GET /clusters/{name}/insights/{id}`
//!   (DescribeInsight).
//!
//! Clusters themselves stay in moto: calls on a cluster first ask moto for it (with the caller's
//! own headers), so a missing cluster gets moto's real `ResourceNotFoundException`.

use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::errors::{AwsError, render};
use super::gateway::App;
use super::json::{at, list_at, number, str_at, strings_at};
use super::paging::{PageError, page};
use super::proxy;
use super::route::{Call, Protocol};
use super::state::Seeds;

/// Whether the gateway, not moto, answers this EKS operation.
pub fn is_stand_in(operation: &str) -> bool {
    matches!(
        operation,
        "ListAddons"
            | "DescribeAddon"
            | "DescribeAddonVersions"
            | "ListInsights"
            | "DescribeInsight"
    )
}

/// The members `InsightSummary` shares with `Insight`.
const SUMMARY_MEMBERS: &[&str] = &[
    "id",
    "name",
    "category",
    "kubernetesVersion",
    "lastRefreshTime",
    "lastTransitionTime",
    "description",
    "insightStatus",
];

/// Answers one stand-in EKS call.
pub async fn handle(app: &App, call: &Call) -> Response {
    let segments = call.segments();
    if let Some(cluster) = segments.get(1).filter(|_| segments[0] == "clusters")
        && let Some(missing) = cluster_missing(app, call, cluster).await
    {
        return missing;
    }
    let query = call.query_pairs();
    let body: Value = serde_json::from_slice(&call.body).unwrap_or_else(|_| json!({}));
    let result = answer(&app.lock().seeds, &call.operation, &segments, &query, &body);
    match result {
        Ok(value) => json_response(&value),
        Err(err) => render(Protocol::RestJson, &err),
    }
}

/// moto's answer when it does not know `cluster`, or when moto cannot be asked.
async fn cluster_missing(app: &App, call: &Call, cluster: &str) -> Option<Response> {
    let path = format!("/clusters/{}", encode(cluster));
    match proxy::send(app, Method::GET, &path, &call.headers, bytes::Bytes::new()).await {
        Ok(reply) if reply.status.is_success() => None,
        Ok(reply) => Some(proxy::relay(reply)),
        Err(message) => Some(render(Protocol::RestJson, &proxy::unreachable(message))),
    }
}

fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

/// The pure part: one operation over seeded state.
pub fn answer(
    seeds: &Seeds,
    operation: &str,
    segments: &[String],
    query: &[(String, String)],
    body: &Value,
) -> Result<Value, AwsError> {
    let cluster = segments.get(1).map_or("", String::as_str);
    let item = segments.get(3).map_or("", String::as_str);
    match operation {
        "ListAddons" => list_addons(seeds, cluster, query),
        "DescribeAddon" => describe_addon(seeds, cluster, item),
        "DescribeAddonVersions" => describe_addon_versions(seeds, query),
        "ListInsights" => list_insights(seeds, cluster, body),
        "DescribeInsight" => describe_insight(seeds, cluster, item),
        other => Err(AwsError::bad_request(
            "InvalidRequestException",
            format!("unsupported operation {other}"),
        )),
    }
}

fn list_addons(
    seeds: &Seeds,
    cluster: &str,
    query: &[(String, String)],
) -> Result<Value, AwsError> {
    let names: Vec<&str> = seeds
        .addons
        .iter()
        .filter(|a| str_at(a, &["clusterName"]) == Some(cluster))
        .filter_map(|a| str_at(a, &["addonName"]))
        .collect();
    let (rows, next) = paged(&names, query, 100)?;
    Ok(with_token(json!({ "addons": rows }), "nextToken", next))
}

fn describe_addon(seeds: &Seeds, cluster: &str, addon: &str) -> Result<Value, AwsError> {
    seeds
        .addons
        .iter()
        .find(|a| {
            str_at(a, &["clusterName"]) == Some(cluster) && str_at(a, &["addonName"]) == Some(addon)
        })
        .map(|a| json!({ "addon": a }))
        .ok_or_else(|| {
            AwsError::new(
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                format!("No addon: {addon} found in cluster: {cluster}"),
            )
            .with_field("clusterName", cluster)
            .with_field("addonName", addon)
        })
}

/// Filters as EKS does: by name, type, publisher and owner, and by Kubernetes version through
/// each version's `compatibilities[].clusterVersion` (dropping incompatible versions).
fn describe_addon_versions(seeds: &Seeds, query: &[(String, String)]) -> Result<Value, AwsError> {
    let values = |key: &str| -> Vec<&str> {
        query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let (names, types, publishers, owners) = (
        values("addonName"),
        values("types"),
        values("publishers"),
        values("owners"),
    );
    let k8s = values("kubernetesVersion").first().copied();
    let keep = |field: &str, wanted: &[&str], info: &Value| {
        wanted.is_empty() || str_at(info, &[field]).is_some_and(|v| wanted.contains(&v))
    };
    let infos: Vec<Value> = seeds
        .addon_infos
        .iter()
        .filter(|i| keep("addonName", &names, i) && keep("type", &types, i))
        .filter(|i| keep("publisher", &publishers, i) && keep("owner", &owners, i))
        .filter_map(|info| k8s.map_or(Some(info.clone()), |v| compatible_with(info, v)))
        .collect();
    let (rows, next) = paged(&infos, query, 100)?;
    Ok(with_token(json!({ "addons": rows }), "nextToken", next))
}

fn compatible_with(info: &Value, version: &str) -> Option<Value> {
    let versions: Vec<Value> = list_at(info, &["addonVersions"])
        .iter()
        .filter(|v| {
            list_at(v, &["compatibilities"])
                .iter()
                .any(|c| str_at(c, &["clusterVersion"]) == Some(version))
        })
        .cloned()
        .collect();
    let mut out = info.clone();
    out["addonVersions"] = Value::from(versions);
    (!list_at(&out, &["addonVersions"]).is_empty()).then_some(out)
}

fn list_insights(seeds: &Seeds, cluster: &str, body: &Value) -> Result<Value, AwsError> {
    let categories = strings_at(body, &["filter", "categories"]);
    let versions = strings_at(body, &["filter", "kubernetesVersions"]);
    let statuses = strings_at(body, &["filter", "statuses"]);
    let pass = |wanted: &[&str], value: Option<&str>| {
        wanted.is_empty() || value.is_some_and(|v| wanted.contains(&v))
    };
    let summaries: Vec<Value> = insights_of(seeds, cluster)
        .iter()
        .filter(|i| {
            pass(&categories, str_at(i, &["category"]))
                && pass(&versions, str_at(i, &["kubernetesVersion"]))
        })
        .filter(|i| pass(&statuses, str_at(i, &["insightStatus", "status"])))
        .map(summary)
        .collect();
    let size = at(body, &["maxResults"]).and_then(number).map(|n| n as i64);
    let token = str_at(body, &["nextToken"]);
    let (rows, next) = page(&summaries, token, size, 100).map_err(page_error)?;
    Ok(with_token(json!({ "insights": rows }), "nextToken", next))
}

fn summary(insight: &Value) -> Value {
    let members: Map<String, Value> = SUMMARY_MEMBERS
        .iter()
        .filter_map(|k| at(insight, &[k]).map(|v| ((*k).to_owned(), v.clone())))
        .collect();
    Value::Object(members)
}

fn describe_insight(seeds: &Seeds, cluster: &str, id: &str) -> Result<Value, AwsError> {
    insights_of(seeds, cluster)
        .iter()
        .find(|i| str_at(i, &["id"]) == Some(id))
        .map(|i| json!({ "insight": i }))
        .ok_or_else(|| {
            AwsError::new(
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                format!("No insight found for id: {id}"),
            )
            .with_field("clusterName", cluster)
        })
}

fn insights_of<'a>(seeds: &'a Seeds, cluster: &str) -> &'a [Value] {
    seeds.insights.get(cluster).map_or(&[], Vec::as_slice)
}

fn paged<'a, T>(
    items: &'a [T],
    query: &[(String, String)],
    default: usize,
) -> Result<(&'a [T], Option<String>), AwsError> {
    let get = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let size = match get("maxResults") {
        None => None,
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| invalid("maxResults must be an integer"))?,
        ),
    };
    page(items, get("nextToken"), size, default).map_err(page_error)
}

fn page_error(e: PageError) -> AwsError {
    match e {
        PageError::BadToken => invalid("The nextToken is not valid"),
        PageError::BadSize => invalid("maxResults must be at least 1"),
    }
}

fn invalid(message: &str) -> AwsError {
    AwsError::bad_request("InvalidParameterException", message)
}

fn with_token(mut value: Value, key: &str, token: Option<String>) -> Value {
    if let Some(token) = token {
        value[key] = Value::from(token);
    }
    value
}

fn json_response(value: &Value) -> Response {
    let mut response = Response::new(axum::body::Body::from(
        serde_json::to_vec(value).unwrap_or_default(),
    ));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds() -> Seeds {
        Seeds {
            addons: vec![
            json!({"clusterName": "demo", "addonName": "vpc-cni", "addonVersion": "v1.18.0-eksbuild.1", "status": "ACTIVE"}),
            json!({"clusterName": "demo", "addonName": "coredns", "status": "DEGRADED"}),
            json!({"clusterName": "other", "addonName": "kube-proxy"}),
        ],
        addon_infos: vec![
            json!({"addonName": "vpc-cni", "type": "networking", "owner": "aws", "addonVersions": [
                {"addonVersion": "v1", "compatibilities": [{"clusterVersion": "1.29"}]},
                {"addonVersion": "v2", "compatibilities": [{"clusterVersion": "1.30"}]}]}),
            json!({"addonName": "coredns", "type": "networking", "owner": "aws", "addonVersions": [
                {"addonVersion": "c1", "compatibilities": [{"clusterVersion": "1.28"}]}]}),
        ],
        insights: [("demo".to_owned(), vec![
            json!({"id": "i-1", "name": "Deprecated APIs", "category": "UPGRADE_READINESS", "kubernetesVersion": "1.30",
                   "insightStatus": {"status": "ERROR"}, "recommendation": "migrate", "resources": []}),
            json!({"id": "i-2", "name": "Kubelet skew", "category": "UPGRADE_READINESS", "kubernetesVersion": "1.30",
                   "insightStatus": {"status": "PASSING"}}),
        ])].into(),
        ..Seeds::default()
        }
    }

    fn seg(path: &str) -> Vec<String> {
        path.split('/').map(str::to_owned).collect()
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn list_and_describe_addons() {
        let s = seeds();
        let out = answer(
            &s,
            "ListAddons",
            &seg("clusters/demo/addons"),
            &q(&[("maxResults", "1")]),
            &json!({}),
        )
        .unwrap();
        assert_eq!(out["addons"], json!(["vpc-cni"]));
        let next = out["nextToken"].as_str().unwrap();
        let out = answer(
            &s,
            "ListAddons",
            &seg("clusters/demo/addons"),
            &q(&[("nextToken", next)]),
            &json!({}),
        )
        .unwrap();
        assert_eq!(out, json!({"addons": ["coredns"]}));
        let out = answer(
            &s,
            "DescribeAddon",
            &seg("clusters/demo/addons/vpc-cni"),
            &[],
            &json!({}),
        )
        .unwrap();
        assert_eq!(out["addon"]["addonVersion"], "v1.18.0-eksbuild.1");
        let err = answer(
            &s,
            "DescribeAddon",
            &seg("clusters/demo/addons/kube-proxy"),
            &[],
            &json!({}),
        )
        .unwrap_err();
        assert_eq!(
            (err.status, err.fields["addonName"].as_str()),
            (StatusCode::NOT_FOUND, Some("kube-proxy"))
        );
        assert!(
            answer(
                &s,
                "ListAddons",
                &seg("clusters/demo/addons"),
                &q(&[("maxResults", "x")]),
                &json!({})
            )
            .is_err()
        );
    }

    #[test]
    fn addon_versions_filter_by_kubernetes_version() {
        let s = seeds();
        let out = answer(
            &s,
            "DescribeAddonVersions",
            &seg("addons/supported-versions"),
            &q(&[("kubernetesVersion", "1.30")]),
            &json!({}),
        )
        .unwrap();
        let addons = out["addons"].as_array().unwrap();
        assert_eq!(addons.len(), 1);
        assert_eq!(
            addons[0]["addonVersions"],
            json!([{"addonVersion": "v2", "compatibilities": [{"clusterVersion": "1.30"}]}])
        );
        let out = answer(
            &s,
            "DescribeAddonVersions",
            &seg("addons/supported-versions"),
            &q(&[("addonName", "coredns")]),
            &json!({}),
        )
        .unwrap();
        assert_eq!(out["addons"][0]["addonName"], "coredns");
    }

    #[test]
    fn insights_are_summarised_and_filtered() {
        let s = seeds();
        let out = answer(
            &s,
            "ListInsights",
            &seg("clusters/demo/insights"),
            &[],
            &json!({"filter": {"statuses": ["ERROR"]}}),
        )
        .unwrap();
        assert_eq!(
            out["insights"],
            json!([{"id": "i-1", "name": "Deprecated APIs", "category": "UPGRADE_READINESS",
            "kubernetesVersion": "1.30", "insightStatus": {"status": "ERROR"}}])
        );
        let out = answer(
            &s,
            "DescribeInsight",
            &seg("clusters/demo/insights/i-2"),
            &[],
            &json!({}),
        )
        .unwrap();
        assert_eq!(out["insight"]["name"], "Kubelet skew");
        assert!(
            answer(
                &s,
                "DescribeInsight",
                &seg("clusters/other/insights/i-2"),
                &[],
                &json!({})
            )
            .is_err()
        );
        let out = answer(
            &s,
            "ListInsights",
            &seg("clusters/none/insights"),
            &[],
            &json!({}),
        )
        .unwrap();
        assert_eq!(out, json!({"insights": []}));
    }
}
