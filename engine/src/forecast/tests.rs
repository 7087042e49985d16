//! Forecast tests: known seasonal patterns, intervals, the capacity helper and hostile input.

use super::capacity::{CapacityRequest, plan};
use super::*;
use proptest::prelude::*;

const HOUR: i64 = 3_600_000;

fn hourly(values: Vec<f64>) -> Series {
    let ts = (0..values.len() as i64).map(|i| i * HOUR).collect();
    Series::new("demand", ts, values)
}

/// A daily cycle with a slow trend and a little deterministic noise.
fn daily(hours: usize) -> Vec<f64> {
    (0..hours)
        .map(|t| {
            let phase = std::f64::consts::TAU * (t % 24) as f64 / 24.0;
            let wobble = ((t * 7919 % 13) as f64 - 6.0) * 0.05;
            100.0 + 20.0 * phase.sin() + 0.05 * t as f64 + wobble
        })
        .collect()
}

fn config(horizon: usize, method: Method) -> ForecastConfig {
    ForecastConfig::new(horizon, method, vec![0.8, 0.95]).unwrap()
}

#[test]
fn recovers_a_known_daily_pattern() {
    let all = daily(24 * 12);
    let (hist, future) = all.split_at(24 * 10);
    // The pattern is additive: the multiplicative model grows its amplitude with the level,
    // and the blend's seasonal-mean half has no trend term, so both trail a little.
    for (method, tolerance) in [
        (Method::HoltWinters, 1.0),
        (Method::HoltWintersMultiplicative, 2.0),
        (Method::Blend, 2.0),
    ] {
        let f = forecast(&hourly(hist.to_vec()), &config(48, method)).unwrap();
        assert_eq!(f.period, 24);
        let mae = f
            .mean
            .iter()
            .zip(future)
            .map(|(p, a)| (p - a).abs())
            .sum::<f64>()
            / 48.0;
        assert!(mae < tolerance, "{method:?} MAE {mae}");
        assert_eq!(f.timestamps[0], 240 * HOUR);
    }
}

#[test]
fn holt_winters_is_exact_on_a_clean_additive_pattern() {
    let y: Vec<f64> = (0..24 * 8)
        .map(|t| 50.0 + 0.2 * t as f64 + [0.0, 5.0, -3.0, 8.0][t % 4])
        .collect();
    let f = forecast_values(&y, &config(8, Method::HoltWinters).with_period(4).unwrap()).unwrap();
    let truth: Vec<f64> = (192..200)
        .map(|t| 50.0 + 0.2 * t as f64 + [0.0, 5.0, -3.0, 8.0][t % 4])
        .collect();
    for (p, t) in f.mean.iter().zip(&truth) {
        assert!((p - t).abs() < 0.5, "{p} vs {t}");
    }
}

#[test]
fn seasonal_naive_repeats_the_last_season() {
    let y: Vec<f64> = (0..30).map(|t| (t % 10) as f64).collect();
    let f = forecast_values(
        &y,
        &config(15, Method::SeasonalNaive).with_period(10).unwrap(),
    )
    .unwrap();
    let want: Vec<f64> = (30..45).map(|t| (t % 10) as f64).collect();
    assert_eq!(f.mean, want);
}

#[test]
fn intervals_nest_and_widen_with_the_horizon() {
    let f = forecast(&hourly(daily(24 * 10)), &config(48, Method::Blend)).unwrap();
    let (i80, i95) = (f.interval(0.8).unwrap(), f.interval(0.95).unwrap());
    for h in 0..48 {
        assert!(i95.lower[h] <= i80.lower[h] && i80.lower[h] <= f.mean[h]);
        assert!(f.mean[h] <= i80.upper[h] && i80.upper[h] <= i95.upper[h]);
    }
    assert!(i95.upper[47] - i95.lower[47] >= i95.upper[0] - i95.lower[0]);
}

#[test]
fn finds_no_season_in_a_trend() {
    let y: Vec<f64> = (0..500).map(|t| t as f64).collect();
    assert_eq!(detect_period(&y, HOUR as f64), None);
}

