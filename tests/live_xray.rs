//! X-Ray service graphs for root-cause ranking, through the latest AWS SDK against the test
//! gateway. moto's GetServiceGraph is a placeholder that always answers no services, so the
//! gateway's HTTP stand-in serves a seeded GetServiceGraph response (named as such here); the SDK
//! call, its REST JSON wire format and the error mapping are the real ones.

use chrono::{TimeZone, Utc};
use eks_ops_mcp::sources::service_graph::{LiveXray, TraceGraphSource};
use eks_ops_mcp::time::Window;
use eks_ops_testbed::aws::{Fault, SeedKind};
use serde_json::json;

mod common;
use common::moto_and_gateway;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xray_service_graph_becomes_caller_callee_edges() {
    let (_moto, gateway) = moto_and_gateway().await;
    let sdk = common::gateway_sdk(&gateway.url()).await;
    let window = Window {
        start: Utc.with_ymd_and_hms(2026, 11, 20, 13, 30, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2026, 11, 20, 14, 30, 0).unwrap(),
    };
    let xray = LiveXray::new(&sdk);

    // Unseeded, the stand-in answers like an account without traces: no edges, no error.
    assert!(xray.service_edges(window).await.unwrap().is_empty());

    gateway
        .seed(
            SeedKind::ServiceGraph,
            &json!({"Services": [
                {"ReferenceId": 0, "Name": "shop-web", "Type": "client", "Edges": [{"ReferenceId": 1}]},
                {"ReferenceId": 1, "Name": "frontend", "Type": "AWS::EKS::Container",
                 "Edges": [{"ReferenceId": 2}]},
                {"ReferenceId": 2, "Name": "checkout", "Type": "AWS::EKS::Container",
                 "Edges": [{"ReferenceId": 3}, {"ReferenceId": 4}]},
                {"ReferenceId": 3, "Name": "payments", "Type": "AWS::EKS::Container", "Edges": []},
                {"ReferenceId": 4, "Name": "orders-table", "Type": "AWS::DynamoDB::Table", "Edges": []}
            ]}),
        )
        .await
        .unwrap();
    let edges = xray.service_edges(window).await.unwrap();
    let pairs: Vec<(&str, &str)> = edges
        .iter()
        .map(|e| (e.caller.as_str(), e.callee.as_str()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("checkout", "orders-table"),
            ("checkout", "payments"),
            ("frontend", "checkout")
        ]
    );

    gateway
        .fault(&Fault::access_denied("xray", "GetServiceGraph"))
        .await
        .unwrap();
    let denied = xray.service_edges(window).await.unwrap_err().to_string();
    assert!(denied.contains("xray:GetServiceGraph"), "{denied}");
}
