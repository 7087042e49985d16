//! The one time-series type every source produces and every engine piece consumes.
//!
//! Timestamps are Unix milliseconds (UTC); a missing sample is `f64::NAN`. Sources build a
//! [`Series`] and call [`Series::normalize`] once, so the engine can rely on sorted, unique
//! timestamps. Summaries and downsampling live here because every tool that shows a series
//! to the model needs both, and they must agree.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A labelled series of samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Metric or signal name, e.g. `container_memory_working_set_bytes` or `cpu`.
    pub name: String,
    /// Identifying labels (namespace, pod, dimension values).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Unit as reported by the source (`Bytes`, `Percent`, `cores`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Sample times, Unix milliseconds.
    pub timestamps: Vec<i64>,
    /// Sample values; `NaN` marks a missing sample.
    pub values: Vec<f64>,
}

/// Descriptive statistics of a series, the compact form shown to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSummary {
    pub points: usize,
    /// Share of samples that are missing (NaN), in [0, 1].
    pub missing_share: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    pub p95: Option<f64>,
    pub last: Option<f64>,
    /// Least-squares slope in value units per hour; `None` with fewer than two samples.
    pub slope_per_hour: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

impl Series {
    pub fn new(name: impl Into<String>, timestamps: Vec<i64>, values: Vec<f64>) -> Self {
        let mut series = Series {
            name: name.into(),
            timestamps,
            values,
            ..Default::default()
        };
        series.normalize();
        series
    }

    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    pub fn with_unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = Some(unit.into());
        self
    }

    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// Sorts by time, keeps the last value for a repeated timestamp, maps infinities to NaN,
    /// and truncates to the shorter of the two vectors. Sources disagree on all of these.
    pub fn normalize(&mut self) {
        let n = self.timestamps.len().min(self.values.len());
        self.timestamps.truncate(n);
        self.values.truncate(n);
        let sorted = self.timestamps.windows(2).all(|w| w[0] < w[1]);
        if !sorted {
            let mut pairs: Vec<(i64, f64)> = self
                .timestamps
                .iter()
                .copied()
                .zip(self.values.iter().copied())
                .collect();
            // Stable sort keeps arrival order among equal timestamps, so "last wins" holds.
            pairs.sort_by_key(|p| p.0);
            let mut deduped: Vec<(i64, f64)> = Vec::with_capacity(pairs.len());
            for (t, v) in pairs {
                match deduped.last_mut() {
                    Some(last) if last.0 == t => last.1 = v,
                    _ => deduped.push((t, v)),
                }
            }
            self.timestamps = deduped.iter().map(|p| p.0).collect();
            self.values = deduped.iter().map(|p| p.1).collect();
        }
        for v in &mut self.values {
            if !v.is_finite() {
                *v = f64::NAN;
            }
        }
    }

    /// Present (non-NaN) samples as `(timestamp, value)` pairs.
    pub fn present(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        self.timestamps
            .iter()
            .copied()
            .zip(self.values.iter().copied())
            .filter(|(_, v)| !v.is_nan())
    }

    /// Min, max, mean, p95, last, slope and missing share in one pass plus one sort.
    pub fn summary(&self) -> SeriesSummary {
        let mut present: Vec<f64> = Vec::with_capacity(self.values.len());
        let (mut sum, mut min, mut max) = (0.0, f64::INFINITY, f64::NEG_INFINITY);
        // Slope by least squares on hours since the first sample, which keeps sums small.
        let t0 = self.timestamps.first().copied().unwrap_or(0);
        let (mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0);
        let mut last = None;
        for (t, v) in self.present() {
            present.push(v);
            sum += v;
            min = min.min(v);
            max = max.max(v);
            let x = (t - t0) as f64 / 3_600_000.0;
            sx += x;
            sy += v;
            sxx += x * x;
            sxy += x * v;
            last = Some(v);
        }
        let n = present.len();
        let missing_share = if self.values.is_empty() {
            0.0
        } else {
            (self.values.len() - n) as f64 / self.values.len() as f64
        };
        let slope_per_hour = if n >= 2 {
            let nf = n as f64;
            let denom = nf * sxx - sx * sx;
            (denom.abs() > f64::EPSILON).then(|| (nf * sxy - sx * sy) / denom)
        } else {
            None
        };
        SeriesSummary {
            points: self.values.len(),
            missing_share,
            min: (n > 0).then_some(min),
            max: (n > 0).then_some(max),
            mean: (n > 0).then(|| sum / n as f64),
            p95: quantile(&mut present, 0.95),
            last,
            slope_per_hour,
            unit: self.unit.clone(),
        }
    }

    /// At most `max_points` samples, chosen by largest-triangle-three-buckets so spikes and
    /// dips survive; the first and last samples are always kept. Missing samples are dropped.
    pub fn downsample(&self, max_points: usize) -> Vec<(i64, f64)> {
        let points: Vec<(i64, f64)> = self.present().collect();
        lttb(&points, max_points)
    }
}

