//! `eks_list_addons` and `eks_get_insights`: live through the real binary against moto behind the
//! test gateway, and from the bundled snapshots. moto has clusters but no add-ons or insights, so
//! the gateway's HTTP stand-in answers ListAddons, DescribeAddon, DescribeAddonVersions,
//! ListInsights and DescribeInsight from seeded state on the real REST paths.

use std::sync::Arc;

use eks_ops_mcp::config::{GlobalArgs, Settings};
use eks_ops_mcp::tools::Context;
use eks_ops_testbed::aws::SeedKind;
use serde_json::{Value, json};

mod common;
use common::{call, call_cli, gateway_env, gateway_sdk, moto_and_gateway};

fn builtin(name: &str) -> Arc<Context> {
    let settings = Settings::resolve(&GlobalArgs {
        snapshot: Some(format!("builtin:{name}")),
        ..Default::default()
    })
    .unwrap();
    Context::new(Arc::new(settings))
}

fn row<'a>(rows: &'a Value, key: &str, name: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == name)
        .unwrap_or_else(|| panic!("no {name} in {rows}"))
}

#[tokio::test]
async fn addons_and_insights_from_every_bundle() {
    for bundle in [
        "checkout-oom",
        "cni-ip-exhaustion",
        "missing-configmap-key",
        "noisy-neighbour",
    ] {
        let ctx = builtin(bundle);
        let a = call(&ctx, "eks_list_addons", json!({})).await;
        assert!(!a.is_error, "{bundle}: {}", a.text);
        assert_eq!(a.data["kubernetes_version"], "1.33");
        let addons = &a.data["addons"];
        assert_eq!(addons.as_array().unwrap().len(), 6, "{}", a.text);
        let cni = row(addons, "name", "vpc-cni");
        assert_eq!(cni["update_available"], "v1.20.5-eksbuild.1", "{}", a.text);
        assert_eq!(cni["default_version"], "v1.20.4-eksbuild.1");
        // Only 1.33-compatible versions count: kube-proxy's 1.34 build is not an update here.
        let proxy = row(addons, "name", "kube-proxy");
        assert_eq!(
            proxy["update_available"], "v1.33.5-eksbuild.2",
            "{}",
            a.text
        );
        assert!(
            row(addons, "name", "eks-pod-identity-agent")
                .get("update_available")
                .is_none()
        );

        let i = call(&ctx, "eks_get_insights", json!({})).await;
        assert!(!i.is_error, "{bundle}: {}", i.text);
        assert_eq!(
            i.data["status_counts"],
            json!({"PASSING": 3, "WARNING": 1}),
            "{}",
            i.text
        );
        let first = &i.data["insights"][0];
        assert_eq!(first["name"], "Amazon EKS add-on version compatibility");
        assert_eq!(first["kubernetes_version"], "1.34");
        assert!(
            i.text.contains("kube-proxy v1.33.3-eksbuild.6"),
            "{}",
            i.text
        );
        let warn = call(&ctx, "eks_get_insights", json!({"statuses": ["warning"]})).await;
        assert_eq!(
            warn.data["insights"].as_array().unwrap().len(),
            1,
            "{}",
            warn.text
        );
    }
    let bad = call(
        &builtin("checkout-oom"),
        "eks_get_insights",
        json!({"statuses": ["RED"]}),
    )
    .await;
    assert!(
        bad.is_error && bad.text.contains("statuses"),
        "{}",
        bad.text
    );
    let other = call(
        &builtin("checkout-oom"),
        "eks_list_addons",
        json!({"cluster": "nope"}),
    )
    .await;
    assert!(
        other.is_error && other.text.contains("shop-prod"),
        "{}",
        other.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addons_and_insights_live_from_moto_and_the_gateway_stand_in() {
    let (_moto, gateway) = moto_and_gateway().await;
    let endpoint = gateway.url();
    let config = gateway_sdk(&endpoint).await;
    aws_sdk_eks::Client::new(&config)
        .create_cluster()
        .name("shop-prod")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .version("1.33")
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    gateway
        .seed(
            SeedKind::Addons,
            &json!({
                "addons": [
                    {"clusterName": "shop-prod", "addonName": "vpc-cni", "addonVersion": "v1.19.6-eksbuild.7", "status": "ACTIVE", "health": {"issues": []}},
                    {"clusterName": "shop-prod", "addonName": "coredns", "addonVersion": "v1.12.4-eksbuild.1", "status": "DEGRADED",
                     "health": {"issues": [{"code": "InsufficientNumberOfReplicas", "message": "The add-on is unhealthy because it doesn't have the desired number of replicas.", "resourceIds": ["coredns"]}]}}
                ],
                "addonInfos": [
                    {"addonName": "vpc-cni", "type": "networking", "owner": "aws", "addonVersions": [
                        {"addonVersion": "v1.19.6-eksbuild.7", "compatibilities": [{"clusterVersion": "1.33", "defaultVersion": true}]},
                        {"addonVersion": "v1.20.4-eksbuild.1", "compatibilities": [{"clusterVersion": "1.33", "defaultVersion": false}]},
                        {"addonVersion": "v1.21.0-eksbuild.1", "compatibilities": [{"clusterVersion": "1.34", "defaultVersion": true}]}]},
                    {"addonName": "coredns", "type": "networking", "owner": "aws", "addonVersions": [
                        {"addonVersion": "v1.12.4-eksbuild.1", "compatibilities": [{"clusterVersion": "1.33", "defaultVersion": true}]}]}
                ]
            }),
        )
        .await
        .unwrap();
    gateway
        .seed(
            SeedKind::Insights,
            &json!({"clusterName": "shop-prod", "insights": [
                {"id": "11111111-2222-3333-4444-555555555555", "name": "Deprecated APIs removed in Kubernetes v1.34",
                 "category": "UPGRADE_READINESS", "kubernetesVersion": "1.34",
                 "insightStatus": {"status": "ERROR", "reason": "Deprecated API usage detected within last 30 days."},
                 "recommendation": "Update manifests and API clients to use newer Kubernetes APIs.",
                 "resources": [{"kubernetesResourceUri": "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas", "insightStatus": {"status": "ERROR"}}]},
                {"id": "66666666-7777-8888-9999-000000000000", "name": "Kubelet version skew",
                 "category": "UPGRADE_READINESS", "kubernetesVersion": "1.34",
                 "insightStatus": {"status": "PASSING", "reason": "Node kubelet versions match the control plane."}}
            ]}),
        )
        .await
        .unwrap();
    let env = gateway_env(&endpoint);
    let a = call_cli(
        &[],
        &env,
        "eks_list_addons",
        json!({"cluster": "shop-prod"}),
    )
    .await;
    assert!(!a.is_error, "{}", a.text);
    let addons = &a.data["addons"];
    let coredns = row(addons, "name", "coredns");
    assert_eq!(coredns["status"], "DEGRADED");
    assert!(
        coredns["issues"][0]
            .as_str()
            .unwrap()
            .starts_with("InsufficientNumberOfReplicas")
    );
    // The unhealthy add-on comes first; the update stays within the cluster's version.
    assert_eq!(addons[0]["name"], "coredns");
    assert_eq!(
        row(addons, "name", "vpc-cni")["update_available"],
        "v1.20.4-eksbuild.1"
    );
    // The only cluster is the default.
    let i = call_cli(&[], &env, "eks_get_insights", json!({})).await;
    assert!(!i.is_error, "{}", i.text);
    assert_eq!(i.data["insights"][0]["status"], "ERROR");
    assert_eq!(
        i.data["insights"][0]["resources"][0],
        "/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas (ERROR)"
    );
    assert_eq!(i.data["status_counts"], json!({"ERROR": 1, "PASSING": 1}));
    // A cluster moto does not know is moto's own ResourceNotFoundException.
    let missing = call_cli(&[], &env, "eks_list_addons", json!({"cluster": "nope"})).await;
    assert!(
        missing.is_error && missing.text.contains("not_found"),
        "{}",
        missing.text
    );
}
