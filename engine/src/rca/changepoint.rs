//! Onset finding inside RCA: when did each signal leave its baseline, and where does a series
//! shift its mean. Pure, NaN-tolerant, and independent of the anomaly module on purpose (RCA needs
//! only these two questions answered, over an already chosen window).

use super::stats::{mean_std, median_iqr, present};

/// A signal's normal behaviour, fitted on the samples before the anomaly window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// Median of the baseline samples.
    pub center: f64,
    /// Robust spread around the median: the larger of IQR/1.349 and 1.4826 * MAD, floored so
    /// flat signals do not turn rounding noise into huge scores.
    pub scale: f64,
    /// The clear drift of the baseline, when it has one.
    pub drift: Option<Drift>,
}

/// A linear drift fitted on the baseline (a JVM heap creeping up, a slow leak in a bystander).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drift {
    /// Fitted value at `anchor_ms`.
    pub level: f64,
    /// Slope per millisecond.
    pub slope: f64,
    /// Time of the baseline's last sample, ms.
    pub anchor_ms: i64,
    /// Robust spread of the residuals around the line.
    pub scale: f64,
}

/// Relative floor on the scale: a signal must move by 1% of its level to score 1.
const SCALE_FLOOR_REL: f64 = 0.01;

/// Spread of `values` around `center`: the smaller of the robust scale (IQR/1.349 or 1.4826 *
/// MAD, whichever is larger) and the standard deviation. Robust scales ignore GC spikes and
/// scrape glitches, which inflate the standard deviation; but on light-tailed shapes such as a
/// JVM heap sawtooth they run 28% wider than it, which hides a slow leak riding on the sawtooth.
fn robust_scale(values: &[f64], center: f64) -> f64 {
    let iqr = median_iqr(values).map_or(0.0, |m| m.1);
    let deviations: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    let mad = median_iqr(&deviations).map_or(0.0, |m| m.0);
    let robust = (iqr / 1.349).max(1.4826 * mad);
    let sd = mean_std(values).map_or(robust, |m| m.1);
    robust.min(sd).max(SCALE_FLOOR_REL * center.abs() + 1e-9)
}

impl Baseline {
    /// Fits a baseline on `(t_ms, value)` samples; `None` with fewer than five present values.
    pub fn fit(samples: &[(i64, f64)]) -> Option<Baseline> {
        let values: Vec<f64> = samples.iter().map(|s| s.1).collect();
        if present(&values).len() < 5 {
            return None;
        }
        let center = median_iqr(&values)?.0;
        let scale = robust_scale(&values, center);
        Some(Baseline {
            center,
            scale,
            drift: fit_drift(samples, center),
        })
    }

    /// Robust z of `value` at `t_ms`: the smaller deviation of "against the level" and "against
    /// the drift extrapolated from the baseline", so a bystander that keeps drifting at its old
    /// pace scores low, while a step or a new ramp scores high under both.
    pub fn z(&self, t_ms: i64, value: f64) -> f64 {
        let level = (value - self.center) / self.scale;
        let Some(d) = self.drift else { return level };
        let expected = d.level + d.slope * (t_ms - d.anchor_ms) as f64;
        let trend = (value - expected) / d.scale;
        if trend.abs() < level.abs() {
            trend
        } else {
            level
        }
    }
}

/// OLS line through the baseline, kept only when its change across the window exceeds three
/// residual spreads: extrapolating a noise slope would invent deviations.
fn fit_drift(samples: &[(i64, f64)], center: f64) -> Option<Drift> {
    let pts: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| !s.1.is_nan())
        .map(|s| (s.0 as f64, s.1))
        .collect();
    if pts.len() < 10 {
        return None;
    }
    let n = pts.len() as f64;
    let (mx, my) = pts
        .iter()
        .fold((0.0, 0.0), |a, p| (a.0 + p.0 / n, a.1 + p.1 / n));
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    if !(sxx > 0.0 && slope.is_finite()) {
        return None;
    }
    let residuals: Vec<f64> = pts
        .iter()
        .map(|p| p.1 - (my + slope * (p.0 - mx)))
        .collect();
    // Whether the drift is real is a question about the noise (the raw residual spread); how far
    // a later value strays from it is scored with the same 1%-of-level floor as the level.
    let noise = robust_scale(&residuals, 0.0);
    let scale = noise.max(SCALE_FLOOR_REL * center.abs() + 1e-9);
    let (first, last) = (pts[0].0, pts[pts.len() - 1].0);
    ((slope * (last - first)).abs() > 3.0 * noise).then_some(Drift {
        level: my + slope * (last - mx),
        slope,
        anchor_ms: last as i64,
        scale,
    })
}

/// Where a signal's excursion from its baseline begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Onset {
    /// The excursion starts at this time, unix ms.
    At(i64),
    /// The signal was already past the threshold just before the search window opened: it did
    /// not change at the incident, it was drifting or elevated before it.
    BeforeWindow,
}

/// |z| below which a signal counts as back at its baseline when walking back from a crossing.
const BASELINE_LEVEL: f64 = 1.5;

