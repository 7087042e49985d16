//! NAB benchmark: our detector against NAB's reference detectors, scored by the NAB v1.1 port.
//!
//! `cargo bench -p eks-ops-engine --bench nab -- [DATA_DIR] [WINDOWS_JSON] [--profiles CONFIG_JSON]
//! [--reference RESULTS_DIR]`. Defaults: /work/shared/nab/data and .../labels/combined_windows.json;
//! profiles and reference results are looked up beside the labels directory
//! (`../config/profiles.json`, `../reference_results`), so any corpus in NAB's layout runs as is.
//!
//! Detectors: ours (`anomaly::score_series`), NAB's baselines whose per-row `anomaly_score`
//! columns exist under the reference directory, and NAB's null detector (constant 0.5). Each is
//! scored at NAB's corpus-optimal threshold per profile and at one fixed threshold; per-category
//! tables, a check of NAB's own per-file rows and our detector's throughput follow.
//! `NAB_PER_FILE=1` adds a per-file table; `NAB_DUMP=DIR` writes our per-row scores there.

use eks_ops_engine::anomaly::score_series;
use eks_ops_engine::nab::parse::{
    parse_data_csv, parse_profiles, parse_score_column, parse_windows,
};
use eks_ops_engine::nab::{
    FileSweep, Profile, RowWindow, ThresholdScore, normalized_score, optimize_threshold,
    score_file, window_rows,
};
use eks_ops_engine::series::Series;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The threshold fixed before any run: our scores are calibrated tail probabilities and 0.5
/// marks roughly a one-in-ten-thousand event (see `anomaly`), the midpoint of [0, 1]. It is not
/// tuned on NAB; the optimal-threshold columns show what tuning would buy.
const FIXED_THRESHOLD: f64 = 0.5;

/// NAB detectors whose per-row scores the reference directory may hold.
const BASELINES: [&str; 3] = ["ARTime", "windowedGaussian", "numenta"];

type BenchResult<T> = Result<T, String>;

struct Args {
    data: PathBuf,
    windows: PathBuf,
    profiles: PathBuf,
    reference: PathBuf,
}

struct CorpusFile {
    /// `category/file.csv`, the key NAB's labels use.
    key: String,
    category: String,
    series: Series,
    windows: Vec<RowWindow>,
}

struct Detector {
    name: String,
    /// One score vector per corpus file.
    scores: Vec<Vec<f64>>,
}

/// One detector's results under one profile.
struct Outcome {
    optimal: ThresholdScore,
    /// Per category (plus "total"): per-file scores summed at the optimal and the fixed threshold.
    raw_optimal: BTreeMap<String, f64>,
    raw_fixed: BTreeMap<String, f64>,
    fixed_counts: ThresholdScore,
}

fn main() {
    if let Err(message) = run() {
        eprintln!("nab bench: {message}");
        std::process::exit(1);
    }
}

fn run() -> BenchResult<()> {
    let args = parse_args(std::env::args().skip(1).collect())?;
    let (files, profiles) = load_corpus(&args)?;
    let sweeps = build_sweeps(&files, &profiles);
    print_corpus(&args, &files, &sweeps);
    let (ours, elapsed) = run_ours(&files);
    let mut detectors = vec![ours];
    for name in BASELINES {
        match load_baseline(&args.reference, name, &files)? {
            Some(detector) => detectors.push(detector),
            None => println!(
                "{name}: no per-row scores under {}, not compared",
                args.reference.display()
            ),
        }
    }
    detectors.push(Detector {
        name: "null".into(),
        scores: files.iter().map(|f| vec![0.5; f.series.len()]).collect(),
    });
    let outcomes: Vec<Vec<Outcome>> = detectors
        .iter()
        .map(|d| {
            profiles
                .iter()
                .enumerate()
                .map(|(p, _)| evaluate(d, &files, &sweeps[p]))
                .collect()
        })
        .collect();
    let baselines = category_baselines(&files, &sweeps);
    print_scores(&detectors, &profiles, &outcomes, &baselines);
    print_categories(&detectors, &profiles, &outcomes, &baselines, &files);
    if std::env::var_os("NAB_PER_FILE").is_some() {
        print_per_file(&detectors, &outcomes, &files, &sweeps[0]);
    }
    print_reference_check(&args, &files, &profiles, &sweeps, &baselines)?;
    print_throughput(&files, elapsed);
    Ok(())
}

