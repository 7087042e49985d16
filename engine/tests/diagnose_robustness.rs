//! Diagnosis must not panic on what a real API server, a hand-edited snapshot or a half-written
//! object can hold: missing specs and statuses, junk quantities, negative counts, timestamps
//! far in the future, and `now` at either end of time.
#![cfg(feature = "k8s")]

use eks_ops_engine::diagnose::{ClusterView, DiagnoseOptions, Scope, diagnose, parse_quantity};
use serde_json::{Value, json};

fn degenerate_objects() -> Vec<Value> {
    let far = "9999-01-01T00:00:00Z";
    let old = "1970-01-01T00:00:00Z";
    vec![
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1", "namespace": "x"}, "status": {"containerStatuses": []}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p2", "namespace": "x", "creationTimestamp": far},
            "spec": {"containers": []},
            "status": {"phase": "Pending", "startTime": far, "containerStatuses": [
                {"name": "a", "image": "", "imageID": "", "ready": false, "restartCount": -7,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                {"name": "b", "image": "", "imageID": "", "ready": false, "restartCount": 2147483647,
                 "state": {"terminated": {"exitCode": -1, "reason": "OOMKilled"}},
                 "lastState": {"terminated": {"exitCode": 255, "signal": -3, "reason": "", "finishedAt": old}}},
                {"name": "c", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"waiting": {"reason": "ImagePullBackOff", "message": ""}}},
                {"name": "d", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"waiting": {"reason": "CreateContainerConfigError", "message": "couldn't find key  in Secret /"}}}]}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p3", "namespace": "x"},
            "status": {"phase": "Failed", "reason": "Evicted"}}),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p4", "namespace": "x", "creationTimestamp": old},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "message": "0/ nodes are available: , , ."}]}}),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2"}, "spec": {"providerID": "aws:///"},
            "status": {"conditions": [{"type": "Ready", "status": "Weird"}, {"type": "DiskPressure", "status": "True", "lastTransitionTime": far}]}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "x"},
            "spec": {"replicas": -3, "selector": {}}, "status": {"conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d2", "namespace": "x"},
            "spec": {"replicas": 2147483647, "selector": {}}, "status": {"availableReplicas": -1}}),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s", "namespace": "x"}, "spec": {"selector": {}, "template": {}, "serviceName": ""}}),
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ds", "namespace": "x"}, "spec": {"selector": {}, "template": {}},
            "status": {"currentNumberScheduled": 0, "desiredNumberScheduled": 5, "numberMisscheduled": 0, "numberReady": -2}}),
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "x"},
            "status": {"conditions": [{"type": "Failed", "status": "True"}]}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "x"}, "spec": {"selector": {}}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc2", "namespace": "x"}, "spec": {"selector": {"app": "none"}}}),
        json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "svc2", "namespace": "x"}, "subsets": [{}]}),
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "namespace": "x"},
            "spec": {"maxReplicas": 0, "scaleTargetRef": {"kind": "", "name": ""}},
            "status": {"desiredReplicas": -1, "currentReplicas": 0, "conditions": [{"type": "ScalingActive", "status": "False"}],
                       "currentMetrics": [{"type": "Resource"}]}}),
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "x"}, "status": {"phase": "Lost"}}),
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c2", "namespace": "x"}, "status": {"phase": "Pending"}}),
        json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "x"},
            "status": {"hard": {"pods": "abc", "cpu": "1e999", "memory": "-5", "a": "0", "b": "1", "c": "1E"},
                       "used": {"pods": "3", "cpu": "2", "memory": "1Gi", "a": "5", "b": "NaN", "c": "1E"}}}),
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "involvedObject": {}}),
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e2", "namespace": "x"}, "count": -9,
            "involvedObject": {"kind": "Pod", "name": "p2", "namespace": "x", "fieldPath": "spec.containers{"},
            "reason": "Unhealthy", "message": "Liveness probe failed: ", "lastTimestamp": far}),
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e3", "namespace": "x"}, "count": 2147483647,
            "involvedObject": {"kind": "ReplicaSet", "name": "r", "namespace": "x"},
            "reason": "FailedCreate", "message": "exceeded quota: , requested: , used: , limited: "}),
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e4", "namespace": "x"},
            "involvedObject": {"kind": "Pod", "name": "p2", "namespace": "x"},
            "reason": "FailedCreatePodSandBox", "message": "failed to assign an IP address to container"}),
    ]
}

