//! Forecast benchmark on NYC taxi demand: rolling-origin MASE and interval coverage.
//!
//! `cargo bench -p eks-ops-engine --bench forecast [-- PATH]`; PATH defaults to NAB's
//! `realKnownCause/nyc_taxi.csv` under /work/shared/nab/data (30-minute counts, header
//! `timestamp,value`). Protocol: counts summed per hour; 14 days of history, a 48-hour
//! horizon, a new origin every 6 hours across the series. MASE divides each origin's mean
//! absolute error by an in-sample naive MAE on that origin's history; the protocol does not
//! say which, so several are printed side by side: lag 1 (Hyndman & Koehler's non-seasonal
//! naive), lag 24 (daily seasonal naive) and lag 168 (weekly seasonal naive), each both as the
//! mean of per-origin ratios and pooled (sum of MAEs over sum of scales), and the weekly naive
//! on the raw 30-minute samples, the unit slip that reproduces issue 5's quoted 2.28. Coverage is the
//! share of (origin, hour) pairs whose actual value lies inside the 80% and 95% intervals.

use eks_ops_engine::forecast::{ForecastConfig, Method, detect_period, forecast_values};
use eks_ops_engine::nab::parse::parse_data_csv;
use std::time::Instant;

const DEFAULT_PATH: &str = "/work/shared/nab/data/realKnownCause/nyc_taxi.csv";
const HOUR_MS: i64 = 3_600_000;
const HISTORY: usize = 14 * 24;
const HORIZON: usize = 48;
const STRIDE: usize = 6;
const WEEK: usize = 168;

/// The `(unix ms, value)` rows of a NAB csv with a value (empty ones read as NaN and are
/// left out of the hourly sums).
fn samples(text: &str) -> Vec<(i64, f64)> {
    let series = parse_data_csv("nyc_taxi", text).unwrap_or_else(|e| panic!("bad csv: {e}"));
    series
        .timestamps
        .into_iter()
        .zip(series.values)
        .filter(|(_, v)| v.is_finite())
        .collect()
}

/// Sums samples into consecutive hourly buckets from the first sample's hour.
fn hourly(rows: &[(i64, f64)]) -> Vec<f64> {
    let Some(start) = rows.first().map(|r| r.0.div_euclid(HOUR_MS)) else {
        return Vec::new();
    };
    let mut out: Vec<f64> = Vec::new();
    for &(t, v) in rows {
        let i = (t.div_euclid(HOUR_MS) - start) as usize;
        if out.len() <= i {
            out.resize(i + 1, 0.0);
        }
        out[i] += v;
    }
    out
}

/// The raw samples inside hours `[from, to)` of the hourly series, and how many raw samples
/// make one hour (from the first gap), for the scale computed before aggregation.
fn raw_window(rows: &[(i64, f64)], from: usize, to: usize) -> (Vec<f64>, usize) {
    let start = rows
        .first()
        .map_or(0, |r| r.0.div_euclid(HOUR_MS) * HOUR_MS);
    let (lo, hi) = (start + from as i64 * HOUR_MS, start + to as i64 * HOUR_MS);
    let step = rows.get(1).map_or(HOUR_MS, |r| (r.0 - rows[0].0).max(1));
    // NAB rows are in time order, so two binary searches find the window.
    let (a, b) = (
        rows.partition_point(|r| r.0 < lo),
        rows.partition_point(|r| r.0 < hi),
    );
    let values = rows[a..b.max(a)].iter().map(|r| r.1).collect();
    (values, (HOUR_MS / step).max(1) as usize)
}

/// In-sample naive lags (hours) whose MAE can scale the MASE, on the hourly history.
const SCALE_LAGS: [usize; 3] = [1, 24, WEEK];
/// Scalings: the three lags on the hourly history, then the weekly one on the raw 30-minute
/// history. The last mixes units (hourly-sum errors over a half-hour scale, about twice the
/// honest figure); it is printed because it is what reproduces the quoted 2.28.
const SCALES: usize = SCALE_LAGS.len() + 1;
/// The weekly seasonal-naive MASE quoted by issue 5 for this protocol.
const QUOTED_NAIVE_MASE: f64 = 2.28;

/// Per-scaling accumulators for one model.
#[derive(Default, Clone)]
struct Scaled {
    ratios: Vec<f64>,
    mae_sum: f64,
    scale_sum: f64,
}

impl Scaled {
    fn mean(&self) -> f64 {
        self.ratios.iter().sum::<f64>() / self.ratios.len().max(1) as f64
    }

    fn pooled(&self) -> f64 {
        self.mae_sum / self.scale_sum
    }
}

#[derive(Default)]
struct Tally {
    scaled: [Scaled; SCALES],
    inside80: usize,
    inside95: usize,
    points: usize,
    failures: usize,
}

/// One row of the table: a label, the method and the season length it is given.
struct Model {
    label: &'static str,
    method: Method,
    period: usize,
}

const MODELS: [Model; 6] = [
    Model {
        label: "SeasonalNaive weekly",
        method: Method::SeasonalNaive,
        period: WEEK,
    },
    Model {
        label: "SeasonalNaive daily",
        method: Method::SeasonalNaive,
        period: 24,
    },
    Model {
        label: "SeasonalMean weekly",
        method: Method::SeasonalMean,
        period: WEEK,
    },
    Model {
        label: "HoltWinters weekly",
        method: Method::HoltWinters,
        period: WEEK,
    },
    Model {
        label: "HoltWintersMult weekly",
        method: Method::HoltWintersMultiplicative,
        period: WEEK,
    },
    Model {
        label: "Blend weekly (default)",
        method: Method::Blend,
        period: WEEK,
    },
];

