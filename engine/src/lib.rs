//! The eks-ops-mcp engine: pure computation over plain data.
//!
//! Nothing here does I/O or reads the clock; callers pass data, `now` and windows in. That keeps
//! every result reproducible from a snapshot bundle and lets each piece be benchmarked alone.
//! Start with [`series::Series`], the one time-series type that sources produce.

pub mod allocation;
pub mod anomaly;
#[cfg(feature = "k8s")]
pub mod diagnose;
pub mod forecast;
pub mod logtemplate;
pub mod math;
pub mod nab;
pub mod rca;
pub mod series;
