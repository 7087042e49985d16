//! The live cluster backend: kube-rs clients per cluster, cached, with EKS token minting.
//!
//! A `cluster` argument names a kubeconfig context or an EKS cluster. For an EKS name the
//! endpoint and CA come from `eks:DescribeCluster`, and the bearer token is a presigned STS
//! `GetCallerIdentity` URL carrying `x-k8s-aws-id` (the `aws eks get-token` format). EKS accepts
//! such a token for 15 minutes, so clients built on one are rebuilt after 10. Inside a pod with
//! no kubeconfig the in-cluster service account is used.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, ListParams, LogParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, discovery::Scope};
use kube::{Client, Config, Discovery};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::aws::{AwsConfigCache, credentials, map_sdk_error, sign_request};
use super::kinds::KindInfo;
use super::{AwsTarget, ClusterSource, ListRequest, LogLine, LogRequest, ObjectPage};
use crate::config::Settings;
use crate::error::{ToolError, ToolResult};

/// How long a client minted from an EKS token is reused.
const EKS_CLIENT_TTL: Duration = Duration::from_secs(600);
/// How long discovery results are reused; CRDs come and go rarely.
const DISCOVERY_TTL: Duration = Duration::from_secs(300);
/// Upper bound on one request to an API server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

struct CacheEntry {
    source: Arc<LiveCluster>,
    expires: Option<Instant>,
}

/// Live cluster sources by name, built on first use.
pub struct ClusterCache {
    settings: Arc<Settings>,
    aws: AwsConfigCache,
    entries: Mutex<HashMap<String, CacheEntry>>,
}

impl ClusterCache {
    pub fn new(settings: Arc<Settings>, aws: AwsConfigCache) -> Self {
        ClusterCache {
            settings,
            aws,
            entries: Mutex::default(),
        }
    }

    pub async fn get(&self, wanted: Option<&str>) -> ToolResult<Arc<dyn ClusterSource>> {
        let kubeconfig = self.read_kubeconfig()?;
        let name = match wanted
            .map(str::to_string)
            .or_else(|| self.settings.context.clone())
            .or_else(|| self.settings.cluster.clone())
        {
            Some(n) => n,
            None => match kubeconfig.as_ref().and_then(|k| k.current_context.clone()) {
                Some(current) => current,
                None if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => {
                    "in-cluster".to_string()
                }
                None => {
                    return Err(ToolError::NotConfigured {
                        what: "Kubernetes cluster".into(),
                        how: "pass `cluster` (a kubeconfig context or EKS cluster name), or start the server with --context, --cluster or --kubeconfig".into(),
                    });
                }
            },
        };
        let mut entries = self.entries.lock().await;
        if let Some(entry) = entries.get(&name)
            && entry.expires.is_none_or(|e| e > Instant::now())
        {
            return Ok(entry.source.clone());
        }
        let (config, expires) = self.build_config(&name, kubeconfig).await?;
        let client = Client::try_from(config)
            .map_err(|e| ToolError::backend(format!("creating a client for cluster {name}"), e))?;
        let source = Arc::new(LiveCluster::new(name.clone(), client));
        entries.insert(
            name,
            CacheEntry {
                source: source.clone(),
                expires,
            },
        );
        Ok(source)
    }

    fn read_kubeconfig(&self) -> ToolResult<Option<Kubeconfig>> {
        let result = match &self.settings.kubeconfig {
            Some(path) => Kubeconfig::read_from(path).map(Some),
            None => match Kubeconfig::read() {
                Ok(k) => Ok(Some(k)),
                Err(_) => Ok(None),
            },
        };
        result.map_err(|e| ToolError::NotConfigured {
            what: "kubeconfig".into(),
            how: format!("it could not be read: {e}"),
        })
    }

