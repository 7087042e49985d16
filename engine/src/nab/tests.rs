//! Hand-computed cases for the scorer's rules and edges; values checked against NAB's formulas.

use super::parse::{
    parse_data_csv, parse_profiles, parse_score_column, parse_timestamp, parse_windows,
};
use super::*;
use proptest::prelude::*;

const STANDARD: CostMatrix = CostMatrix {
    tp_weight: 1.0,
    fp_weight: 0.11,
    fn_weight: 1.0,
    tn_weight: 1.0,
};

#[track_caller]
fn assert_close(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
}

/// 20 rows (3 probationary) with one window on rows 10..=13.
fn small_file() -> FileSweep {
    FileSweep::new(
        20,
        &[RowWindow {
            first: 10,
            last: 13,
        }],
        STANDARD,
    )
}

fn scores_with(hits: &[(usize, f64)]) -> Vec<f64> {
    let mut scores = vec![0.0; 20];
    hits.iter().for_each(|&(row, s)| scores[row] = s);
    scores
}

#[test]
fn probation_is_15_percent_capped_at_750_rows() {
    let cases = [
        (0, 0),
        (6, 0),
        (7, 1),
        (100, 15),
        (4_999, 749),
        (5_000, 750),
        (100_000, 750),
    ];
    for (rows, want) in cases {
        assert_eq!(probation_length(rows), want, "{rows} rows");
    }
}

#[test]
fn scaled_sigmoid_matches_nab_reference_points() {
    assert_close(scaled_sigmoid(-1.0), 0.9866142981514305);
    assert_close(scaled_sigmoid(0.0), 0.0);
    assert_close(scaled_sigmoid(1.0), -0.9866142981514305);
    assert_close(scaled_sigmoid(3.0001), -1.0);
    assert_close(scaled_sigmoid(f64::INFINITY), -1.0);
}

#[test]
fn row_weights_follow_window_position() {
    let sweep = small_file();
    let weight = |row: usize| sweep.points().iter().find(|p| p.row == row).unwrap().weight;
    assert_eq!(sweep.points().len(), 17, "rows 0..3 are probationary");
    assert_eq!(sweep.points()[0].row, 3);
    assert_close(weight(5), -0.11); // no window before: full FP weight
    assert_close(weight(10), 1.0); // left edge: tpWeight
    assert_close(weight(11), 0.9669890878000605); // position -3/4
    assert_close(weight(13), 0.5621241486044827); // position -1/4
    assert_close(weight(15), -0.10242205695343354); // 2 rows past, over width-1 = 3
    assert_eq!(sweep.windows(), 1);
}

#[test]
fn score_file_counts_rows_and_keeps_earliest_detection() {
    let sweep = small_file();
    let scores = scores_with(&[(11, 0.7), (13, 0.9), (5, 0.8)]);
    let high = score_file(&sweep, &scores, 0.85);
    assert_eq!(
        (high.tp, high.fp, high.fn_, high.tn, high.total),
        (1, 0, 3, 13, 17)
    );
    assert_close(high.score, 0.5621241486044827);
    let low = score_file(&sweep, &scores, 0.7);
    assert_eq!(
        (low.tp, low.fp, low.fn_, low.tn, low.windows_detected),
        (2, 1, 2, 12, 1)
    );
    assert_close(low.score, 0.9669890878000605 - 0.11);
}

#[test]
fn threshold_is_inclusive_and_may_fall_between_scores() {
    let sweep = small_file();
    let scores = scores_with(&[(12, 0.6)]);
    assert_eq!(score_file(&sweep, &scores, 0.6).tp, 1);
    assert_eq!(score_file(&sweep, &scores, 0.600001).tp, 0);
    assert_eq!(score_file(&sweep, &scores, 0.3).tp, 1);
    let everything = score_file(&sweep, &scores, -1.0);
    assert_eq!((everything.tp, everything.fp), (4, 13));
}

#[test]
fn nothing_detected_scores_minus_fn_weight_per_window() {
    let sweep = small_file();
    let none = score_file(&sweep, &scores_with(&[]), 1.1);
    assert_eq!((none.threshold, none.tp, none.fp), (1.1, 0, 0));
    assert_close(none.score, -1.0);
    assert_close(none.score, sweep.null_score());
    assert_eq!(score_file(&sweep, &scores_with(&[]), f64::NAN).tp, 0);
    assert_eq!(score_file(&sweep, &scores_with(&[]), 7.0).tp, 0);
}

