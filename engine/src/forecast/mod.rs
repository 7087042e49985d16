//! Forecasting: seasonal-naive, Holt–Winters and their blend, with prediction intervals, and
//! the capacity helper that turns a forecast into replicas or nodes.
//!
//! Start with [`forecast`]: it takes a [`Series`], learns the season length (one day or one
//! week of samples, by autocorrelation) unless given, and returns a [`Forecast`] with a point
//! path and intervals. [`forecast_values`] does the same on a plain regular array, which is
//! what the benchmark (`benches/forecast.rs`) drives. [`capacity::plan`] reads a forecast.
//!
//! Intervals come from empirical quantiles of the in-sample one-step residuals, stretched by
//! the split-conformal finite-sample correction (it matters at 95% from a few hundred
//! residuals) and widened with the horizon (the ETS(A,A,A) variance factor for Holt–Winters,
//! one more season of error per season ahead for seasonal-naive), so they are as skewed as the
//! errors really were.

pub mod capacity;
pub mod holt_winters;
mod nelder_mead;

use crate::math::DAY_MS;
use crate::series::{Series, median_step, quantile};
use holt_winters::{FittedHoltWinters, HoltWinters, Params, Seasonality};
use serde::{Deserialize, Serialize};

/// Autocorrelation a candidate period needs before it is used.
const MIN_SEASON_ACF: f64 = 0.3;
/// Seasons averaged by the seasonal-naive model in the blend: one anomalous week then moves
/// the forecast by a third, not fully.
const BLEND_NAIVE_SEASONS: usize = 3;

/// Which model produces the point forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The value one season ago.
    SeasonalNaive,
    /// The mean of the same phase over the last (up to) three seasons.
    SeasonalMean,
    /// Additive Holt–Winters, damped or not, whichever fits the history better.
    HoltWinters,
    /// Multiplicative Holt–Winters, likewise (strictly positive data).
    HoltWintersMultiplicative,
    /// The mean of the seasonal mean and additive Holt–Winters: each one's mistakes are
    /// partly the other's strengths (a holiday week vs. a level change).
    #[default]
    Blend,
}

/// Forecast settings; build with [`ForecastConfig::new`], which validates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastConfig {
    /// Samples to forecast.
    pub horizon: usize,
    /// Season length in samples; `None` learns it from the data.
    pub period: Option<usize>,
    pub method: Method,
    /// Central interval levels in (0, 1), e.g. 0.8 and 0.95.
    pub levels: Vec<f64>,
}

impl ForecastConfig {
    pub fn new(horizon: usize, method: Method, levels: Vec<f64>) -> Result<Self, ForecastError> {
        if horizon == 0 || horizon > 100_000 {
            return Err(ForecastError::InvalidConfig(format!(
                "horizon {horizon} not in 1..=100000"
            )));
        }
        if let Some(l) = levels.iter().find(|l| !(**l > 0.0 && **l < 1.0)) {
            return Err(ForecastError::InvalidConfig(format!(
                "interval level {l} not in (0, 1)"
            )));
        }
        Ok(ForecastConfig {
            horizon,
            period: None,
            method,
            levels,
        })
    }

    /// Fixes the season length instead of learning it.
    pub fn with_period(mut self, period: usize) -> Result<Self, ForecastError> {
        if period == 0 {
            return Err(ForecastError::InvalidConfig(
                "period must be at least 1".into(),
            ));
        }
        self.period = Some(period);
        Ok(self)
    }
}

/// Why a forecast could not be made.
#[derive(Debug, Clone, PartialEq)]
pub enum ForecastError {
    /// Too few usable samples for the model (two seasons for Holt–Winters).
    InsufficientHistory {
        needed: usize,
        got: usize,
    },
    /// Multiplicative seasonality needs strictly positive values.
    NonPositive,
    InvalidConfig(String),
}

impl std::fmt::Display for ForecastError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForecastError::InsufficientHistory { needed, got } => {
                write!(
                    f,
                    "need at least {needed} samples of history, got {got} (widen the window)"
                )
            }
            ForecastError::NonPositive => {
                write!(
                    f,
                    "multiplicative seasonality needs strictly positive values (use an additive method)"
                )
            }
            ForecastError::InvalidConfig(why) => write!(f, "invalid forecast config: {why}"),
        }
    }
}

impl std::error::Error for ForecastError {}

/// A central prediction interval at one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub level: f64,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

/// Point forecast and intervals for the next `horizon` samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// Future sample times (empty from [`forecast_values`], which has no clock).
    pub timestamps: Vec<i64>,
    pub mean: Vec<f64>,
    pub intervals: Vec<Interval>,
    pub method: Method,
    /// Season length used, in samples (1 when no season was found).
    pub period: usize,
    /// Fitted smoothing parameters, for the Holt–Winters methods.
    pub params: Option<Params>,
}

impl Forecast {
    /// The interval at `level`, if it was requested.
    pub fn interval(&self, level: f64) -> Option<&Interval> {
        self.intervals
            .iter()
            .find(|i| (i.level - level).abs() < 1e-9)
    }
}

