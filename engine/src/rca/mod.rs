//! Root-cause analysis: rank the components that most likely caused a symptom, with evidence and
//! a timeline, plus the baselines and labelled-case harness that keep the ranking honest.
//!
//! Start with [`investigate`]: give it an [`RcaInput`] (symptom series, candidate series per
//! component, optional call graph and occurrences, optional suspected anomaly time) and it returns
//! an [`RcaReport`]. [`correlate::correlate`] answers "what moved with this, and with what lag".
//! [`case`], [`eval`], [`baselines`] and [`synthetic`] are the benchmark side: the case format,
//! RCAEval's AC@k, N-Sigma and BARO, and the synthetic fault-injection suite.

pub mod baselines;
pub mod bocpd;
pub mod case;
pub mod changepoint;
pub mod correlate;
pub mod eval;
pub mod evidence;
mod ranker;
pub mod stats;
pub mod synthetic;

use crate::series::Series;
use case::Case;
use correlate::CorrelateConfig;
pub use evidence::{Evidence, EvidenceConfig, Occurrence, OccurrenceKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything an investigation looks at. Times are unix ms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RcaInput {
    /// The symptom (e.g. front-end p90 latency or error rate); may be empty.
    #[serde(default)]
    pub symptom: Vec<Series>,
    /// Candidate signals per component (workload, service, node).
    pub candidates: BTreeMap<String, Vec<Series>>,
    /// Known `(caller, callee)` dependencies between components.
    #[serde(default)]
    pub graph: Vec<(String, String)>,
    /// Events, rollouts, config changes, alarms and new log templates.
    #[serde(default)]
    pub occurrences: Vec<Occurrence>,
    /// Suspected anomaly time (e.g. when the alert fired); estimated from the data when `None`.
    #[serde(default)]
    pub anomaly_time_ms: Option<i64>,
}

impl RcaInput {
    /// The input for a labelled case, with the ranker told `anomaly_time_s` (unix seconds).
    pub fn from_case(case: &Case, anomaly_time_s: i64) -> RcaInput {
        RcaInput {
            symptom: Vec::new(),
            candidates: case.candidates(),
            graph: case.graph.clone(),
            occurrences: Vec::new(),
            anomaly_time_ms: Some(anomaly_time_s.saturating_mul(1000)),
        }
    }
}

/// Ranking parameters; the defaults are the benchmarked ones.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RcaConfig {
    /// How late the suspected anomaly time may be: the baseline ends this long before it.
    pub hint_uncertainty_ms: i64,
    /// Robust z a signal must exceed (persistently) to have an onset.
    pub onset_threshold: f64,
    /// Scale of the penalty for moving after the incident's first onset, ms.
    pub onset_tau_ms: i64,
    /// Multiplier on a caller's score when a callee explains it.
    pub caller_discount: f64,
    /// A callee explains its caller when its score is at least this share of the caller's.
    pub graph_min_callee_share: f64,
    /// Hypotheses returned, at most.
    pub max_hypotheses: usize,
    pub correlate: CorrelateConfig,
    pub evidence: EvidenceConfig,
}

impl Default for RcaConfig {
    fn default() -> Self {
        Self {
            hint_uncertainty_ms: 120_000,
            onset_threshold: 4.0,
            onset_tau_ms: 120_000,
            caller_discount: 0.6,
            graph_min_callee_share: 0.5,
            max_hypotheses: 10,
            correlate: CorrelateConfig::default(),
            evidence: EvidenceConfig::default(),
        }
    }
}

/// A candidate root cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hypothesis {
    pub component: String,
    /// Unbounded ranking score (log-compressed robust deviation, weighted, plus evidence).
    pub score: f64,
    /// How sure the ranking is of this component, in [0, 1].
    pub confidence: f64,
    /// The metric that moved most.
    pub indicator: Option<String>,
    /// When the indicator left its baseline, unix ms.
    pub onset_ms: Option<i64>,
    pub evidence: Vec<Evidence>,
}

/// One line of the incident timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub time_ms: i64,
    pub component: String,
    pub text: String,
}

/// The result of [`investigate`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RcaReport {
    /// The anomaly time used (given, or estimated), unix ms.
    pub anomaly_time_ms: Option<i64>,
    /// Earliest onset among the strongly moved signals, unix ms.
    pub onset_ms: Option<i64>,
    /// Most likely first.
    pub hypotheses: Vec<Hypothesis>,
    /// Onsets and cited occurrences of the leading hypotheses, in time order.
    pub timeline: Vec<TimelineEntry>,
}

/// Ranks the likely root causes of the symptom in `input`.
pub fn investigate(input: &RcaInput, cfg: &RcaConfig) -> RcaReport {
    ranker::rank(input, cfg)
}