#[test]
fn windows_inside_probation_are_not_counted() {
    let sweep = FileSweep::new(20, &[RowWindow { first: 0, last: 2 }], STANDARD);
    assert_eq!(sweep.windows(), 0);
    assert!(sweep.points().iter().all(|p| p.window.is_none()));
    // The window still shapes the penalty of rows after it.
    assert_close(sweep.points()[0].weight, 0.11 * scaled_sigmoid(0.5));
}

#[test]
fn optimizer_prefers_the_highest_threshold_among_ties() {
    let sweep = small_file();
    // Lowering 0.9 -> 0.8 only adds a later row of an already detected window: same score.
    let scores = scores_with(&[(10, 0.9), (12, 0.8), (4, 0.5)]);
    let best = optimize_threshold(&[(&sweep, &scores)]);
    assert_eq!(best.threshold, 0.9);
    assert_close(best.score, 1.0);
}

#[test]
fn curve_spans_files_and_scores_by_the_corpus() {
    let (a, b) = (small_file(), small_file());
    let sa = scores_with(&[(10, 0.9)]);
    let sb = scores_with(&[(4, 0.95), (12, 0.4)]);
    let curve = threshold_curve(&[(&a, &sa), (&b, &sb)]);
    let thresholds: Vec<f64> = curve.iter().map(|r| r.threshold).collect();
    assert_eq!(thresholds, [1.1, 0.95, 0.9, 0.4, 0.0]);
    assert_close(curve[0].score, -2.0);
    assert_close(curve[2].score, -0.11 + 1.0 - 1.0);
    assert_eq!(curve[3].windows_detected, 2);
    assert_eq!(curve[4].total, 34);
}

#[test]
fn missing_and_nan_scores_are_never_detections() {
    let sweep = small_file();
    let mut scores = scores_with(&[(10, f64::NAN)]);
    scores.truncate(12);
    let all = score_file(&sweep, &scores, f64::NEG_INFINITY);
    assert_eq!((all.tp, all.fn_, all.fp, all.total), (1, 3, 7, 17));
    let empty = FileSweep::new(0, &[], STANDARD);
    assert_eq!(score_file(&empty, &[], 0.5).total, 0);
    assert_eq!(optimize_threshold(&[]).score, 0.0);
}

#[test]
fn bad_row_windows_are_ignored_not_trusted() {
    let windows = [
        RowWindow { first: 8, last: 12 },
        RowWindow {
            first: 11,
            last: 14,
        }, // overlaps
        RowWindow {
            first: 16,
            last: 15,
        }, // reversed
        RowWindow {
            first: 18,
            last: 99,
        }, // out of range
    ];
    let sweep = FileSweep::new(20, &windows, STANDARD);
    assert_eq!(sweep.windows(), 1);
}

#[test]
fn window_rows_match_exact_timestamps_and_reject_disorder() {
    let ts = [0, 10, 20, 20, 30, 40, 50];
    let rows = window_rows(&ts, &[(10, 20), (40, 50)]).unwrap();
    assert_eq!(
        rows,
        [
            RowWindow { first: 1, last: 2 },
            RowWindow { first: 5, last: 6 }
        ]
    );
    assert_eq!(rows[1].width(), 2);
    assert!(matches!(
        window_rows(&ts, &[(15, 20)]),
        Err(NabError::WindowBoundNotFound { timestamp_ms: 15 })
    ));
    assert!(matches!(
        window_rows(&ts, &[(30, 10)]),
        Err(NabError::WindowOutOfOrder { .. })
    ));
    assert!(matches!(
        window_rows(&ts, &[(10, 30), (20, 40)]),
        Err(NabError::WindowOutOfOrder { .. })
    ));
}

#[test]
fn normalisation_maps_null_to_0_and_perfect_to_100() {
    assert_eq!(normalized_score(-3.0, -3.0, 3.0), Some(0.0));
    assert_eq!(normalized_score(3.0, -3.0, 3.0), Some(100.0));
    assert_eq!(normalized_score(0.0, -3.0, 3.0), Some(50.0));
    assert_eq!(normalized_score(-0.5, 0.0, 0.0), None);
    assert_eq!(null_score(&STANDARD, 4), -4.0);
    assert_eq!(perfect_score(&STANDARD, 4), 4.0);
}

