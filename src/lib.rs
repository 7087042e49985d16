//! eks-ops-mcp: one MCP server for operating Kubernetes on Amazon EKS.
//!
//! Layers, top down: [`server`] (transports), [`tools`] (typed tools and their registry),
//! [`sources`] (live and snapshot backends behind traits) and the pure `eks_ops_engine` crate.
//! Cross-cutting concerns each have one home: [`config`], [`time`], [`error`], [`output`]
//! (budgets and redaction). Start at [`tools::Registry`] to see what the server offers.

pub mod capture;
pub mod config;
pub mod error;
pub mod output;
pub mod server;
pub mod sources;
pub mod time;
pub mod tools;
