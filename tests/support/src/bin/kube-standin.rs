//! `kube-standin`: serves a snapshot bundle as a Kubernetes API on 127.0.0.1 until SIGTERM or
//! SIGINT, for manual runs and for tests written in other languages.
//!
//! ```text
//! kube-standin --bundle tests/fixtures/kube-cluster --kubeconfig-out /tmp/kc --context prod
//! KUBECONFIG=/tmp/kc kubectl get pods -A
//! ```

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use eks_ops_testbed::kube::KubeStandin;

/// Serve a snapshot bundle as a Kubernetes API.
#[derive(Debug, Parser)]
#[command(name = "kube-standin", version)]
struct Args {
    /// The snapshot bundle directory (manifest.yaml, objects/, events/, logs/).
    #[arg(long)]
    bundle: PathBuf,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Write a kubeconfig pointing at the stand-in to this file.
    #[arg(long)]
    kubeconfig_out: Option<PathBuf>,
    /// A context name for the kubeconfig (repeatable; default: the manifest's cluster name).
    #[arg(long = "context")]
    contexts: Vec<String>,
    /// Require `Authorization: Bearer <T>`; a trailing `*` accepts any token with that prefix
    /// (e.g. `k8s-aws-v1.*`).
    #[arg(long)]
    require_token: Option<String>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let mut builder = KubeStandin::builder(&args.bundle).port(args.port);
    builder = match args.require_token.as_deref() {
        Some(t) => match t.strip_suffix('*') {
            Some(prefix) => builder.require_token_prefix(prefix),
            None => builder.require_token(t),
        },
        None => builder,
    };
    let standin = builder
        .spawn()
        .await
        .with_context(|| format!("cannot serve bundle {}", args.bundle.display()))?;
    if let Some(path) = &args.kubeconfig_out {
        let contexts: Vec<&str> = args.contexts.iter().map(String::as_str).collect();
        standin
            .write_kubeconfig(path, &contexts)
            .with_context(|| format!("cannot write kubeconfig {}", path.display()))?;
    }
    eprintln!("listening on {}", standin.addr);
    wait_for_signal().await?;
    drop(standin);
    Ok(())
}

async fn wait_for_signal() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