/// Start of the first persistent excursion at or after `from_ms` (pass the whole series, so the
/// samples before `from_ms` can tell an old excursion from a new one): the first sample where at least
/// `need` of the next `window` |z| exceed `threshold` (persistence keeps a lone spike from
/// counting), walked back to the last sample still near the baseline, so a ramp (a leak) is dated
/// from where it left the baseline, not from where it crossed the threshold.
pub fn onset(
    times: &[i64],
    z: &[f64],
    from_ms: i64,
    threshold: f64,
    window: usize,
    need: usize,
) -> Option<Onset> {
    let start = times.iter().position(|t| *t >= from_ms)?;
    let n = z.len().min(times.len());
    let hot: Vec<bool> = z[..n].iter().map(|v| v.abs() > threshold).collect();
    let cross = (start..n).find(|&i| {
        let end = (i + window.max(1)).min(n);
        let count = hot[i..end].iter().filter(|h| **h).count();
        hot[i] && count >= need.min(end - i).max(1)
    })?;
    let mut j = cross;
    while j > start && z[j - 1].abs() > BASELINE_LEVEL {
        j -= 1;
    }
    // Walking back to the window's start is not old news by itself (after a gap in the data the
    // first sample in the window is where the excursion shows); being past the threshold on the
    // sample before the window, too, is.
    let before = if start == 0 { z[start] } else { z[start - 1] };
    if j == start && before.abs() > threshold {
        return Some(Onset::BeforeWindow);
    }
    Some(Onset::At(times[j]))
}

/// Index that best splits `values` into two segments of different means (the largest
/// between-segment t-like statistic), searching splits that leave `min_seg` samples each side.
pub fn mean_shift_split(values: &[f64], min_seg: usize) -> Option<(usize, f64)> {
    let n = values.len();
    if n < 2 * min_seg.max(1) {
        return None;
    }
    let xs: Vec<f64> = fill_forward(values);
    let total: f64 = xs.iter().sum();
    let total_sq: f64 = xs.iter().map(|x| x * x).sum();
    let var = (total_sq / n as f64 - (total / n as f64).powi(2)).max(1e-12);
    let mut left = 0.0;
    let mut best: Option<(usize, f64)> = None;
    for (i, x) in xs.iter().enumerate().take(n - min_seg) {
        left += x;
        let k = i + 1;
        if k < min_seg {
            continue;
        }
        let (m1, m2) = (left / k as f64, (total - left) / (n - k) as f64);
        let stat = (m2 - m1).abs() * ((k * (n - k)) as f64 / n as f64).sqrt() / var.sqrt();
        if best.is_none_or(|b| stat > b.1) {
            best = Some((k, stat));
        }
    }
    best
}

fn fill_forward(values: &[f64]) -> Vec<f64> {
    let first = values.iter().copied().find(|v| !v.is_nan()).unwrap_or(0.0);
    let mut last = first;
    values
        .iter()
        .map(|v| {
            if !v.is_nan() {
                last = *v;
            }
            last
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wobble(i: i64) -> f64 {
        ((i * 7919) % 13) as f64 / 13.0
    }

    #[test]
    fn onset_ignores_a_lone_spike_and_finds_the_step() {
        let times: Vec<i64> = (0..100).map(|i| i * 1000).collect();
        let mut z = vec![0.0; 100];
        z[30] = 9.0;
        for v in z.iter_mut().skip(60) {
            *v = 6.0;
        }
        assert_eq!(onset(&times, &z, 0, 3.0, 5, 3), Some(Onset::At(60_000)));
        assert_eq!(onset(&times, &z, 200_000, 3.0, 5, 3), None);
        assert_eq!(
            onset(&times, &z, 70_000, 3.0, 5, 3),
            Some(Onset::BeforeWindow)
        );
        let mut mild = z.clone();
        mild[59] = 2.0;
        assert_eq!(
            onset(&times, &mild, 59_000, 3.0, 5, 3),
            Some(Onset::At(59_000))
        );
    }

    #[test]
    fn a_ramp_is_dated_from_where_it_left_the_baseline() {
        let times: Vec<i64> = (0..100).map(|i| i * 1000).collect();
        let z: Vec<f64> = (0..100)
            .map(|i| if i >= 40 { (i - 40) as f64 * 0.1 } else { 0.0 })
            .collect();
        // Crosses 4 at step 80, but left the baseline (|z| > 1.5) at step 56.
        assert_eq!(onset(&times, &z, 0, 4.0, 5, 3), Some(Onset::At(56_000)));
    }

    #[test]
    fn drift_is_discounted_but_a_step_is_not() {
        let samples: Vec<(i64, f64)> = (0..100)
            .map(|i| (i * 1000, 100.0 + i as f64 + wobble(i)))
            .collect();
        let b = Baseline::fit(&samples).unwrap();
        assert!(b.drift.is_some_and(|d| d.slope > 0.0));
        assert!(b.z(150_000, 250.0).abs() < 2.0, "continuing drift");
        assert!(b.z(150_000, 400.0) > 5.0, "step above the drift");
        let flat: Vec<(i64, f64)> = (0..50).map(|i| (i * 1000, 5.0 + wobble(i))).collect();
        let f = Baseline::fit(&flat).unwrap();
        assert_eq!(f.drift, None);
        assert!(f.z(60_000, 50.0) > 20.0);
        assert!(Baseline::fit(&[(0, 1.0), (1, f64::NAN)]).is_none());
    }

    #[test]
    fn mean_shift_split_finds_the_step() {
        let v: Vec<f64> = (0..80)
            .map(|i| wobble(i) + if i >= 50 { 5.0 } else { 0.0 })
            .collect();
        assert_eq!(mean_shift_split(&v, 5).map(|s| s.0), Some(50));
        assert_eq!(mean_shift_split(&[1.0], 5), None);
    }
}
