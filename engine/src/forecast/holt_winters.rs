//! Holt–Winters exponential smoothing (additive or multiplicative season, optional damped
//! trend), with smoothing parameters fitted by Nelder–Mead on the one-step squared error.
//!
//! Parameters are searched inside conventional bounds (alpha and gamma in [0.01, 0.99], beta in
//! [0.001, 0.3], phi in [0.8, 0.98] when damped) through a logistic map, so the optimiser never
//! proposes an explosive model. The initial state comes from a classical decomposition of the
//! whole fitting window (see `initial_state`), then the filter runs from the second season.

use super::ForecastError;
use super::nelder_mead::minimize;
use serde::{Deserialize, Serialize};

/// How the season combines with the level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seasonality {
    Additive,
    /// Season as a factor of the level; needs strictly positive data.
    Multiplicative,
}

/// Smoothing parameters; `phi` is 1 for an undamped trend.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub phi: f64,
}

/// What to fit: the season length in samples, its form and whether the trend is damped.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HoltWinters {
    pub period: usize,
    pub seasonality: Seasonality,
    pub damped: bool,
}

/// A fitted model: its parameters, final state and in-sample one-step residuals.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedHoltWinters {
    pub spec: HoltWinters,
    pub params: Params,
    level: f64,
    trend: f64,
    season: Vec<f64>,
    n: usize,
    /// One-step errors `y - prediction` after the initialisation season.
    pub residuals: Vec<f64>,
}

const BOUNDS: [(f64, f64); 4] = [(0.01, 0.99), (0.001, 0.3), (0.01, 0.99), (0.8, 0.98)];
const START: [f64; 4] = [0.3, 0.02, 0.1, 0.95];

fn to_bounded(u: f64, (lo, hi): (f64, f64)) -> f64 {
    lo + (hi - lo) / (1.0 + (-u).exp())
}

fn to_free(x: f64, (lo, hi): (f64, f64)) -> f64 {
    let p = ((x - lo) / (hi - lo)).clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

impl HoltWinters {
    /// Fits the model to `y` (no missing values). Needs two full seasons.
    pub fn fit(&self, y: &[f64]) -> Result<FittedHoltWinters, ForecastError> {
        let m = self.period.max(1);
        if y.len() < 2 * m || y.len() < 4 {
            return Err(ForecastError::InsufficientHistory {
                needed: (2 * m).max(4),
                got: y.len(),
            });
        }
        if self.seasonality == Seasonality::Multiplicative && y.iter().any(|v| *v <= 0.0) {
            return Err(ForecastError::NonPositive);
        }
        let dims = if self.damped { 4 } else { 3 };
        let free: Vec<f64> = (0..dims).map(|i| to_free(START[i], BOUNDS[i])).collect();
        let loss = |u: &[f64]| {
            self.run(y, self.params_from(u))
                .map_or(f64::INFINITY, |f| f.sse())
        };
        let (best, _) = minimize(loss, &free, 1.0, 120 * dims);
        self.run(y, self.params_from(&best))
    }

    fn params_from(&self, u: &[f64]) -> Params {
        let phi = if self.damped {
            to_bounded(u[3], BOUNDS[3])
        } else {
            1.0
        };
        Params {
            alpha: to_bounded(u[0], BOUNDS[0]),
            beta: to_bounded(u[1], BOUNDS[1]),
            gamma: to_bounded(u[2], BOUNDS[2]),
            phi,
        }
    }

    /// Runs the smoother with fixed parameters.
    pub fn run(&self, y: &[f64], p: Params) -> Result<FittedHoltWinters, ForecastError> {
        let m = self.period.max(1);
        if y.len() < 2 * m {
            return Err(ForecastError::InsufficientHistory {
                needed: 2 * m,
                got: y.len(),
            });
        }
        let mult = self.seasonality == Seasonality::Multiplicative;
        let (first, mut season, trend0) = initial_state(y, m, mult);
        let (mut level, mut trend) = (first, trend0);
        let mut residuals = Vec::with_capacity(y.len() - m);
        for (t, &obs) in y.iter().enumerate().skip(m) {
            let s = season[t % m];
            let base = level + p.phi * trend;
            let pred = if mult { base * s } else { base + s };
            residuals.push(obs - pred);
            let new_level = if mult {
                p.alpha * obs / s + (1.0 - p.alpha) * base
            } else {
                p.alpha * (obs - s) + (1.0 - p.alpha) * base
            };
            trend = p.beta * (new_level - level) + (1.0 - p.beta) * p.phi * trend;
            level = new_level;
            season[t % m] = if mult {
                p.gamma * obs / level + (1.0 - p.gamma) * s
            } else {
                p.gamma * (obs - level) + (1.0 - p.gamma) * s
            };
        }
        Ok(FittedHoltWinters {
            spec: *self,
            params: p,
            level,
            trend,
            season,
            n: y.len(),
            residuals,
        })
    }
}

/// Initial level, season and trend by classical decomposition over every full season: the
/// seasonal index of a phase is its average deviation from its season's mean, and the trend is
/// the change of season means per sample. Averaging all seasons keeps one odd first week from
/// being baked into the seasonal state.
fn initial_state(y: &[f64], m: usize, mult: bool) -> (f64, Vec<f64>, f64) {
    let seasons = y.len() / m;
    let means: Vec<f64> = (0..seasons)
        .map(|k| y[k * m..(k + 1) * m].iter().sum::<f64>() / m as f64)
        .collect();
    let season = (0..m)
        .map(|i| {
            let dev = |k: usize| {
                if mult {
                    y[k * m + i] / means[k]
                } else {
                    y[k * m + i] - means[k]
                }
            };
            (0..seasons).map(dev).sum::<f64>() / seasons as f64
        })
        .collect();
    let trend = (means[seasons - 1] - means[0]) / ((seasons - 1).max(1) * m) as f64;
    (means[0], season, trend)
}

impl FittedHoltWinters {
    pub fn sse(&self) -> f64 {
        self.residuals.iter().map(|r| r * r).sum()
    }

    /// Point forecasts for the next `horizon` samples.
    pub fn predict(&self, horizon: usize) -> Vec<f64> {
        let m = self.season.len();
        let mut damp = 0.0;
        let mut phi_h = 1.0;
        (1..=horizon)
            .map(|h| {
                phi_h *= self.params.phi;
                damp += phi_h;
                let base = self.level + damp * self.trend;
                let s = self.season[(self.n + h - 1) % m];
                match self.spec.seasonality {
                    Seasonality::Additive => base + s,
                    Seasonality::Multiplicative => base * s,
                }
            })
            .collect()
    }

    /// Forecast variance at horizon `h` relative to the one-step variance, from the
    /// ETS(A,A,A) formula (Hyndman et al., "Forecasting with Exponential Smoothing", table
    /// 6.1); it ignores damping, so intervals of damped models err on the wide side.
    pub fn variance_factor(&self, h: usize) -> f64 {
        let Params {
            alpha: a,
            beta: b,
            gamma: g,
            ..
        } = self.params;
        let (h, m) = (h as f64, self.season.len() as f64);
        let k = ((h - 1.0) / m).floor();
        1.0 + (h - 1.0) * (a * a + a * b * h + b * b * h * (2.0 * h - 1.0) / 6.0)
            + g * k * (2.0 * a + g + b * m * (k + 1.0))
    }
}
