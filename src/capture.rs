//! `capture`: writes a snapshot bundle (format in `examples/snapshots/README.md`) from the live
//! backends, so an incident can be replayed offline, shared, or turned into a test.
//!
//! What could not be read (a missing permission, no Prometheus) is skipped and reported, not
//! fatal: a partial bundle is still worth having in a post-mortem. Secrets are written with their
//! values masked unless the server runs with `--allow-sensitive-data`.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::sources::{AwsTarget, CostRequest};
use crate::time::parse_duration;
use crate::tools::Context;
use crate::tools::k8s::{list_all, mask_secret};

/// Namespaced kinds written per namespace.
const NAMESPACED: [&str; 14] = [
    "Pod",
    "Service",
    "Endpoints",
    "ConfigMap",
    "Secret",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
    "PersistentVolumeClaim",
    "ResourceQuota",
];
const CLUSTER_SCOPED: [&str; 3] = ["Node", "Namespace", "PersistentVolume"];

/// Captures a bundle into `out` and returns a short report of what was written and skipped.
pub async fn capture(
    ctx: &Arc<Context>,
    out: &Path,
    namespaces: &[String],
    window: &str,
) -> anyhow::Result<String> {
    if out.exists() && out.read_dir()?.next().is_some() {
        anyhow::bail!("{} is not empty; pick a new directory", out.display());
    }
    let span = parse_duration(window)
        .ok_or_else(|| anyhow::anyhow!("--window `{window}` is not a duration like 2h"))?;
    let cluster = ctx
        .sources
        .cluster(None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = cluster.now();
    let mut report = String::new();
    let mut skipped = Vec::new();
    std::fs::create_dir_all(out.join("objects/_cluster"))?;
    for kind_name in CLUSTER_SCOPED {
        let kind = cluster
            .resolve_kind(kind_name)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        match list_all(cluster.as_ref(), &kind, None, None, None).await {
            Ok(items) => write_stream(
                &out.join(format!("objects/_cluster/{kind_name}.yaml")),
                &items,
            )?,
            Err(e) => skipped.push(format!("{kind_name}: {e}")),
        }
    }
    let namespaces: Vec<String> = if namespaces.is_empty() {
        let kind = cluster
            .resolve_kind("Namespace")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        list_all(cluster.as_ref(), &kind, None, None, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .iter()
            .filter_map(|n| {
                n.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect()
    } else {
        namespaces.to_vec()
    };
    let mut pods_written = 0usize;
    for ns in &namespaces {
        std::fs::create_dir_all(out.join(format!("objects/{ns}")))?;
        for kind_name in NAMESPACED {
            let kind = cluster
                .resolve_kind(kind_name)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match list_all(cluster.as_ref(), &kind, Some(ns), None, None).await {
                Ok(mut items) => {
                    for item in &mut items {
                        if let Some(meta) = item.get_mut("metadata").and_then(Value::as_object_mut)
                        {
                            meta.remove("managedFields");
                        }
                        if kind_name == "Secret" && ctx.redactor.enabled() {
                            mask_secret(item);
                        }
                    }
                    if kind_name == "Pod" {
                        pods_written +=
                            write_logs(cluster.as_ref(), out, ns, &items, now - span, &mut skipped)
                                .await?;
                    }
                    write_stream(&out.join(format!("objects/{ns}/{kind_name}.yaml")), &items)?;
                }
                Err(e) => skipped.push(format!("{kind_name} in {ns}: {e}")),
            }
        }
        match cluster.events(Some(ns)).await {
            Ok(events) => {
                std::fs::create_dir_all(out.join("events"))?;
                write_stream(&out.join(format!("events/{ns}.yaml")), &events)?;
            }
            Err(e) => skipped.push(format!("events in {ns}: {e}")),
        }
    }
    let window_struct = crate::time::Window {
        start: now - span,
        end: now,
    };
    write_metrics(ctx, out, &namespaces, window_struct, &mut skipped).await?;
    write_cost(ctx, out, now, &mut skipped).await?;
    let manifest = serde_json::json!({
        "format": "eks-ops-mcp/snapshot/v1",
        "cluster": cluster.name(),
        "context": cluster.name(),
        "region": ctx.settings.region,
        "captured_at": now.to_rfc3339(),
        "window": {"start": (now - span).to_rfc3339(), "end": now.to_rfc3339()},
        "description": format!("captured by eks-ops-mcp capture from {}", cluster.name()),
    });
    std::fs::write(out.join("manifest.yaml"), serde_yaml::to_string(&manifest)?)?;
    let _ = writeln!(
        report,
        "wrote {} ({} namespaces, logs of {pods_written} pods)",
        out.display(),
        namespaces.len()
    );
    for s in &skipped {
        let _ = writeln!(report, "skipped: {s}");
    }
    Ok(report)
}

fn write_stream(path: &Path, items: &[Value]) -> anyhow::Result<()> {
    let mut text = String::new();
    for item in items {
        text.push_str("---\n");
        text.push_str(&serde_yaml::to_string(item)?);
    }
    std::fs::write(path, ctx_redact(&text))?;
    Ok(())
}

/// Bundles leave the machine; apply text redaction to everything written.
fn ctx_redact(text: &str) -> String {
    crate::output::Redactor::new(false)
        .redact_text(text)
        .into_owned()
}

async fn write_logs(
    cluster: &dyn crate::sources::ClusterSource,
    out: &Path,
    ns: &str,
    pods: &[Value],
    since: chrono::DateTime<chrono::Utc>,
    skipped: &mut Vec<String>,
) -> anyhow::Result<usize> {
    let mut written = 0;
    for pod in pods {
        let Some(name) = pod.pointer("/metadata/name").and_then(Value::as_str) else {
            continue;
        };
        let dir = out.join(format!("logs/{ns}/{name}"));
        let containers: Vec<String> = ["/spec/initContainers", "/spec/containers"]
            .iter()
            .flat_map(|p| {
                pod.pointer(p)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
            .collect();
        for container in containers {
            for previous in [false, true] {
                let req = crate::sources::LogRequest {
                    namespace: ns.to_string(),
                    pod: name.to_string(),
                    container: container.clone(),
                    previous,
                    since: Some(since),
                    tail_lines: Some(2000),
                    limit_bytes: Some(1_000_000),
                };
                match cluster.pod_logs(&req).await {
                    Ok(lines) if !lines.is_empty() => {
                        std::fs::create_dir_all(&dir)?;
                        let text: String = lines
                            .iter()
                            .map(|l| {
                                format!(
                                    "{} {}\n",
                                    l.at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                                    l.text
                                )
                            })
                            .collect();
                        let file = if previous {
                            format!("{container}.previous.log")
                        } else {
                            format!("{container}.log")
                        };
                        std::fs::write(dir.join(file), ctx_redact(&text))?;
                    }
                    Ok(_) => {}
                    Err(_) if previous => {}
                    Err(e) => skipped.push(format!("logs of {ns}/{name}/{container}: {e}")),
                }
            }
        }
        written += 1;
    }
    Ok(written)
}

async fn write_metrics(
    ctx: &Arc<Context>,
    out: &Path,
    namespaces: &[String],
    window: crate::time::Window,
    skipped: &mut Vec<String>,
) -> anyhow::Result<()> {
    let metrics = match ctx.sources.metrics(&AwsTarget::default()).await {
        Ok(m) => m,
        Err(e) => {
            skipped.push(format!("metrics: {e}"));
            return Ok(());
        }
    };
    let mut lines = String::new();
    for ns in namespaces {
        match metrics
            .workload_signals(&[("namespace".into(), ns.clone())], &[], window)
            .await
        {
            Ok(series) => {
                for s in series {
                    lines.push_str(&serde_json::to_string(&s)?);
                    lines.push('\n');
                }
            }
            Err(e) => {
                skipped.push(format!("workload metrics: {e}"));
                break;
            }
        }
    }
    if !lines.is_empty() {
        std::fs::create_dir_all(out.join("metrics"))?;
        std::fs::write(out.join("metrics/workload.jsonl"), lines)?;
    }
    Ok(())
}

async fn write_cost(
    ctx: &Arc<Context>,
    out: &Path,
    now: chrono::DateTime<chrono::Utc>,
    skipped: &mut Vec<String>,
) -> anyhow::Result<()> {
    let end = now.date_naive() + chrono::Duration::days(1);
    let request = CostRequest {
        start: (end - chrono::Duration::days(30)).to_string(),
        end: end.to_string(),
        granularity: "DAILY".into(),
        metric: "UnblendedCost".into(),
        group_by: vec![("DIMENSION".into(), "SERVICE".into())],
        filter: None,
    };
    let rows = match ctx.sources.cost(&AwsTarget::default()).await {
        Ok(source) => source.cost_and_usage(&request).await,
        Err(e) => Err(e),
    };
    match rows {
        Ok(rows) => {
            let mut by_period: std::collections::BTreeMap<(String, String), Vec<Value>> =
                Default::default();
            for r in rows {
                by_period.entry((r.start.clone(), r.end.clone())).or_default().push(serde_json::json!({"Keys": r.keys, "Metrics": {"UnblendedCost": {"Amount": r.amount.to_string(), "Unit": r.unit}}}));
            }
            let results: Vec<Value> = by_period.into_iter().map(|((s, e), groups)| serde_json::json!({"TimePeriod": {"Start": s, "End": e}, "Groups": groups})).collect();
            std::fs::create_dir_all(out.join("cost"))?;
            std::fs::write(
                out.join("cost/cost_and_usage.json"),
                serde_json::to_string_pretty(&serde_json::json!({"ResultsByTime": results}))?,
            )?;
        }
        Err(e) => skipped.push(format!("cost: {e}")),
    }
    Ok(())
}