/// Forecasts `series` forward from its last sample. Missing values inside the history are
/// filled by linear interpolation; the step is the median gap between samples.
pub fn forecast(series: &Series, config: &ForecastConfig) -> Result<Forecast, ForecastError> {
    let mut sorted = series.clone();
    sorted.normalize();
    let (ts, values) = fill_gaps(&sorted);
    let step = median_step(&ts)
        .map(|s| s as f64)
        .ok_or(ForecastError::InsufficientHistory {
            needed: 2,
            got: ts.len(),
        })?;
    let config = match config.period {
        Some(_) => config.clone(),
        None => ForecastConfig {
            period: detect_period(&values, step),
            ..config.clone()
        },
    };
    let mut out = forecast_values(&values, &config)?;
    let last = ts.last().copied().unwrap_or(0);
    out.timestamps = (1..=config.horizon as i64)
        .map(|h| last.saturating_add((step * h as f64).round() as i64))
        .collect();
    Ok(out)
}

/// Forecasts a regular array with no missing values; `config.period` of `None` means no season.
pub fn forecast_values(y: &[f64], config: &ForecastConfig) -> Result<Forecast, ForecastError> {
    if y.iter().any(|v| !v.is_finite()) {
        return Err(ForecastError::InvalidConfig(
            "values must be finite (fill gaps first)".into(),
        ));
    }
    let period = config.period.unwrap_or(1).max(1);
    let h = config.horizon;
    let (mean, intervals, params) = match config.method {
        Method::SeasonalNaive => naive(y, period, 1, h, &config.levels)?,
        Method::SeasonalMean => naive(y, period, BLEND_NAIVE_SEASONS, h, &config.levels)?,
        Method::HoltWinters => holt(y, period, Seasonality::Additive, h, &config.levels)?,
        Method::HoltWintersMultiplicative => {
            holt(y, period, Seasonality::Multiplicative, h, &config.levels)?
        }
        Method::Blend => blend(y, period, h, &config.levels)?,
    };
    Ok(Forecast {
        timestamps: Vec::new(),
        mean,
        intervals,
        method: config.method,
        period,
        params,
    })
}

type Parts = (Vec<f64>, Vec<Interval>, Option<Params>);

/// Seasonal naive averaged over the last `seasons` seasons (1 = classic seasonal naive).
/// With more than one season the average is shifted to the level of the latest season, so a
/// growing series is not forecast at its level of weeks ago.
fn naive(
    y: &[f64],
    m: usize,
    seasons: usize,
    h: usize,
    levels: &[f64],
) -> Result<Parts, ForecastError> {
    if y.len() < m + 1 {
        return Err(ForecastError::InsufficientHistory {
            needed: m + 1,
            got: y.len(),
        });
    }
    let mut prefix = vec![0.0; y.len() + 1];
    for (i, v) in y.iter().enumerate() {
        prefix[i + 1] = prefix[i] + v;
    }
    let window_mean = |end: usize, len: usize| (prefix[end] - prefix[end - len]) / len as f64;
    let predict_at = |end: usize, ahead: usize| -> f64 {
        // Same phase as sample `end - 1 + ahead`, from the seasons before `end`.
        let back = ahead.div_ceil(m) * m;
        let vals: Vec<f64> = (0..seasons)
            .filter_map(|k| (end + ahead).checked_sub(back + k * m + 1).map(|i| y[i]))
            .collect();
        let avg = vals.iter().sum::<f64>() / vals.len().max(1) as f64;
        let used = (end / m).min(vals.len()).max(1);
        avg + window_mean(end, m) - window_mean(end, used * m)
    };
    let mean: Vec<f64> = (1..=h).map(|a| predict_at(y.len(), a)).collect();
    let residuals: Vec<f64> = (m..y.len()).map(|t| y[t] - predict_at(t, 1)).collect();
    let growth = |a: usize| (1.0 + ((a - 1) / m) as f64).sqrt();
    Ok((
        mean.clone(),
        intervals(&mean, &residuals, growth, levels),
        None,
    ))
}

fn holt(
    y: &[f64],
    m: usize,
    s: Seasonality,
    h: usize,
    levels: &[f64],
) -> Result<Parts, ForecastError> {
    let fit = fit_holt(y, m, s)?;
    let mean = fit.predict(h);
    let ivs = intervals(
        &mean,
        &fit.residuals,
        |a| fit.variance_factor(a).sqrt(),
        levels,
    );
    Ok((mean, ivs, Some(fit.params)))
}

/// Fits damped and undamped trends and keeps the one with the lower one-step error: damping
/// protects long horizons from a spurious trend, but it also flattens a real one.
fn fit_holt(y: &[f64], m: usize, s: Seasonality) -> Result<FittedHoltWinters, ForecastError> {
    let spec = |damped| HoltWinters {
        period: m,
        seasonality: s,
        damped,
    };
    let damped = spec(true).fit(y)?;
    let straight = spec(false).fit(y)?;
    Ok(if straight.sse() <= damped.sse() {
        straight
    } else {
        damped
    })
}