#[test]
fn gaps_are_interpolated() {
    let mut v = daily(24 * 10);
    v[100..103].iter_mut().for_each(|x| *x = f64::NAN);
    let f = forecast(&hourly(v), &config(24, Method::Blend)).unwrap();
    assert!(f.mean.iter().all(|x| x.is_finite()));
}

#[test]
fn errors_say_what_is_missing() {
    let short = hourly(vec![1.0, 2.0, 3.0]);
    let err = forecast(
        &short,
        &config(4, Method::HoltWinters).with_period(24).unwrap(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        ForecastError::InsufficientHistory { needed: 48, got: 3 }
    ));
    let neg: Vec<f64> = daily(24 * 4).iter().map(|v| v - 200.0).collect();
    let err = forecast(&hourly(neg), &config(4, Method::HoltWintersMultiplicative)).unwrap_err();
    assert_eq!(err, ForecastError::NonPositive);
    assert!(ForecastConfig::new(0, Method::Blend, vec![]).is_err());
    assert!(ForecastConfig::new(4, Method::Blend, vec![1.2]).is_err());
}

#[test]
fn conformal_tail_corrects_for_few_residuals() {
    // Many residuals: the nominal 2.5% tail. 19 residuals at 90%: the (n + 1)/n stretch
    // reaches the extremes, the smallest sample that can cover a new error 90% of the time.
    assert!((conformal_tail(0.95, 1_000_000) - 0.025).abs() < 1e-6);
    assert!(conformal_tail(0.95, 168) < 0.025);
    assert_eq!(conformal_tail(0.9, 19), 0.0);
    assert_eq!(conformal_tail(0.5, 0), 0.0);
}

fn fixed_forecast(mean: Vec<f64>, upper: Vec<f64>) -> Forecast {
    Forecast {
        timestamps: (1..=mean.len() as i64).map(|h| h * HOUR).collect(),
        intervals: vec![Interval {
            level: 0.95,
            lower: mean.clone(),
            upper,
        }],
        mean,
        method: Method::Blend,
        period: 1,
        params: None,
    }
}

#[test]
fn capacity_plan_matches_a_hand_computed_case() {
    // Peak 900 req/s at hour 3; a pod serves 100 req/s and runs at 75% -> 75 each -> 12 pods.
    // With 8 pods (600 req/s at 75%) the first overload is at hour 2 (700 > 600); a 30-minute
    // lead time means scaling must start at 1.5 h.
    let f = fixed_forecast(
        vec![500.0, 700.0, 900.0, 650.0],
        vec![550.0, 800.0, 1000.0, 700.0],
    );
    let req = CapacityRequest {
        per_unit_capacity: 100.0,
        target_utilisation: 0.75,
        current_units: Some(8),
        interval_level: None,
        lead_time_ms: HOUR / 2,
    };
    let p = plan(&f, &req).unwrap();
    assert_eq!(
        (p.peak, p.peak_ts_ms, p.units_needed),
        (900.0, 3 * HOUR, 12)
    );
    assert_eq!(
        (p.shortfall_ts_ms, p.scale_by_ms),
        (Some(2 * HOUR), Some(3 * HOUR / 2))
    );
    // Planning on the 95% upper bound: peak 1000 -> ceil(13.33) = 14 pods.
    let upper = plan(
        &f,
        &CapacityRequest {
            interval_level: Some(0.95),
            ..req.clone()
        },
    )
    .unwrap();
    assert_eq!(upper.units_needed, 14);
    assert!(
        plan(
            &f,
            &CapacityRequest {
                target_utilisation: 0.0,
                ..req.clone()
            }
        )
        .is_err()
    );
    assert!(
        plan(
            &f,
            &CapacityRequest {
                interval_level: Some(0.5),
                ..req
            }
        )
        .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn never_panics_on_hostile_series(
        values in prop::collection::vec(prop_oneof![
            4 => -1e6f64..1e6, 1 => Just(f64::NAN), 1 => Just(f64::INFINITY), 1 => Just(0.0), 1 => Just(1e300)
        ], 0..300),
        shuffle in any::<bool>(),
        method in prop_oneof![
            Just(Method::SeasonalNaive), Just(Method::SeasonalMean), Just(Method::HoltWinters),
            Just(Method::HoltWintersMultiplicative), Just(Method::Blend)
        ],
    ) {
        let mut ts: Vec<i64> = (0..values.len() as i64).map(|i| i * HOUR).collect();
        if shuffle {
            ts.reverse();
        }
        let s = Series { name: "x".into(), timestamps: ts, values, ..Default::default() };
        if let Ok(f) = forecast(&s, &config(12, method)) {
            prop_assert_eq!(f.mean.len(), 12);
            prop_assert_eq!(f.timestamps.len(), 12);
        }
    }
}

fn hostile_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -1e6f64..1e6,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::MAX),
        1 => Just(-1e300),
        1 => Just(0.0),
    ]
}

