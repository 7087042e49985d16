//! Bayesian online change-point detection (Adams & MacKay, 2007) with a multivariate Student-t
//! predictive, as BARO (Pham et al., FSE 2024) uses to find the anomaly time.
//!
//! The model follows BARO's `bocpd`: every column is min-max scaled over the window (a constant
//! column becomes 0), the hazard is constant 1/50, the prior is Normal-Wishart with mean 0,
//! kappa 1, dof d+1 and identity scale, and the detected time is the first row whose probability
//! of "a run of exactly `window` rows started here" exceeds `threshold` (else the row with the
//! largest such probability after the first five). Two departures, neither of which changes the
//! answer beyond rounding: probabilities are kept in log space (BARO multiplies raw densities,
//! which underflow in 38+ dimensions), and run lengths more than e^-40 below the most likely one
//! are pruned, which keeps the cost near-linear on long stationary stretches.

use crate::math::ln_gamma;

/// BOCPD parameters; the defaults are BARO's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BocpdConfig {
    /// Expected run length between change points (constant hazard 1/lambda).
    pub hazard_lambda: f64,
    /// Run length whose probability marks a change point (`Nw` in BARO).
    pub window: usize,
    /// Probability above which a row is reported.
    pub threshold: f64,
}

impl Default for BocpdConfig {
    fn default() -> Self {
        Self {
            hazard_lambda: 50.0,
            window: 10,
            threshold: 0.01,
        }
    }
}

const PRUNE_LOG: f64 = 40.0;

/// Normal-Wishart posterior for one run length; `chol` is the lower Cholesky factor of Psi.
#[derive(Clone)]
struct Posterior {
    run: usize,
    log_r: f64,
    mu: Vec<f64>,
    kappa: f64,
    dof: f64,
    chol: Vec<f64>,
}

impl Posterior {
    fn prior(d: usize) -> Self {
        let mut chol = vec![0.0; d * d];
        for k in 0..d {
            chol[k * d + k] = 1.0;
        }
        Self {
            run: 0,
            log_r: 0.0,
            mu: vec![0.0; d],
            kappa: 1.0,
            dof: d as f64 + 1.0,
            chol,
        }
    }

    fn log_predictive(&self, x: &[f64]) -> f64 {
        let d = x.len();
        let df = self.dof - d as f64 + 1.0;
        let c = (self.kappa + 1.0) / (self.kappa * df);
        let mut z = vec![0.0; d];
        let mut logdet = 0.0;
        for i in 0..d {
            let row = &self.chol[i * d..i * d + i];
            let dot: f64 = row.iter().zip(&z).map(|(l, zj)| l * zj).sum();
            let diag = self.chol[i * d + i];
            z[i] = (x[i] - self.mu[i] - dot) / diag;
            logdet += 2.0 * diag.ln();
        }
        let q: f64 = z.iter().map(|v| v * v).sum();
        let dd = d as f64;
        ln_gamma((df + dd) / 2.0)
            - ln_gamma(df / 2.0)
            - dd / 2.0 * (df * std::f64::consts::PI).ln()
            - 0.5 * (dd * c.ln() + logdet)
            - (df + dd) / 2.0 * (q / (c * df)).ln_1p()
    }

    fn update(&mut self, x: &[f64]) {
        let d = x.len();
        let w = (self.kappa / (self.kappa + 1.0)).sqrt();
        let mut v: Vec<f64> = x.iter().zip(&self.mu).map(|(a, m)| w * (a - m)).collect();
        rank_one_update(&mut self.chol, &mut v, d);
        for (m, a) in self.mu.iter_mut().zip(x) {
            *m = (self.kappa * *m + a) / (self.kappa + 1.0);
        }
        self.kappa += 1.0;
        self.dof += 1.0;
        self.run += 1;
    }
}

/// L L^T + v v^T, in place on the lower factor `l` (d x d, row-major).
fn rank_one_update(l: &mut [f64], v: &mut [f64], d: usize) {
    for k in 0..d {
        let lkk = l[k * d + k];
        let r = lkk.hypot(v[k]);
        let (c, s) = (r / lkk, v[k] / lkk);
        l[k * d + k] = r;
        for i in k + 1..d {
            l[i * d + k] = (l[i * d + k] + s * v[i]) / c;
            v[i] = c * v[i] - s * l[i * d + k];
        }
    }
}

