//! Capacity planning from a forecast: the predicted peak and the replicas or nodes needed.
//!
//! The question an operator asks is "how many pods (HPA minReplicas) or nodes must be there
//! before the next peak, at the utilisation we run at?". The answer reads the forecast's
//! peak (optionally the upper bound of an interval, to plan for a bad day rather than the
//! average one), divides by what one unit serves at the target utilisation, and, given the
//! current count, says when the current fleet stops being enough and by when to scale.

use super::{Forecast, ForecastError};
use serde::{Deserialize, Serialize};

/// What one unit (replica or node) serves and how hard it may run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityRequest {
    /// Demand one unit handles at 100% (requests/s per pod, vCPU per node...), same unit as
    /// the forecast.
    pub per_unit_capacity: f64,
    /// Utilisation to plan for, in (0, 1]: 0.7 keeps 30% headroom.
    pub target_utilisation: f64,
    /// Units running now, if known; enables `shortfall_ts_ms` and `scale_by_ms`.
    pub current_units: Option<u32>,
    /// Plan on the upper bound of this interval level instead of the point forecast.
    pub interval_level: Option<f64>,
    /// How long adding capacity takes (node boot, image pull), to say when to start.
    pub lead_time_ms: i64,
}

/// The plan for the forecast horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityPlan {
    /// Largest planned demand over the horizon and when it happens.
    pub peak: f64,
    pub peak_ts_ms: i64,
    /// Units needed so the peak runs at the target utilisation (at least 1).
    pub units_needed: u32,
    pub current_units: Option<u32>,
    /// First forecast time at which the current units exceed the target utilisation.
    pub shortfall_ts_ms: Option<i64>,
    /// Latest time to start scaling so capacity is there at the shortfall.
    pub scale_by_ms: Option<i64>,
}

/// Reads `forecast` (which must carry timestamps, as [`super::forecast`] output does).
pub fn plan(forecast: &Forecast, req: &CapacityRequest) -> Result<CapacityPlan, ForecastError> {
    validate(req)?;
    let demand = planned_demand(forecast, req.interval_level)?;
    if demand.is_empty() || demand.len() != forecast.timestamps.len() {
        return Err(ForecastError::InvalidConfig(
            "forecast has no timestamped points".into(),
        ));
    }
    let (peak_i, peak) = demand
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .ok_or_else(|| ForecastError::InvalidConfig("forecast has no finite values".into()))?;
    let per_unit = req.per_unit_capacity * req.target_utilisation;
    let units_needed = (peak.max(0.0) / per_unit)
        .ceil()
        .clamp(1.0, u32::MAX as f64) as u32;
    let shortfall_ts_ms = req.current_units.and_then(|units| {
        let limit = units as f64 * per_unit;
        demand
            .iter()
            .position(|v| *v > limit)
            .map(|i| forecast.timestamps[i])
    });
    Ok(CapacityPlan {
        peak,
        peak_ts_ms: forecast.timestamps[peak_i],
        units_needed,
        current_units: req.current_units,
        shortfall_ts_ms,
        scale_by_ms: shortfall_ts_ms.map(|t| t.saturating_sub(req.lead_time_ms.max(0))),
    })
}

fn validate(req: &CapacityRequest) -> Result<(), ForecastError> {
    let valid = req.per_unit_capacity.is_finite()
        && req.per_unit_capacity > 0.0
        && req.target_utilisation > 0.0
        && req.target_utilisation <= 1.0;
    if valid {
        Ok(())
    } else {
        Err(ForecastError::InvalidConfig(
            "per-unit capacity must be positive and target utilisation in (0, 1]".into(),
        ))
    }
}

fn planned_demand(forecast: &Forecast, level: Option<f64>) -> Result<Vec<f64>, ForecastError> {
    match level {
        None => Ok(forecast.mean.clone()),
        Some(l) => forecast
            .interval(l)
            .map(|i| i.upper.clone())
            .ok_or_else(|| {
                ForecastError::InvalidConfig(format!("no {l} interval in the forecast"))
            }),
    }
}