fn parse_args(raw: Vec<String>) -> BenchResult<Args> {
    let (mut positional, mut profiles, mut reference) = (Vec::new(), None, None);
    let mut iter = raw.into_iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--bench" => {} // cargo bench passes it to harness-less benches
            "--profiles" => {
                profiles = Some(PathBuf::from(iter.next().ok_or("--profiles needs a path")?))
            }
            "--reference" => {
                reference = Some(PathBuf::from(
                    iter.next().ok_or("--reference needs a path")?,
                ))
            }
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}")),
            _ => positional.push(PathBuf::from(arg)),
        }
    }
    let mut positional = positional.into_iter();
    let data = positional
        .next()
        .unwrap_or_else(|| "/work/shared/nab/data".into());
    let windows = positional
        .next()
        .unwrap_or_else(|| "/work/shared/nab/labels/combined_windows.json".into());
    let root = windows
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."))
        .to_path_buf();
    Ok(Args {
        data,
        profiles: profiles.unwrap_or_else(|| root.join("config/profiles.json")),
        reference: reference.unwrap_or_else(|| root.join("reference_results")),
        windows,
    })
}

fn read(path: &Path) -> BenchResult<String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Every `DATA_DIR/<category>/<file>.csv` that the windows file labels, in key order.
fn load_corpus(args: &Args) -> BenchResult<(Vec<CorpusFile>, Vec<Profile>)> {
    let profiles = parse_profiles(&read(&args.profiles)?)
        .map_err(|e| format!("{}: {e}", args.profiles.display()))?;
    let labels = parse_windows(&read(&args.windows)?)
        .map_err(|e| format!("{}: {e}", args.windows.display()))?;
    let mut files = Vec::new();
    for (key, bounds) in &labels {
        let path = args.data.join(key);
        if !path.is_file() {
            println!(
                "{key}: labelled but missing under {}, skipped",
                args.data.display()
            );
            continue;
        }
        let series = parse_data_csv(key, &read(&path)?).map_err(|e| format!("{key}: {e}"))?;
        let windows = window_rows(&series.timestamps, bounds).map_err(|e| format!("{key}: {e}"))?;
        let category = key.split_once('/').map_or("", |(c, _)| c).to_string();
        files.push(CorpusFile {
            key: key.clone(),
            category,
            series,
            windows,
        });
    }
    if files.is_empty() {
        return Err(format!(
            "no labelled data files under {}",
            args.data.display()
        ));
    }
    Ok((files, profiles))
}

/// `sweeps[profile][file]`: NAB's row weights, shared by every detector.
fn build_sweeps(files: &[CorpusFile], profiles: &[Profile]) -> Vec<Vec<FileSweep>> {
    profiles
        .iter()
        .map(|p| {
            files
                .iter()
                .map(|f| FileSweep::new(f.series.len(), &f.windows, p.costs))
                .collect()
        })
        .collect()
}

/// Runs our detector file by file on one thread, timing only the detector.
fn run_ours(files: &[CorpusFile]) -> (Detector, Duration) {
    let mut elapsed = Duration::ZERO;
    let mut scores = Vec::with_capacity(files.len());
    for file in files {
        let start = Instant::now();
        let file_scores = score_series(&file.series);
        elapsed += start.elapsed();
        if file_scores.len() != file.series.len() {
            println!(
                "{}: detector gave {} scores for {} rows",
                file.key,
                file_scores.len(),
                file.series.len()
            );
        }
        if let Some(dir) = std::env::var_os("NAB_DUMP") {
            let text: String = file_scores.iter().map(|v| format!("{v}\n")).collect();
            let path = Path::new(&dir).join(file.key.replace('/', "__"));
            if let Err(e) = std::fs::write(&path, text) {
                println!("{}: {e}", path.display());
            }
        }
        scores.push(file_scores);
    }
    (
        Detector {
            name: "ours".into(),
            scores,
        },
        elapsed,
    )
}

