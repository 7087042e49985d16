//! Streaming anomaly detection: one score in [0, 1] per sample, and sparse typed events.
//!
//! Start with [`Detector`]: feed it one sample at a time with [`Detector::update`]; it never
//! looks ahead, so the same code scores live data and replays. [`detect`] runs it over a whole
//! [`Series`] and returns an [`AnomalyReport`]; [`score_series`] is the fixed-configuration
//! entry point the NAB benchmark (`benches/nab.rs`) calls.
//!
//! The model is an ensemble of novelty detectors ([`ensemble`]): a signal doing something it
//! has never done before (a new level, spread, seasonal residual or shape), with a Poisson
//! tail for counting signals and a time-to-limit check for leaks. Each component reports a
//! surprise in nats; the largest becomes the score through `s / (s + 5)`. Novelty surprises
//! are rates on the series' own history (how rarely new shapes appear, how far past its own
//! range), so one threshold means the same on every series; 0.5 is about a 1-in-150 event.

mod counts;
pub mod ensemble;
mod events;
pub mod novelty;
pub mod season;
pub mod shape;
pub mod tail;
pub mod window;

use crate::series::Series;
use ensemble::{Ensemble, Limit};
use serde::{Deserialize, Serialize};

/// Surprise (nats) that maps to a score of 0.5. Chosen on NAB, where the corpus-optimal
/// threshold sat at a surprise of ~4.8; with this value it sits near the default threshold.
pub(crate) const HALF_SCORE_SURPRISE: f64 = 5.0;

/// What kind of change a point or event looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// A short excursion away from the expected band (a dip when the direction is down).
    Spike,
    /// A sustained move of the level.
    LevelShift,
    /// The spread changed.
    VarianceChange,
    /// The slope changed, or a rising signal will reach its configured limit soon.
    TrendChange,
}

/// Which way the value moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Up,
    Down,
}

/// How to read the signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalMode {
    /// Decide after the warm-up: `Counts` if every value was a non-negative integer and at
    /// least half were zero (restarts, event reasons, Pending pods), else `Gauge`.
    #[default]
    Auto,
    /// A continuous measurement (CPU, memory, latency).
    Gauge,
    /// Integer counts per interval, mostly zero and bursty: adds a Poisson tail.
    Counts,
}

/// The detector's verdict on one sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PointScore {
    pub ts_ms: i64,
    /// The sample; NaN when it was missing.
    pub value: f64,
    /// Anomaly score in [0, 1]; 0 during the warm-up, for missing and for out-of-order samples.
    pub score: f64,
    /// Expected value before seeing this sample (seasonal when a season was learned).
    pub expected: f64,
    /// Expected band, ±3 robust sigmas around `expected`.
    pub lower: f64,
    pub upper: f64,
    /// The strongest component, when the score is above zero.
    pub kind: Option<AnomalyKind>,
    pub direction: Option<Direction>,
    /// Time until the configured limit is reached at the current slope, for trend evidence.
    pub eta_ms: Option<i64>,
}

/// Invalid detector settings.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// The event threshold must be a number in (0, 1).
    Threshold(f64),
    /// The limit must be finite and the horizon positive.
    Limit { value: f64, horizon_ms: i64 },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Threshold(t) => write!(f, "event threshold {t} is not in (0, 1)"),
            ConfigError::Limit { value, horizon_ms } => write!(
                f,
                "limit {value} with horizon {horizon_ms} ms is invalid (need a finite limit and a positive horizon)"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Detector settings. [`DetectorConfig::default`] is the one configuration used everywhere,
/// NAB included; the builders exist for callers that know more (a memory limit, a counter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorConfig {
    /// Score at or above which a sample opens or extends an [`AnomalyEvent`].
    pub threshold: f64,
    pub mode: SignalMode,
    /// A ceiling the signal must not reach (a memory limit, a disk size), if known.
    pub limit: Option<f64>,
    /// How far ahead a predicted crossing of `limit` counts as an anomaly.
    pub limit_horizon_ms: i64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            threshold: 0.5,
            mode: SignalMode::Auto,
            limit: None,
            limit_horizon_ms: 3_600_000,
        }
    }
}

impl DetectorConfig {
    /// Sets the event threshold, which must lie in (0, 1).
    pub fn with_threshold(mut self, threshold: f64) -> Result<Self, ConfigError> {
        self.threshold = threshold;
        self.validate()?;
        Ok(self)
    }

    pub fn with_mode(mut self, mode: SignalMode) -> Self {
        self.mode = mode;
        self
    }

    /// Flags a rise that will reach `limit` within `horizon_ms` at its current slope.
    pub fn with_limit(mut self, limit: f64, horizon_ms: i64) -> Result<Self, ConfigError> {
        self.limit = Some(limit);
        self.limit_horizon_ms = horizon_ms;
        self.validate()?;
        Ok(self)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.threshold > 0.0 && self.threshold < 1.0) {
            return Err(ConfigError::Threshold(self.threshold));
        }
        match self.limit {
            Some(value) if !value.is_finite() || self.limit_horizon_ms <= 0 => {
                Err(ConfigError::Limit {
                    value,
                    horizon_ms: self.limit_horizon_ms,
                })
            }
            _ => Ok(()),
        }
    }
}

