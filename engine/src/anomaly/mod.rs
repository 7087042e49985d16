//! Streaming anomaly detection: one score in [0, 1] per point, and sparse typed events.
//!
//! Start with [`Detector`]: feed it one sample at a time with [`Detector::update`]; it never looks
//! ahead, so the same code scores live data and replays. [`detect`] runs it over a whole
//! [`Series`] and returns an [`AnomalyReport`]; [`score_series`] is the fixed-configuration entry
//! point the NAB harness calls.
//!
//! Scores are calibrated as tail probabilities ("surprise") so one threshold means the same
//! thing on every series: a score of 0.5 is roughly a one-in-ten-thousand event under the
//! detector's model of the recent past.

pub mod tail;
pub mod window;

use crate::series::Series;
use serde::{Deserialize, Serialize};
use window::RollingWindow;

/// What kind of change a point or event looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// A short excursion away from the expected band (a dip when the direction is down).
    Spike,
    /// A sustained move of the level.
    LevelShift,
    /// The spread changed while the level did not.
    VarianceChange,
    /// The slope changed: a slow leak or ramp.
    TrendChange,
}

/// Which way the value moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Up,
    Down,
}

/// The detector's verdict on one sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PointScore {
    pub ts_ms: i64,
    /// The sample; NaN when it was missing.
    pub value: f64,
    /// Anomaly score in [0, 1]; 0 while learning and for missing samples.
    pub score: f64,
    /// Expected value before seeing this sample; NaN while learning.
    pub expected: f64,
    /// Expected band (about ±3 robust sigmas); NaN while learning.
    pub lower: f64,
    pub upper: f64,
    /// The component that produced the score, when the score is above zero.
    pub kind: Option<AnomalyKind>,
    pub direction: Option<Direction>,
}

/// Configuration errors from [`DetectorConfig`] builders.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// The event threshold must be a number in (0, 1).
    Threshold(f64),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Threshold(t) => write!(f, "event threshold {t} is not in (0, 1)"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Detector settings. [`DetectorConfig::default`] is the one configuration used everywhere,
/// including NAB; the builders only exist for callers with a reason to differ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorConfig {
    /// Score at or above which a point opens or extends an [`AnomalyEvent`].
    pub threshold: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig { threshold: 0.5 }
    }
}

impl DetectorConfig {
    /// Sets the event threshold, which must lie in (0, 1).
    pub fn with_threshold(mut self, threshold: f64) -> Result<Self, ConfigError> {
        if !(threshold > 0.0 && threshold < 1.0) {
            return Err(ConfigError::Threshold(threshold));
        }
        self.threshold = threshold;
        Ok(self)
    }
}

/// Points of history before any score is emitted.
const LEARNING_POINTS: usize = 100;
/// Points in the baseline window.
const BASELINE_WINDOW: usize = 400;
/// Surprise (nats) that maps to a score of 0.5: about a one-in-10^4 tail.
const HALF_SCORE_SURPRISE: f64 = 9.2;

/// A streaming detector: feed samples in time order with [`Detector::update`].
#[derive(Debug, Clone)]
pub struct Detector {
    config: DetectorConfig,
    baseline: RollingWindow,
    seen: usize,
    last_ts: Option<i64>,
}

impl Detector {
    pub fn new(config: DetectorConfig) -> Self {
        Detector {
            config,
            baseline: RollingWindow::new(BASELINE_WINDOW),
            seen: 0,
            last_ts: None,
        }
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// Scores one sample. Samples older than the last one seen, and missing (non-finite)
    /// values, score 0 and leave the state untouched.
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
        };
        if !value.is_finite() || self.last_ts.is_some_and(|last| ts_ms <= last) {
            return out;
        }
        self.last_ts = Some(ts_ms);
        if let (Some(median), Some(sigma)) = (self.baseline.median(), self.scale()) {
            out.expected = median;
            out.lower = median - 3.0 * sigma;
            out.upper = median + 3.0 * sigma;
            if self.seen >= LEARNING_POINTS {
                let z = (value - median) / sigma;
                let surprise = tail::normal_surprise(z.abs());
                out.score = tail::surprise_to_score(surprise, HALF_SCORE_SURPRISE);
                if out.score > 0.0 {
                    out.kind = Some(AnomalyKind::Spike);
                    out.direction = Some(if z >= 0.0 {
                        Direction::Up
                    } else {
                        Direction::Down
                    });
                }
            }
        }
        self.baseline.push(value);
        self.seen += 1;
        out
    }

    /// Robust scale with a floor, so flat stretches do not make every wiggle infinite.
    fn scale(&self) -> Option<f64> {
        let iqr = self.baseline.iqr_sigma()?;
        let spread = self.baseline.max()? - self.baseline.min()?;
        let level = self.baseline.median()?.abs();
        Some(iqr.max(0.05 * spread).max(1e-3 * level).max(1e-9))
    }
}