    async fn build_config(
        &self,
        name: &str,
        kubeconfig: Option<Kubeconfig>,
    ) -> ToolResult<(Config, Option<Instant>)> {
        let contexts: Vec<String> = kubeconfig
            .as_ref()
            .map(|k| k.contexts.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        if name == "in-cluster" {
            let mut config =
                Config::incluster().map_err(|e| ToolError::backend("in-cluster config", e))?;
            config.read_timeout = Some(REQUEST_TIMEOUT);
            return Ok((config, None));
        }
        if let Some(kubeconfig) = kubeconfig.filter(|_| contexts.iter().any(|c| c == name)) {
            let options = KubeConfigOptions {
                context: Some(name.to_string()),
                ..Default::default()
            };
            let mut config = Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| ToolError::backend(format!("loading kubeconfig context {name}"), e))?;
            config.connect_timeout = Some(Duration::from_secs(5));
            config.read_timeout = Some(REQUEST_TIMEOUT);
            return Ok((config, None));
        }
        // Not a context: try it as an EKS cluster name in the default region.
        match self.eks_config(name).await {
            Ok(config) => Ok((config, Some(Instant::now() + EKS_CLIENT_TTL))),
            // Denied means the name may well exist: say which permission is missing.
            Err(denied @ ToolError::AccessDenied { .. }) => Err(denied),
            Err(eks_error) => {
                let mut available = contexts;
                if let Ok(eks) = self.list_eks_clusters().await {
                    available.extend(eks.into_iter().map(|c| format!("{c} (EKS)")));
                }
                let what = match eks_error {
                    ToolError::NotFound { .. } => {
                        "cluster (kubeconfig context or EKS cluster)".to_string()
                    }
                    other => {
                        format!("cluster (no such kubeconfig context; as an EKS cluster: {other})")
                    }
                };
                Err(ToolError::not_found(what, name, available))
            }
        }
    }

    async fn list_eks_clusters(&self) -> ToolResult<Vec<String>> {
        let sdk = self.aws.get(&AwsTarget::default()).await?;
        let out = aws_sdk_eks::Client::new(&sdk)
            .list_clusters()
            .send()
            .await
            .map_err(|e| map_sdk_error("eks:ListClusters", e))?;
        Ok(out.clusters.unwrap_or_default())
    }

    async fn eks_config(&self, name: &str) -> ToolResult<Config> {
        let sdk = self.aws.get(&AwsTarget::default()).await?;
        let described = aws_sdk_eks::Client::new(&sdk)
            .describe_cluster()
            .name(name)
            .send()
            .await
            .map_err(|e| map_sdk_error("eks:DescribeCluster", e))?;
        let cluster = described
            .cluster
            .ok_or_else(|| ToolError::not_found("EKS cluster", name, Vec::new()))?;
        let endpoint = cluster.endpoint.ok_or_else(|| {
            ToolError::backend(
                "eks:DescribeCluster",
                format!(
                    "cluster {name} has no endpoint yet (status {:?})",
                    cluster.status
                ),
            )
        })?;
        let uri: http::Uri = endpoint.parse().map_err(|e| {
            ToolError::backend("eks:DescribeCluster", format!("endpoint {endpoint}: {e}"))
        })?;
        let mut config = Config::new(uri);
        if let Some(ca) = cluster.certificate_authority.and_then(|c| c.data) {
            config.root_cert = Some(pem_to_der(&ca)?);
        }
        let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
        let token = mint_eks_token(&sdk, name, &region, std::time::SystemTime::now()).await?;
        config.auth_info.token = Some(token.into());
        config.connect_timeout = Some(Duration::from_secs(5));
        config.read_timeout = Some(REQUEST_TIMEOUT);
        Ok(config)
    }
}

/// An EKS bearer token: `k8s-aws-v1.` + base64url(presigned STS GetCallerIdentity URL).
pub async fn mint_eks_token(
    sdk: &aws_config::SdkConfig,
    cluster: &str,
    region: &str,
    time: std::time::SystemTime,
) -> ToolResult<String> {
    let creds = credentials(sdk).await?;
    let url =
        format!("https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15");
    let mut request = http::Request::get(&url)
        .header("host", format!("sts.{region}.amazonaws.com"))
        .header("x-k8s-aws-id", cluster)
        .body(Vec::new())
        .map_err(|e| ToolError::backend("minting an EKS token", e))?;
    sign_request(
        &mut request,
        creds,
        region,
        "sts",
        time,
        Some(Duration::from_secs(60)),
    )?;
    let signed = request.uri().to_string();
    Ok(format!(
        "k8s-aws-v1.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signed)
    ))
}

/// EKS returns the CA as base64 of a PEM bundle; kube wants DER certificates.
fn pem_to_der(ca_base64: &str) -> ToolResult<Vec<Vec<u8>>> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let pem = b64
        .decode(ca_base64.trim())
        .map_err(|e| ToolError::backend("decoding the cluster CA", e))?;
    let pem = String::from_utf8_lossy(&pem);
    let mut certs = Vec::new();
    for block in pem.split("-----BEGIN CERTIFICATE-----").skip(1) {
        let body: String = block
            .split("-----END CERTIFICATE-----")
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        certs.push(
            b64.decode(body)
                .map_err(|e| ToolError::backend("decoding the cluster CA", e))?,
        );
    }
    if certs.is_empty() {
        return Err(ToolError::backend(
            "decoding the cluster CA",
            "no certificate in it",
        ));
    }
    Ok(certs)
}