/// `NAB_PER_FILE=1`: each file's raw standard-profile score and counts at each detector's
/// corpus-optimal threshold (windows hit / windows, FP rows), to see where a change helps.
fn print_per_file(
    detectors: &[Detector],
    outcomes: &[Vec<Outcome>],
    files: &[CorpusFile],
    sweeps: &[FileSweep],
) {
    println!(
        "\nPer file, standard profile at each detector's optimal threshold: score hit/windows fp"
    );
    let shown: Vec<usize> = (0..detectors.len().min(2)).collect();
    let mut head = format!("{:<58}", "file");
    for &d in &shown {
        head.push_str(&format!("{:>22}", detectors[d].name));
    }
    println!("{head}");
    for (i, file) in files.iter().enumerate() {
        let mut row = format!("{:<58}", file.key);
        for &d in &shown {
            let r = score_file(
                &sweeps[i],
                &detectors[d].scores[i],
                outcomes[d][0].optimal.threshold,
            );
            let cell = format!(
                "{:.2} {}/{} {}",
                r.score,
                r.windows_detected,
                file.windows.len(),
                r.fp
            );
            row.push_str(&format!("{cell:>22}"));
        }
        println!("{row}");
    }
}

/// A NAB detector's `anomaly_score` columns, when the reference directory has them for this corpus.
fn load_baseline(
    reference: &Path,
    name: &str,
    files: &[CorpusFile],
) -> BenchResult<Option<Detector>> {
    let mut scores = Vec::with_capacity(files.len());
    for file in files {
        let (category, base) = file.key.split_once('/').unwrap_or(("", &file.key));
        let path = reference
            .join(name)
            .join(category)
            .join(format!("{name}_{base}"));
        if !path.is_file() {
            return Ok(None);
        }
        let column = parse_score_column(&read(&path)?, "anomaly_score")
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if column.len() != file.series.len() {
            return Err(format!(
                "{}: {} scores for {} rows",
                path.display(),
                column.len(),
                file.series.len()
            ));
        }
        scores.push(column);
    }
    Ok(Some(Detector {
        name: name.to_string(),
        scores,
    }))
}

fn evaluate(detector: &Detector, files: &[CorpusFile], sweeps: &[FileSweep]) -> Outcome {
    let pairs: Vec<(&FileSweep, &[f64])> = sweeps
        .iter()
        .zip(&detector.scores)
        .map(|(s, v)| (s, v.as_slice()))
        .collect();
    let optimal = optimize_threshold(&pairs);
    let (raw_optimal, _) = scores_at(&pairs, files, optimal.threshold);
    let (raw_fixed, fixed_counts) = scores_at(&pairs, files, FIXED_THRESHOLD);
    Outcome {
        optimal,
        raw_optimal,
        raw_fixed,
        fixed_counts,
    }
}

/// Per-file scores at `threshold` summed per category and in "total" (NAB totals per-file rows),
/// with the corpus counts.
fn scores_at(
    pairs: &[(&FileSweep, &[f64])],
    files: &[CorpusFile],
    threshold: f64,
) -> (BTreeMap<String, f64>, ThresholdScore) {
    let mut sums = BTreeMap::new();
    let mut counts = ThresholdScore {
        threshold,
        score: 0.0,
        tp: 0,
        tn: 0,
        fp: 0,
        fn_: 0,
        total: 0,
        windows_detected: 0,
    };
    for ((sweep, scores), file) in pairs.iter().zip(files) {
        let r = score_file(sweep, scores, threshold);
        *sums.entry(file.category.clone()).or_insert(0.0) += r.score;
        *sums.entry("total".to_string()).or_insert(0.0) += r.score;
        counts.score += r.score;
        counts.tp += r.tp;
        counts.fp += r.fp;
        counts.fn_ += r.fn_;
        counts.tn += r.tn;
        counts.total += r.total;
        counts.windows_detected += r.windows_detected;
    }
    (sums, counts)
}

/// Null and perfect raw scores per category (and "total") for each profile.
type Baselines = Vec<BTreeMap<String, (f64, f64)>>;

fn category_baselines(files: &[CorpusFile], sweeps: &[Vec<FileSweep>]) -> Baselines {
    sweeps
        .iter()
        .map(|per_file| {
            let mut out: BTreeMap<String, (f64, f64)> = BTreeMap::new();
            for (file, sweep) in files.iter().zip(per_file) {
                for key in [file.category.as_str(), "total"] {
                    let entry = out.entry(key.to_string()).or_default();
                    entry.0 += sweep.null_score();
                    entry.1 += sweep.perfect_score();
                }
            }
            out
        })
        .collect()
}

fn normalized(
    raw: &BTreeMap<String, f64>,
    baselines: &BTreeMap<String, (f64, f64)>,
    key: &str,
) -> Option<f64> {
    let (null, perfect) = baselines.get(key)?;
    normalized_score(*raw.get(key)?, *null, *perfect)
}

