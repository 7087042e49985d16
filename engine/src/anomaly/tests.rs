//! Detector tests on synthetic series with known truth, plus property tests for hostile input.

use super::ensemble::WARMUP;
use super::*;
use proptest::prelude::*;

const MINUTE: i64 = 60_000;

/// Deterministic standard-normal noise (xorshift plus Box–Muller), so tests never flake.
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn series(step_ms: i64, values: Vec<f64>) -> Series {
    let ts = (0..values.len() as i64).map(|i| i * step_ms).collect();
    Series::new("synthetic", ts, values)
}

fn noisy(n: usize, level: f64, sd: f64, seed: u64) -> Vec<f64> {
    let mut noise = Noise(seed);
    (0..n).map(|_| level + sd * noise.normal()).collect()
}

fn run(s: &Series, config: &DetectorConfig) -> AnomalyReport {
    detect(s, config).expect("valid config")
}

/// The event covering `ts`, if any.
fn event_at(report: &AnomalyReport, ts: i64) -> Option<&AnomalyEvent> {
    report
        .events
        .iter()
        .find(|e| e.onset_ms <= ts && ts <= e.end_ms)
}

#[test]
fn spike_is_the_top_score_and_an_up_spike_event() {
    let mut v = noisy(2000, 100.0, 1.0, 1);
    v[1500] = 130.0;
    let s = series(5 * MINUTE, v);
    let report = run(&s, &DetectorConfig::default());
    let top =
        (WARMUP..2000).max_by(|a, b| report.points[*a].score.total_cmp(&report.points[*b].score));
    assert_eq!(top, Some(1500));
    assert!(report.points[1500].score > 0.9);
    let ev = event_at(&report, 1500 * 5 * MINUTE).expect("event at the spike");
    assert_eq!((ev.kind, ev.direction), (AnomalyKind::Spike, Direction::Up));
    assert!(ev.magnitude_sigmas > 10.0 && (ev.magnitude - 30.0).abs() < 5.0);
    assert!(ev.expected_lower < 100.0 && ev.expected_upper > 100.0);
}

#[test]
fn dip_is_a_down_spike() {
    let mut v = noisy(2000, 100.0, 1.0, 2);
    v[1200] = 60.0;
    let report = run(&series(MINUTE, v), &DetectorConfig::default());
    let ev = event_at(&report, 1200 * MINUTE).expect("event at the dip");
    assert_eq!(
        (ev.kind, ev.direction),
        (AnomalyKind::Spike, Direction::Down)
    );
}

#[test]
fn level_shift_is_caught_at_the_step() {
    let mut v = noisy(2000, 50.0, 1.0, 3);
    v[1500..].iter_mut().for_each(|x| *x += 10.0);
    let report = run(&series(MINUTE, v), &DetectorConfig::default());
    let first = report
        .events
        .iter()
        .find(|e| e.onset_ms >= 1500 * MINUTE)
        .expect("an event");
    assert!(first.onset_ms <= 1505 * MINUTE, "caught late: {first:?}");
    assert_eq!(
        (first.kind, first.direction),
        (AnomalyKind::LevelShift, Direction::Up)
    );
}

#[test]
fn variance_change_is_two_sided() {
    let mut v = noisy(2000, 20.0, 0.5, 4);
    let mut noise = Noise(44);
    v[1500..]
        .iter_mut()
        .for_each(|x| *x = 20.0 + 4.0 * noise.normal());
    let report = run(&series(MINUTE, v), &DetectorConfig::default());
    let after: Vec<_> = report
        .events
        .iter()
        .filter(|e| e.onset_ms >= 1500 * MINUTE)
        .collect();
    assert!(
        after.first().is_some_and(|e| e.onset_ms <= 1530 * MINUTE),
        "{after:?}"
    );
    assert!(
        after.iter().any(|e| e.kind == AnomalyKind::VarianceChange),
        "{after:?}"
    );
}

#[test]
fn slow_leak_is_flagged_before_it_reaches_the_limit() {
    // Working set at 1000 MiB for 5 hours, then +1%/min of the base towards a 2000 MiB limit.
    let mut v = noisy(420, 1000.0, 5.0, 5);
    v[300..]
        .iter_mut()
        .enumerate()
        .for_each(|(i, x)| *x += 10.0 * i as f64);
    let hits_limit = 300 + 100;
    let config = DetectorConfig::default()
        .with_limit(2000.0, 60 * MINUTE)
        .unwrap();
    let report = run(&series(MINUTE, v), &config);
    let leak = report
        .events
        .iter()
        .find(|e| e.kind == AnomalyKind::TrendChange)
        .expect("a trend event");
    assert!(leak.onset_ms < 320 * MINUTE, "late: {leak:?}");
    let eta = leak.eta_ms.expect("time to limit");
    let predicted = leak.onset_ms + eta;
    assert!(
        (predicted - hits_limit * MINUTE).abs() < 25 * MINUTE,
        "{leak:?}"
    );
    let first = (300..420).find(|&i| report.points[i].score >= 0.5);
    assert!(
        first.is_some_and(|i| i < 310),
        "first alarm in the leak at {first:?}"
    );
}