/// One live cluster.
pub struct LiveCluster {
    name: String,
    client: Client,
    discovery: Mutex<Option<(Instant, Vec<KindInfo>)>>,
}

impl LiveCluster {
    pub fn new(name: String, client: Client) -> Self {
        LiveCluster {
            name,
            client,
            discovery: Mutex::default(),
        }
    }

    fn api(&self, kind: &KindInfo, namespace: Option<&str>) -> Api<DynamicObject> {
        let resource = ApiResource {
            group: kind.group.clone(),
            version: kind.version.clone(),
            api_version: kind.api_version(),
            kind: kind.kind.clone(),
            plural: kind.plural.clone(),
        };
        match namespace {
            Some(ns) if kind.namespaced => Api::namespaced_with(self.client.clone(), ns, &resource),
            _ => Api::all_with(self.client.clone(), &resource),
        }
    }
}

/// What a Kubernetes request was doing, for error messages that name the RBAC verb.
struct KubeOp<'a> {
    verb: &'a str,
    resource: String,
    namespace: Option<&'a str>,
    cluster: &'a str,
}

fn map_kube_error(op: &KubeOp<'_>, err: kube::Error) -> ToolError {
    let scope = match op.namespace {
        Some(ns) => format!("in namespace {ns}"),
        None => "cluster-wide".to_string(),
    };
    match err {
        kube::Error::Api(status) => match status.code {
            403 => ToolError::AccessDenied {
                permission: format!(
                    "RBAC verb `{}` on `{}` {scope} (cluster {})",
                    op.verb, op.resource, op.cluster
                ),
                detail: status.message,
            },
            401 => ToolError::AccessDenied {
                permission: format!("valid credentials for cluster {}", op.cluster),
                detail: format!("the API server rejected the token: {}", status.message),
            },
            404 => ToolError::not_found(
                format!("{} {scope}", op.resource),
                status.message,
                Vec::new(),
            ),
            410 => ToolError::invalid(
                "continue",
                "the continue token expired; list again without it",
            ),
            400 => ToolError::invalid(op.resource.clone(), status.message),
            code => ToolError::backend(
                format!("{} {} on cluster {}", op.verb, op.resource, op.cluster),
                format!("HTTP {code}: {}", status.message),
            ),
        },
        other => {
            let text = other.to_string();
            let lower = text.to_ascii_lowercase();
            if lower.contains("timed out") || lower.contains("timeout") || lower.contains("elapsed")
            {
                ToolError::Timeout {
                    what: format!("{} {} on cluster {}", op.verb, op.resource, op.cluster),
                    after: REQUEST_TIMEOUT,
                }
            } else {
                ToolError::backend(
                    format!("{} {} on cluster {}", op.verb, op.resource, op.cluster),
                    format!("the API server could not be reached or answered badly: {text}"),
                )
            }
        }
    }
}

fn to_value(object: DynamicObject, kind: &KindInfo) -> Value {
    let mut v = serde_json::to_value(object).unwrap_or(Value::Null);
    // List items come without apiVersion/kind; put them back so objects look as `get` returns them.
    if let Some(map) = v.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| Value::String(kind.api_version()));
        map.entry("kind")
            .or_insert_with(|| Value::String(kind.kind.clone()));
    }
    v
}

#[async_trait]
impl ClusterSource for LiveCluster {
    fn name(&self) -> &str {
        &self.name
    }

    fn now(&self) -> DateTime<Utc> {
        crate::time::wall_clock_now()
    }

    async fn kinds(&self) -> ToolResult<Vec<KindInfo>> {
        let mut cached = self.discovery.lock().await;
        if let Some((at, kinds)) = cached.as_ref()
            && at.elapsed() < DISCOVERY_TTL
        {
            return Ok(kinds.clone());
        }
        let op = KubeOp {
            verb: "get",
            resource: "API discovery (/api, /apis)".into(),
            namespace: None,
            cluster: &self.name,
        };
        let discovery =
            tokio::time::timeout(REQUEST_TIMEOUT, Discovery::new(self.client.clone()).run())
                .await
                .map_err(|_| ToolError::Timeout {
                    what: format!("API discovery on cluster {}", self.name),
                    after: REQUEST_TIMEOUT,
                })?
                .map_err(|e| map_kube_error(&op, e))?;
        let mut kinds = Vec::new();
        for group in discovery.groups() {
            for (resource, caps) in group.recommended_resources() {
                kinds.push(KindInfo {
                    group: resource.group,
                    version: resource.version,
                    kind: resource.kind,
                    plural: resource.plural,
                    namespaced: matches!(caps.scope, Scope::Namespaced),
                    short_names: Vec::new(),
                });
            }
        }
        // Discovery does not carry short names; add the well-known ones.
        let builtin = super::kinds::builtin();
        for k in &mut kinds {
            if let Some(b) = builtin
                .iter()
                .find(|b| b.group == k.group && b.kind == k.kind)
            {
                k.short_names = b.short_names.clone();
            }
        }
        *cached = Some((Instant::now(), kinds.clone()));
        Ok(kinds)
    }

