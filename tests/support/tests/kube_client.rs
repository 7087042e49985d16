//! The Kubernetes API stand-in driven by a real kube-rs client, configured from the kubeconfig the
//! stand-in writes: typed lists and gets, pagination, logs, discovery, and error mapping.

use std::path::{Path, PathBuf};

use eks_ops_testbed::kube::{DenyRule, KubeStandin};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use k8s_openapi::api::events::v1::Event as EventV1;
use kube::api::{Api, DynamicObject, ListParams, LogParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::{Discovery, verbs};
use kube::{Client, Config, ResourceExt};

const CHECKOUT_CRASH: &str = "checkout-5d8f7b9c4-x7k2p";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/kube-cluster")
}

/// A client for `context` of the kubeconfig the stand-in writes.
async fn client(s: &KubeStandin, contexts: &[&str], context: &str) -> Client {
    // Both rustls backends are linked in; an error only means another test installed it first.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    s.write_kubeconfig(&path, contexts).unwrap();
    let kubeconfig = Kubeconfig::read_from(&path).unwrap();
    let options = KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

async fn standin_and_client() -> (KubeStandin, Client) {
    let s = KubeStandin::builder(fixture()).spawn().await.unwrap();
    let c = client(&s, &[], "fixture-cluster").await;
    (s, c)
}

#[track_caller]
fn api_error(result: Result<impl std::fmt::Debug, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn typed_lists_and_gets() {
    let (_s, client) = standin_and_client().await;
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(version.major, "1");

    let pods: Api<Pod> = Api::namespaced(client.clone(), "shop");
    let checkout = pods
        .list(&ListParams::default().labels("app=checkout"))
        .await
        .unwrap();
    let names: Vec<String> = checkout.iter().map(|p| p.name_any()).collect();
    assert_eq!(names, ["checkout-5d8f7b9c4-9xk2p", CHECKOUT_CRASH]);
    let crash = pods.get(CHECKOUT_CRASH).await.unwrap();
    let status = crash.status.unwrap().container_statuses.unwrap();
    let waiting = status[0].state.as_ref().unwrap().waiting.as_ref().unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));

    let nodes: Api<Node> = Api::all(client.clone());
    let tainted: Vec<String> = nodes
        .list(&ListParams::default())
        .await
        .unwrap()
        .iter()
        .filter(|n| n.spec.as_ref().and_then(|s| s.taints.as_ref()).is_some())
        .map(|n| n.name_any())
        .collect();
    assert_eq!(tainted, ["ip-10-0-3-67.eu-west-1.compute.internal"]);

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "shop");
    let dep = deployments.get("checkout").await.unwrap();
    assert!(!dep.metadata.managed_fields.unwrap_or_default().is_empty());
    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), "shop");
    let revisions = replicasets
        .list(&ListParams::default().labels("app=checkout"))
        .await
        .unwrap();
    let mut images: Vec<(String, String)> = revisions
        .iter()
        .map(|rs| {
            let revision = rs.annotations()["deployment.kubernetes.io/revision"].clone();
            let spec = rs.spec.template.as_ref().unwrap();
            let image = spec.spec.as_ref().unwrap().containers[0]
                .image
                .clone()
                .unwrap();
            (revision, image)
        })
        .collect();
    images.sort();
    assert!(images[0].1.ends_with(":v2.3.1") && images[1].1.ends_with(":v2.4.0"));

    let missing = api_error(pods.get("nope").await);
    assert_eq!(missing.code, 404);
    assert_eq!(missing.reason, "NotFound");
}

#[tokio::test]
async fn paginated_lists_and_expired_tokens() {
    let (s, client) = standin_and_client().await;
    let pods: Api<Pod> = Api::all(client);
    let mut names = Vec::new();
    let mut params = ListParams::default().limit(4);
    for _ in 0..10 {
        let page = pods.list(&params).await.unwrap();
        names.extend(page.iter().map(|p| p.name_any()));
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => break,
        }
    }
    assert_eq!(names.len(), 14);
    let first = pods.list(&ListParams::default().limit(4)).await.unwrap();
    let token = first.metadata.continue_.unwrap();
    s.expire_continue_tokens();
    let expired = api_error(
        pods.list(&ListParams::default().limit(4).continue_token(&token))
            .await,
    );
    assert_eq!((expired.code, expired.reason.as_str()), (410, "Expired"));
}

