//! Which candidate signals moved with a symptom, with what lag and sign.
//!
//! Both series are put on one grid (the symptom's median spacing, last value at or before each
//! point), first-differenced (so two unrelated trends do not look related) and standardised; the
//! Pearson correlation is then taken at every lag in `-max_lag..=max_lag`. A positive lag means
//! the candidate moved first. The significance bar is 2/sqrt(n), the usual white-noise band.

use super::stats::{mean_std, pearson};
use crate::series::{Series, median_step};
use serde::{Deserialize, Serialize};

/// Lag range and grid for [`correlate`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CorrelateConfig {
    /// Largest lag tried either way, ms.
    pub max_lag_ms: i64,
    /// Grid step, ms; `None` takes the symptom's median sample spacing.
    pub step_ms: Option<i64>,
    /// Fewest overlapping differenced samples a lag needs.
    pub min_overlap: usize,
}

impl Default for CorrelateConfig {
    fn default() -> Self {
        Self {
            max_lag_ms: 5 * 60_000,
            step_ms: None,
            min_overlap: 10,
        }
    }
}

/// How one candidate moved with the symptom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    /// Caller's name for the candidate (e.g. `carts/cpu`).
    pub candidate: String,
    /// Lag of the strongest correlation, ms; positive = the candidate moved first.
    pub lag_ms: i64,
    /// Pearson correlation of the differenced series at that lag, in [-1, 1].
    pub r: f64,
    /// +1 when they move together, -1 when opposite, 0 when `r` is 0.
    pub sign: i8,
    /// True when |r| exceeds the 2/sqrt(n) white-noise band.
    pub significant: bool,
    /// Overlapping samples behind `r`.
    pub samples: usize,
}

/// Correlates every candidate with the symptom; strongest |r| first.
pub fn correlate(
    symptom: &Series,
    candidates: &[(String, &Series)],
    cfg: &CorrelateConfig,
) -> Vec<Correlation> {
    let mut out: Vec<Correlation> = candidates
        .iter()
        .filter_map(|(name, s)| {
            lagged_correlation(symptom, s, cfg).map(|mut c| {
                c.candidate = name.clone();
                c
            })
        })
        .collect();
    out.sort_by(|a, b| b.r.abs().total_cmp(&a.r.abs()));
    out
}

/// The strongest lagged correlation of one candidate with the symptom, if they overlap enough.
pub fn lagged_correlation(
    symptom: &Series,
    candidate: &Series,
    cfg: &CorrelateConfig,
) -> Option<Correlation> {
    let step = cfg
        .step_ms
        .filter(|s| *s > 0)
        .or_else(|| median_step(&symptom.timestamps))?;
    let start = (*symptom.timestamps.first()?).max(*candidate.timestamps.first()?);
    let end = (*symptom.timestamps.last()?).min(*candidate.timestamps.last()?);
    let points = usize::try_from((end - start) / step).ok()?.checked_add(1)?;
    if end <= start || points > 1_000_000 {
        return None;
    }
    let grid: Vec<i64> = (0..points as i64).map(|i| start + i * step).collect();
    let a = standardised_diff(&resample(symptom, &grid, step));
    let b = standardised_diff(&resample(candidate, &grid, step));
    let max_lag = (cfg.max_lag_ms / step).clamp(0, a.len() as i64 / 2);
    let mut best: Option<(i64, f64, usize)> = None;
    for lag in -max_lag..=max_lag {
        let (xs, ys) = shifted(&a, &b, lag);
        let n = xs
            .iter()
            .zip(ys)
            .filter(|(x, y)| !x.is_nan() && !y.is_nan())
            .count();
        if n < cfg.min_overlap.max(3) {
            continue;
        }
        let r = pearson(xs, ys);
        if best.is_none_or(|b| r.abs() > b.1.abs()) {
            best = Some((lag, r, n));
        }
    }
    let (lag, r, n) = best?;
    Some(Correlation {
        candidate: candidate.name.clone(),
        lag_ms: lag * step,
        r,
        sign: if r > 0.0 {
            1
        } else if r < 0.0 {
            -1
        } else {
            0
        },
        significant: r.abs() > 2.0 / (n as f64).sqrt(),
        samples: n,
    })
}

