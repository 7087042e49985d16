//! The Numenta Anomaly Benchmark (NAB v1.1) scorer, ported so our detectors are judged by NAB's own rules.
//!
//! Start with [`window_rows`] (labelled windows → row ranges), then [`FileSweep::new`] (per-row
//! weights for one file and one cost profile), then score: [`score_file`] at a given threshold,
//! [`threshold_curve`] / [`optimize_threshold`] for NAB's corpus-wide threshold sweep, and
//! [`normalized_score`] for the 0–100 figure NAB publishes. Parsing of NAB's files (`&str` in,
//! plain data out) lives in [`parse`]; reading them from disk is the caller's job.
//!
//! The rules, as NAB v1.1 applies them:
//! - each labelled window is worth `-fnWeight` until detected; its score is the weighted scaled
//!   sigmoid of its earliest detection, so early detection is worth more (`tpWeight` at the left
//!   edge, close to 0 at the right edge);
//! - each detection outside a window costs `fpWeight` times the scaled sigmoid of its distance
//!   past the previous window's right edge (in that window's widths), or a full `fpWeight` when
//!   no window precedes it;
//! - the first `min(floor(0.15 * rows), 750)` rows of a file are probationary: they are neither
//!   scored nor counted;
//! - a row is a detection when its anomaly score is `>=` the threshold.

pub mod parse;
#[cfg(test)]
mod reference;
mod sweep;
#[cfg(test)]
mod tests;

pub use sweep::{FileSweep, SweepPoint, optimize_threshold, score_file, threshold_curve};

use serde::Deserialize;
use std::fmt;

/// Share of each file's rows that is probationary (NAB's `probationPercent`).
pub const PROBATION_PERCENT: f64 = 0.15;

/// NAB caps the probationary period at `0.15 * 5000` rows, so long files do not lose more.
pub const PROBATION_MAX_ROWS: usize = 750;

/// Number of leading rows NAB neither scores nor counts in a file of `rows` rows.
pub fn probation_length(rows: usize) -> usize {
    let share = (PROBATION_PERCENT * rows as f64).floor() as usize;
    share.min(PROBATION_MAX_ROWS)
}

/// NAB's scaled sigmoid: `2 * sigmoid(-5x) - 1`, and exactly `-1` beyond `x = 3`.
///
/// `x = -1` is a window's left edge (≈ 0.98661), `x = 0` its right edge (0), `x > 0` lies past it.
pub fn scaled_sigmoid(relative_position: f64) -> f64 {
    if relative_position > 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * relative_position).exp()) - 1.0
    }
}

/// One NAB cost profile's weights (`config/profiles.json`, key `CostMatrix`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct CostMatrix {
    /// Reward for a window detected at its left edge.
    #[serde(rename = "tpWeight")]
    pub tp_weight: f64,
    /// Penalty scale for a detection outside every window.
    #[serde(rename = "fpWeight")]
    pub fp_weight: f64,
    /// Penalty for a window never detected.
    #[serde(rename = "fnWeight")]
    pub fn_weight: f64,
    /// Present in NAB's profiles but unused by its scorer; kept so the file round-trips.
    #[serde(rename = "tnWeight", default)]
    pub tn_weight: f64,
}

/// A named cost profile such as `standard`, `reward_low_FP_rate` or `reward_low_FN_rate`.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub costs: CostMatrix,
}

/// A labelled window as inclusive row indices of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowWindow {
    /// First row whose timestamp equals the window's start.
    pub first: usize,
    /// First row whose timestamp equals the window's end (its right edge).
    pub last: usize,
}

impl RowWindow {
    /// Rows in the window, the unit NAB measures positions in.
    pub fn width(&self) -> usize {
        self.last - self.first + 1
    }
}