/// A streaming detector: feed samples in time order with [`Detector::update`].
#[derive(Debug, Clone)]
pub struct Detector {
    config: DetectorConfig,
    ensemble: Ensemble,
    events: events::EventBuilder,
    last_ts: Option<i64>,
}

impl Detector {
    pub fn new(config: DetectorConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let limit = config.limit.map(|value| Limit {
            value,
            horizon_ms: config.limit_horizon_ms,
        });
        Ok(Detector {
            ensemble: Ensemble::new(config.mode, limit),
            events: events::EventBuilder::new(config.threshold),
            config,
            last_ts: None,
        })
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// The mode in force (`Auto` until the warm-up ends).
    pub fn mode(&self) -> SignalMode {
        self.ensemble.mode()
    }

    /// The seasonal period learned so far, in samples.
    pub fn period(&self) -> Option<usize> {
        self.ensemble.period()
    }

    /// Scores one sample. A sample at or before the last accepted timestamp scores 0 and is
    /// not learned; a missing (non-finite) value scores 0 and keeps the seasonal phase.
    pub fn update(&mut self, ts_ms: i64, value: f64) -> PointScore {
        let mut out = PointScore {
            ts_ms,
            value,
            score: 0.0,
            expected: f64::NAN,
            lower: f64::NAN,
            upper: f64::NAN,
            kind: None,
            direction: None,
            eta_ms: None,
        };
        if self.last_ts.is_some_and(|last| ts_ms <= last) {
            return out;
        }
        self.last_ts = Some(ts_ms);
        let value = if value.is_finite() { value } else { f64::NAN };
        let obs = self.ensemble.observe(ts_ms, value);
        if let Some(band) = obs.band {
            out.expected = band.expected;
            out.lower = band.expected - 3.0 * band.sigma;
            out.upper = band.expected + 3.0 * band.sigma;
        }
        if let Some(e) = obs.evidence {
            out.score = tail::surprise_to_score(e.surprise, HALF_SCORE_SURPRISE);
            out.kind = Some(e.kind);
            out.direction = Some(e.direction);
            out.eta_ms = e.eta_ms;
        }
        self.events.push(&out);
        out
    }

    /// Events closed so far, oldest first.
    pub fn events(&self) -> &[AnomalyEvent] {
        self.events.closed()
    }

    /// Closes any open event and returns all events.
    pub fn finish(self) -> Vec<AnomalyEvent> {
        self.events.finish()
    }
}

/// A stretch of anomalous samples: it opens at a sample scoring at or above the threshold and
/// stays open while samples score high or stay outside the band expected at onset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyEvent {
    pub onset_ms: i64,
    pub end_ms: i64,
    pub kind: AnomalyKind,
    pub direction: Direction,
    /// Largest deviation from the value expected at onset, in the series' units.
    pub magnitude: f64,
    /// The same deviation in robust sigmas of the band at onset.
    pub magnitude_sigmas: f64,
    /// Expected band at onset.
    pub expected_lower: f64,
    pub expected_upper: f64,
    pub peak_score: f64,
    /// For a predicted limit crossing: time from onset until the limit is reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_ms: Option<i64>,
}

/// Per-point scores (aligned with the input) and events for one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyReport {
    pub points: Vec<PointScore>,
    pub events: Vec<AnomalyEvent>,
    /// The signal mode the detector settled on.
    pub mode: SignalMode,
    /// The seasonal period learned by the end, in samples.
    pub period: Option<usize>,
}

/// Runs a fresh [`Detector`] over `series` and groups high scores into events.
///
/// Samples are fed in time order even if `series` is not normalised; `points` stays aligned
/// with the input, and a repeated timestamp scores 0 after its first occurrence.
pub fn detect(series: &Series, config: &DetectorConfig) -> Result<AnomalyReport, ConfigError> {
    let mut detector = Detector::new(config.clone())?;
    let n = series.timestamps.len().min(series.values.len());
    let mut points: Vec<Option<PointScore>> = vec![None; n];
    for i in time_order(&series.timestamps[..n]) {
        points[i] = Some(detector.update(series.timestamps[i], series.values[i]));
    }
    let (mode, period) = (detector.mode(), detector.period());
    Ok(AnomalyReport {
        points: points.into_iter().flatten().collect(),
        events: detector.finish(),
        mode,
        period,
    })
}

/// The NAB entry point: one score in [0, 1] per point of `series`, aligned, from the default
/// configuration. Strictly streaming: the score of point `i` depends only on points `0..=i`
/// (in time order).
pub fn score_series(series: &Series) -> Vec<f64> {
    let n = series.timestamps.len().min(series.values.len());
    let mut scores = vec![0.0; series.timestamps.len().max(series.values.len())];
    let Ok(mut detector) = Detector::new(DetectorConfig::default()) else {
        return scores;
    };
    for i in time_order(&series.timestamps[..n]) {
        scores[i] = detector
            .update(series.timestamps[i], series.values[i])
            .score;
    }
    scores
}

/// Indices of `ts` in time order (stable, so the first of equal timestamps comes first).
fn time_order(ts: &[i64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..ts.len()).collect();
    if !ts.windows(2).all(|w| w[0] <= w[1]) {
        idx.sort_by_key(|&i| ts[i]);
    }
    idx
}

#[cfg(test)]
mod tests;