#[test]
fn timestamps_parse_as_utc_milliseconds() {
    assert_eq!(
        parse_timestamp("2014-04-10 07:15:00.000000").unwrap(),
        1_397_114_100_000
    );
    assert_eq!(
        parse_timestamp("2014-04-10T07:15:00.5Z").unwrap(),
        1_397_114_100_500
    );
    assert_eq!(parse_timestamp("1970-01-01 00:00:00").unwrap(), 0);
    assert_eq!(parse_timestamp("1969-12-31 23:59:59").unwrap(), -1_000);
    assert_eq!(
        parse_timestamp("2000-02-29 23:59:59").unwrap(),
        951_868_799_000
    );
    for bad in [
        "2001-02-29 00:00:00",
        "2014-13-01 00:00:00",
        "2014-04-10",
        "x",
        "",
        "2014-04-10 07:15:00.5a",
    ] {
        assert!(parse_timestamp(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn profiles_parse_in_nab_order() {
    let json = r#"{"reward_low_FN_rate": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 2.0, "fpWeight": 0.11, "tnWeight": 1.0}},
                  "standard": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11, "tnWeight": 1.0}},
                  "reward_low_FP_rate": {"CostMatrix": {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.22}}}"#;
    let profiles = parse_profiles(json).unwrap();
    let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["standard", "reward_low_FP_rate", "reward_low_FN_rate"]
    );
    assert_eq!(profiles[0].costs, STANDARD);
    assert_eq!(profiles[2].costs.fn_weight, 2.0);
    assert!(matches!(
        parse_profiles("[]"),
        Err(NabError::Json {
            what: "profiles",
            ..
        })
    ));
}

#[test]
fn windows_json_parses_per_file() {
    let json = r#"{"a/x.csv": [["2014-04-10 07:15:00.000000", "2014-04-10 07:20:00.000000"]], "a/y.csv": []}"#;
    let windows = parse_windows(json).unwrap();
    assert_eq!(windows["a/x.csv"], [(1_397_114_100_000, 1_397_114_400_000)]);
    assert!(windows["a/y.csv"].is_empty());
    assert!(matches!(
        parse_windows(r#"{"a": [["bad", "bad"]]}"#),
        Err(NabError::BadTimestamp { .. })
    ));
}

#[test]
fn csv_files_keep_rows_in_file_order() {
    let text = "timestamp,value\r\n2014-04-10 07:15:00,1.5\r\n2014-04-10 07:10:00,\r\n\n";
    let series = parse_data_csv("a/x.csv", text).unwrap();
    assert_eq!(series.timestamps, [1_397_114_100_000, 1_397_113_800_000]);
    assert_eq!(series.values[0], 1.5);
    assert!(series.values[1].is_nan());
    assert!(matches!(
        parse_data_csv("x", "time,value\n"),
        Err(NabError::MissingColumn { .. })
    ));
    assert!(matches!(
        parse_data_csv("x", "timestamp,value\n2014-04-10 07:15:00\n"),
        Err(NabError::Csv { line: 2, .. })
    ));
    let column =
        parse_score_column("timestamp,anomaly_score\nt,0.25\nt,1\n", "anomaly_score").unwrap();
    assert_eq!(column, [0.25, 1.0]);
    assert!(matches!(
        parse_score_column("anomaly_score\nabc\n", "anomaly_score"),
        Err(NabError::Csv { .. })
    ));
}

proptest! {
    #[test]
    fn curve_invariants_hold_for_any_scores(
        rows in 0usize..60,
        raw_windows in proptest::collection::vec((0usize..70, 0usize..10), 0..5),
        scores in proptest::collection::vec(prop_oneof![Just(f64::NAN), Just(f64::INFINITY), -2.0f64..2.0], 0..70),
    ) {
        let windows: Vec<RowWindow> = raw_windows.iter().map(|&(first, len)| RowWindow { first, last: first + len }).collect();
        let sweep = FileSweep::new(rows, &windows, STANDARD);
        let curve = threshold_curve(&[(&sweep, &scores)]);
        let first = curve[0];
        prop_assert_eq!(first.tp + first.fp, 0);
        prop_assert!((first.score - sweep.null_score()).abs() < 1e-9);
        prop_assert!(curve.windows(2).all(|w| w[0].threshold > w[1].threshold));
        prop_assert!(curve.iter().all(|r| r.tp + r.tn + r.fp + r.fn_ == sweep.points().len()));
        let best = optimize_threshold(&[(&sweep, &scores)]);
        prop_assert!(curve.iter().all(|r| r.score <= best.score));
        let everything = score_file(&sweep, &scores, f64::NEG_INFINITY);
        prop_assert_eq!(everything, *curve.last().unwrap());
    }
}
