//! Learns a daily or weekly season from the data and predicts each sample from past seasons.
//!
//! Nothing is configured: the sampling interval is the median of recent gaps, the candidate
//! periods are one day and one week of samples, and a period is adopted when the
//! autocorrelation of the recent history at that lag is strong. The check is repeated as
//! history grows, so a season that appears (or fades) is picked up. The prediction is the
//! median of the same phase in the last few seasons: robust to one anomalous day, which a
//! mean or a Holt-Winters state would absorb.

use crate::math::DAY_MS;
use std::collections::VecDeque;

/// Most history kept, in samples; bounds memory and the cost of a check.
const MAX_HISTORY: usize = 12_288;
/// Autocorrelation needed to adopt a period.
const MIN_ACF: f64 = 0.5;
/// Autocorrelation below which an adopted period is dropped.
const KEEP_ACF: f64 = 0.3;
/// How much better another period must be to replace the adopted one.
const SWITCH_MARGIN: f64 = 0.1;
/// Past seasons whose same-phase samples vote on the prediction.
const SEASONS_BACK: usize = 3;

/// Streaming season detector and same-phase predictor.
#[derive(Debug, Clone, Default)]
pub struct Season {
    history: VecDeque<f64>,
    gaps: VecDeque<i64>,
    last_ts: Option<i64>,
    period: Option<usize>,
    since_check: usize,
    changes: usize,
}

impl Season {
    /// The adopted period in samples, if any.
    pub fn period(&self) -> Option<usize> {
        self.period
    }

    /// How many times the adopted period has changed; residual statistics restart on a change.
    pub fn changes(&self) -> usize {
        self.changes
    }

    /// Median of the same phase over the last seasons, before `x` is learned.
    pub fn predict(&self) -> Option<f64> {
        let p = self.period?;
        let n = self.history.len();
        let mut same: Vec<f64> = (1..=SEASONS_BACK)
            .filter_map(|k| n.checked_sub(k * p).map(|i| self.history[i]))
            .filter(|v| v.is_finite())
            .collect();
        crate::series::quantile(&mut same, 0.5)
    }

    /// The residuals the adopted period would have left over the history kept, each sample
    /// against the seasons before it (oldest first; samples with no season before them have
    /// none): what a residual model adopted now can learn from at once, instead of from the
    /// samples still to come.
    pub fn past_residuals(&self) -> Vec<f64> {
        let Some(p) = self.period else {
            return Vec::new();
        };
        (0..self.history.len())
            .filter_map(|i| {
                let x = self.history[i];
                let mut same: Vec<f64> = (1..=SEASONS_BACK)
                    .filter_map(|k| i.checked_sub(k * p).map(|j| self.history[j]))
                    .filter(|v| v.is_finite())
                    .collect();
                let expected = crate::series::quantile(&mut same, 0.5)?;
                x.is_finite().then_some(x - expected)
            })
            .collect()
    }

    /// Learns one sample (`NaN` keeps the phase aligned without adding evidence).
    pub fn push(&mut self, ts_ms: i64, x: f64) {
        if let Some(last) = self.last_ts {
            self.gaps.push_back(ts_ms.saturating_sub(last));
            if self.gaps.len() > 64 {
                self.gaps.pop_front();
            }
        }
        self.last_ts = Some(ts_ms);
        self.history.push_back(x);
        if self.history.len() > MAX_HISTORY {
            self.history.pop_front();
        }
        self.since_check += 1;
        if self.since_check >= self.check_every() {
            self.since_check = 0;
            let p = self.best_period();
            if p != self.period {
                self.changes += 1;
            }
            self.period = p;
        }
    }

    fn check_every(&self) -> usize {
        self.period.map_or(96, |p| (p / 2).max(96))
    }

    /// Median gap between recent samples, in milliseconds.
    pub fn gap_ms(&self) -> Option<f64> {
        let mut gaps: Vec<f64> = self.gaps.iter().map(|&g| g as f64).collect();
        crate::series::quantile(&mut gaps, 0.5).filter(|g| *g > 0.0)
    }

    /// Daily and weekly lags in samples from the median gap.
    fn candidates(&self) -> Vec<usize> {
        let Some(gap) = self.gap_ms() else {
            return Vec::new();
        };
        [DAY_MS / gap, 7.0 * DAY_MS / gap]
            .into_iter()
            .map(|p| p.round())
            .filter(|p| *p >= 4.0 && *p <= (MAX_HISTORY / 3) as f64)
            .map(|p| p as usize)
            .collect()
    }

    /// Keeps the current period while it still explains the data (hysteresis stops the
    /// residual from changing meaning back and forth), else adopts the strongest candidate.
    fn best_period(&self) -> Option<usize> {
        let scored: Vec<(usize, f64)> = self
            .candidates()
            .into_iter()
            .filter(|p| self.history.len() >= 2 * p + p / 2)
            .map(|p| (p, self.acf(p)))
            .collect();
        let current = self
            .period
            .and_then(|cur| scored.iter().find(|(p, _)| *p == cur).copied())
            .filter(|(_, r)| *r >= KEEP_ACF);
        let best = scored
            .iter()
            .copied()
            .filter(|(_, r)| *r >= MIN_ACF)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match (current, best) {
            (Some(c), Some(b)) if b.1 > c.1 + SWITCH_MARGIN => Some(b.0),
            (Some(c), _) => Some(c.0),
            (None, b) => b.map(|b| b.0),
        }
    }

    /// Autocorrelation at `lag` over the most recent (up to) four periods.
    fn acf(&self, lag: usize) -> f64 {
        let n = self.history.len();
        let span = (4 * lag).min(n);
        let xs: Vec<f64> = self.history.iter().skip(n - span).copied().collect();
        let finite: Vec<f64> = xs.iter().copied().filter(|v| v.is_finite()).collect();
        if finite.len() < 2 * lag {
            return 0.0;
        }
        let mean = finite.iter().sum::<f64>() / finite.len() as f64;
        let var: f64 = finite.iter().map(|v| (v - mean).powi(2)).sum();
        if var <= 0.0 {
            return 0.0;
        }
        let (cov, pairs) = xs
            .iter()
            .zip(xs.iter().skip(lag))
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .fold((0.0, 0usize), |(c, k), (a, b)| {
                (c + (a - mean) * (b - mean), k + 1)
            });
        if pairs == 0 {
            return 0.0;
        }
        (cov / pairs as f64) / (var / finite.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_residuals_cover_the_history_after_its_first_season() {
        let mut season = Season::default();
        assert!(season.past_residuals().is_empty());
        let (day, step_ms) = (288, 300_000);
        for i in 0..3 * day {
            let phase = std::f64::consts::TAU * (i % day) as f64 / day as f64;
            let bump = if i == 2 * day + 10 { 5.0 } else { 0.0 };
            season.push(i as i64 * step_ms, 10.0 + phase.sin() + bump);
        }
        assert_eq!(season.period(), Some(day));
        let residuals = season.past_residuals();
        // Every sample after the first day has a season before it.
        assert_eq!(residuals.len(), 2 * day);
        let largest = residuals.iter().map(|r| r.abs()).fold(0.0, f64::max);
        assert!((largest - 5.0).abs() < 1e-9, "{largest}");
        assert!(residuals[day + 10] > 4.9);
    }
}
