//! Root-cause analysis: rank the components that most likely caused a symptom.
pub mod baselines;
pub mod bocpd;
pub mod case;
pub mod eval;
pub mod stats;