#[test]
fn degenerate_objects_never_panic() {
    let mut view = ClusterView::default();
    for object in degenerate_objects() {
        view.add_json(object).unwrap();
    }
    let scopes = [
        Scope::Cluster,
        Scope::Namespace {
            namespace: "x".into(),
        },
        Scope::Namespace {
            namespace: String::new(),
        },
        Scope::Workload {
            namespace: "x".into(),
            kind: "deployment".into(),
            name: "d".into(),
        },
        Scope::Workload {
            namespace: "x".into(),
            kind: "Service".into(),
            name: "svc".into(),
        },
        Scope::Workload {
            namespace: "".into(),
            kind: "".into(),
            name: "".into(),
        },
    ];
    for now in [i64::MIN, -1, 0, 1_795_185_000_000, i64::MAX] {
        let mut options = DiagnoseOptions::at(now);
        for window in [i64::MIN, 0, i64::MAX] {
            options.event_window_ms = window;
            options.pending_grace_ms = window;
            options.quota_warn_ratio = f64::NAN;
            for scope in &scopes {
                let result = diagnose(&view, scope, &options);
                assert_eq!(
                    result.by_severity.values().sum::<usize>(),
                    result.findings.len()
                );
                serde_json::to_string(&result).unwrap();
            }
        }
    }
}

#[test]
fn an_empty_view_has_no_findings_and_says_why() {
    let result = diagnose(
        &ClusterView::default(),
        &Scope::Cluster,
        &DiagnoseOptions::at(0),
    );
    assert!(result.findings.is_empty() && !result.has_problems());
    assert!(result.notes.iter().any(|n| n.contains("no events")));
}

#[test]
fn bad_objects_are_reported_not_swallowed() {
    let mut view = ClusterView::default();
    let wrong_version = json!({"apiVersion": "v2", "kind": "Pod", "metadata": {"name": "p"}});
    assert_eq!(
        view.add_json(wrong_version).unwrap(),
        0,
        "unknown apiVersion is skipped"
    );
    let wrong_shape = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "status": {"conditions": "Ready"}}]});
    assert!(
        view.add_json(wrong_shape)
            .unwrap_err()
            .to_string()
            .contains("v1/Node n")
    );
    assert_eq!(view.add_json(json!(null)).unwrap(), 0);
}

#[test]
fn quantities_never_turn_into_infinities() {
    for text in ["1e308k", "9Ei", "-1e308M"] {
        assert!(parse_quantity(text).is_none_or(f64::is_finite), "{text}");
    }
}

#[test]
fn events_of_an_earlier_pod_with_the_same_name_are_not_attributed() {
    let findings = |event_uid: &str| {
        let mut view = ClusterView::default();
        view.add_json(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "orders-db-0", "namespace": "shop", "uid": "new-uid"},
            "status": {"phase": "Running", "containerStatuses": [{"name": "postgres", "image": "postgres:16",
                "imageID": "", "ready": false, "restartCount": 0, "state": {"running": {}}}]}}))
            .unwrap();
        view.add_json(json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "namespace": "shop"},
            "involvedObject": {"kind": "Pod", "name": "orders-db-0", "namespace": "shop", "uid": event_uid},
            "reason": "Unhealthy", "message": "Readiness probe failed: connection refused", "count": 40}))
            .unwrap();
        diagnose(&view, &Scope::Cluster, &DiagnoseOptions::at(0))
            .findings
            .len()
    };
    assert_eq!(findings("new-uid"), 1);
    assert_eq!(findings("old-uid"), 0);
}