fn main() {
    let path = std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with('-'))
        .unwrap_or(DEFAULT_PATH.into());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let rows = samples(&text);
    let y = hourly(&rows);
    let started = Instant::now();
    let (tallies, origins, weekly) = evaluate(&y, &rows);
    let elapsed = started.elapsed().as_secs_f64();
    println!("NYC taxi, hourly sums of {path}");
    println!(
        "{} hours, {origins} origins (14 d history, 48 h horizon, every 6 h); weekly season detected at {weekly}/{origins} origins",
        y.len()
    );
    println!("MASE = origin MAE / in-sample MAE of the lag-k naive on that origin's history;");
    println!("'mean' averages the per-origin ratios, 'pooled' = sum of MAEs / sum of scales\n");
    print_table(&tallies);
    print_verdict(&tallies);
    println!("\n{} forecasts in {elapsed:.2} s", origins * MODELS.len());
}

/// Runs every model at every origin; returns the tallies, the origin count and how many
/// origins' histories had a weekly season detected.
fn evaluate(y: &[f64], rows: &[(i64, f64)]) -> (Vec<Tally>, usize, usize) {
    let mut tallies: Vec<Tally> = MODELS.iter().map(|_| Tally::default()).collect();
    let (mut origins, mut weekly) = (0usize, 0usize);
    let mut o = HISTORY;
    while o + HORIZON <= y.len() {
        let (hist, actual) = (&y[o - HISTORY..o], &y[o..o + HORIZON]);
        let (raw, per_hour) = raw_window(rows, o - HISTORY, o);
        let mut scales = [0.0; SCALES];
        for (s, lag) in scales.iter_mut().zip(SCALE_LAGS) {
            *s = naive_mae(hist, lag);
        }
        scales[SCALES - 1] = naive_mae(&raw, WEEK * per_hour);
        weekly += usize::from(detect_period(hist, HOUR_MS as f64) == Some(WEEK));
        for (model, tally) in MODELS.iter().zip(&mut tallies) {
            score(hist, actual, &scales, model, tally);
        }
        origins += 1;
        o += STRIDE;
    }
    (tallies, origins, weekly)
}

/// In-sample MAE of the naive forecast `y[t - lag]`.
fn naive_mae(hist: &[f64], lag: usize) -> f64 {
    let n = hist.len().saturating_sub(lag).max(1);
    (lag..hist.len())
        .map(|t| (hist[t] - hist[t - lag]).abs())
        .sum::<f64>()
        / n as f64
}

fn print_table(tallies: &[Tally]) {
    print!("{:<24}", "model");
    for lag in SCALE_LAGS {
        print!(
            " {:>11} {:>11}",
            format!("lag{lag} mean"),
            format!("lag{lag} pool")
        );
    }
    println!(" {:>9} {:>9} {:>8}", "cover80", "cover95", "failures");
    for (model, t) in MODELS.iter().zip(tallies) {
        print!("{:<24}", model.label);
        for s in &t.scaled {
            print!(" {:>11.3} {:>11.3}", s.mean(), s.pooled());
        }
        let pts = t.points.max(1) as f64;
        println!(
            " {:>8.1}% {:>8.1}% {:>8}",
            100.0 * t.inside80 as f64 / pts,
            100.0 * t.inside95 as f64 / pts,
            t.failures
        );
    }
}

/// Says which scaling comes closest to the quoted seasonal-naive figure and whether the
/// default blend beats weekly seasonal-naive under each.
fn print_verdict(tallies: &[Tally]) {
    let (naive, blend) = (&tallies[0], &tallies[MODELS.len() - 1]);
    let mut closest = (f64::INFINITY, String::new());
    let names = SCALE_LAGS
        .map(|lag| format!("lag {lag:>3} hourly"))
        .into_iter()
        .chain(["lag 336 raw 30-min".to_string()]);
    println!();
    for (i, name) in names.enumerate() {
        let (n, b) = (&naive.scaled[i], &blend.scaled[i]);
        for (agg, nv, bv) in [
            ("mean", n.mean(), b.mean()),
            ("pooled", n.pooled(), b.pooled()),
        ] {
            let verdict = if bv < nv { "beats" } else { "does NOT beat" };
            println!(
                "{name:<18} {agg:<6}: blend {bv:.3} {verdict} weekly seasonal-naive {nv:.3} ({:+.1}%)",
                100.0 * (bv / nv - 1.0)
            );
            let gap = (nv - QUOTED_NAIVE_MASE).abs();
            if gap < closest.0 {
                closest = (gap, format!("{name} {agg} ({nv:.3})"));
            }
        }
    }
    let reproduced = if closest.0 < 0.05 {
        "reproduced"
    } else {
        "NOT reproduced"
    };
    println!(
        "quoted weekly seasonal-naive MASE {QUOTED_NAIVE_MASE}: closest is {}, {reproduced}",
        closest.1
    );
}

/// Every model gets its named period; detection is only reported.
fn score(hist: &[f64], actual: &[f64], scales: &[f64; SCALES], model: &Model, tally: &mut Tally) {
    let config = ForecastConfig::new(HORIZON, model.method, vec![0.8, 0.95])
        .and_then(|c| c.with_period(model.period));
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
    for (s, scale) in tally.scaled.iter_mut().zip(scales) {
        if *scale > 0.0 {
            s.ratios.push(mae / scale);
            s.mae_sum += mae;
            s.scale_sum += scale;
        }
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
