//! Forecast benchmark on NYC taxi demand: rolling-origin MASE and interval coverage.
//!
//! `cargo bench -p eks-ops-engine --bench forecast [-- PATH]`; PATH defaults to NAB's
//! `realKnownCause/nyc_taxi.csv` under /work/shared/nab/data (30-minute counts, header
//! `timestamp,value`). Protocol: counts summed per hour; 14 days of history, a 48-hour
//! horizon, a new origin every 6 hours across the series. MASE divides each origin's mean
//! absolute error by the in-sample MAE of the weekly seasonal-naive forecast on that origin's
//! history (m = 168), and is averaged over origins. Coverage is the share of (origin, hour)
//! pairs whose actual value lies inside the 80% and 95% intervals.

use eks_ops_engine::forecast::{ForecastConfig, Method, detect_period, forecast_values};
use std::time::Instant;

const DEFAULT_PATH: &str = "/work/shared/nab/data/realKnownCause/nyc_taxi.csv";
const HOUR_MS: i64 = 3_600_000;
const HISTORY: usize = 14 * 24;
const HORIZON: usize = 48;
const STRIDE: usize = 6;
const WEEK: usize = 168;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// "YYYY-MM-DD HH:MM:SS" to Unix milliseconds.
fn parse_ts(s: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let days = days_from_civil(num(0..4)?, num(5..7)?, num(8..10)?);
    Some(((days * 24 + num(11..13)?) * 60 + num(14..16)?) * 60_000 + num(17..19)? * 1000)
}

/// Sums samples into consecutive hourly buckets from the first sample's hour.
fn hourly(text: &str) -> Vec<f64> {
    let rows: Vec<(i64, f64)> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (t, v) = l.split_once(',')?;
            Some((parse_ts(t.trim())?, v.trim().parse().ok()?))
        })
        .collect();
    let Some(start) = rows.first().map(|r| r.0.div_euclid(HOUR_MS)) else {
        return Vec::new();
    };
    let mut out: Vec<f64> = Vec::new();
    for (t, v) in rows {
        let i = (t.div_euclid(HOUR_MS) - start) as usize;
        if out.len() <= i {
            out.resize(i + 1, 0.0);
        }
        out[i] += v;
    }
    out
}

#[derive(Default)]
struct Tally {
    mase: Vec<f64>,
    inside80: usize,
    inside95: usize,
    points: usize,
    failures: usize,
    mae_sum: f64,
    scale_sum: f64,
}

const METHODS: [Method; 5] = [
    Method::SeasonalNaive,
    Method::SeasonalMean,
    Method::HoltWinters,
    Method::HoltWintersMultiplicative,
    Method::Blend,
];

fn main() {
    let path = std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with('-'))
        .unwrap_or(DEFAULT_PATH.into());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let y = hourly(&text);
    let started = Instant::now();
    let (tallies, origins, weekly) = evaluate(&y);
    let elapsed = started.elapsed().as_secs_f64();
    println!("NYC taxi, hourly sums of {path}");
    println!(
        "{} hours, {origins} origins (14 d history, 48 h horizon, every 6 h); weekly season detected at {weekly}/{origins} origins",
        y.len()
    );
    println!("every model uses the weekly period (m = 168); MASE scale: in-sample MAE of weekly");
    println!("seasonal-naive on each origin's history; 'pooled' = sum of MAEs / sum of scales\n");
    print_table(&tallies);
    println!("\n{} forecasts in {elapsed:.2} s", origins * METHODS.len());
}

/// Runs every method at every origin; returns the tallies, the origin count and how many
/// origins' histories had a weekly season detected.
fn evaluate(y: &[f64]) -> (Vec<Tally>, usize, usize) {
    let mut tallies: Vec<Tally> = METHODS.iter().map(|_| Tally::default()).collect();
    let (mut origins, mut weekly) = (0usize, 0usize);
    let mut o = HISTORY;
    while o + HORIZON <= y.len() {
        let (hist, actual) = (&y[o - HISTORY..o], &y[o..o + HORIZON]);
        let scale = (WEEK..HISTORY)
            .map(|t| (hist[t] - hist[t - WEEK]).abs())
            .sum::<f64>()
            / (HISTORY - WEEK) as f64;
        weekly += usize::from(detect_period(hist, HOUR_MS as f64) == Some(WEEK));
        for (method, tally) in METHODS.iter().zip(&mut tallies) {
            score(hist, actual, scale, *method, tally);
        }
        origins += 1;
        o += STRIDE;
    }
    (tallies, origins, weekly)
}

fn print_table(tallies: &[Tally]) {
    println!(
        "{:<28} {:>10} {:>12} {:>12} {:>10} {:>10} {:>9}",
        "model", "MASE mean", "MASE median", "MASE pooled", "cover 80%", "cover 95%", "failures"
    );
    for (method, t) in METHODS.iter().zip(tallies) {
        let mut sorted = t.mase.clone();
        let median = eks_ops_engine::series::quantile(&mut sorted, 0.5).unwrap_or(f64::NAN);
        let mean = t.mase.iter().sum::<f64>() / t.mase.len().max(1) as f64;
        let pts = t.points.max(1) as f64;
        println!(
            "{:<28} {:>10.3} {:>12.3} {:>12.3} {:>9.1}% {:>9.1}% {:>9}",
            format!("{method:?}"),
            mean,
            median,
            t.mae_sum / t.scale_sum,
            100.0 * t.inside80 as f64 / pts,
            100.0 * t.inside95 as f64 / pts,
            t.failures
        );
    }
}

/// Every model gets the weekly period the protocol names; detection is only reported.
fn score(hist: &[f64], actual: &[f64], scale: f64, method: Method, tally: &mut Tally) {
    let config =
        ForecastConfig::new(HORIZON, method, vec![0.8, 0.95]).and_then(|c| c.with_period(WEEK));
    let Ok(f) = config.and_then(|c| forecast_values(hist, &c)) else {
        tally.failures += 1;
        return;
    };
    let mae = f
        .mean
        .iter()
        .zip(actual)
        .map(|(p, a)| (p - a).abs())
        .sum::<f64>()
        / actual.len() as f64;
    if scale > 0.0 {
        tally.mase.push(mae / scale);
        tally.mae_sum += mae;
        tally.scale_sum += scale;
    }
    let (Some(i80), Some(i95)) = (f.interval(0.8), f.interval(0.95)) else {
        return;
    };
    for (h, a) in actual.iter().enumerate() {
        tally.inside80 += usize::from(i80.lower[h] <= *a && *a <= i80.upper[h]);
        tally.inside95 += usize::from(i95.lower[h] <= *a && *a <= i95.upper[h]);
        tally.points += 1;
    }
}