/// The average of the seasonal mean and additive Holt–Winters, intervals averaged too.
fn blend(y: &[f64], m: usize, h: usize, levels: &[f64]) -> Result<Parts, ForecastError> {
    let (a_mean, a_iv, _) = naive(y, m, BLEND_NAIVE_SEASONS, h, levels)?;
    let (b_mean, b_iv, params) = holt(y, m, Seasonality::Additive, h, levels)?;
    let avg = |a: &[f64], b: &[f64]| -> Vec<f64> {
        a.iter().zip(b).map(|(x, y)| 0.5 * (x + y)).collect()
    };
    let ivs = a_iv
        .iter()
        .zip(&b_iv)
        .map(|(a, b)| Interval {
            level: a.level,
            lower: avg(&a.lower, &b.lower),
            upper: avg(&a.upper, &b.upper),
        })
        .collect();
    Ok((avg(&a_mean, &b_mean), ivs, params))
}

/// Central intervals: residual quantiles scaled by `growth(h)` around each point forecast.
fn intervals(
    mean: &[f64],
    residuals: &[f64],
    growth: impl Fn(usize) -> f64,
    levels: &[f64],
) -> Vec<Interval> {
    let mut r: Vec<f64> = residuals
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    levels
        .iter()
        .map(|&level| {
            let tail = conformal_tail(level, r.len());
            let lo_q = quantile(&mut r, tail).unwrap_or(0.0);
            let hi_q = quantile(&mut r, 1.0 - tail).unwrap_or(0.0);
            let (lower, upper) = mean
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let g = growth(i + 1);
                    (m + lo_q.min(0.0) * g, m + hi_q.max(0.0) * g)
                })
                .unzip();
            Interval {
                level,
                lower,
                upper,
            }
        })
        .collect()
}

/// Probability left in each tail for a central `level` interval from `n` residuals, with the
/// split-conformal finite-sample correction: the (n + 1)/n stretch of the nominal quantile
/// that makes a quantile of n past errors cover a new one at the stated rate.
fn conformal_tail(level: f64, n: usize) -> f64 {
    let n = n.max(1) as f64;
    ((1.0 - level) / 2.0 * (n + 1.0) / n - 1.0 / n).clamp(0.0, 0.5)
}

/// The season length in samples: one week or one day of samples, whichever has the stronger
/// autocorrelation above 0.3 (a week must beat a day by 0.05), needing two full seasons.
pub fn detect_period(values: &[f64], step_ms: f64) -> Option<usize> {
    if step_ms.is_nan() || step_ms <= 0.0 {
        return None;
    }
    let mut best: Option<(usize, f64)> = None;
    for days in [1.0, 7.0] {
        let p = (days * DAY_MS / step_ms).round();
        if p < 2.0 || p * 2.0 > values.len() as f64 {
            continue;
        }
        let r = acf(values, p as usize);
        let margin = if best.is_some() { 0.05 } else { 0.0 };
        if r >= MIN_SEASON_ACF && best.is_none_or(|(_, b)| r > b + margin) {
            best = Some((p as usize, r));
        }
    }
    best.map(|(p, _)| p)
}

/// Autocorrelation at `lag` after removing a least-squares line, so a trend is not
/// mistaken for a season.
fn acf(y: &[f64], lag: usize) -> f64 {
    let n = y.len();
    if lag >= n || n < 3 {
        return 0.0;
    }
    let nf = n as f64;
    let (mx, my) = ((nf - 1.0) / 2.0, y.iter().sum::<f64>() / nf);
    let sxy: f64 = y
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64 - mx) * (v - my))
        .sum();
    let sxx: f64 = (0..n).map(|i| (i as f64 - mx).powi(2)).sum();
    let slope = sxy / sxx;
    let r: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(i, v)| v - my - slope * (i as f64 - mx))
        .collect();
    let var = r.iter().map(|v| v * v).sum::<f64>() / nf;
    if var.is_nan() || var <= 1e-12 * my.abs().max(1.0).powi(2) {
        return 0.0;
    }
    let cov = r.iter().zip(&r[lag..]).map(|(a, b)| a * b).sum::<f64>() / (n - lag) as f64;
    cov / var
}

/// Drops leading and trailing missing values and interpolates the ones inside.
fn fill_gaps(s: &Series) -> (Vec<i64>, Vec<f64>) {
    let present: Vec<usize> = (0..s.values.len())
        .filter(|&i| s.values[i].is_finite())
        .collect();
    let (Some(&first), Some(&last)) = (present.first(), present.last()) else {
        return (Vec::new(), Vec::new());
    };
    let ts = s.timestamps[first..=last].to_vec();
    let mut values = s.values[first..=last].to_vec();
    let mut prev = 0usize;
    for i in 1..values.len() {
        if values[i].is_finite() {
            for j in prev + 1..i {
                let w = (j - prev) as f64 / (i - prev) as f64;
                values[j] = values[prev] + w * (values[i] - values[prev]);
            }
            prev = i;
        }
    }
    (ts, values)
}

#[cfg(test)]
mod tests;