/// Symptom at i against candidate at i - lag: a positive lag pairs the symptom with the
/// candidate's earlier samples.
fn shifted<'a>(a: &'a [f64], b: &'a [f64], lag: i64) -> (&'a [f64], &'a [f64]) {
    let k = lag.unsigned_abs() as usize;
    let n = a.len().min(b.len());
    if k >= n {
        return (&[], &[]);
    }
    if lag >= 0 {
        (&a[k..n], &b[..n - k])
    } else {
        (&a[..n - k], &b[k..n])
    }
}

/// Last value at or before each grid point, if it is at most two steps old.
fn resample(s: &Series, grid: &[i64], step: i64) -> Vec<f64> {
    let mut j = 0;
    grid.iter()
        .map(|&g| {
            while j + 1 < s.timestamps.len() && s.timestamps[j + 1] <= g {
                j += 1;
            }
            match s.timestamps.get(j) {
                Some(&t) if t <= g && g - t <= 2 * step => s.values[j],
                _ => f64::NAN,
            }
        })
        .collect()
}

fn standardised_diff(xs: &[f64]) -> Vec<f64> {
    let d: Vec<f64> = xs.windows(2).map(|w| w[1] - w[0]).collect();
    match mean_std(&d) {
        Some((m, s)) if s > 0.0 => d.iter().map(|v| (v - m) / s).collect(),
        _ => vec![f64::NAN; d.len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hash noise in [-0.5, 0.5): independent across seeds, unlike modular sequences.
    fn noise(i: i64, seed: i64) -> f64 {
        let mut z = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (seed as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 31)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 29;
        (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    #[test]
    fn finds_a_known_lag_and_sign() {
        let ts: Vec<i64> = (0..300).map(|i| i * 1000).collect();
        let driver: Vec<f64> = (0..300).map(|i| noise(i, 1) * 10.0).collect();
        // The symptom follows the driver 7 s later, inverted, plus a little noise.
        let sym: Vec<f64> = (0..300)
            .map(|i| {
                if i >= 7 {
                    -driver[(i - 7) as usize] + noise(i, 2)
                } else {
                    0.0
                }
            })
            .collect();
        let unrelated: Vec<f64> = (0..300).map(|i| noise(i, 3)).collect();
        let symptom = Series::new("latency", ts.clone(), sym);
        let a = Series::new("cpu", ts.clone(), driver);
        let b = Series::new("other", ts, unrelated);
        let out = correlate(
            &symptom,
            &[("a".into(), &a), ("b".into(), &b)],
            &CorrelateConfig::default(),
        );
        assert_eq!(out[0].candidate, "a");
        assert_eq!(out[0].lag_ms, 7000);
        assert_eq!(out[0].sign, -1);
        assert!(out[0].r < -0.9 && out[0].significant);
        assert!(out[1].r.abs() < 0.4);
    }

    #[test]
    fn disjoint_or_empty_series_give_nothing() {
        let a = Series::new("a", vec![0, 1000, 2000], vec![1.0, 2.0, 3.0]);
        let b = Series::new("b", vec![10_000, 11_000], vec![1.0, 2.0]);
        let cfg = CorrelateConfig::default();
        assert!(lagged_correlation(&a, &b, &cfg).is_none());
        assert!(lagged_correlation(&Series::default(), &a, &cfg).is_none());
        let flat = Series::new("f", (0..50).map(|i| i * 1000).collect(), vec![f64::NAN; 50]);
        assert!(lagged_correlation(&flat, &flat, &cfg).is_none());
    }
}