fn cell(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}"))
}

fn print_corpus(args: &Args, files: &[CorpusFile], sweeps: &[Vec<FileSweep>]) {
    let rows: usize = files.iter().map(|f| f.series.len()).sum();
    let windows: usize = files.iter().map(|f| f.windows.len()).sum();
    let scored: usize = sweeps
        .first()
        .map_or(0, |s| s.iter().map(|f| f.points().len()).sum());
    let categories: std::collections::BTreeSet<&str> =
        files.iter().map(|f| f.category.as_str()).collect();
    println!(
        "NAB corpus {} (labels {})",
        args.data.display(),
        args.windows.display()
    );
    println!(
        "{} files in {} categories, {windows} windows, {rows} rows ({scored} scored after probation)\n",
        files.len(),
        categories.len()
    );
}

fn print_scores(
    detectors: &[Detector],
    profiles: &[Profile],
    outcomes: &[Vec<Outcome>],
    baselines: &Baselines,
) {
    println!(
        "Normalised NAB score (null = 0, perfect = 100) at the corpus-optimal threshold per profile"
    );
    print!("{:<18}", "detector");
    profiles.iter().for_each(|p| print!(" {:>20}", p.name));
    println!("  windows hit   TP rows   FP rows (1st profile's optimum)");
    for (detector, per_profile) in detectors.iter().zip(outcomes) {
        print!("{:<18}", detector.name);
        for (o, b) in per_profile.iter().zip(baselines) {
            print!(
                " {:>8} @ {:<9.6}",
                cell(normalized(&o.raw_optimal, b, "total")),
                o.optimal.threshold
            );
        }
        print_counts(per_profile.first().map(|o| o.optimal));
    }
    println!("\nAt the fixed a-priori threshold {FIXED_THRESHOLD}");
    print!("{:<18}", "detector");
    profiles.iter().for_each(|p| print!(" {:>20}", p.name));
    println!("  windows hit   TP rows   FP rows");
    for (detector, per_profile) in detectors.iter().zip(outcomes) {
        print!("{:<18}", detector.name);
        for (o, b) in per_profile.iter().zip(baselines) {
            print!(" {:>20}", cell(normalized(&o.raw_fixed, b, "total")));
        }
        print_counts(per_profile.first().map(|o| o.fixed_counts));
    }
    println!();
}

/// Detection counts do not depend on the profile's weights, only on the threshold.
fn print_counts(counts: Option<ThresholdScore>) {
    let (hit, tp, fp) = counts.map_or((0, 0, 0), |c| (c.windows_detected, c.tp, c.fp));
    println!("  {hit:>11} {tp:>9} {fp:>9}");
}

fn print_categories(
    detectors: &[Detector],
    profiles: &[Profile],
    outcomes: &[Vec<Outcome>],
    baselines: &Baselines,
    files: &[CorpusFile],
) {
    let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
    for (title, fixed) in [
        ("corpus-optimal threshold", false),
        ("fixed threshold 0.5", true),
    ] {
        println!(
            "Per category, {title}: {} (n/a: no windows)",
            names.join(" / ")
        );
        print!("{:<32}", "category (files, windows)");
        detectors.iter().for_each(|d| print!(" {:>26}", d.name));
        println!();
        for category in category_names(files) {
            let in_cat = files.iter().filter(|f| f.category == category);
            let (n, w) = in_cat.fold((0, 0), |(n, w), f| (n + 1, w + f.windows.len()));
            print!("{:<32}", format!("{category} ({n}, {w})"));
            for per_profile in outcomes {
                let values: Vec<String> = per_profile
                    .iter()
                    .zip(baselines)
                    .map(|(o, b)| {
                        cell(normalized(
                            if fixed { &o.raw_fixed } else { &o.raw_optimal },
                            b,
                            &category,
                        ))
                    })
                    .collect();
                print!(" {:>26}", values.join("/"));
            }
            println!();
        }
        println!();
    }
}

fn category_names(files: &[CorpusFile]) -> Vec<String> {
    let set: std::collections::BTreeSet<&str> = files.iter().map(|f| f.category.as_str()).collect();
    set.into_iter().map(str::to_string).collect()
}