/// A contiguous stretch of points scoring at or above the configured threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyEvent {
    pub onset_ms: i64,
    pub end_ms: i64,
    pub kind: AnomalyKind,
    pub direction: Direction,
    /// Peak deviation from the expected value, in the series' units.
    pub magnitude: f64,
    /// The same deviation in robust sigmas.
    pub magnitude_sigmas: f64,
    /// Expected band at onset.
    pub expected_lower: f64,
    pub expected_upper: f64,
    pub peak_score: f64,
}

/// Per-point scores and events for one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyReport {
    pub points: Vec<PointScore>,
    pub events: Vec<AnomalyEvent>,
}

/// Runs a fresh [`Detector`] over `series` (in time order) and groups high scores into events.
pub fn detect(series: &Series, config: &DetectorConfig) -> AnomalyReport {
    let mut detector = Detector::new(config.clone());
    let mut points = Vec::with_capacity(series.len());
    for (&ts, &v) in series.timestamps.iter().zip(&series.values) {
        points.push(detector.update(ts, v));
    }
    let events = group_events(&points, config.threshold);
    AnomalyReport { points, events }
}

/// The NAB entry point: one score per point of `series`, aligned, from the default
/// configuration. Strictly streaming: the score of point `i` depends only on points `0..=i`.
pub fn score_series(series: &Series) -> Vec<f64> {
    let mut detector = Detector::new(DetectorConfig::default());
    let n = series.timestamps.len().min(series.values.len());
    (0..n)
        .map(|i| {
            detector
                .update(series.timestamps[i], series.values[i])
                .score
        })
        .collect()
}

fn group_events(points: &[PointScore], threshold: f64) -> Vec<AnomalyEvent> {
    let mut events: Vec<AnomalyEvent> = Vec::new();
    let mut open = false;
    for p in points {
        let hot = p.score >= threshold;
        match (hot, open, events.last_mut()) {
            (true, true, Some(ev)) => {
                ev.end_ms = p.ts_ms;
                if p.score > ev.peak_score {
                    ev.peak_score = p.score;
                    ev.magnitude = p.value - p.expected;
                    let sigma = (p.upper - p.lower) / 6.0;
                    ev.magnitude_sigmas = ev.magnitude / sigma.max(f64::MIN_POSITIVE);
                }
            }
            (true, _, _) => {
                let magnitude = p.value - p.expected;
                let sigma = ((p.upper - p.lower) / 6.0).max(f64::MIN_POSITIVE);
                events.push(AnomalyEvent {
                    onset_ms: p.ts_ms,
                    end_ms: p.ts_ms,
                    kind: p.kind.unwrap_or(AnomalyKind::Spike),
                    direction: p.direction.unwrap_or(Direction::Up),
                    magnitude,
                    magnitude_sigmas: magnitude / sigma,
                    expected_lower: p.lower,
                    expected_upper: p.upper,
                    peak_score: p.score,
                });
                open = true;
            }
            (false, _, _) => open = false,
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes(n: usize) -> Vec<i64> {
        (0..n as i64).map(|i| i * 60_000).collect()
    }

    #[test]
    fn spike_scores_high_and_quiet_noise_scores_low() {
        let n = 600;
        let mut values: Vec<f64> = (0..n)
            .map(|i| 10.0 + ((i * 37 % 11) as f64 - 5.0) * 0.1)
            .collect();
        values[500] = 30.0;
        let series = Series::new("x", minutes(n), values);
        let scores = score_series(&series);
        assert_eq!(scores.len(), n);
        assert!(scores[500] > 0.9, "spike scored {}", scores[500]);
        let quiet = scores[100..500].iter().cloned().fold(0.0, f64::max);
        assert!(quiet < 0.5, "noise scored {quiet}");
    }
}
