//! The `eks-ops-mcp` command line: `serve` (stdio or streamable HTTP), `call` (one tool,
//! in-process), `tools` (the catalog) and `capture` (write a snapshot bundle).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use eks_ops_mcp::config::{GlobalArgs, Settings};
use eks_ops_mcp::server::{self, EksOpsServer, http::HttpOptions};
use eks_ops_mcp::tools::{self, Context, Registry};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "eks-ops-mcp",
    version,
    about = "MCP server for operating Kubernetes on Amazon EKS"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve MCP over stdio (default) or streamable HTTP.
    Serve {
        /// Serve streamable HTTP at /mcp on this address, e.g. 127.0.0.1:8080.
        #[arg(long, value_name = "ADDR")]
        http: Option<SocketAddr>,
        /// With --http: no sessions; every request stands alone.
        #[arg(long, requires = "http")]
        stateless: bool,
    },
    /// Run one tool in-process and print its summary (or --json for the structured result).
    Call {
        tool: String,
        /// Tool arguments as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
        #[arg(long)]
        json: bool,
    },
    /// Print the tool catalog.
    Tools {
        #[arg(long)]
        json: bool,
    },
    /// Write a snapshot bundle from the live backends.
    Capture {
        /// Output directory (created; must be empty).
        #[arg(long)]
        out: PathBuf,
        /// Namespaces to capture (repeat); default all.
        #[arg(long = "namespace")]
        namespaces: Vec<String>,
        /// Window of logs, events and metrics, e.g. 2h.
        #[arg(long, default_value = "2h")]
        window: String,
    },
}

/// Prints a line; a closed pipe (`| head`) ends output quietly instead of panicking.
fn print_out(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // A read of stdin blocked on the thread pool cannot be cancelled; don't wait for it at exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let settings = Arc::new(Settings::resolve(&cli.global)?);
    init_logging(&settings.log_level);
    let registry = Arc::new(Registry::new());
    let ctx = Context::new(settings.clone());
    match cli.command {
        Command::Serve { http: None, .. } => {
            tracing::info!(mode = ?settings.mode, "serving MCP over stdio");
            server::serve_stdio(EksOpsServer::new(ctx, registry)).await?;
        }
        Command::Serve {
            http: Some(bind),
            stateless,
        } => {
            let options = HttpOptions {
                bind,
                stateless,
                allowed_hosts: settings.allowed_hosts.clone(),
                allowed_origins: settings.allowed_origins.clone(),
            };
            server::http::serve(EksOpsServer::new(ctx, registry), options).await?;
        }
        Command::Call { tool, args, json } => {
            let args: serde_json::Value =
                serde_json::from_str(&args).context("--args is not JSON")?;
            let serde_json::Value::Object(args) = args else {
                anyhow::bail!("--args must be a JSON object")
            };
            let result = registry
                .call(ctx, &tool, Some(args), CancellationToken::new())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let failed = result.is_error.unwrap_or(false);
            if json && !failed {
                print_out(&serde_json::to_string_pretty(
                    &result.structured_content.unwrap_or_default(),
                )?);
            } else {
                for block in &result.content {
                    if let Some(text) = block.as_text() {
                        print_out(&text.text);
                    }
                }
            }
            return Ok(if failed {
                std::process::ExitCode::from(2)
            } else {
                std::process::ExitCode::SUCCESS
            });
        }
        Command::Tools { json } => {
            let catalog = tools::catalog_json(&registry, &settings);
            if json {
                print_out(&serde_json::to_string_pretty(&catalog)?);
            } else {
                for t in registry.visible(&settings) {
                    print_out(&format!("{:<28} {}", t.name, t.description));
                }
            }
        }
        Command::Capture {
            out,
            namespaces,
            window,
        } => {
            let report = eks_ops_mcp::capture::capture(&ctx, &out, &namespaces, &window).await?;
            eprintln!("{report}");
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
