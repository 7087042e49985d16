//! Output limits of `prometheus_query` at scale: 500 series x 1,440 points must come back
//! within the default response budget with every series either summarised or counted in an
//! explicit truncation that says how to get the rest.
//!
//! The Prometheus here is an HTTP stand-in written in this test: an axum server on 127.0.0.1:0
//! that answers `/api/v1/query_range` with the real matrix shape Prometheus uses.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use eks_ops_mcp::config::{GlobalArgs, Settings};
use eks_ops_mcp::tools::Context;
use serde_json::{Value, json};

mod common;
use common::call;

const SERIES: usize = 500;
const POINTS: usize = 1_440;
const DEFAULT_BUDGET: usize = 24_000;

/// A matrix of `SERIES` x `POINTS` samples from the request's `start` at its `step`.
fn matrix(start: f64, step: f64) -> Value {
    let result: Vec<Value> = (0..SERIES)
        .map(|i| {
            let values: Vec<Value> = (0..POINTS)
                .map(|t| {
                    let v = ((t * 7 + i) % 97) as f64 / 4.0;
                    json!([start + t as f64 * step, v.to_string()])
                })
                .collect();
            json!({
                "metric": {"__name__": "container_cpu_usage", "namespace": "shop", "pod": format!("checkout-{i:03}")},
                "values": values
            })
        })
        .collect();
    json!({"status": "success", "data": {"resultType": "matrix", "result": result}})
}

async fn query_range(Query(q): Query<HashMap<String, String>>) -> axum::Json<Value> {
    let num = |k: &str, d: f64| q.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
    axum::Json(matrix(num("start", 1.763e9), num("step", 60.0)))
}

/// Starts the Prometheus stand-in and returns its base URL.
async fn prometheus_stand_in() -> String {
    let app = Router::new().route("/api/v1/query_range", get(query_range));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_series_of_a_day_fit_the_default_budget() {
    let url = prometheus_stand_in().await;
    let settings = Settings::resolve(&GlobalArgs {
        prometheus_url: Some(url),
        ..Default::default()
    })
    .unwrap();
    let ctx = Context::new(Arc::new(settings));
    let args =
        json!({"query": "container_cpu_usage{namespace=\"shop\"}", "since": "24h", "step": 60});
    let r = call(&ctx, "prometheus_query", args).await;
    assert!(!r.is_error, "{}", r.text);

    let data_bytes = serde_json::to_vec(&r.data).unwrap().len();
    assert!(
        data_bytes <= DEFAULT_BUDGET,
        "structured {data_bytes} bytes"
    );
    assert!(
        r.text.len() <= DEFAULT_BUDGET,
        "text {} bytes",
        r.text.len()
    );
    assert!(
        !r.text.contains("output cut"),
        "the tool, not the safety net, must fit the budget: {}",
        r.text
    );

    let series = r.data["series"].as_array().unwrap();
    assert!(!series.is_empty());
    for s in series {
        assert_eq!(
            s["summary"]["points"], POINTS,
            "a summary covers all points"
        );
        assert!(s["summary"]["mean"].as_f64().is_some());
        assert!(s["points"].as_array().unwrap().len() >= 2);
    }
    let t = &r.data["truncated"];
    assert_eq!(t["total"], SERIES, "{t}");
    assert_eq!(t["returned"], series.len(), "{t}");
    assert!(t["how_to_get_more"].as_str().unwrap().contains("sum by"));
    assert!(
        r.text
            .starts_with(&format!("{SERIES} series from Prometheus"))
    );
    assert!(
        r.text
            .contains(&format!("[{} of {SERIES} series shown;", series.len())),
        "{}",
        r.text
    );
    eprintln!(
        "{} of {SERIES} series summarised, {data_bytes} structured bytes, {} text bytes",
        series.len(),
        r.text.len()
    );
}
