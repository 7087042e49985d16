//! A Kubernetes API stand-in that serves a snapshot bundle over real HTTP.
//!
//! No kube-apiserver can be installed on the build machines, so the live Kubernetes backend is
//! tested against this server instead. It speaks the real REST paths, query parameters, list
//! envelopes, pagination tokens and `Status` errors of the API server, for every object in a
//! snapshot bundle (see `examples/snapshots/README.md`). Built-in objects are round-tripped through
//! their k8s-openapi types when the bundle loads, so a malformed fixture fails loudly.
//!
//! Start with [`KubeStandin::builder`]; the `kube-standin` binary wraps the same server for manual
//! use. Everything served is read-only: mutating verbs answer 405 and `watch=true` answers 405.

mod api;
mod bundle;
mod catalog;
mod discovery;
mod events;
mod kubeconfig;
mod logs;
mod query;
mod rbac;
mod selector;
mod server;
mod status;
mod store;

pub use bundle::Bundle;
pub use rbac::DenyRule;
pub use server::{KubeStandin, KubeStandinBuilder, RecordedRequest, TokenRule};

use std::fmt;
use std::path::PathBuf;

/// Why the stand-in could not start.
#[derive(Debug)]
pub enum StandinError {
    /// A bundle file could not be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A bundle file is not valid YAML, or an object does not match its Kubernetes type.
    Parse { path: PathBuf, message: String },
    /// The listening socket could not be bound.
    Bind(std::io::Error),
}

impl fmt::Display for StandinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Self::Parse { path, message } => write!(f, "invalid {}: {message}", path.display()),
            Self::Bind(e) => write!(f, "cannot bind 127.0.0.1: {e}"),
        }
    }
}

impl std::error::Error for StandinError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { source, .. } | Self::Bind(source) => Some(source),
            Self::Parse { .. } => None,
        }
    }
}