#[test]
fn a_ramp_without_a_limit_is_a_trend_change_and_a_step_is_not() {
    let mut ramp = noisy(700, 500.0, 2.0, 12);
    ramp[500..]
        .iter_mut()
        .enumerate()
        .for_each(|(i, x)| *x += 2.0 * i as f64);
    let report = run(&series(MINUTE, ramp), &DetectorConfig::default());
    let last = report.events.last().expect("an event");
    assert!(last.onset_ms <= 515 * MINUTE, "{last:?}");
    assert_eq!(
        (last.kind, last.direction),
        (AnomalyKind::TrendChange, Direction::Up)
    );
    let mut step = noisy(700, 500.0, 2.0, 12);
    step[500..].iter_mut().for_each(|x| *x += 40.0);
    let report = run(&series(MINUTE, step), &DetectorConfig::default());
    assert_eq!(
        report.events.last().map(|e| e.kind),
        Some(AnomalyKind::LevelShift)
    );
}

#[test]
fn seasonal_series_without_anomaly_stays_quiet() {
    // Ten days of 5-minute samples with a daily cycle; the detector must learn the season.
    let day = 288;
    let mut noise = Noise(6);
    let v: Vec<f64> = (0..10 * day)
        .map(|i| {
            let phase = std::f64::consts::TAU * (i % day) as f64 / day as f64;
            50.0 + 20.0 * phase.sin() + 0.5 * noise.normal()
        })
        .collect();
    let report = run(&series(5 * MINUTE, v), &DetectorConfig::default());
    assert_eq!(report.period, Some(day));
    let late: Vec<_> = report
        .events
        .iter()
        .filter(|e| e.onset_ms >= 3 * day as i64 * 5 * MINUTE)
        .collect();
    assert!(late.is_empty(), "{late:?}");
}

#[test]
fn seasonal_anomaly_inside_the_normal_range_is_caught() {
    let day = 288;
    let mut noise = Noise(7);
    let mut v: Vec<f64> = (0..8 * day)
        .map(|i| {
            let phase = std::f64::consts::TAU * (i % day) as f64 / day as f64;
            50.0 + 20.0 * phase.sin() + 0.5 * noise.normal()
        })
        .collect();
    // On day 7 the afternoon trough stays at the daily mean: every value is in range.
    let start = 6 * day + 170;
    v[start..start + 60].iter_mut().for_each(|x| *x = 50.0);
    let report = run(&series(5 * MINUTE, v), &DetectorConfig::default());
    let hit = report.points[start..start + 60]
        .iter()
        .any(|p| p.score >= 0.5);
    assert!(hit, "missed the flattened trough");
}

#[test]
fn counts_mode_flags_a_burst_of_restarts_only() {
    // Restarts: mostly zero, an occasional single restart, then a burst of 6.
    let mut noise = Noise(8);
    let mut v: Vec<f64> = (0..1500)
        .map(|_| f64::from(noise.uniform() < 0.02))
        .collect();
    v[1200] = 6.0;
    let report = run(&series(MINUTE, v.clone()), &DetectorConfig::default());
    assert_eq!(report.mode, SignalMode::Counts);
    assert!(report.points[1200].score >= 0.9);
    let singles = (300..1500)
        .filter(|&i| v[i] == 1.0 && report.points[i].score >= 0.5)
        .count();
    assert_eq!(singles, 0, "single restarts are routine");
}

#[test]
fn gauges_are_not_mistaken_for_counts() {
    let report = run(
        &series(MINUTE, noisy(300, 5.0, 1.0, 9)),
        &DetectorConfig::default(),
    );
    assert_eq!(report.mode, SignalMode::Gauge);
}

#[test]
fn config_builders_validate() {
    assert!(DetectorConfig::default().with_threshold(1.5).is_err());
    assert!(DetectorConfig::default().with_threshold(f64::NAN).is_err());
    assert!(
        DetectorConfig::default()
            .with_limit(f64::INFINITY, 1)
            .is_err()
    );
    assert!(DetectorConfig::default().with_limit(10.0, 0).is_err());
    let bad = DetectorConfig {
        threshold: 0.0,
        ..Default::default()
    };
    assert!(Detector::new(bad).is_err());
}

#[test]
fn constant_and_empty_series_are_quiet() {
    assert!(score_series(&Series::default()).is_empty());
    let flat = series(MINUTE, vec![7.0; 500]);
    assert!(score_series(&flat).iter().all(|s| *s == 0.0));
}