/// Linear-interpolated quantile `q` in [0, 1]; sorts `values` in place. `None` when empty.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(values[lo] + (values[hi] - values[lo]) * (pos - lo as f64))
}

/// The median positive gap between consecutive timestamps (the upper one of an even count):
/// the sampling interval. Repeated and backward steps are skipped, so an unsorted or
/// duplicated series still yields it; `None` without two increasing samples.
pub fn median_step(timestamps: &[i64]) -> Option<i64> {
    let mut gaps: Vec<i64> = timestamps
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .filter(|d| *d > 0)
        .collect();
    gaps.sort_unstable();
    gaps.get(gaps.len() / 2).copied()
}

/// Largest-triangle-three-buckets downsampling (Steinarsson, 2013).
pub fn lttb(points: &[(i64, f64)], max_points: usize) -> Vec<(i64, f64)> {
    if max_points >= points.len() || points.len() <= 2 {
        return points.to_vec();
    }
    if max_points < 3 {
        return vec![points[0], points[points.len() - 1]];
    }
    let bucket = (points.len() - 2) as f64 / (max_points - 2) as f64;
    let mut out = Vec::with_capacity(max_points);
    out.push(points[0]);
    let mut a = 0usize;
    for i in 0..max_points - 2 {
        let start = (i as f64 * bucket) as usize + 1;
        let end = (((i + 1) as f64 * bucket) as usize + 1).min(points.len() - 1);
        let next_start = end;
        let next_end = (((i + 2) as f64 * bucket) as usize + 1).min(points.len());
        let next = &points[next_start..next_end.max(next_start + 1).min(points.len())];
        let avg_x = next.iter().map(|p| p.0 as f64).sum::<f64>() / next.len() as f64;
        let avg_y = next.iter().map(|p| p.1).sum::<f64>() / next.len() as f64;
        let (ax, ay) = (points[a].0 as f64, points[a].1);
        let mut best = start;
        let mut best_area = -1.0;
        for (j, p) in points
            .iter()
            .enumerate()
            .take(end.max(start + 1))
            .skip(start)
        {
            let area = ((ax - avg_x) * (p.1 - ay) - (ax - p.0 as f64) * (avg_y - ay)).abs();
            if area > best_area {
                best_area = area;
                best = j;
            }
        }
        out.push(points[best]);
        a = best;
    }
    out.push(points[points.len() - 1]);
    out
}

/// Timestamps that walk from `origin` by `steps` (then by `step`), saturating at the ends of
/// i64: the hostile clocks (repeats, backward steps, edges) the property tests feed in.
#[cfg(test)]
pub(crate) fn walk_timestamps(origin: i64, steps: &[i64], step: i64, n: usize) -> Vec<i64> {
    let mut t = origin;
    (0..n)
        .map(|i| {
            t = t.saturating_add(steps.get(i).copied().unwrap_or(step));
            t
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_step_skips_repeats_and_backward_steps() {
        assert_eq!(median_step(&[0, 60, 60, 120, 90, 180, 240]), Some(60));
        assert_eq!(median_step(&[0, 10, 30, 60]), Some(20));
        assert_eq!(median_step(&[i64::MIN, i64::MAX]), Some(i64::MAX));
        assert_eq!(median_step(&[5, 5]), None);
        assert_eq!(median_step(&[]), None);
    }

    #[test]
    fn normalize_sorts_dedups_and_masks_infinities() {
        let s = Series::new("x", vec![3, 1, 2, 2], vec![3.0, f64::INFINITY, 2.0, 2.5]);
        assert_eq!(s.timestamps, vec![1, 2, 3]);
        assert!(s.values[0].is_nan());
        assert_eq!(s.values[1..], [2.5, 3.0]);
    }

    #[test]
    fn summary_reports_slope_per_hour_and_missing_share() {
        let ts: Vec<i64> = (0..5).map(|i| i * 3_600_000).collect();
        let s = Series::new("x", ts, vec![0.0, 2.0, f64::NAN, 6.0, 8.0]);
        let sum = s.summary();
        assert_eq!(sum.points, 5);
        assert!((sum.missing_share - 0.2).abs() < 1e-12);
        assert!((sum.slope_per_hour.unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(sum.last, Some(8.0));
        assert_eq!(sum.min, Some(0.0));
    }

    #[test]
    fn summary_of_empty_series_has_no_statistics() {
        let sum = Series::default().summary();
        assert_eq!(sum.points, 0);
        assert_eq!(sum.mean, None);
        assert_eq!(sum.slope_per_hour, None);
    }

    #[test]
    fn lttb_keeps_ends_and_the_spike() {
        let mut pts: Vec<(i64, f64)> = (0..1000).map(|i| (i, 0.0)).collect();
        pts[500].1 = 100.0;
        let out = lttb(&pts, 50);
        assert_eq!(out.len(), 50);
        assert_eq!(out[0], pts[0]);
        assert_eq!(out[49], pts[999]);
        assert!(out.iter().any(|p| p.1 == 100.0));
    }
}
