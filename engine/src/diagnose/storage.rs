//! Rules over storage and quotas: PersistentVolumeClaims that are Pending or Lost, and
//! ResourceQuotas that are used up.

use super::context::*;
use super::finding::{Finding, ResourceRef, Rule, Severity};
use super::next;
use super::quantity::parse_quantity;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, ResourceQuota};

pub(super) fn check(ctx: &Ctx, out: &mut Vec<Finding>) {
    for pvc in &ctx.view.pvcs {
        out.extend(pvc_finding(ctx, pvc));
    }
    for quota in &ctx.view.resource_quotas {
        out.extend(quota_finding(ctx, quota));
    }
}

/// Pods in the claim's namespace that mount it.
fn users<'a>(ctx: &Ctx<'a>, namespace: &str, claim: &str) -> Vec<&'a Pod> {
    let mounts = |p: &Pod| {
        let volumes = p.spec.as_ref().and_then(|s| s.volumes.as_ref());
        (volumes.into_iter().flatten()).any(|v| {
            v.persistent_volume_claim
                .as_ref()
                .is_some_and(|c| c.claim_name == claim)
        })
    };
    ctx.pods_in(namespace)
        .iter()
        .copied()
        .filter(|p| mounts(p))
        .collect()
}

fn pvc_finding(ctx: &Ctx, pvc: &PersistentVolumeClaim) -> Option<Finding> {
    let phase = pvc
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("");
    let (namespace, claim) = (ns(&pvc.metadata), name(&pvc.metadata));
    let spec = pvc.spec.as_ref();
    let class = spec.and_then(|s| s.storage_class_name.as_deref());
    let size = spec
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"));
    let base = |rule, severity| {
        Finding::new(
            rule,
            severity,
            ResourceRef::namespaced("PersistentVolumeClaim", namespace, claim),
        )
        .field("status.phase", phase)
        .field(
            "spec.storageClassName",
            class.unwrap_or("not set (cluster default)"),
        )
        .field_opt(
            "spec.resources.requests.storage",
            size.map(|q| q.0.as_str()),
        )
    };
    let pods = users(ctx, namespace, claim);
    let pod_names: Vec<&str> = pods.iter().map(|p| name(&p.metadata)).collect();
    match phase {
        "Lost" => {
            let volume = spec
                .and_then(|s| s.volume_name.as_deref())
                .unwrap_or("unknown");
            base(Rule::PvcLost, Severity::Critical)
                .summary(format!("PersistentVolumeClaim lost its volume {volume}"))
                .field("spec.volumeName", volume)
                .derived("used_by", if pod_names.is_empty() { "no pod".into() } else { pod_names.join(", ") })
                .cause(format!("the PersistentVolume {volume} it was bound to was deleted (or its EBS volume is gone); data must be restored from a snapshot or the claim recreated"))
                .step(next::command(format!("kubectl get pv {volume} && aws ec2 describe-volumes --filters Name=tag:kubernetes.io/created-for/pvc/name,Values={claim}"), "whether the volume object and the EBS volume still exist"))
                .into()
        }
        "Pending" => pending(
            ctx,
            pvc,
            base(Rule::PvcPending, Severity::Warning),
            &pod_names,
        ),
        _ => None,
    }
}

