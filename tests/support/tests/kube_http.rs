//! The Kubernetes API stand-in over plain HTTP (reqwest): discovery, list/get semantics, pod
//! logs, events.k8s.io conversion, and every error answer, against the fixture cluster.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use eks_ops_testbed::kube::{DenyRule, KubeStandin};
use serde_json::Value;

const CHECKOUT_CRASH: &str = "checkout-5d8f7b9c4-x7k2p";
const CHECKOUT_OK: &str = "checkout-5d8f7b9c4-9xk2p";
const NODE3: &str = "ip-10-0-3-67.eu-west-1.compute.internal";
const USER: &str = "system:serviceaccount:ops:eks-ops-mcp";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/kube-cluster")
}

async fn standin() -> KubeStandin {
    KubeStandin::builder(fixture())
        .spawn()
        .await
        .expect("fixture loads")
}

struct Reply {
    code: u16,
    content_type: String,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    fn names(&self) -> Vec<String> {
        let items = self.json()["items"].as_array().cloned().unwrap_or_default();
        items
            .iter()
            .map(|i| {
                i["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    /// Asserts a `Status` failure with this code and reason; returns its message.
    #[track_caller]
    fn status(&self, code: u16, reason: &str) -> String {
        assert_eq!(self.code, code, "{}", self.text);
        let v = self.json();
        assert_eq!(v["kind"], "Status", "{}", self.text);
        assert_eq!(v["apiVersion"], "v1");
        assert_eq!(v["status"], "Failure");
        assert_eq!(v["reason"], reason, "{}", self.text);
        assert_eq!(v["code"], code);
        v["message"].as_str().unwrap_or_default().to_string()
    }
}

async fn fetch(s: &KubeStandin, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = reqwest::Client::new().get(format!("{}{path}", s.url()));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request reaches the stand-in");
    let code = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = resp.text().await.unwrap_or_default();
    Reply {
        code,
        content_type,
        text,
    }
}

async fn get(s: &KubeStandin, path: &str) -> Reply {
    fetch(s, path, &[]).await
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn discovery_serves_builtins_and_crds() {
    let s = standin().await;
    let version = get(&s, "/version").await.json();
    assert!(version["gitVersion"].as_str().unwrap().contains("-eks-"));
    assert_eq!(get(&s, "/api").await.json()["versions"][0], "v1");

    let core = get(&s, "/api/v1").await.json();
    assert_eq!(core["kind"], "APIResourceList");
    let resources = core["resources"].as_array().unwrap();
    let pods = resources.iter().find(|r| r["name"] == "pods").unwrap();
    assert_eq!(pods["kind"], "Pod");
    assert_eq!(pods["namespaced"], true);
    assert_eq!(pods["shortNames"][0], "po");
    assert!(pods["verbs"].as_array().unwrap().contains(&"list".into()));
    assert!(resources.iter().any(|r| r["name"] == "pods/log"));
    let nodes = resources.iter().find(|r| r["name"] == "nodes").unwrap();
    assert_eq!(nodes["namespaced"], false);

    let groups = get(&s, "/apis").await.json();
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    for g in [
        "apps",
        "batch",
        "autoscaling",
        "events.k8s.io",
        "discovery.k8s.io",
        "policy",
    ] {
        assert!(names.contains(&g), "{g} missing from {names:?}");
    }
    assert!(names.contains(&"networking.k8s.io") && names.contains(&"karpenter.sh"));

    let karpenter = get(&s, "/apis/karpenter.sh/v1").await.json();
    let np = &karpenter["resources"][0];
    assert_eq!(np["name"], "nodepools");
    assert_eq!(np["kind"], "NodePool");
    assert_eq!(np["namespaced"], false);
    assert_eq!(
        get(&s, "/apis/karpenter.sh").await.json()["preferredVersion"]["version"],
        "v1"
    );
    let hpa = get(&s, "/apis/autoscaling/v2").await.json();
    assert_eq!(hpa["resources"][0]["shortNames"][0], "hpa");
    get(&s, "/apis/nope.example.com/v1")
        .await
        .status(404, "NotFound");
}

#[tokio::test]
async fn aggregated_discovery_follows_the_accept_header() {
    let s = standin().await;
    let accept =
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
    let reply = fetch(&s, "/apis", &[("accept", accept)]).await;
    assert!(reply.content_type.contains("as=APIGroupDiscoveryList"));
    let doc = reply.json();
    assert_eq!(doc["kind"], "APIGroupDiscoveryList");
    let karpenter = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "karpenter.sh")
        .unwrap();
    let np = &karpenter["versions"][0]["resources"][0];
    assert_eq!(np["scope"], "Cluster");
    assert_eq!(np["responseKind"]["kind"], "NodePool");
    let core = fetch(&s, "/api", &[("accept", accept)]).await.json();
    assert_eq!(core["items"][0]["versions"][0]["version"], "v1");
}

#[tokio::test]
async fn lists_carry_the_real_envelope() {
    let s = standin().await;
    let reply = get(&s, "/api/v1/namespaces/shop/pods").await;
    let list = reply.json();
    assert_eq!(list["kind"], "PodList");
    assert_eq!(list["apiVersion"], "v1");
    let rv: u64 = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(rv, s.revision());
    assert!(list["metadata"].get("continue").is_none());
    assert!(
        list["items"][0].get("kind").is_none(),
        "typed list items carry no kind"
    );
    let names = reply.names();
    assert_eq!(names.len(), 6);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);

    assert_eq!(get(&s, "/api/v1/pods").await.names().len(), 14);
    assert_eq!(
        get(&s, "/api/v1/namespaces/nowhere/pods")
            .await
            .names()
            .len(),
        0
    );
    let deployments = get(&s, "/apis/apps/v1/deployments").await.json();
    assert_eq!(deployments["kind"], "DeploymentList");
    assert_eq!(deployments["apiVersion"], "apps/v1");
    let pools = get(&s, "/apis/karpenter.sh/v1/nodepools").await.json();
    assert_eq!(pools["kind"], "NodePoolList");
    assert_eq!(
        pools["items"][0]["kind"], "NodePool",
        "custom resources keep their kind"
    );
    let namespaces = get(&s, "/api/v1/namespaces").await.names();
    assert_eq!(namespaces, ["kube-system", "payments", "shop"]);
}

#[tokio::test]
async fn label_selectors_support_every_operator() {
    let s = standin().await;
    let count = |sel: &'static str| {
        let s = &s;
        async move {
            let q = url_encode(sel);
            get(
                s,
                &format!("/api/v1/namespaces/shop/pods?labelSelector={q}"),
            )
            .await
            .names()
            .len()
        }
    };
    assert_eq!(count("app=checkout").await, 2);
    assert_eq!(count("app==checkout").await, 2);
    assert_eq!(count("app!=checkout").await, 4);
    assert_eq!(count("tier in (web,backend)").await, 5);
    assert_eq!(count("tier notin (backend)").await, 3);
    assert_eq!(count("tier").await, 5);
    assert_eq!(count("!tier").await, 1);
    assert_eq!(count("app=checkout,pod-template-hash=5d8f7b9c4").await, 2);
    let bad = get(&s, "/api/v1/pods?labelSelector=app%20in%20checkout").await;
    assert!(
        bad.status(400, "BadRequest")
            .contains("unable to parse requirement")
    );
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn field_selectors_match_the_server_field_labels() {
    let s = standin().await;
    let names = |path: String| {
        let s = &s;
        async move { get(s, &path).await.names() }
    };
    let pending = names("/api/v1/pods?fieldSelector=status.phase%3DPending".into()).await;
    assert_eq!(pending, ["recommendations-84c6d5f7b9-qz8wt"]);
    let on_node3 = names(format!(
        "/api/v1/pods?fieldSelector=spec.nodeName%3D{NODE3}"
    ))
    .await;
    assert_eq!(
        on_node3,
        ["aws-node-zq9tb", "ledger-reconcile-29919720-8fj2k"]
    );
    let not_running = names("/api/v1/pods?fieldSelector=status.phase!%3DRunning".into()).await;
    assert_eq!(not_running.len(), 2);
    let by_name = names("/api/v1/pods?fieldSelector=metadata.name%3Dredis-0".into()).await;
    assert_eq!(by_name, ["redis-0"]);

    let q = format!("involvedObject.name={CHECKOUT_CRASH},type=Warning");
    let warnings = names(format!(
        "/api/v1/namespaces/shop/events?fieldSelector={}",
        url_encode(&q)
    ))
    .await;
    assert_eq!(warnings.len(), 2, "Unhealthy and BackOff");
    let q = "involvedObject.kind=Pod,reason=FailedScheduling";
    assert_eq!(
        names(format!("/api/v1/events?fieldSelector={}", url_encode(q)))
            .await
            .len(),
        1
    );
    let q = format!("regarding.name={CHECKOUT_CRASH},reason=BackOff");
    let v1 = names(format!(
        "/apis/events.k8s.io/v1/events?fieldSelector={}",
        url_encode(&q)
    ))
    .await;
    assert_eq!(v1.len(), 1);
    let unsupported = get(&s, "/api/v1/pods?fieldSelector=spec.containers%3Dx").await;
    assert_eq!(
        unsupported.status(400, "BadRequest"),
        "field label not supported: spec.containers"
    );
}

async fn pages(s: &KubeStandin, path: &str, limit: usize) -> (Vec<String>, Vec<Value>) {
    let mut names = Vec::new();
    let mut metas = Vec::new();
    let mut token = String::new();
    for _ in 0..50 {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{sep}limit={limit}");
        if !token.is_empty() {
            url += &format!("&continue={}", url_encode(&token));
        }
        let reply = get(s, &url).await;
        assert_eq!(reply.code, 200, "{}", reply.text);
        names.extend(reply.names());
        let meta = reply.json()["metadata"].clone();
        token = meta["continue"].as_str().unwrap_or_default().to_string();
        metas.push(meta);
        if token.is_empty() {
            break;
        }
    }
    (names, metas)
}

#[tokio::test]
async fn pagination_walks_every_object_once() {
    let s = standin().await;
    let all = get(&s, "/api/v1/pods").await.names();
    let (paged, metas) = pages(&s, "/api/v1/pods", 5).await;
    assert_eq!(paged, all);
    assert_eq!(metas.len(), 3);
    assert_eq!(metas[0]["remainingItemCount"], 9);
    assert_eq!(metas[1]["remainingItemCount"], 4);
    assert!(metas[2].get("continue").is_none());

    let (selected, _) = pages(&s, "/api/v1/pods?labelSelector=k8s-app%3Daws-node", 2).await;
    assert_eq!(
        selected,
        ["aws-node-8kq2f", "aws-node-m4x7v", "aws-node-zq9tb"]
    );
}

#[tokio::test]
async fn bad_and_stale_continue_tokens_are_410_expired() {
    let s = standin().await;
    get(&s, "/api/v1/pods?limit=2&continue=garbage")
        .await
        .status(410, "Expired");
    let first = get(&s, "/api/v1/pods?limit=2").await.json();
    let token = first["metadata"]["continue"].as_str().unwrap().to_string();
    let next = format!("/api/v1/pods?limit=2&continue={}", url_encode(&token));
    assert_eq!(get(&s, &next).await.code, 200);
    s.expire_continue_tokens();
    let message = get(&s, &next).await.status(410, "Expired");
    assert!(message.contains("too old"), "{message}");
}

#[tokio::test]
async fn get_returns_one_object_or_a_not_found_status() {
    let s = standin().await;
    let pod = get(
        &s,
        &format!("/api/v1/namespaces/shop/pods/{CHECKOUT_CRASH}"),
    )
    .await
    .json();
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(pod["apiVersion"], "v1");
    let last = &pod["status"]["containerStatuses"][0]["lastState"]["terminated"];
    assert_eq!(last["reason"], "OOMKilled");
    assert_eq!(last["exitCode"], 137);
    assert!(pod["metadata"]["ownerReferences"][0]["uid"].is_string());
    let node = get(&s, &format!("/api/v1/nodes/{NODE3}")).await.json();
    assert_eq!(node["spec"]["taints"][0]["key"], "workload");
    let pool = get(&s, "/apis/karpenter.sh/v1/nodepools/batch")
        .await
        .json();
    assert_eq!(pool["kind"], "NodePool");
    let ns = get(&s, "/api/v1/namespaces/shop").await.json();
    assert_eq!(ns["kind"], "Namespace");

    let missing = get(&s, "/apis/apps/v1/namespaces/shop/deployments/nope").await;
    assert_eq!(
        missing.status(404, "NotFound"),
        "deployments.apps \"nope\" not found"
    );
    let details = &missing.json()["details"];
    assert_eq!(details["name"], "nope");
    assert_eq!(details["group"], "apps");
    assert_eq!(details["kind"], "deployments");
    get(&s, &format!("/api/v1/namespaces/shop/nodes/{NODE3}"))
        .await
        .status(404, "NotFound");
    get(&s, "/api/v1/namespaces/shop/pods/redis-0/status")
        .await
        .status(404, "NotFound");
    get(&s, "/healthz").await.status(404, "NotFound");
}

#[tokio::test]
async fn list_parameters_are_decoded_strictly() {
    let s = standin().await;
    let rv = s.revision();
    for ok in [
        "resourceVersion=0".to_string(),
        format!("resourceVersion={rv}&resourceVersionMatch=Exact"),
        format!(
            "resourceVersion={}&resourceVersionMatch=NotOlderThan",
            rv - 5
        ),
        "timeoutSeconds=30&allowWatchBookmarks=false".to_string(),
        "watch=false&pretty=false".to_string(),
    ] {
        let reply = get(&s, &format!("/api/v1/pods?{ok}")).await;
        assert_eq!(reply.code, 200, "{ok}: {}", reply.text);
    }
    let old = format!(
        "/api/v1/pods?resourceVersion={}&resourceVersionMatch=Exact",
        rv - 1
    );
    get(&s, &old).await.status(410, "Expired");
    let future = format!("/api/v1/pods?resourceVersion={}", rv + 100);
    get(&s, &future).await.status(504, "Timeout");
    get(&s, "/api/v1/pods?resourceVersionMatch=Exact")
        .await
        .status(400, "BadRequest");
    get(&s, "/api/v1/pods?limit=ten")
        .await
        .status(400, "BadRequest");
    get(&s, "/api/v1/pods?watch=true")
        .await
        .status(405, "MethodNotAllowed");

    let pretty = get(&s, "/api/v1/namespaces/shop/services/checkout?pretty=true").await;
    assert!(pretty.text.contains("\n  \"metadata\""), "{}", pretty.text);
    let compact = get(&s, "/api/v1/namespaces/shop/services/checkout").await;
    assert!(!compact.text.contains('\n'));
}

#[tokio::test]
async fn unknown_query_parameters_are_400() {
    let s = standin().await;
    for path in [
        "/api/v1/pods?labelselector=app%3Dcheckout",
        "/api/v1/namespaces/shop/pods/redis-0?limit=1",
        "/api/v1/namespaces/shop/pods/redis-0/log?lines=10",
        "/api/v1?verbose=1",
    ] {
        let message = get(&s, path).await.status(400, "BadRequest");
        assert!(
            message.starts_with("unknown query parameter"),
            "{path}: {message}"
        );
    }
}

#[tokio::test]
async fn mutating_methods_are_405() {
    let s = standin().await;
    let resp = reqwest::Client::new()
        .delete(format!("{}/api/v1/namespaces/shop/pods/redis-0", s.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["reason"], "MethodNotAllowed");
}

async fn log(s: &KubeStandin, ns: &str, pod: &str, query: &str) -> Reply {
    get(
        s,
        &format!("/api/v1/namespaces/{ns}/pods/{pod}/log?{query}"),
    )
    .await
}

fn file_lines(ns: &str, pod: &str, file: &str) -> Vec<String> {
    let path = fixture().join(format!("logs/{ns}/{pod}/{file}"));
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(String::from).collect()
}

/// A bundle line is `<RFC 3339> <text>`: the text part.
fn bare(line: &str) -> &str {
    line.split_once(' ').map_or(line, |(_, rest)| rest)
}

#[tokio::test]
async fn logs_pick_a_container_or_explain_the_choice() {
    let s = standin().await;
    let multi = log(&s, "kube-system", "aws-node-8kq2f", "").await;
    assert_eq!(
        multi.status(400, "BadRequest"),
        "a container name must be specified for pod aws-node-8kq2f, choose one of: [aws-node aws-eks-nodeagent] or one of the init containers: [aws-vpc-cni-init]"
    );
    let sidecar = log(&s, "shop", CHECKOUT_OK, "").await;
    assert_eq!(
        sidecar.status(400, "BadRequest"),
        format!(
            "a container name must be specified for pod {CHECKOUT_OK}, choose one of: [checkout log-shipper]"
        )
    );
    let only = log(&s, "shop", "frontend-6b7d9f8c5-2hjkq", "").await;
    assert_eq!(only.code, 200);
    assert!(only.content_type.starts_with("text/plain"));
    assert_eq!(only.text.lines().count(), 45);
    let init = log(
        &s,
        "shop",
        "frontend-6b7d9f8c5-2hjkq",
        "container=render-config",
    )
    .await;
    assert!(init.text.starts_with("rendering /tmpl/default.conf\n"));
    let wrong = log(&s, "shop", CHECKOUT_OK, "container=nope").await;
    assert_eq!(
        wrong.status(400, "BadRequest"),
        format!("container nope is not valid for pod {CHECKOUT_OK}")
    );
    log(&s, "shop", "nope", "").await.status(404, "NotFound");
    let unscheduled = log(&s, "shop", "recommendations-84c6d5f7b9-qz8wt", "").await;
    assert_eq!((unscheduled.code, unscheduled.text.as_str()), (200, ""));
}

#[tokio::test]
async fn log_lines_are_bare_unless_timestamps_is_set() {
    let s = standin().await;
    let expected = file_lines("shop", CHECKOUT_CRASH, "checkout.log");
    let plain = log(&s, "shop", CHECKOUT_CRASH, "container=checkout").await;
    let got: Vec<&str> = plain.text.lines().collect();
    let want: Vec<&str> = expected.iter().map(|l| bare(l)).collect();
    assert_eq!(got, want);
    assert!(
        got.iter().all(|l| l.starts_with('{')),
        "JSON lines, no prefix"
    );

    let stamped = log(
        &s,
        "shop",
        CHECKOUT_CRASH,
        "container=checkout&timestamps=true",
    )
    .await;
    let nano = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z \{").unwrap();
    assert_eq!(stamped.text.lines().count(), expected.len());
    assert!(
        stamped.text.lines().all(|l| nano.is_match(l)),
        "{}",
        stamped.text
    );
    let first_file = expected[0].split_once(' ').unwrap().0;
    let first_served = stamped.text.split_once(' ').unwrap().0;
    assert_eq!(at(first_file), at(first_served));
}

#[tokio::test]
async fn tail_since_and_limit_bytes_follow_kubelet_semantics() {
    let s = standin().await;
    let pod = "payments-api-7d4b8c9f6d-k2m9x";
    let expected = file_lines("payments", pod, "api.log");
    let tail = log(&s, "payments", pod, "container=api&tailLines=3").await;
    let want: Vec<&str> = expected[expected.len() - 3..]
        .iter()
        .map(|l| bare(l))
        .collect();
    assert_eq!(tail.text.lines().collect::<Vec<_>>(), want);
    assert_eq!(
        log(&s, "payments", pod, "container=api&tailLines=0")
            .await
            .text,
        ""
    );

    let since = at("2026-11-20T14:20:00Z");
    let recent = expected
        .iter()
        .filter(|l| at(l.split(' ').next().unwrap()) >= since)
        .count();
    assert!(recent > 0 && recent < expected.len());
    let by_seconds = log(&s, "payments", pod, "container=api&sinceSeconds=600").await;
    assert_eq!(
        by_seconds.text.lines().count(),
        recent,
        "now defaults to captured_at 14:30"
    );
    let by_time = log(
        &s,
        "payments",
        pod,
        "container=api&sinceTime=2026-11-20T14:20:00Z",
    )
    .await;
    assert_eq!(by_time.text, by_seconds.text);
    let stamped = log(
        &s,
        "payments",
        pod,
        "container=api&sinceSeconds=600&timestamps=true",
    )
    .await;
    assert!(
        stamped
            .text
            .lines()
            .all(|l| at(l.split(' ').next().unwrap()) >= since)
    );

    let limited = log(&s, "payments", pod, "container=api&limitBytes=100").await;
    assert_eq!(limited.text.len(), 100);
    let trace = log(&s, "payments", pod, "container=api").await.text;
    assert!(trace.contains("\n\tat org.springframework.web.client.RestTemplate.doExecute"));
    assert!(trace.contains("\nCaused by: java.net.SocketTimeoutException: Read timed out\n"));

    for bad in [
        "tailLines=-1",
        "limitBytes=0",
        "sinceSeconds=0",
        "follow=true",
        "sinceTime=noon",
    ] {
        let reply = log(&s, "payments", pod, &format!("container=api&{bad}")).await;
        reply.status(400, "BadRequest");
    }
    let both = "container=api&sinceSeconds=5&sinceTime=2026-11-20T14:20:00Z";
    log(&s, "payments", pod, both)
        .await
        .status(400, "BadRequest");
}

#[tokio::test]
async fn since_seconds_counts_back_from_the_configured_now() {
    let s = KubeStandin::builder(fixture())
        .now(at("2026-11-20T14:10:00Z"))
        .spawn()
        .await
        .unwrap();
    let pod = "ledger-reconcile-29919720-8fj2k";
    let expected = file_lines("payments", pod, "reconcile.log");
    let since = at("2026-11-20T14:05:00Z");
    let want = expected
        .iter()
        .filter(|l| at(l.split(' ').next().unwrap()) >= since)
        .count();
    let got = log(&s, "payments", pod, "sinceSeconds=300").await;
    assert_eq!(got.text.lines().count(), want);
    assert!(want > 0 && want < expected.len());
}

#[tokio::test]
async fn previous_serves_the_last_terminated_instance() {
    let s = standin().await;
    let current = log(&s, "shop", CHECKOUT_CRASH, "container=checkout")
        .await
        .text;
    let previous = log(
        &s,
        "shop",
        CHECKOUT_CRASH,
        "container=checkout&previous=true",
    )
    .await;
    assert_eq!(previous.code, 200);
    assert_ne!(previous.text, current);
    let want: Vec<String> = file_lines("shop", CHECKOUT_CRASH, "checkout.previous.log")
        .iter()
        .map(|l| bare(l).to_string())
        .collect();
    assert_eq!(previous.text.lines().collect::<Vec<_>>(), want);
    let none = log(&s, "shop", CHECKOUT_OK, "container=checkout&previous=true").await;
    assert_eq!(
        none.status(400, "BadRequest"),
        format!("previous terminated container \"checkout\" in pod \"{CHECKOUT_OK}\" not found")
    );
}

fn find<'a>(items: &'a [Value], reason: &str) -> &'a Value {
    items
        .iter()
        .find(|e| e["reason"] == reason)
        .unwrap_or_else(|| panic!("no {reason} event"))
}

#[tokio::test]
async fn events_k8s_io_view_converts_core_events() {
    let s = standin().await;
    let core = get(&s, "/api/v1/namespaces/shop/events").await.json();
    let v1 = get(&s, "/apis/events.k8s.io/v1/namespaces/shop/events")
        .await
        .json();
    assert_eq!(v1["kind"], "EventList");
    assert_eq!(v1["apiVersion"], "events.k8s.io/v1");
    let (core_items, items) = (
        core["items"].as_array().unwrap(),
        v1["items"].as_array().unwrap(),
    );
    assert_eq!(core_items.len(), items.len());

    let backoff = find(items, "BackOff");
    let legacy = find(core_items, "BackOff");
    assert_eq!(backoff["regarding"]["name"], CHECKOUT_CRASH);
    assert_eq!(
        backoff["regarding"]["fieldPath"],
        "spec.containers{checkout}"
    );
    assert_eq!(backoff["note"], legacy["message"]);
    assert_eq!(backoff["type"], "Warning");
    assert_eq!(backoff["reportingController"], "kubelet");
    assert_eq!(backoff["deprecatedCount"], 23);
    assert_eq!(
        backoff["deprecatedFirstTimestamp"],
        legacy["firstTimestamp"]
    );
    assert_eq!(backoff["deprecatedLastTimestamp"], legacy["lastTimestamp"]);
    assert_eq!(backoff["deprecatedSource"]["component"], "kubelet");
    assert_eq!(backoff["series"]["count"], 23);
    assert!(backoff.get("message").is_none() && backoff.get("involvedObject").is_none());

    let sched = find(items, "FailedScheduling");
    assert_eq!(sched["reportingController"], "default-scheduler");
    assert_eq!(sched["action"], "Scheduling");
    assert_eq!(sched["eventTime"], "2026-11-20T13:41:08.000000Z");
    assert_eq!(sched["series"]["count"], 14);
    let single = find(items, "SuccessfulCreate");
    assert!(single.get("series").is_none());
    let one = format!(
        "/apis/events.k8s.io/v1/namespaces/shop/events/{}",
        backoff["metadata"]["name"].as_str().unwrap()
    );
    assert_eq!(get(&s, &one).await.json()["kind"], "Event");
}

#[tokio::test]
async fn deny_rules_answer_403_with_the_authorizer_message() {
    let s = KubeStandin::builder(fixture())
        .deny(DenyRule::new("list", "pods").in_namespace("kube-system"))
        .deny(DenyRule::new("get", "pods/log"))
        .spawn()
        .await
        .unwrap();
    let denied = get(&s, "/api/v1/namespaces/kube-system/pods").await;
    assert_eq!(
        denied.status(403, "Forbidden"),
        format!(
            "pods is forbidden: User \"{USER}\" cannot list resource \"pods\" in API group \"\" in the namespace \"kube-system\""
        )
    );
    assert_eq!(denied.json()["details"]["kind"], "pods");
    let cluster = get(&s, "/api/v1/pods").await;
    assert!(
        cluster
            .status(403, "Forbidden")
            .ends_with("at the cluster scope")
    );
    assert_eq!(get(&s, "/api/v1/namespaces/shop/pods").await.code, 200);
    assert_eq!(
        get(&s, "/api/v1/namespaces/kube-system/pods/aws-node-8kq2f")
            .await
            .code,
        200
    );
    let logs = log(&s, "shop", "redis-0", "").await;
    assert_eq!(
        logs.status(403, "Forbidden"),
        format!(
            "pods \"redis-0\" is forbidden: User \"{USER}\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"shop\""
        )
    );
}

#[tokio::test]
async fn deny_file_in_the_bundle_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    let deny = "user: system:serviceaccount:ops:reader\ndeny:\n  - {verb: list, resource: deployments, group: apps, namespace: payments}\n";
    std::fs::write(dir.path().join("rbac-deny.yaml"), deny).unwrap();
    let s = KubeStandin::builder(dir.path()).spawn().await.unwrap();
    let reply = get(&s, "/apis/apps/v1/namespaces/payments/deployments").await;
    assert_eq!(
        reply.status(403, "Forbidden"),
        "deployments.apps is forbidden: User \"system:serviceaccount:ops:reader\" cannot list resource \"deployments\" in API group \"apps\" in the namespace \"payments\""
    );
    assert_eq!(
        get(&s, "/apis/apps/v1/namespaces/shop/deployments")
            .await
            .code,
        200
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn a_required_token_is_checked_and_requests_are_recorded() {
    let s = KubeStandin::builder(fixture())
        .require_token("s3cret-token")
        .spawn()
        .await
        .unwrap();
    get(&s, "/api/v1/pods").await.status(401, "Unauthorized");
    let wrong = fetch(&s, "/api/v1/pods", &[("authorization", "Bearer nope")]).await;
    wrong.status(401, "Unauthorized");
    let good = [("authorization", "Bearer s3cret-token")];
    assert_eq!(fetch(&s, "/api/v1/pods?limit=1", &good).await.code, 200);

    let recorded = s.requests();
    assert_eq!(recorded.len(), 3);
    assert_eq!(recorded[0].authorization, None);
    assert_eq!(recorded[0].status, 401);
    assert_eq!(recorded[2].path, "/api/v1/pods?limit=1");
    assert_eq!(recorded[2].method, "GET");
    assert_eq!(
        recorded[2].authorization.as_deref(),
        Some("Bearer s3cret-token")
    );
    let served: Value = get(&s, "/_standin/requests").await.json();
    assert_eq!(
        served.as_array().unwrap().len(),
        3,
        "the endpoint needs no token"
    );
    s.clear_requests();
    assert!(s.requests().is_empty());

    let eks = KubeStandin::builder(fixture())
        .require_token_prefix("k8s-aws-v1.")
        .spawn()
        .await
        .unwrap();
    let iam = [(
        "authorization",
        "Bearer k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9uPUdldENhbGxlcklkZW50aXR5",
    )];
    assert_eq!(fetch(&eks, "/version", &iam).await.code, 200);
    let prefix = eks.requests()[0].authorization.clone().unwrap();
    assert!(prefix.starts_with("Bearer k8s-aws-v1.") && prefix.len() < iam[0].1.len());
    get(&eks, "/version").await.status(401, "Unauthorized");
}

#[tokio::test]
async fn a_broken_bundle_fails_to_spawn_with_the_file_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    let bad =
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\n  labels:\n    enabled: true\n";
    std::fs::write(dir.path().join("objects/shop/Broken.yaml"), bad).unwrap();
    let err = KubeStandin::builder(dir.path())
        .spawn()
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("Broken.yaml"), "{err}");
    let missing = KubeStandin::builder(dir.path().join("nope"))
        .spawn()
        .await
        .err()
        .unwrap();
    assert!(missing.to_string().contains("manifest.yaml"), "{missing}");
}
