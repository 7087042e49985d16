//! The AWS test gateway: one HTTP endpoint in front of moto that the server under test is pointed at
//! (`AWS_ENDPOINT_URL`).
//!
//! moto serves most AWS calls the server makes, but not all of them, so the gateway
//! - bridges CloudWatch's Smithy RPC v2 CBOR protocol to moto's JSON 1.0 protocol ([`cbor`],
//!   `cloudwatch`);
//! - serves, from seeded state, the operations moto lacks: EKS add-ons and insights, Cost Explorer
//!   forecasts, anomalies and comparisons, the Pricing API and CloudWatch alarm history; and
//!   CloudWatch percentile statistics, metric math and Metrics Insights from the metric data it
//!   bridged; and X-Ray service graphs;
//! - forwards everything else to moto unchanged, SigV4 `Authorization` header included, because
//!   moto routes on its credential scope;
//! - answers a control plane under `/_gateway/` (reset, seed, fault injection, request log).
//!
//! Start with [`MotoServer::spawn`] and [`AwsGateway::spawn`]; the `aws-gateway` binary wraps the
//! same server for manual use.

pub mod cbor;
mod cloudwatch;
mod control;
mod cost;
mod eks;
mod errors;
mod gateway;
mod json;
mod metric_math;
mod moto;
mod paging;
mod percentile;
mod pricing;
mod proxy;
mod route;
mod state;
mod xray;

pub use control::{Fault, FaultAction, RequestRecord, Route, SeedKind};
pub use gateway::{AwsGateway, serve};
pub use moto::MotoServer;

use std::fmt;

/// Why a gateway or moto helper call failed.
#[derive(Debug)]
pub enum GatewayError {
    /// A socket could not be bound, or a process could not be started.
    Io(std::io::Error),
    /// An HTTP call to the gateway or to moto failed before a response arrived.
    Http(reqwest::Error),
    /// The gateway's control plane answered with an error status (a bad seed body, say).
    Rejected { status: u16, body: String },
    /// No moto_server executable was found (set `MOTO_SERVER_BIN`).
    MotoNotFound(String),
    /// moto_server started but never answered, or exited early.
    MotoStart(String),
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "I/O error: {e}"),
            Self::Http(e) => write!(f, "HTTP error: {e}"),
            Self::Rejected { status, body } => write!(f, "gateway answered {status}: {body}"),
            Self::MotoNotFound(m) => write!(f, "moto_server not found: {m}"),
            Self::MotoStart(m) => write!(f, "moto_server did not start: {m}"),
        }
    }
}

impl std::error::Error for GatewayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Http(e) => Some(e),
            _ => None,
        }
    }
}

impl From<std::io::Error> for GatewayError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<reqwest::Error> for GatewayError {
    fn from(e: reqwest::Error) -> Self {
        Self::Http(e)
    }
}