    async fn list(&self, req: &ListRequest) -> ToolResult<ObjectPage> {
        let api = self.api(&req.kind, req.namespace.as_deref());
        let params = ListParams {
            label_selector: req.label_selector.clone().filter(|s| !s.is_empty()),
            field_selector: req.field_selector.clone().filter(|s| !s.is_empty()),
            limit: req.limit,
            continue_token: req.continue_token.clone(),
            ..Default::default()
        };
        let op = KubeOp {
            verb: "list",
            resource: req.kind.qualified_plural(),
            namespace: req.namespace.as_deref(),
            cluster: &self.name,
        };
        let list = api
            .list(&params)
            .await
            .map_err(|e| map_kube_error(&op, e))?;
        Ok(ObjectPage {
            continue_token: list.metadata.continue_.clone().filter(|c| !c.is_empty()),
            remaining: list.metadata.remaining_item_count.map(|r| r.max(0) as u64),
            items: list
                .items
                .into_iter()
                .map(|o| to_value(o, &req.kind))
                .collect(),
        })
    }

    async fn get(&self, kind: &KindInfo, namespace: Option<&str>, name: &str) -> ToolResult<Value> {
        let op = KubeOp {
            verb: "get",
            resource: kind.qualified_plural(),
            namespace,
            cluster: &self.name,
        };
        let object =
            self.api(kind, namespace).get(name).await.map_err(|e| {
                match map_kube_error(&op, e) {
                    ToolError::NotFound { what, .. } => {
                        ToolError::not_found(what, name, Vec::new())
                    }
                    other => other,
                }
            })?;
        Ok(to_value(object, kind))
    }

    async fn events(&self, namespace: Option<&str>) -> ToolResult<Vec<Value>> {
        let core = self.all_events(event_kind("", "v1"), namespace).await?;
        // events.k8s.io/v1 is the same store seen through the newer API; reading it too catches
        // events a client wrote there that an aggregating proxy or old server shows only there.
        // Core already holds everything in a normal cluster, so a refusal (RBAC granted on core
        // events only) or a missing API (old server) is no reason to fail the call.
        let newer = self
            .all_events(event_kind("events.k8s.io", "v1"), namespace)
            .await
            .unwrap_or_default();
        Ok(merge_events(core, newer))
    }

    async fn pod_logs(&self, req: &LogRequest) -> ToolResult<Vec<LogLine>> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &req.namespace);
        let params = LogParams {
            container: Some(req.container.clone()),
            previous: req.previous,
            since_time: req.since.map(|t| {
                k8s_openapi::jiff::Timestamp::from_second(t.timestamp()).unwrap_or_default()
            }),
            tail_lines: req.tail_lines.map(|t| t as i64),
            limit_bytes: req.limit_bytes.map(|b| b as i64),
            timestamps: true,
            ..Default::default()
        };
        let op = KubeOp {
            verb: "get",
            resource: "pods/log".into(),
            namespace: Some(&req.namespace),
            cluster: &self.name,
        };
        let text = api
            .logs(&req.pod, &params)
            .await
            .map_err(|e| map_kube_error(&op, e))?;
        Ok(super::snapshot::select_log_lines(
            &text,
            &LogRequest {
                since: None,
                tail_lines: None,
                limit_bytes: None,
                ..req.clone()
            },
        ))
    }
}

fn event_kind(group: &str, version: &str) -> KindInfo {
    KindInfo {
        group: group.into(),
        version: version.into(),
        kind: "Event".into(),
        plural: "events".into(),
        namespaced: true,
        short_names: Vec::new(),
    }
}

