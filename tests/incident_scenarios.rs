//! The incident tools on the four snapshot bundles, in-process. Each bundle's `expected.yaml`
//! names the true root cause and the symptoms; `incident_investigate` on the first symptom must
//! rank that cause first and cite evidence of its fault kind, within the default budget.

use std::path::PathBuf;
use std::sync::Arc;

use eks_ops_mcp::config::{GlobalArgs, Settings};
use eks_ops_mcp::tools::Context;
use serde_json::{Value, json};

mod common;
use common::call;

fn bundle(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/snapshots")
        .join(name)
}

fn snapshot(name: &str) -> Arc<Context> {
    let settings = Settings::resolve(&GlobalArgs {
        snapshot: Some(bundle(name).display().to_string()),
        ..Default::default()
    })
    .unwrap();
    Context::new(Arc::new(settings))
}

fn expected(name: &str) -> Value {
    let text = std::fs::read_to_string(bundle(name).join("expected.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

/// The component name the tool uses for an expected.yaml component.
fn component_name(c: &Value) -> String {
    let name = c["name"].as_str().unwrap();
    match c["kind"].as_str().unwrap() {
        "ConfigMap" => format!("configmap/{name}"),
        "Subnet" => format!("subnet/{name}"),
        "Node" => format!("node/{name}"),
        _ => name.to_string(),
    }
}

/// Evidence signals that show each fault kind.
fn fault_signals(kind: &str) -> &'static [&'static str] {
    match kind {
        "memory-leak" => &["memory_working_set_bytes", "OOMKilled"],
        "ip-exhaustion" => &["FailedCreatePodSandBox", "InsufficientFreeAddresses"],
        "noisy-neighbour" => &["cpu_usage_cores"],
        "missing-config-key" => &["missing-config-key"],
        other => panic!("no evidence signals known for fault kind {other}"),
    }
}

async fn check_bundle(name: &str, since: Option<&str>) {
    let exp = expected(name);
    let symptom = exp["symptoms"].as_sequence_first();
    let target = format!(
        "{}/{}",
        symptom["kind"].as_str().unwrap(),
        symptom["name"].as_str().unwrap()
    );
    let mut args = json!({"target": target, "namespace": symptom["namespace"]});
    if let Some(since) = since {
        args["since"] = json!(since);
    }
    let answer = call(&snapshot(name), "incident_investigate", args).await;
    assert!(!answer.is_error, "{name}: {}", answer.text);
    let hyps = answer.data["hypotheses"].as_array().unwrap();
    let ranked: Vec<(&str, f64)> = hyps
        .iter()
        .map(|h| {
            (
                h["component"].as_str().unwrap(),
                h["confidence"].as_f64().unwrap(),
            )
        })
        .collect();
    eprintln!("{name} (since {since:?}): target {target}; ranking {ranked:?}");
    let root = component_name(&exp["root_cause"]["component"]);
    assert_eq!(
        ranked.first().map(|r| r.0),
        Some(root.as_str()),
        "{name}: expected {root} first\n{}",
        answer.text
    );
    let signals: Vec<&str> = hyps[0]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["signal"].as_str().unwrap())
        .collect();
    let wanted = fault_signals(exp["root_cause"]["kind"].as_str().unwrap());
    assert!(
        signals.iter().any(|s| wanted.contains(s)),
        "{name}: top evidence {signals:?} cites none of {wanted:?}"
    );
    assert!(!hyps[0]["next_steps"].as_array().unwrap().is_empty());
    let bytes = serde_json::to_vec(&answer.data).unwrap().len();
    eprintln!("{name}: {bytes} bytes of structured output");
    assert!(
        bytes <= 24_000,
        "{name}: {bytes} bytes exceed the default budget"
    );
    assert!(
        answer.text.contains("--- begin cluster data"),
        "{name}: summary must fence cluster data"
    );
}

trait FirstOf {
    fn as_sequence_first(&self) -> &Value;
}

impl FirstOf for Value {
    fn as_sequence_first(&self) -> &Value {
        self.as_array()
            .and_then(|a| a.first())
            .expect("a non-empty list")
    }
}

#[tokio::test]
async fn checkout_oom_ranks_checkout_first() {
    // The whole two-hour capture, then the default last hour.
    check_bundle("checkout-oom", Some("2h")).await;
    check_bundle("checkout-oom", None).await;
}

#[tokio::test]
async fn cni_ip_exhaustion_ranks_the_subnet_first() {
    // The whole two-hour capture, then the default last hour.
    check_bundle("cni-ip-exhaustion", Some("2h")).await;
    check_bundle("cni-ip-exhaustion", None).await;
}

#[tokio::test]
async fn noisy_neighbour_ranks_the_transcoder_first() {
    // The whole two-hour capture, then the default last hour.
    check_bundle("noisy-neighbour", Some("2h")).await;
    check_bundle("noisy-neighbour", None).await;
}

#[tokio::test]
async fn missing_configmap_key_ranks_the_configmap_first() {
    // The whole two-hour capture, then the default last hour.
    check_bundle("missing-configmap-key", Some("2h")).await;
    check_bundle("missing-configmap-key", None).await;
}

#[tokio::test]
async fn investigate_rejects_a_bad_target() {
    let answer = call(
        &snapshot("checkout-oom"),
        "incident_investigate",
        json!({"target": "checkout", "namespace": "shop"}),
    )
    .await;
    assert!(answer.is_error);
    assert!(answer.text.contains("target"), "{}", answer.text);
}

#[tokio::test]
async fn timeline_orders_the_rollout_before_the_oom_kills() {
    let answer = call(
        &snapshot("checkout-oom"),
        "incident_timeline",
        json!({"namespace": "shop", "since": "2h"}),
    )
    .await;
    assert!(!answer.is_error, "{}", answer.text);
    let items = answer.data["items"].as_array().unwrap();
    let times: Vec<&str> = items.iter().map(|i| i["time"].as_str().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "not chronological: {times:?}"
    );
    let first = |cat: &str, component: &str, text: &str| {
        items
            .iter()
            .position(|i| {
                i["category"] == cat
                    && i["component"] == component
                    && i["text"].as_str().unwrap().contains(text)
            })
            .unwrap_or_else(|| {
                panic!(
                    "no {cat} of {component} mentioning {text}:\n{}",
                    answer.text
                )
            })
    };
    let rollout = first("rollout", "checkout", "checkout-xd5rxdxd4");
    let backoff = first("event", "checkout", "BackOff");
    assert!(rollout < backoff);
    assert!(
        items
            .iter()
            .any(|i| i["category"] == "anomaly" && i["component"] == "checkout"),
        "{}",
        answer.text
    );
    assert!(serde_json::to_vec(&answer.data).unwrap().len() <= 24_000);
}

#[tokio::test]
async fn correlate_finds_checkout_errors_leading_frontend_errors() {
    let args = json!({"namespace": "shop", "signal": "error_rate", "labels": {"service": "frontend"}, "since": "2h", "max_lag": "10m"});
    let answer = call(&snapshot("checkout-oom"), "incident_correlate", args).await;
    assert!(!answer.is_error, "{}", answer.text);
    eprintln!("{}", answer.text);
    let list = answer.data["correlations"].as_array().unwrap();
    assert!(!list.is_empty());
    let checkout = list
        .iter()
        .find(|c| c["component"] == "checkout" && c["signal"] == "error_rate")
        .unwrap_or_else(|| panic!("checkout error_rate missing:\n{}", answer.text));
    assert_eq!(checkout["sign"], 1);
    assert_eq!(checkout["significant"], true);
    assert!(
        list.iter()
            .all(|c| !(c["component"] == "frontend" && c["signal"] == "error_rate")),
        "the symptom must not correlate with itself"
    );
}

#[tokio::test]
async fn correlate_needs_a_symptom() {
    let answer = call(
        &snapshot("checkout-oom"),
        "incident_correlate",
        json!({"namespace": "shop"}),
    )
    .await;
    assert!(answer.is_error);
    assert!(answer.text.contains("signal"), "{}", answer.text);
}

#[tokio::test]
async fn dependency_graph_comes_from_the_best_source() {
    let ctx = snapshot("checkout-oom");
    let args = json!({"target": "Service/frontend", "namespace": "shop"});
    let guessed = call(&ctx, "incident_investigate", args).await;
    assert!(!guessed.is_error, "{}", guessed.text);
    let hood = &guessed.data["neighbourhood"];
    // No X-Ray copy and no mesh metrics in this bundle: edges come from pod env.
    assert_eq!(hood["graph_source"], "env", "{hood}");
    let edges = hood["dependencies"].as_array().unwrap();
    assert!(
        edges.contains(&json!({"caller": "frontend", "callee": "checkout"})),
        "{hood}"
    );
    // Caller edges win, and Service names map onto the workloads they select.
    let given = call(
        &ctx,
        "incident_investigate",
        json!({"target": "Service/frontend", "namespace": "shop",
               "dependencies": [{"caller": "frontend", "callee": "cart"}]}),
    )
    .await;
    let hood = &given.data["neighbourhood"];
    assert_eq!(hood["graph_source"], "given", "{hood}");
    assert_eq!(
        hood["dependencies"],
        json!([{"caller": "frontend", "callee": "cart"}])
    );
    assert_eq!(given.data["hypotheses"][0]["component"], "checkout");
}

#[tokio::test]
async fn alarms_join_the_timeline_on_the_component_they_watch() {
    let ctx = snapshot("checkout-oom");
    let answer = call(&ctx, "incident_timeline", json!({"namespace": "shop"})).await;
    assert!(!answer.is_error, "{}", answer.text);
    let alarms: Vec<&Value> = answer.data["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["category"] == "alarm")
        .collect();
    assert!(alarms.len() >= 2, "{}", answer.text);
    let checkout = alarms
        .iter()
        .find(|a| a["text"].as_str().unwrap().contains("container_restarts"))
        .expect("the checkout restart alarm");
    assert_eq!(checkout["component"], "checkout");
    // A load balancer alarm has no pod dimension; its name says which Service it watches.
    let lb = alarms
        .iter()
        .find(|a| a["text"].as_str().unwrap().contains("5xx"))
        .expect("the frontend 5xx alarm");
    assert_eq!(lb["component"], "frontend");
    assert!(
        !answer.data["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("alarm")),
        "{}",
        answer.data["notes"]
    );
}
