//! Checks the port against NAB's own output: per-file rows and normalised totals.
//!
//! Reads a NAB v1.1 copy at run time (`NAB_DIR`, default `/work/shared/nab`); a missing copy is a
//! failure, not a skip, because these are the tests that say the port is NAB.

use super::parse::{parse_data_csv, parse_profiles, parse_score_column, parse_windows};
use super::{
    FileSweep, Profile, RowWindow, normalized_score, optimize_threshold, score_file,
    threshold_curve, window_rows,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Normalised scores on the 41 files, standard / low-FP / low-FN, from the copy's README.txt.
const README_TOTALS: [(&str, [f64; 3]); 3] = [
    ("ARTime", [76.73, 67.32, 82.16]),
    ("numenta", [68.94, 61.28, 73.48]),
    ("windowedGaussian", [42.58, 26.43, 49.32]),
];

struct Corpus {
    dir: PathBuf,
    profiles: Vec<Profile>,
    /// File key (`category/file.csv`) → row count and windows as rows.
    files: BTreeMap<String, (usize, Vec<RowWindow>)>,
}

/// One row of `<det>_<profile>_scores.csv`.
struct ScoreRow {
    file: String,
    threshold: f64,
    score: f64,
    counts: [usize; 5], // tp, tn, fp, fn, total
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(load_corpus)
}

fn load_corpus() -> Corpus {
    // CI clones the repository next to a copy of `shared/`; developers have it at /work/shared.
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/nab");
    let dir = match std::env::var("NAB_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) if beside.is_dir() => beside,
        Err(_) => PathBuf::from("/work/shared/nab"),
    };
    assert!(
        dir.join("reference_results").is_dir(),
        "NAB reference data not found at {} (expected data/, labels/, config/, reference_results/); \
         set NAB_DIR to a NAB v1.1 copy",
        dir.display()
    );
    let profiles = parse_profiles(&read(&dir.join("config/profiles.json"))).unwrap();
    let windows = parse_windows(&read(&dir.join("labels/combined_windows.json"))).unwrap();
    let files = windows
        .iter()
        .map(|(key, bounds)| {
            let series = parse_data_csv(key, &read(&dir.join("data").join(key))).unwrap();
            let rows =
                window_rows(&series.timestamps, bounds).unwrap_or_else(|e| panic!("{key}: {e}"));
            (key.clone(), (series.len(), rows))
        })
        .collect();
    Corpus {
        dir,
        profiles,
        files,
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn score_rows(corpus: &Corpus, detector: &str, profile: &str) -> Vec<ScoreRow> {
    let path = corpus.dir.join(format!(
        "reference_results/{detector}/{detector}_{profile}_scores.csv"
    ));
    let text = read(&path);
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(parse_score_row)
        .collect()
}

fn parse_score_row(line: &str) -> ScoreRow {
    let f: Vec<&str> = line.split(',').collect();
    assert_eq!(f.len(), 10, "bad scores row {line:?}");
    let count = |i: usize| f[i].parse::<usize>().unwrap();
    ScoreRow {
        file: f[2].to_string(),
        threshold: f[3].parse().unwrap(),
        score: f[4].parse().unwrap(),
        counts: [count(5), count(6), count(7), count(8), count(9)],
    }
}

/// The detector's per-row scores for `file`: its fixture column, or NAB's construction for
/// `null` (constant 0.5) and `perfect` (1 on each window's first row); `None` when neither exists.
fn detector_scores(corpus: &Corpus, detector: &str, file: &str) -> Option<Vec<f64>> {
    let (rows, windows) = &corpus.files[file];
    let (category, name) = file.split_once('/').unwrap();
    let column = corpus.dir.join(format!(
        "reference_results/{detector}/{category}/{detector}_{name}"
    ));
    if corpus
        .dir
        .join("reference_results")
        .join(detector)
        .join(category)
        .is_dir()
    {
        let scores = parse_score_column(&read(&column), "anomaly_score").unwrap();
        assert_eq!(
            scores.len(),
            *rows,
            "{}: rows differ from the data file",
            column.display()
        );
        return Some(scores);
    }
    match detector {
        "null" => Some(vec![0.5; *rows]),
        "perfect" => {
            let mut scores = vec![0.0; *rows];
            windows.iter().for_each(|w| scores[w.first] = 1.0);
            Some(scores)
        }
        _ => None,
    }
}

fn sweep(corpus: &Corpus, file: &str, profile: &Profile) -> FileSweep {
    let (rows, windows) = &corpus.files[file];
    FileSweep::new(*rows, windows, profile.costs)
}

fn detectors(corpus: &Corpus) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus.dir.join("reference_results"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Compares one fixture row with the port; `Err` describes the difference.
fn check_row(
    corpus: &Corpus,
    detector: &str,
    profile: &Profile,
    row: &ScoreRow,
) -> Option<Result<bool, String>> {
    let scores = detector_scores(corpus, detector, &row.file)?;
    let got = score_file(&sweep(corpus, &row.file, profile), &scores, row.threshold);
    let counts = [got.tp, got.tn, got.fp, got.fn_, got.total];
    let close = (got.score - row.score).abs() <= 1e-9 * row.score.abs().max(1.0);
    if counts == row.counts && close {
        return Some(Ok(got.score == row.score));
    }
    Some(Err(format!(
        "{detector} {} {} @ {}: got score {} counts {counts:?}, NAB {} counts {:?}",
        profile.name, row.file, row.threshold, got.score, row.score, row.counts
    )))
}

#[test]
fn nab_reference_rows_reproduced_file_by_file() {
    let corpus = corpus();
    let (mut failures, mut reproduced) = (Vec::new(), BTreeMap::<String, (usize, usize)>::new());
    for detector in detectors(corpus) {
        for profile in &corpus.profiles {
            for row in score_rows(corpus, &detector, &profile.name) {
                match check_row(corpus, &detector, profile, &row) {
                    None => {}
                    Some(Err(message)) => failures.push(message),
                    Some(Ok(exact)) => {
                        let entry = reproduced.entry(detector.clone()).or_default();
                        entry.0 += 1;
                        entry.1 += usize::from(exact);
                    }
                }
            }
        }
    }
    eprintln!("rows reproduced (all, bit-identical score) per detector: {reproduced:?}");
    assert!(
        failures.is_empty(),
        "{} rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let expected_rows = corpus.files.len() * corpus.profiles.len();
    for detector in ["ARTime", "windowedGaussian", "null", "perfect"] {
        let done = reproduced.get(detector).map_or(0, |r| r.0);
        assert_eq!(done, expected_rows, "{detector}: rows reproduced");
    }
}

/// Sum of the per-file rows, as NAB totals a detector.
fn raw_total(corpus: &Corpus, detector: &str, profile: &Profile) -> f64 {
    let rows = score_rows(corpus, detector, &profile.name);
    assert_eq!(
        rows.len(),
        corpus.files.len(),
        "{detector} {}: one row per file",
        profile.name
    );
    rows.iter()
        .map(|row| match detector_scores(corpus, detector, &row.file) {
            Some(scores) => {
                score_file(&sweep(corpus, &row.file, profile), &scores, row.threshold).score
            }
            // No per-row scores in the fixtures (numenta): only its published rows can be summed.
            None => row.score,
        })
        .sum()
}

#[test]
fn nab_normalised_totals_match_readme() {
    let corpus = corpus();
    for (p, profile) in corpus.profiles.iter().enumerate() {
        let sweeps: Vec<FileSweep> = corpus
            .files
            .keys()
            .map(|f| sweep(corpus, f, profile))
            .collect();
        let null: f64 = sweeps.iter().map(FileSweep::null_score).sum();
        let perfect: f64 = sweeps.iter().map(FileSweep::perfect_score).sum();
        assert!(
            (null - raw_total(corpus, "null", profile)).abs() < 1e-9,
            "null total"
        );
        assert!(
            (perfect - raw_total(corpus, "perfect", profile)).abs() < 1e-9,
            "perfect total"
        );
        for (detector, expected) in README_TOTALS {
            let raw = raw_total(corpus, detector, profile);
            let got = normalized_score(raw, null, perfect).unwrap();
            eprintln!(
                "{detector} {}: {got:.4} (README {})",
                profile.name, expected[p]
            );
            assert!(
                (got - expected[p]).abs() <= 0.005 + 1e-9,
                "{detector} {}: {got}",
                profile.name
            );
        }
    }
}

#[test]
fn nab_optimizer_beats_nab_full_corpus_thresholds_on_this_corpus() {
    let corpus = corpus();
    let profile = &corpus.profiles[0];
    let sweeps: Vec<(String, FileSweep)> = corpus
        .files
        .keys()
        .map(|f| (f.clone(), sweep(corpus, f, profile)))
        .collect();
    let scores: Vec<Vec<f64>> = sweeps
        .iter()
        .map(|(f, _)| detector_scores(corpus, "ARTime", f).unwrap())
        .collect();
    let files: Vec<(&FileSweep, &[f64])> = sweeps
        .iter()
        .zip(&scores)
        .map(|((_, s), v)| (s, v.as_slice()))
        .collect();
    let best = optimize_threshold(&files);
    let at = |t: f64| -> f64 {
        sweeps
            .iter()
            .zip(&scores)
            .map(|((_, s), v)| score_file(s, v, t).score)
            .sum()
    };
    let nab_threshold = score_rows(corpus, "ARTime", &profile.name)[0].threshold;
    assert!(
        best.score >= at(nab_threshold) - 1e-9,
        "optimum below NAB's threshold"
    );
    assert!(
        (best.score - at(best.threshold)).abs() < 1e-9,
        "curve and per-file sums disagree"
    );
    let curve = threshold_curve(&files);
    assert!(
        curve.iter().all(|r| r.score <= best.score),
        "optimum is not the curve's maximum"
    );
}