#[test]
fn scoring_is_strictly_streaming() {
    let v = noisy(800, 10.0, 1.0, 10);
    let full = score_series(&series(MINUTE, v.clone()));
    let prefix = score_series(&series(MINUTE, v[..500].to_vec()));
    assert_eq!(full[..500], prefix[..]);
}

#[test]
fn missing_samples_score_zero_and_do_not_break_the_stream() {
    let mut v = noisy(600, 10.0, 1.0, 11);
    v[300..310].iter_mut().for_each(|x| *x = f64::NAN);
    v[400] = 40.0;
    let scores = score_series(&series(MINUTE, v));
    assert!(scores[300..310].iter().all(|s| *s == 0.0));
    assert!(scores[400] > 0.9);
}

fn hostile_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e3f64..1e3,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::MAX),
        1 => Just(-f64::MAX),
        1 => Just(0.0),
        1 => (0u32..20).prop_map(f64::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn never_panics_and_stays_in_bounds(
        values in prop::collection::vec(hostile_value(), 0..400),
        jitter in prop::collection::vec(-5i64..5, 0..400),
    ) {
        // Timestamps with gaps, repeats and out-of-order samples.
        let ts: Vec<i64> = (0..values.len())
            .map(|i| i as i64 * 1000 + jitter.get(i).copied().unwrap_or(0) * 700)
            .collect();
        let s = Series { name: "x".into(), timestamps: ts, values, ..Default::default() };
        let scores = score_series(&s);
        prop_assert_eq!(scores.len(), s.values.len());
        prop_assert!(scores.iter().all(|v| (0.0..=1.0).contains(v)));
        let report = detect(&s, &DetectorConfig::default()).unwrap();
        prop_assert_eq!(report.points.len(), s.values.len());
        for e in &report.events {
            prop_assert!(e.onset_ms <= e.end_ms);
            prop_assert!((0.0..=1.0).contains(&e.peak_score));
        }
    }

    #[test]
    fn constant_series_never_alarm(level in -1e12f64..1e12, n in 0usize..600) {
        let s = series(MINUTE, vec![level; n]);
        prop_assert!(score_series(&s).iter().all(|v| *v == 0.0));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every signal mode and a memory limit, over counts-like and hostile values, with
    /// timestamps that repeat, go backwards or sit near the ends of i64.
    #[test]
    fn every_mode_survives_hostile_input(
        values in prop::collection::vec(prop_oneof![3 => hostile_value(), 2 => (0u32..3).prop_map(f64::from)], 0..300),
        steps in prop::collection::vec(prop_oneof![4 => 0i64..3 * MINUTE, 1 => -MINUTE..0], 0..300),
        origin in prop_oneof![Just(0i64), Just(i64::MAX - 1000 * MINUTE), Just(i64::MIN + MINUTE)],
        mode in prop_oneof![Just(SignalMode::Auto), Just(SignalMode::Gauge), Just(SignalMode::Counts)],
        limit in prop::option::of(prop_oneof![-1e3f64..1e3, Just(f64::MAX)]),
    ) {
        let ts = crate::series::walk_timestamps(origin, &steps, MINUTE, values.len());
        let s = Series { name: "x".into(), timestamps: ts, values, ..Default::default() };
        let mut config = DetectorConfig::default().with_mode(mode);
        if let Some(l) = limit {
            config = config.with_limit(l, 60 * MINUTE).unwrap();
        }
        let report = detect(&s, &config).unwrap();
        prop_assert_eq!(report.points.len(), s.values.len());
        prop_assert!(report.points.iter().all(|p| (0.0..=1.0).contains(&p.score)));
        for e in &report.events {
            prop_assert!(e.onset_ms <= e.end_ms);
        }
    }
}

#[test]
fn a_spike_below_an_early_record_is_still_caught() {
    // An early excursion to 1000 sets the all-time range; a later spike to 600 is inside it
    // but six times the recent range away.
    let mut v = noisy(2200, 100.0, 1.0, 21);
    v[150] = 1000.0;
    v[2000] = 600.0;
    let report = run(&series(5 * MINUTE, v), &DetectorConfig::default());
    assert!(report.points[2000].score >= 0.5);
    let ev = event_at(&report, 2000 * 5 * MINUTE).expect("event at the spike");
    assert_eq!((ev.kind, ev.direction), (AnomalyKind::Spike, Direction::Up));
}

#[test]
fn an_old_excursion_fades_from_the_range() {
    // A deep early dip sets the floor; months later a smaller, sustained dip is news again.
    let mut v = noisy(16_000, 100.0, 1.0, 22);
    v[200..260].iter_mut().for_each(|x| *x -= 80.0);
    v[15_000..15_100].iter_mut().for_each(|x| *x -= 40.0);
    let report = run(&series(5 * MINUTE, v), &DetectorConfig::default());
    assert!(report.points[15_000..15_100].iter().any(|p| p.score >= 0.5));
}