#[tokio::test]
async fn field_selected_events_in_both_apis() {
    let (_s, client) = standin_and_client().await;
    let core: Api<Event> = Api::namespaced(client.clone(), "shop");
    let selector = format!("involvedObject.name={CHECKOUT_CRASH},reason=BackOff");
    let backoff = core
        .list(&ListParams::default().fields(&selector))
        .await
        .unwrap();
    assert_eq!(backoff.items.len(), 1);
    assert_eq!(backoff.items[0].count, Some(23));

    let v1: Api<EventV1> = Api::all(client);
    let selector = "reason=FailedScheduling,type=Warning";
    let sched = v1
        .list(&ListParams::default().fields(selector))
        .await
        .unwrap();
    let event = &sched.items[0];
    assert_eq!(
        event.regarding.as_ref().unwrap().kind.as_deref(),
        Some("Pod")
    );
    assert_eq!(event.series.as_ref().unwrap().count, 14);
    assert!(
        event
            .note
            .as_ref()
            .unwrap()
            .starts_with("0/3 nodes are available")
    );
}

#[tokio::test]
async fn pod_logs_through_the_client() {
    let (_s, client) = standin_and_client().await;
    let pods: Api<Pod> = Api::namespaced(client, "shop");
    let params = LogParams {
        container: Some("checkout".into()),
        tail_lines: Some(2),
        timestamps: true,
        ..Default::default()
    };
    let tail = pods.logs(CHECKOUT_CRASH, &params).await.unwrap();
    assert_eq!(tail.lines().count(), 2);
    assert!(tail.starts_with("2026-11-20T14:"));

    let previous = LogParams {
        container: Some("checkout".into()),
        previous: true,
        since_time: Some("2026-11-20T14:10:00Z".parse().unwrap()),
        ..Default::default()
    };
    let old = pods.logs(CHECKOUT_CRASH, &previous).await.unwrap();
    assert!(old.lines().count() > 3);
    assert!(old.contains("approaching GOMEMLIMIT"));

    let ambiguous = api_error(pods.logs(CHECKOUT_CRASH, &LogParams::default()).await);
    assert_eq!(ambiguous.code, 400);
    assert!(
        ambiguous
            .message
            .contains("choose one of: [checkout log-shipper]")
    );
}

#[tokio::test]
async fn discovery_finds_the_custom_resources() {
    let (_s, client) = standin_and_client().await;
    for discovery in [
        Discovery::new(client.clone()).run().await.unwrap(),
        Discovery::new(client.clone())
            .run_aggregated()
            .await
            .unwrap(),
    ] {
        let (resource, caps) = discovery
            .groups()
            .flat_map(|g| g.recommended_resources())
            .find(|(r, _)| r.kind == "NodePool")
            .expect("NodePool discovered");
        assert!(caps.supports_operation(verbs::LIST));
        assert_eq!(resource.plural, "nodepools");
        let pools: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
        let list = pools.list(&ListParams::default()).await.unwrap();
        assert_eq!(list.items[0].name_any(), "batch");
        assert!(discovery.has_group("apps") && discovery.has_group("events.k8s.io"));
    }
}

#[tokio::test]
async fn tokens_contexts_and_forbidden_errors() {
    let s = KubeStandin::builder(fixture())
        .require_token_prefix("k8s-aws-v1.")
        .deny(DenyRule::new("list", "pods").in_namespace("kube-system"))
        .spawn()
        .await
        .unwrap();
    let client = client(&s, &["prod", "staging"], "staging").await;
    let shop: Api<Pod> = Api::namespaced(client.clone(), "shop");
    assert_eq!(
        shop.list(&ListParams::default()).await.unwrap().items.len(),
        6
    );
    let system: Api<Pod> = Api::namespaced(client, "kube-system");
    let forbidden = api_error(system.list(&ListParams::default()).await);
    assert_eq!(
        (forbidden.code, forbidden.reason.as_str()),
        (403, "Forbidden")
    );
    assert!(forbidden.message.contains("cannot list resource \"pods\""));
    let requests = s.requests();
    assert!(requests.iter().all(|r| {
        r.authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Bearer k8s-aws-v1."))
    }));
}
