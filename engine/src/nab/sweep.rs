//! NAB's per-row weights for one file ([`FileSweep`]) and its threshold sweep over any set of files.
//!
//! The sweep visits rows from the highest anomaly score down, so every distinct score is a
//! candidate threshold and the whole score-by-threshold curve costs one sort plus one pass (each
//! distinct threshold re-adds the window parts, as NAB does, so scores match it bit for bit).
//! That is how NAB's optimizer picks one threshold for a corpus, and scoring a file at a given
//! threshold is just reading that file's curve, which keeps the two paths from disagreeing.

use super::{
    CostMatrix, RowWindow, ThresholdScore, null_score, perfect_score, probation_length,
    scaled_sigmoid,
};
use std::cmp::Ordering;

/// One scorable (non-probationary) row: what detecting it would add to the score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepPoint {
    /// Row index in the file.
    pub row: usize,
    /// Cost-weighted value of a detection here: positive inside a window, negative outside.
    pub weight: f64,
    /// Scorable-window index within the file, `None` outside every window.
    pub window: Option<usize>,
}

/// Per-row NAB weights of one file under one cost profile; independent of any detector.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSweep {
    points: Vec<SweepPoint>,
    windows: usize,
    costs: CostMatrix,
}

impl FileSweep {
    /// Weighs each row of a `rows`-row file against its labelled `windows`.
    ///
    /// Windows out of range, reversed or overlapping the previous one are ignored, so any input
    /// is safe; [`super::window_rows`] never produces such windows.
    pub fn new(rows: usize, windows: &[RowWindow], costs: CostMatrix) -> Self {
        let windows = usable_windows(rows, windows);
        let probation = probation_length(rows);
        let mut walk = Walk::new(costs);
        let mut points = Vec::with_capacity(rows.saturating_sub(probation));
        let mut pending = windows.iter().peekable();
        for row in 0..rows {
            if let Some(window) = pending.next_if(|w| w.first == row) {
                walk.enter(*window);
            }
            let weight = walk.weight(row);
            if row >= probation {
                points.push(SweepPoint {
                    row,
                    weight,
                    window: walk.window_id(),
                });
            }
            walk.leave_if_last(row);
        }
        FileSweep {
            points,
            windows: walk.scorable_windows,
            costs,
        }
    }

    /// The scorable rows, in row order.
    pub fn points(&self) -> &[SweepPoint] {
        &self.points
    }

    /// Windows with at least one scorable row: the ones NAB counts.
    pub fn windows(&self) -> usize {
        self.windows
    }

    pub fn costs(&self) -> &CostMatrix {
        &self.costs
    }

    /// Raw score of the null detector on this file (every window missed).
    pub fn null_score(&self) -> f64 {
        null_score(&self.costs, self.windows)
    }

    /// Raw score of the perfect detector on this file.
    pub fn perfect_score(&self) -> f64 {
        perfect_score(&self.costs, self.windows)
    }
}

fn usable_windows(rows: usize, windows: &[RowWindow]) -> Vec<RowWindow> {
    let mut usable: Vec<RowWindow> = Vec::with_capacity(windows.len());
    for w in windows {
        let after_previous = usable.last().is_none_or(|prev| w.first > prev.last);
        if w.first <= w.last && w.last < rows && after_previous {
            usable.push(*w);
        }
    }
    usable
}

/// Where the row walk stands: the window it is in, the last one it left.
struct Walk {
    costs: CostMatrix,
    /// Weight of a left-edge detection before the tp weight; dividing by it makes that `tpWeight`.
    max_tp: f64,
    current: Option<RowWindow>,
    current_id: Option<usize>,
    previous: Option<RowWindow>,
    scorable_windows: usize,
}

impl Walk {
    fn new(costs: CostMatrix) -> Self {
        let max_tp = scaled_sigmoid(-1.0);
        Walk {
            costs,
            max_tp,
            current: None,
            current_id: None,
            previous: None,
            scorable_windows: 0,
        }
    }

    fn enter(&mut self, window: RowWindow) {
        self.current = Some(window);
        self.current_id = None;
    }

    fn weight(&self, row: usize) -> f64 {
        match self.current {
            Some(w) => {
                // Position runs from -1 at the left edge to just below 0 at the right edge.
                let position = -((w.last - row + 1) as f64) / w.width() as f64;
                scaled_sigmoid(position) * self.costs.tp_weight / self.max_tp
            }
            None => self.outside(row) * self.costs.fp_weight,
        }
    }

    /// Unweighted value of a false positive at `row`, measured in widths past the last window.
    fn outside(&self, row: usize) -> f64 {
        let Some(prev) = self.previous else {
            return -1.0;
        };
        // NAB divides by (width - 1); for a one-row window that is a division by zero in NAB, and
        // the limit (infinitely far past the window) is the full penalty.
        let denominator = prev.width() as f64 - 1.0;
        if denominator <= 0.0 {
            return -1.0;
        }
        scaled_sigmoid((row - prev.last) as f64 / denominator)
    }

    /// Window id for a scorable row; ids are given on first scorable row, so probationary-only
    /// windows get none and are not counted, as in NAB.
    fn window_id(&mut self) -> Option<usize> {
        self.current?;
        if self.current_id.is_none() {
            self.current_id = Some(self.scorable_windows);
            self.scorable_windows += 1;
        }
        self.current_id
    }

    fn leave_if_last(&mut self, row: usize) {
        if self.current.is_some_and(|w| w.last == row) {
            self.previous = self.current.take();
            self.current_id = None;
        }
    }
}

/// One scorable row of the corpus, with its window numbered across all files.
#[derive(Clone, Copy)]
struct Entry {
    anomaly: f64,
    weight: f64,
    window: Option<usize>,
}