/// NAB's own per-file rows (`<det>_<profile>_scores.csv`), summed and normalised, beside our
/// rescoring of the same detector's columns at the thresholds NAB used: the port's end-to-end check.
fn print_reference_check(
    args: &Args,
    files: &[CorpusFile],
    profiles: &[Profile],
    sweeps: &[Vec<FileSweep>],
    baselines: &Baselines,
) -> BenchResult<()> {
    let mut lines = Vec::new();
    for name in BASELINES {
        let Some(rows) = nab_rows(&args.reference, name, profiles, files)? else {
            continue;
        };
        let columns = load_baseline(&args.reference, name, files)?;
        let mut nab = Vec::new();
        let mut ours = Vec::new();
        for (p, per_file) in rows.iter().enumerate() {
            let raw: f64 = per_file.iter().map(|(_, s)| s).sum();
            nab.push(cell(normalized_score(
                raw,
                baselines[p]["total"].0,
                baselines[p]["total"].1,
            )));
            if let Some(d) = &columns {
                let pairs = sweeps[p].iter().zip(&d.scores).zip(per_file);
                let raw: f64 = pairs
                    .map(|((s, v), (t, _))| score_file(s, v, *t).score)
                    .sum();
                ours.push(cell(normalized_score(
                    raw,
                    baselines[p]["total"].0,
                    baselines[p]["total"].1,
                )));
            }
        }
        let ours = if ours.is_empty() {
            "no per-row scores".to_string()
        } else {
            ours.join(" / ")
        };
        lines.push(format!("{name:<18} {:<24} {ours}", nab.join(" / ")));
    }
    if lines.is_empty() {
        return Ok(());
    }
    println!(
        "NAB's per-file rows at NAB's thresholds: NAB's sum vs our rescoring of the same columns"
    );
    println!(
        "{:<18} {:<24} rescored by this port",
        "detector", "NAB rows"
    );
    lines.iter().for_each(|l| println!("{l}"));
    print_published(args)?;
    println!();
    Ok(())
}

/// Per profile, per file: (threshold, NAB score).
type ProfileRows = Vec<Vec<(f64, f64)>>;

/// `[profile][file] -> (threshold, NAB score)` from NAB's score files, when all files are present.
fn nab_rows(
    reference: &Path,
    name: &str,
    profiles: &[Profile],
    files: &[CorpusFile],
) -> BenchResult<Option<ProfileRows>> {
    let mut out = Vec::new();
    for profile in profiles {
        let path = reference
            .join(name)
            .join(format!("{name}_{}_scores.csv", profile.name));
        if !path.is_file() {
            return Ok(None);
        }
        let by_file: BTreeMap<String, (f64, f64)> = read(&path)?
            .lines()
            .skip(1)
            .filter_map(parse_nab_row)
            .collect();
        let per_file: Option<Vec<(f64, f64)>> =
            files.iter().map(|f| by_file.get(&f.key).copied()).collect();
        let Some(per_file) = per_file else {
            return Ok(None);
        };
        out.push(per_file);
    }
    Ok(Some(out))
}

/// `Detector,Profile,File,Threshold,Score,...` → (file, (threshold, score)).
fn parse_nab_row(line: &str) -> Option<(String, (f64, f64))> {
    let fields: Vec<&str> = line.split(',').collect();
    let number = |i: usize| fields.get(i)?.trim().parse::<f64>().ok();
    Some((fields.get(2)?.to_string(), (number(3)?, number(4)?)))
}

/// NAB's committed full-corpus scores, for context (a different file set than a subset corpus).
fn print_published(args: &Args) -> BenchResult<()> {
    let root = args
        .windows
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    let path = root.join("published/final_results.json");
    if !path.is_file() {
        return Ok(());
    }
    let json: serde_json::Value =
        serde_json::from_str(&read(&path)?).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("published {} (NAB's full corpus):", path.display());
    for name in BASELINES {
        let get = |p: &str| {
            json[name][p]
                .as_f64()
                .map_or("n/a".into(), |v| format!("{v:.2}"))
        };
        println!(
            "  {name:<16} {} / {} / {}",
            get("standard"),
            get("reward_low_FP_rate"),
            get("reward_low_FN_rate")
        );
    }
    Ok(())
}

fn print_throughput(files: &[CorpusFile], elapsed: Duration) {
    let points: usize = files.iter().map(|f| f.series.len()).sum();
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        points as f64 / seconds
    } else {
        f64::INFINITY
    };
    println!("Throughput of ours (score_series, one thread, detector time only)");
    println!("{points} points in {seconds:.3} s: {rate:.0} points/s");
}