fn pending(
    ctx: &Ctx,
    pvc: &PersistentVolumeClaim,
    f: Finding,
    pod_names: &[&str],
) -> Option<Finding> {
    let (namespace, claim) = (ns(&pvc.metadata), name(&pvc.metadata));
    let events = ctx.events("PersistentVolumeClaim", namespace, claim);
    let failing = events
        .iter()
        .any(|e| matches!(reason(e), "ProvisioningFailed" | "FailedBinding"));
    let waiting_for_consumer = events.iter().any(|e| reason(e) == "WaitForFirstConsumer");
    // Without a creation time the claim is taken as old enough to report.
    let age = pvc
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| ctx.age_ms(t));
    if !failing && age.is_some_and(|a| a < ctx.opts.pending_grace_ms) {
        return None;
    }
    let failures = (events.iter().copied())
        .filter(|e| matches!(reason(e), "ProvisioningFailed" | "FailedBinding"));
    let latest = latest_message(failures).unwrap_or("");
    let (severity, cause) = match () {
        _ if failing => (Severity::Warning, provisioning_cause(latest)),
        _ if waiting_for_consumer && pod_names.is_empty() => (Severity::Info, "the StorageClass binds on first use (WaitForFirstConsumer) and no pod uses the claim yet".to_string()),
        _ if waiting_for_consumer => (Severity::Warning, "the claim waits for its pod to be scheduled (WaitForFirstConsumer); the pod's scheduling finding has the reason".to_string()),
        _ => (Severity::Warning, "no provisioner has acted on the claim: the StorageClass's provisioner (ebs.csi.aws.com) is not running, or no matching PersistentVolume exists".to_string()),
    };
    let used_by = if pod_names.is_empty() {
        "no pod".into()
    } else {
        pod_names.join(", ")
    };
    let mut f = f;
    f.severity = severity;
    let summary = match age {
        Some(a) => format!("PersistentVolumeClaim has been Pending for {}", human_ms(a)),
        None => "PersistentVolumeClaim is Pending".to_string(),
    };
    f.summary(summary)
        .derived("used_by", used_by)
        .evidence(event_evidence(events, 3))
        .cause(cause)
        .step(next::events("PersistentVolumeClaim", Some(namespace), claim, "the provisioner's latest error"))
        .step(next::command("kubectl get storageclass && kubectl -n kube-system logs deploy/ebs-csi-controller -c csi-provisioner --tail=100", "the StorageClass and the EBS CSI provisioner's own log"))
        .into()
}

fn provisioning_cause(message: &str) -> String {
    let m = message.to_lowercase();
    if m.contains("unauthorizedoperation")
        || m.contains("not authorized")
        || m.contains("accessdenied")
    {
        "the EBS CSI controller's IAM role may not create volumes (ec2:CreateVolume): attach AmazonEBSCSIDriverPolicy to its IRSA or Pod Identity role".into()
    } else if m.contains("storageclass") && m.contains("not found") {
        format!(
            "the claim names a StorageClass that does not exist: {}",
            clip(message, 200)
        )
    } else if m.contains("no storage class is set") || m.contains("no persistent volumes available")
    {
        "no StorageClass is set and no default exists, and no PersistentVolume matches: set storageClassName (e.g. gp3) or mark a default class".into()
    } else {
        format!("provisioning fails: {}", clip(message, 200))
    }
}

fn quota_finding(ctx: &Ctx, quota: &ResourceQuota) -> Option<Finding> {
    let status = quota.status.as_ref()?;
    let used = status.used.as_ref();
    let mut full: Vec<(&str, f64, &str, &str)> = Vec::new();
    for (resource, hard) in status.hard.iter().flatten() {
        let Some(limit) = parse_quantity(&hard.0).filter(|l| *l > 0.0) else {
            continue;
        };
        let used_text = used
            .and_then(|u| u.get(resource))
            .map_or("0", |q| q.0.as_str());
        let ratio = parse_quantity(used_text).unwrap_or(0.0) / limit;
        if ratio >= ctx.opts.quota_warn_ratio {
            full.push((resource, ratio, used_text, &hard.0));
        }
    }
    let worst = full.iter().map(|&(_, r, _, _)| r).fold(0.0, f64::max);
    if full.is_empty() {
        return None;
    }
    let (namespace, quota_name) = (ns(&quota.metadata), name(&quota.metadata));
    let severity = if worst >= 1.0 {
        Severity::Warning
    } else {
        Severity::Info
    };
    let mut f = Finding::new(
        Rule::QuotaNearLimit,
        severity,
        ResourceRef::namespaced("ResourceQuota", namespace, quota_name),
    )
    .summary(format!(
        "ResourceQuota is at {:.0}% of a limit",
        worst * 100.0
    ));
    for (resource, ratio, used_text, hard_text) in full {
        f = f
            .field(format!("status.used.{resource}"), used_text)
            .field(format!("status.hard.{resource}"), hard_text)
            .derived(
                &format!("{resource}_used_share"),
                format!("{:.0}%", ratio * 100.0),
            );
    }
    f.cause(format!("pods in {namespace} use (nearly) all that the quota allows; the next pod or scale-up fails with FailedCreate"))
        .step(next::describe("ResourceQuota", Some(namespace), quota_name, "every limit against current use"))
        .into()
}