/// NAB's score for every candidate threshold over `files` (each a sweep and its detector's scores,
/// one per row; missing, NaN or infinite scores are never detections), highest threshold first.
///
/// The first row is "nothing detected" at threshold 1.1 (NAB's start value), or just above the
/// top score when one reaches 1.1; each further row adds the rows whose score equals its threshold.
pub fn threshold_curve(files: &[(&FileSweep, &[f64])]) -> Vec<ThresholdScore> {
    let (mut ranked, unranked, window_parts) = gather(files);
    // Stable, like NAB's sort, so equal scores keep row order and false-positive sums match.
    ranked.sort_by(|a, b| b.anomaly.partial_cmp(&a.anomaly).unwrap_or(Ordering::Equal));
    let mut tally = Tally::new(&ranked, &unranked, window_parts);
    let start = ranked.first().map_or(1.1, |e| {
        if e.anomaly < 1.1 {
            1.1
        } else {
            e.anomaly.next_up()
        }
    });
    let mut curve = vec![tally.snapshot(start)];
    let mut i = 0;
    while let Some(first) = ranked.get(i) {
        let threshold = first.anomaly;
        while let Some(entry) = ranked.get(i).filter(|e| e.anomaly == threshold) {
            tally.detect(entry);
            i += 1;
        }
        curve.push(tally.snapshot(threshold));
    }
    curve
}

/// Splits the corpus into rows that can be detected (finite scores) and rows that cannot,
/// and gives each scorable window its starting part, `-fnWeight`.
fn gather(files: &[(&FileSweep, &[f64])]) -> (Vec<Entry>, Vec<Entry>, Vec<f64>) {
    let (mut ranked, mut unranked, mut parts) = (Vec::new(), Vec::new(), Vec::new());
    for (sweep, scores) in files {
        let offset = parts.len();
        parts.extend(std::iter::repeat_n(-sweep.costs.fn_weight, sweep.windows));
        for p in &sweep.points {
            let anomaly = scores.get(p.row).copied().unwrap_or(f64::NAN);
            let entry = Entry {
                anomaly,
                weight: p.weight,
                window: p.window.map(|w| w + offset),
            };
            if anomaly.is_finite() {
                ranked.push(entry)
            } else {
                unranked.push(entry)
            }
        }
    }
    (ranked, unranked, parts)
}

/// Running counts and score parts as the threshold falls.
struct Tally {
    /// Best detection value per window so far (`-fnWeight` while undetected).
    parts: Vec<f64>,
    /// NAB sums window parts in order of each window's highest-scored row; keep it for fidelity.
    order: Vec<usize>,
    detected: Vec<bool>,
    fp_sum: f64,
    counts: [usize; 5], // tp, tn, fp, fn, windows detected
}

impl Tally {
    fn new(ranked: &[Entry], unranked: &[Entry], parts: Vec<f64>) -> Self {
        let mut seen = vec![false; parts.len()];
        let mut order = Vec::with_capacity(parts.len());
        for w in ranked.iter().chain(unranked).filter_map(|e| e.window) {
            if !std::mem::replace(&mut seen[w], true) {
                order.push(w);
            }
        }
        let in_window = ranked
            .iter()
            .chain(unranked)
            .filter(|e| e.window.is_some())
            .count();
        let total = ranked.len() + unranked.len();
        Tally {
            detected: vec![false; parts.len()],
            parts,
            order,
            fp_sum: 0.0,
            counts: [0, total - in_window, 0, in_window, 0],
        }
    }

    fn detect(&mut self, entry: &Entry) {
        let Some(w) = entry.window else {
            self.counts[2] += 1;
            self.counts[1] -= 1;
            self.fp_sum += entry.weight;
            return;
        };
        self.counts[0] += 1;
        self.counts[3] -= 1;
        if !std::mem::replace(&mut self.detected[w], true) {
            self.counts[4] += 1;
        }
        self.parts[w] = self.parts[w].max(entry.weight);
    }

    /// False positives first, then windows in NAB's order: the same additions in the same order
    /// give bit-identical scores, and re-adding (not patching) keeps rounding from drifting.
    fn score(&self) -> f64 {
        self.order
            .iter()
            .fold(self.fp_sum, |sum, &w| sum + self.parts[w])
    }

    fn snapshot(&self, threshold: f64) -> ThresholdScore {
        let [tp, tn, fp, fn_, windows_detected] = self.counts;
        ThresholdScore {
            threshold,
            score: self.score(),
            tp,
            tn,
            fp,
            fn_,
            total: tp + tn + fp + fn_,
            windows_detected,
        }
    }
}

/// NAB's score of one file when rows scoring `>= threshold` are detections.
pub fn score_file(sweep: &FileSweep, scores: &[f64], threshold: f64) -> ThresholdScore {
    let curve = threshold_curve(&[(sweep, scores)]);
    // The curve falls strictly after its first row; take the last row still at or above the
    // threshold (NAB's exact match, or the row just above it). Nothing qualifies only for a
    // threshold above every score or NaN: then nothing is detected.
    let at_or_above = curve.partition_point(|r| r.threshold >= threshold);
    curve[at_or_above.saturating_sub(1)]
}

/// The threshold NAB's optimizer picks for `files`: the highest raw score over the whole curve,
/// the highest threshold among ties (NAB keeps the first maximum).
pub fn optimize_threshold(files: &[(&FileSweep, &[f64])]) -> ThresholdScore {
    let curve = threshold_curve(files);
    // The curve always holds its "nothing detected" row, so there is a first maximum.
    let mut best = curve[0];
    for row in curve.into_iter().skip(1) {
        if row.score > best.score {
            best = row;
        }
    }
    best
}
