//! `aws-gateway`: the AWS test gateway (CloudWatch CBOR bridge and stand-ins for what moto
//! lacks) as a standalone process, for running the server against it by hand.
//!
//! `aws-gateway --moto http://127.0.0.1:5000 [--port P]` prints `listening on 127.0.0.1:P` to
//! stderr once it accepts connections; point `AWS_ENDPOINT_URL` at that address.

use anyhow::Context;
use clap::Parser;
use tokio::net::TcpListener;

/// The AWS test gateway in front of a moto server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// moto's base URL, e.g. http://127.0.0.1:5000.
    #[arg(long)]
    moto: url::Url,
    /// Port to listen on, on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    let addr = listener.local_addr()?;
    eprintln!("listening on {addr}");
    eks_ops_testbed::aws::serve(listener, args.moto.as_str())
        .await
        .context("gateway stopped")
}