impl LiveCluster {
    /// Every event of one API, page by page, with a hard cap on pages.
    async fn all_events(&self, kind: KindInfo, namespace: Option<&str>) -> ToolResult<Vec<Value>> {
        let mut out = Vec::new();
        let mut token = None;
        for _ in 0..20 {
            let page = self
                .list(&ListRequest {
                    kind: kind.clone(),
                    namespace: namespace.map(str::to_string),
                    limit: Some(500),
                    continue_token: token,
                    ..Default::default()
                })
                .await?;
            out.extend(page.items);
            token = page.continue_token;
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }
}

/// Core events plus the events.k8s.io/v1 ones core lacks (same namespace/name), converted to
/// the core/v1 shape tools read.
pub fn merge_events(core: Vec<Value>, newer: Vec<Value>) -> Vec<Value> {
    let key = |e: &Value| {
        (
            e.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            e.pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        )
    };
    let seen: std::collections::HashSet<(String, String)> = core.iter().map(key).collect();
    let mut out = core;
    out.extend(
        newer
            .into_iter()
            .filter(|e| !seen.contains(&key(e)))
            .map(to_core_event),
    );
    out
}

/// events.k8s.io/v1 -> core/v1 field names, as the API server converts between them.
pub fn to_core_event(e: Value) -> Value {
    let get = |p: &str| e.pointer(p).cloned();
    let first = get("/deprecatedFirstTimestamp").or_else(|| get("/eventTime"));
    let last = get("/series/lastObservedTime")
        .or_else(|| get("/deprecatedLastTimestamp"))
        .or_else(|| get("/eventTime"));
    let count = get("/series/count")
        .or_else(|| get("/deprecatedCount"))
        .unwrap_or(json!(1));
    let component = get("/reportingController").or_else(|| get("/deprecatedSource/component"));
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": get("/metadata"),
        "involvedObject": get("/regarding"),
        "related": get("/related"),
        "reason": get("/reason"),
        "message": get("/note"),
        "type": get("/type"),
        "action": get("/action"),
        "count": count,
        "firstTimestamp": first,
        "lastTimestamp": last,
        "eventTime": get("/eventTime"),
        "source": {"component": component, "host": get("/deprecatedSource/host")},
        "reportingComponent": get("/reportingController"),
        "reportingInstance": get("/reportingInstance"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_events_fill_in_what_core_lacks() {
        let core = vec![
            json!({"metadata": {"namespace": "shop", "name": "a.1"}, "reason": "BackOff", "count": 3}),
        ];
        let newer = vec![
            json!({"metadata": {"namespace": "shop", "name": "a.1"}, "reason": "BackOff", "note": "dup"}),
            json!({"metadata": {"namespace": "shop", "name": "b.2"}, "reason": "Unhealthy", "note": "probe failed",
                "type": "Warning", "regarding": {"kind": "Pod", "name": "web"}, "reportingController": "kubelet",
                "eventTime": "2026-11-20T14:00:00.000000Z",
                "series": {"count": 9, "lastObservedTime": "2026-11-20T14:20:00.000000Z"}}),
            json!({}),
        ];
        let merged = merge_events(core, newer);
        assert_eq!(merged.len(), 3);
        assert_eq!(merged[0]["count"], 3);
        let b = &merged[1];
        assert_eq!(b["involvedObject"]["name"], "web");
        assert_eq!(b["message"], "probe failed");
        assert_eq!(b["count"], 9);
        assert_eq!(b["firstTimestamp"], "2026-11-20T14:00:00.000000Z");
        assert_eq!(b["lastTimestamp"], "2026-11-20T14:20:00.000000Z");
        assert_eq!(b["source"]["component"], "kubelet");
        assert_eq!(merged[2]["count"], 1);
    }

    #[test]
    fn pem_bundle_to_der() {
        let der = b"not really a certificate but bytes";
        let b64 = base64::engine::general_purpose::STANDARD;
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            b64.encode(der)
        );
        let certs = pem_to_der(&b64.encode(pem)).unwrap();
        assert_eq!(certs, vec![der.to_vec()]);
        assert!(pem_to_der(&b64.encode("nothing")).is_err());
    }

    #[tokio::test]
    async fn eks_token_is_a_presigned_sts_url_with_the_cluster_header() {
        let creds =
            aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let sdk = aws_config::SdkConfig::builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(creds),
            )
            .region(aws_config::Region::new("eu-west-1"))
            .build();
        let token = mint_eks_token(
            &sdk,
            "shop-prod",
            "eu-west-1",
            std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_763_650_000),
        )
        .await
        .unwrap();
        let encoded = token.strip_prefix("k8s-aws-v1.").unwrap();
        let url = String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(encoded)
                .unwrap(),
        )
        .unwrap();
        assert!(
            url.starts_with(
                "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
            ),
            "{url}"
        );
        assert!(url.contains("X-Amz-Expires=60"), "{url}");
        assert!(
            url.contains("X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"),
            "{url}"
        );
        assert!(
            url.contains(
                "X-Amz-Credential=AKIDEXAMPLE%2F20251120%2Feu-west-1%2Fsts%2Faws4_request"
            ),
            "{url}"
        );
        assert!(url.contains("X-Amz-Signature="), "{url}");
    }
}