/// NAB's result for one threshold: the raw score and the row counts behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdScore {
    /// Rows with an anomaly score `>=` this are detections.
    pub threshold: f64,
    /// Raw (un-normalised) NAB score.
    pub score: f64,
    /// Scorable rows inside a window that are detections.
    pub tp: usize,
    /// Scorable rows outside every window that are not detections.
    pub tn: usize,
    /// Scorable rows outside every window that are detections.
    pub fp: usize,
    /// Scorable rows inside a window that are not detections.
    pub fn_: usize,
    /// Scorable (non-probationary) rows.
    pub total: usize,
    /// Windows with at least one detection (not a NAB column; shown by the bench).
    pub windows_detected: usize,
}

/// The raw score of the null detector (nothing detected): every scorable window missed.
pub fn null_score(costs: &CostMatrix, windows: usize) -> f64 {
    -costs.fn_weight * windows as f64
}

/// The raw score of the perfect detector: every window detected at its left edge, no false positive.
pub fn perfect_score(costs: &CostMatrix, windows: usize) -> f64 {
    costs.tp_weight * windows as f64
}

/// NAB's normalisation `100 * (raw - null) / (perfect - null)`.
///
/// `None` when the span is not positive (no windows, or a degenerate profile), where the figure
/// would be meaningless rather than merely large.
pub fn normalized_score(raw: f64, null: f64, perfect: f64) -> Option<f64> {
    let span = perfect - null;
    let value = 100.0 * (raw - null) / span;
    (span > 0.0 && value.is_finite()).then_some(value)
}

/// Maps labelled windows (Unix ms bounds) to row indices the way NAB does: by exact timestamp
/// match, first occurrence. Windows must be in time order and not overlap (NAB's
/// `combined_windows.json` guarantees both; its own scorer silently misbehaves otherwise).
pub fn window_rows(timestamps: &[i64], windows: &[(i64, i64)]) -> Result<Vec<RowWindow>, NabError> {
    let find = |t: i64| {
        timestamps
            .iter()
            .position(|&x| x == t)
            .ok_or(NabError::WindowBoundNotFound { timestamp_ms: t })
    };
    let mut rows: Vec<RowWindow> = Vec::with_capacity(windows.len());
    for &(start, end) in windows {
        let window = RowWindow {
            first: find(start)?,
            last: find(end)?,
        };
        let after_previous = rows.last().is_none_or(|prev| window.first > prev.last);
        if window.last < window.first || !after_previous {
            return Err(NabError::WindowOutOfOrder {
                start_ms: start,
                end_ms: end,
            });
        }
        rows.push(window);
    }
    Ok(rows)
}

/// What went wrong reading NAB's files or labels.
#[derive(Debug)]
pub enum NabError {
    /// A JSON file (windows or profiles) did not have NAB's shape.
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
    /// A timestamp was not `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    BadTimestamp { text: String },
    /// A CSV row could not be read (1-based line number).
    Csv { line: usize, message: String },
    /// A CSV header lacked the column asked for.
    MissingColumn { column: String },
    /// A window bound matches no row's timestamp (NAB requires exact matches).
    WindowBoundNotFound { timestamp_ms: i64 },
    /// A window ends before it starts, or starts before the previous window ends.
    WindowOutOfOrder { start_ms: i64, end_ms: i64 },
}

impl fmt::Display for NabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json { what, source } => write!(f, "cannot parse NAB {what} JSON: {source}"),
            Self::BadTimestamp { text } => {
                write!(
                    f,
                    "bad timestamp {text:?} (expected YYYY-MM-DD HH:MM:SS[.ffffff])"
                )
            }
            Self::Csv { line, message } => write!(f, "CSV line {line}: {message}"),
            Self::MissingColumn { column } => write!(f, "CSV header has no column {column:?}"),
            Self::WindowBoundNotFound { timestamp_ms } => write!(
                f,
                "window bound {timestamp_ms} ms matches no row (NAB windows must use row timestamps)"
            ),
            Self::WindowOutOfOrder { start_ms, end_ms } => write!(
                f,
                "window [{start_ms}, {end_ms}] ms is reversed or overlaps the previous one (sort and merge windows)"
            ),
        }
    }
}

impl std::error::Error for NabError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Json { source, .. } => Some(source),
            _ => None,
        }
    }
}