/// Min-max scales each column; constant or all-missing columns become 0, gaps are forward-filled.
fn scaled_rows(columns: &[&[f64]], n: usize) -> Vec<Vec<f64>> {
    let mut rows = vec![vec![0.0; columns.len()]; n];
    for (j, col) in columns.iter().enumerate() {
        let lo = col
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(f64::INFINITY, f64::min);
        let hi = col
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        let span = hi - lo;
        if !(span > 0.0 && span.is_finite()) {
            continue;
        }
        let mut last = 0.0;
        for (i, row) in rows.iter_mut().enumerate() {
            if let Some(v) = col.get(i).filter(|v| v.is_finite()) {
                last = (v - lo) / span;
            }
            row[j] = last;
        }
    }
    rows
}

fn log_sum_exp(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = xs.clone().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + xs.map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// `P(run length = window)` after each row: entry `j` is BARO's `R[window, j]` (0 for j < window).
pub fn run_length_probability(columns: &[&[f64]], cfg: &BocpdConfig) -> Vec<f64> {
    let n = columns.iter().map(|c| c.len()).max().unwrap_or(0);
    let d = columns.len();
    let mut out = vec![0.0; n + 1];
    if d == 0 || n == 0 {
        return out;
    }
    let rows = scaled_rows(columns, n);
    let h = 1.0 / cfg.hazard_lambda.max(1.0 + f64::EPSILON);
    let (log_h, log_1h) = (h.ln(), (1.0 - h).ln());
    let mut states = vec![Posterior::prior(d)];
    for (t, x) in rows.iter().enumerate() {
        let joint: Vec<f64> = states
            .iter()
            .map(|s| s.log_r + s.log_predictive(x))
            .collect();
        let cp = log_sum_exp(joint.iter().map(|j| j + log_h));
        for (s, j) in states.iter_mut().zip(&joint) {
            s.log_r = j + log_1h;
            s.update(x);
        }
        let mut fresh = Posterior::prior(d);
        fresh.log_r = cp;
        states.insert(0, fresh);
        let total = log_sum_exp(states.iter().map(|s| s.log_r));
        let best = states
            .iter()
            .map(|s| s.log_r)
            .fold(f64::NEG_INFINITY, f64::max);
        states.retain(|s| s.run <= cfg.window || s.log_r >= best - PRUNE_LOG);
        if !total.is_finite() {
            states = vec![Posterior::prior(d)];
            continue;
        }
        if let Some(s) = states.iter().find(|s| s.run == cfg.window) {
            out[t + 1] = (s.log_r - total).exp();
        }
    }
    out
}

/// BARO's anomaly row: index into the rows of the first detected change point, if any row exists.
pub fn detect_change_row(columns: &[&[f64]], cfg: &BocpdConfig) -> Option<usize> {
    let r = run_length_probability(columns, cfg);
    let n = r.len().saturating_sub(1);
    // BARO reads R[Nw, Nw:-1]: list index i is the row where a run of Nw rows began.
    let probs: Vec<f64> = r
        .get(cfg.window..n)
        .map(<[f64]>::to_vec)
        .unwrap_or_default();
    if let Some(i) = (1..probs.len()).find(|&i| probs[i] > cfg.threshold) {
        return Some(i);
    }
    let head = 5;
    let tail = probs.get(head..)?;
    let best = tail.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    Some(best.0 + head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_joint_mean_shift() {
        let noise = |i: usize, k: usize| ((i * 7919 + k * 104_729) % 97) as f64 / 970.0;
        let a: Vec<f64> = (0..200)
            .map(|i| noise(i, 1) + if i >= 120 { 1.0 } else { 0.0 })
            .collect();
        let b: Vec<f64> = (0..200)
            .map(|i| noise(i, 2) + if i >= 120 { 0.8 } else { 0.0 })
            .collect();
        let row = detect_change_row(&[&a, &b], &BocpdConfig::default()).unwrap();
        assert!((118..=122).contains(&row), "row {row}");
    }

    #[test]
    fn survives_degenerate_input() {
        let cfg = BocpdConfig::default();
        assert_eq!(detect_change_row(&[], &cfg), None);
        let flat = vec![1.0; 30];
        let nan = vec![f64::NAN; 30];
        assert!(detect_change_row(&[&flat, &nan], &cfg).is_some());
        let short = [1.0, 2.0];
        assert_eq!(detect_change_row(&[&short], &cfg), None);
    }
}