fn any_method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::SeasonalNaive),
        Just(Method::SeasonalMean),
        Just(Method::HoltWinters),
        Just(Method::HoltWintersMultiplicative),
        Just(Method::Blend),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Irregular steps, repeated and out-of-order timestamps, timestamps near the ends of i64,
    /// and the capacity helper reading whatever comes out.
    #[test]
    fn never_panics_on_irregular_timestamps(
        values in prop::collection::vec(hostile_value(), 0..200),
        steps in prop::collection::vec(prop_oneof![4 => 0i64..2 * HOUR, 1 => -HOUR..0], 0..200),
        origin in prop_oneof![Just(0i64), Just(i64::MAX - 1000 * HOUR), Just(i64::MIN + HOUR)],
        method in any_method(),
        period in prop::option::of(1usize..60),
        per_unit in prop_oneof![Just(0.0), Just(f64::NAN), Just(-5.0), 1e-9f64..1e9],
        level in prop::option::of(prop_oneof![Just(0.8), Just(0.95), Just(0.5)]),
    ) {
        let ts = crate::series::walk_timestamps(origin, &steps, HOUR, values.len());
        let s = Series { name: "x".into(), timestamps: ts, values, ..Default::default() };
        let mut cfg = config(24, method);
        cfg.period = period;
        if let Ok(f) = forecast(&s, &cfg) {
            prop_assert_eq!(f.mean.len(), 24);
            prop_assert_eq!(f.timestamps.len(), 24);
            let req = CapacityRequest {
                per_unit_capacity: per_unit,
                target_utilisation: 0.7,
                current_units: Some(3),
                interval_level: level,
                lead_time_ms: i64::MAX,
            };
            let _ = plan(&f, &req);
        }
    }

    /// A constant history forecasts that constant, by every method, at any magnitude.
    #[test]
    fn constant_history_forecasts_the_constant(
        level in prop_oneof![-1e12f64..1e12, Just(0.0), Just(1e15)],
        n in 60usize..200,
        method in any_method(),
    ) {
        let cfg = config(12, method).with_period(24).unwrap();
        match forecast_values(&vec![level; n], &cfg) {
            Ok(f) => {
                let tol = 1e-6 * level.abs().max(1.0);
                prop_assert!(f.mean.iter().all(|m| (m - level).abs() <= tol), "{:?}", f.mean);
                for iv in &f.intervals {
                    prop_assert!(iv.lower.iter().zip(&iv.upper).all(|(l, u)| l <= u));
                }
            }
            // Only the multiplicative model may refuse, and only for non-positive data.
            Err(e) => prop_assert!(
                method == Method::HoltWintersMultiplicative && level <= 0.0,
                "{e}"
            ),
        }
    }

    /// Period detection answers a usable period or none, whatever the values and step.
    #[test]
    fn detect_period_is_total(
        values in prop::collection::vec(hostile_value(), 0..400),
        step in prop_oneof![Just(0.0), Just(f64::NAN), Just(-1.0), Just(f64::INFINITY), 1.0f64..1e9],
    ) {
        if let Some(p) = detect_period(&values, step) {
            prop_assert!(p >= 2 && 2 * p <= values.len());
        }
    }
}
