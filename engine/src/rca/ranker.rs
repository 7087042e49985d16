//! The ranking itself: score every candidate signal against its own pre-onset baseline, order the
//! onsets, weigh in the symptom correlation and the call graph, and fuse occurrence evidence.
//!
//! Why each step:
//! - The baseline ends `hint_uncertainty_ms` before the suspected anomaly time, so a hint that is
//!   late (the usual error: alerts fire after the fault) does not leak the fault into the baseline.
//!   Rejected: trusting the hint (BARO and N-Sigma do), which lets a late hint shrink the score
//!   of the very signal that moved first.
//! - Magnitude is a robust z (median and IQR/MAD, with drift extrapolated; see [`Baseline`]),
//!   minus what the same metric of the other components explains (load moves every service's CPU
//!   together; a fault moves one), read at the peak of a 15-sample rolling median rather than the
//!   raw maximum, so a GC pause, a scrape glitch or a few noisy samples do not outrank a sustained
//!   shift or a slow leak. The scale is the smaller of the robust and the classical one. It is
//!   log-compressed: a 1000-sigma CPU hog and a 50-sigma one are both "clearly moved", and the
//!   other cues must be able to reorder them. Half of it is read from the level held for a
//!   quarter of the window instead of the peak: faults persist, flash crowds and bursts pass.
//! - Onsets: causes move first. The earliest strong onset anchors the incident; later onsets are
//!   discounted gently (`onset_tau_ms`), since scrape intervals blur a few seconds.
//! - Graph: a callee's slowness shows up in every caller. When a callee is anomalous and moved at
//!   about the same time as its caller, the caller is discounted: the callee explains it.

use super::changepoint::{Baseline, Onset, mean_shift_split, onset};
use super::correlate::lagged_correlation;
use super::evidence::{Evidence, fuse};
use super::{Hypothesis, RcaConfig, RcaInput, RcaReport, TimelineEntry};
use crate::series::{Series, quantile};
use std::collections::BTreeMap;

/// One candidate signal after scoring.
#[derive(Debug, Clone)]
struct SignalScore {
    component: String,
    metric: String,
    /// Log-compressed robust deviation, before onset and correlation weights.
    magnitude: f64,
    onset: Option<Onset>,
    peak: (i64, f64),
    baseline: f64,
    z_peak: f64,
    score: f64,
}

/// A fall counts a little less than a rise: faults mostly push resource use, latency and errors
/// up, and a drop is often the consequence (less traffic reaching a callee).
const FALL_WEIGHT: f64 = 0.7;

/// Ranks the candidates of `input`; see the module doc for the method.
pub fn rank(input: &RcaInput, cfg: &RcaConfig) -> RcaReport {
    let hint = input
        .anomaly_time_ms
        .or_else(|| estimate_anomaly_time(input));
    let Some(hint) = hint else {
        return RcaReport::default();
    };
    let cut = hint.saturating_sub(cfg.hint_uncertainty_ms.max(0));
    let mut devs: Vec<Deviation> = input
        .candidates
        .iter()
        .flat_map(|(comp, list)| list.iter().map(move |s| (comp, s)))
        .filter_map(|(comp, s)| deviation(comp, s, cut, hint))
        .collect();
    explain_by_peers(&mut devs);
    let mut signals: Vec<SignalScore> = devs
        .into_iter()
        .filter_map(|d| score_deviation(d, cut, cfg))
        .collect();
    let incident_onset = incident_onset(&signals);
    for s in &mut signals {
        s.score = s.magnitude * onset_weight(s.onset, incident_onset, cfg);
    }
    if let Some(symptom) = input.symptom.first() {
        weigh_correlation(&mut signals, symptom, input, cfg);
    }
    let mut components = combine(&signals);
    discount_callers(&mut components, &input.graph, &signals, cfg);
    let fused = fuse(
        &input.occurrences,
        incident_onset.or(Some(hint)),
        &cfg.evidence,
    );
    let hypotheses = hypotheses(components, fused, &signals, cfg);
    let timeline = timeline(&hypotheses);
    RcaReport {
        anomaly_time_ms: Some(hint),
        onset_ms: incident_onset,
        hypotheses,
        timeline,
    }
}

/// Without a hint: the symptom's strongest mean shift, else the strongest shift among candidates.
fn estimate_anomaly_time(input: &RcaInput) -> Option<i64> {
    let split_time = |s: &Series| {
        mean_shift_split(&s.values, 5)
            .and_then(|(i, stat)| Some((s.timestamps.get(i).copied()?, stat)))
    };
    if let Some(t) = input
        .symptom
        .iter()
        .filter_map(split_time)
        .max_by(|a, b| a.1.total_cmp(&b.1))
    {
        return Some(t.0);
    }
    let all = input.candidates.values().flatten();
    all.filter_map(split_time)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|t| t.0)
}

impl SignalScore {
    fn onset_ms(&self) -> Option<i64> {
        match self.onset {
            Some(Onset::At(t)) => Some(t),
            _ => None,
        }
    }
}

/// A signal's robust z against its baseline, over the whole series (the baseline part is needed
/// to learn how it co-moves with its peers).
struct Deviation {
    component: String,
    metric: String,
    baseline: f64,
    samples: Vec<(i64, f64)>,
    z: Vec<f64>,
    /// Index of the first sample after the baseline.
    split: usize,
}

fn deviation(comp: &str, s: &Series, cut: i64, hint: i64) -> Option<Deviation> {
    let samples: Vec<(i64, f64)> = s.present().collect();
    let split = samples.partition_point(|p| p.0 < cut);
    // A short history (the signal started near the hint) still gets a baseline up to the hint.
    let split = if split < 10 {
        samples.partition_point(|p| p.0 < hint)
    } else {
        split
    };
    let base = Baseline::fit(&samples[..split])?;
    if split == samples.len() {
        return None;
    }
    let z = samples
        .iter()
        .map(|(t, v)| base.z(*t, *v))
        .map(|z| if z.is_finite() { z } else { 0.0 });
    Some(Deviation {
        component: comp.to_string(),
        metric: s.name.clone(),
        baseline: base.center,
        z: z.collect(),
        samples,
        split,
    })
}

/// Explains away what peers explain: the same metric of other components (every service's CPU
/// or workload) moves with load. For each signal, the median z of its peers at each time is the
/// load proxy; a least-squares gain fitted on the baseline (kept when the two clearly co-move)
/// predicts how far the signal should have moved with load, and only the rest counts. A fault
/// moves one component, so its peers' median barely changes; propagation to a few callers does
/// not move the median of a dozen either. Only ever shrinks a deviation toward zero.
fn explain_by_peers(devs: &mut [Deviation]) {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, d) in devs.iter().enumerate() {
        groups.entry(d.metric.as_str()).or_default().push(i);
    }
    let groups: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() >= PEERS).collect();
    for group in groups {
        let mut at: BTreeMap<i64, Vec<(usize, f64)>> = BTreeMap::new();
        for &i in &group {
            for (p, z) in devs[i].samples.iter().zip(&devs[i].z) {
                at.entry(p.0).or_default().push((i, *z));
            }
        }
        let adjusted: Vec<(usize, Vec<f64>)> = group
            .iter()
            .filter_map(|&i| peer_adjusted(&devs[i], i, &at).map(|z| (i, z)))
            .collect();
        for (i, z) in adjusted {
            devs[i].z = z;
        }
    }
}

/// The signal's z with its peer-explained part removed, or `None` when peers do not explain it.
fn peer_adjusted(
    d: &Deviation,
    me: usize,
    at: &BTreeMap<i64, Vec<(usize, f64)>>,
) -> Option<Vec<f64>> {
    let peer_median = |t: &i64| {
        let mut zs: Vec<f64> = at
            .get(t)?
            .iter()
            .filter(|p| p.0 != me)
            .map(|p| p.1)
            .collect();
        quantile(&mut zs, 0.5)
    };
    let m: Vec<f64> = d
        .samples
        .iter()
        .map(|p| peer_median(&p.0).unwrap_or(0.0))
        .collect();
    let (mut szm, mut smm, mut szz) = (0.0, 0.0, 0.0);
    for (z, m) in d.z[..d.split].iter().zip(&m[..d.split]) {
        szm += z * m;
        smm += m * m;
        szz += z * z;
    }
    let r = szm / (szz * smm).sqrt();
    if !(r > PEER_MIN_CORRELATION && smm > 0.0) {
        return None;
    }
    let gain = szm / smm;
    // The fit holds over the load levels the baseline saw; extrapolate at most twice as far, or a
    // jump of every peer at once (two files collected apart, a cluster-wide restart) would
    // explain away the fault too.
    let reach = PEER_REACH * m[..d.split].iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let shrink = |(z, m): (&f64, &f64)| {
        let load = gain * m.clamp(-reach, reach);
        if load * z > 0.0 {
            z.signum() * (z.abs() - load.abs()).max(0.0)
        } else {
            *z
        }
    };
    Some(d.z.iter().zip(&m).map(shrink).collect())
}

/// How far beyond the baseline's largest peer movement the load explanation extrapolates.
const PEER_REACH: f64 = 4.0;
/// Baseline correlation with the peers' median above which the load explanation is trusted.
const PEER_MIN_CORRELATION: f64 = 0.3;

/// Components sharing a metric name needed before a common mode is removed.
const PEERS: usize = 6;
/// Samples in the rolling median that the magnitude peak is read from.
const SMOOTH: usize = 15;

fn score_deviation(d: Deviation, cut: i64, cfg: &RcaConfig) -> Option<SignalScore> {
    let (post, z) = (&d.samples[d.split..], &d.z[d.split..]);
    let weighted: Vec<f64> = z
        .iter()
        .map(|v| if *v < 0.0 { -v * FALL_WEIGHT } else { *v })
        .collect();
    let smooth = rolling_median(&weighted, SMOOTH);
    let peak_i = (0..smooth.len()).max_by(|a, b| smooth[*a].total_cmp(&smooth[*b]))?;
    let times: Vec<i64> = d.samples.iter().map(|p| p.0).collect();
    let post_times = &times[d.split..];
    let span = post_times.last().copied().unwrap_or(cut) - cut;
    let hold_ms = (span / 4).clamp(HOLD_MIN_MS, HOLD_MAX_MS);
    let held = held_level(post_times, &smooth, hold_ms);
    let magnitude = 0.5 * (smooth[peak_i].max(0.0).ln_1p() + held.max(0.0).ln_1p());
    Some(SignalScore {
        onset: onset(&times, &d.z, cut, cfg.onset_threshold, 5, 3),
        magnitude,
        peak: post[peak_i],
        z_peak: z[peak_i],
        baseline: d.baseline,
        component: d.component,
        metric: d.metric,
        score: 0.0,
    })
}

/// Bounds on how long a level must hold to count fully: a quarter of the post-baseline span.
const HOLD_MIN_MS: i64 = 30_000;
const HOLD_MAX_MS: i64 = 120_000;

/// The highest level `xs` holds for `hold_ms` (the peak of a trailing running minimum; the window
/// is cut short at the end of the data). A fault persists until someone mitigates it, while a
/// flash crowd or a burst of retries comes and goes: half the magnitude is read here, so a
/// transient needs a much larger peak to outrank a sustained shift.
fn held_level(times: &[i64], xs: &[f64], hold_ms: i64) -> f64 {
    let n = xs.len().min(times.len());
    let mut window: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    let mut best = f64::NEG_INFINITY;
    let mut end = 0;
    for start in 0..n {
        while end < n && times[end] - times[start] <= hold_ms {
            while window.back().is_some_and(|&b| xs[b] >= xs[end]) {
                window.pop_back();
            }
            window.push_back(end);
            end += 1;
        }
        while window.front().is_some_and(|&f| f < start) {
            window.pop_front();
        }
        if let Some(&f) = window.front() {
            best = best.max(xs[f]);
        }
    }
    if best.is_finite() { best } else { 0.0 }
}

/// Rolling median, centred except at the edges, where the window keeps its full length and
/// slides inward: a shrunken edge window would let a burst of a few samples at the end of the
/// data be its median. Short spikes (a GC pause, a scrape glitch) vanish, a sustained shift or a
/// ramp keeps its height.
fn rolling_median(xs: &[f64], window: usize) -> Vec<f64> {
    let n = xs.len();
    let window = window.clamp(1, n.max(1));
    let half = window / 2;
    (0..n)
        .map(|i| {
            let lo = i.saturating_sub(half).min(n - window);
            let hi = lo + window;
            quantile(&mut xs[lo..hi].to_vec(), 0.5).unwrap_or(0.0)
        })
        .collect()
}

/// Earliest onset among the strongly moved signals (at least half the largest magnitude).
fn incident_onset(signals: &[SignalScore]) -> Option<i64> {
    let with_onset = signals.iter().filter(|s| s.onset_ms().is_some());
    let top = with_onset
        .clone()
        .map(|s| s.magnitude)
        .fold(f64::NEG_INFINITY, f64::max);
    with_onset
        .filter(|s| s.magnitude >= 0.5 * top)
        .filter_map(SignalScore::onset_ms)
        .min()
}

fn onset_weight(onset: Option<Onset>, incident: Option<i64>, cfg: &RcaConfig) -> f64 {
    match (onset, incident) {
        (Some(Onset::At(on)), Some(first)) => {
            let late = (on - first).max(0) as f64 / cfg.onset_tau_ms.max(1) as f64;
            0.5 + 0.5 * (-late).exp()
        }
        (Some(Onset::At(_)), None) => 1.0,
        // Never persistently away from the baseline (a blip), or away before the window opened
        // (drifting, not changing at the incident): worth half.
        (Some(Onset::BeforeWindow) | None, _) => 0.5,
    }
}

fn weigh_correlation(
    signals: &mut [SignalScore],
    symptom: &Series,
    input: &RcaInput,
    cfg: &RcaConfig,
) {
    for s in signals.iter_mut() {
        let Some(series) = input
            .candidates
            .get(&s.component)
            .and_then(|l| l.iter().find(|x| x.name == s.metric))
        else {
            continue;
        };
        let r = lagged_correlation(symptom, series, &cfg.correlate)
            .filter(|c| c.lag_ms >= 0 && c.significant)
            .map_or(0.0, |c| c.r.abs());
        s.score *= 0.75 + 0.25 * r;
    }
}

/// Per component: its best signal's score plus a tenth of the runner-up (two moved metrics are
/// more telling than one), and the index of that best signal.
fn combine(signals: &[SignalScore]) -> BTreeMap<String, (f64, usize)> {
    let mut by_comp: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, s) in signals.iter().enumerate() {
        by_comp.entry(s.component.clone()).or_default().push(i);
    }
    by_comp
        .into_iter()
        .map(|(c, mut idx)| {
            idx.sort_by(|a, b| signals[*b].score.total_cmp(&signals[*a].score));
            let second = idx.get(1).map_or(0.0, |i| signals[*i].score);
            (c, (signals[idx[0]].score + 0.1 * second, idx[0]))
        })
        .collect()
}

/// Discounts a caller when one of its callees is anomalous and moved at about the same time as
/// the caller (within `GRAPH_ONSET_SLACK_MS` either way; an unknown onset does not veto): the
/// callee explains it. Propagation along a call takes a scrape or two, so a callee that moved a
/// minute earlier (a flash crowd, a drifting bystander) did not cause the caller's later change.
fn discount_callers(
    components: &mut BTreeMap<String, (f64, usize)>,
    graph: &[(String, String)],
    signals: &[SignalScore],
    cfg: &RcaConfig,
) {
    let snapshot = components.clone();
    for (caller, callee) in graph {
        let (Some(er), Some(ee)) = (snapshot.get(caller), snapshot.get(callee)) else {
            continue;
        };
        let in_order = match (signals[ee.1].onset_ms(), signals[er.1].onset_ms()) {
            (Some(callee_on), Some(caller_on)) => {
                (callee_on - caller_on).abs() <= GRAPH_ONSET_SLACK_MS
            }
            _ => true,
        };
        if in_order
            && ee.0 >= cfg.graph_min_callee_share * er.0
            && let Some(c) = components.get_mut(caller)
        {
            c.0 = c.0.min(er.0 * cfg.caller_discount);
        }
    }
}

/// How much later than its caller a callee may be dated and still explain it: scrape intervals
/// and aggregation windows blur onsets by tens of seconds.
const GRAPH_ONSET_SLACK_MS: i64 = 30_000;

fn hypotheses(
    components: BTreeMap<String, (f64, usize)>,
    fused: BTreeMap<String, super::evidence::Fused>,
    signals: &[SignalScore],
    cfg: &RcaConfig,
) -> Vec<Hypothesis> {
    let mut names: Vec<String> = components.keys().chain(fused.keys()).cloned().collect();
    names.sort();
    names.dedup();
    let mut out: Vec<Hypothesis> = names
        .into_iter()
        .map(|name| {
            let metric = components.get(&name);
            let boost = fused.get(&name).map_or(0.0, |f| f.boost);
            let mut evidence = metric_evidence(&name, signals);
            evidence.extend(
                fused
                    .get(&name)
                    .map(|f| f.evidence.clone())
                    .unwrap_or_default(),
            );
            let best = metric.map(|m| &signals[m.1]);
            Hypothesis {
                score: metric.map_or(0.0, |m| m.0) + boost,
                confidence: 0.0,
                indicator: best.map(|s| s.metric.clone()),
                onset_ms: best.and_then(SignalScore::onset_ms),
                evidence,
                component: name,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.component.cmp(&b.component))
    });
    assign_confidence(&mut out);
    out.truncate(cfg.max_hypotheses.max(1));
    out
}

/// Softmax share of the score (how much this beats the alternatives) times a saturating
/// strength (how clearly anything moved at all), so one weak mover is not "certain".
fn assign_confidence(hs: &mut [Hypothesis]) {
    let top = hs.first().map_or(0.0, |h| h.score);
    let total: f64 = hs.iter().map(|h| (h.score - top).exp()).sum();
    for h in hs.iter_mut() {
        let share = if total > 0.0 {
            (h.score - top).exp() / total
        } else {
            0.0
        };
        let strength = 1.0 - (-h.score / 2.0).exp();
        h.confidence = (share * strength).clamp(0.0, 1.0);
    }
}

/// The component's moved signals (onset found), strongest first, at most three.
fn metric_evidence(component: &str, signals: &[SignalScore]) -> Vec<Evidence> {
    let mut mine: Vec<&SignalScore> = signals
        .iter()
        .filter(|s| s.component == component && s.onset.is_some())
        .collect();
    mine.sort_by(|a, b| b.score.total_cmp(&a.score));
    mine.into_iter()
        .take(3)
        .map(|s| Evidence {
            signal: s.metric.clone(),
            time_ms: s.onset_ms().unwrap_or(s.peak.0),
            value: Some(s.peak.1),
            baseline: Some(s.baseline),
            text: format!(
                "{} {} to {} (baseline median {}, {})",
                s.metric,
                if s.z_peak >= 0.0 { "rose" } else { "fell" },
                readable(s.peak.1),
                readable(s.baseline),
                z_text(s.z_peak)
            ),
        })
        .collect()
}

/// A value with as many digits as a reader needs: `0.7364`, `53.94`, `1.718e10`.
fn readable(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        format!("{v:.3e}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.4}")
    }
}

/// A robust z for people: past a few hundred the baseline was flat and the number means only
/// "far outside it".
fn z_text(z: f64) -> String {
    if z.abs() > 1000.0 {
        "far outside a flat baseline".to_string()
    } else {
        format!("robust z {z:.1}")
    }
}

fn timeline(hypotheses: &[Hypothesis]) -> Vec<TimelineEntry> {
    let mut out: Vec<TimelineEntry> = hypotheses
        .iter()
        .take(5)
        .flat_map(|h| {
            h.evidence.iter().map(|e| TimelineEntry {
                time_ms: e.time_ms,
                component: h.component.clone(),
                text: e.text.clone(),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.time_ms
            .cmp(&b.time_ms)
            .then_with(|| a.component.cmp(&b.component))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::super::{OccurrenceKind, investigate};
    use super::*;
    use crate::rca::Occurrence;

    const STEP: i64 = 1000;
    const N: i64 = 600;

    /// Hash noise in [-0.5, 0.5), independent per seed.
    fn noise(i: i64, seed: u64) -> f64 {
        let mut z = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ seed.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 31)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 29;
        (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    /// `level` plus noise, shifted by `jump` from step `from` on.
    fn signal(name: &str, seed: u64, level: f64, jump: f64, from: i64) -> Series {
        let ts: Vec<i64> = (0..N).map(|i| i * STEP).collect();
        let vs = (0..N)
            .map(|i| level + noise(i, seed) + if i >= from { jump } else { 0.0 })
            .collect();
        Series::new(name, ts, vs)
    }

    fn input(cands: Vec<(&str, Series)>, graph: &[(&str, &str)], hint_s: i64) -> RcaInput {
        let mut candidates: BTreeMap<String, Vec<Series>> = BTreeMap::new();
        for (c, s) in cands {
            candidates.entry(c.to_string()).or_default().push(s);
        }
        RcaInput {
            candidates,
            graph: graph
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            anomaly_time_ms: Some(hint_s * STEP),
            ..Default::default()
        }
    }

    fn top(report: &RcaReport) -> &str {
        report
            .hypotheses
            .first()
            .map_or("", |h| h.component.as_str())
    }

    #[test]
    fn ranks_the_callee_not_its_slower_callers() {
        // db slows first; api and web add their own share of it a few seconds later and, with
        // smaller relative noise, look even more anomalous on their own.
        let cands = vec![
            ("db", signal("latency", 1, 20.0, 8.0, 400)),
            ("api", signal("latency", 2, 40.0, 12.0, 402)),
            ("web", signal("latency", 3, 60.0, 14.0, 404)),
            ("cache", signal("latency", 4, 5.0, 0.0, 0)),
        ];
        let graph = [("web", "api"), ("api", "db"), ("web", "cache")];
        let with_graph = investigate(&input(cands.clone(), &graph, 400), &RcaConfig::default());
        assert_eq!(top(&with_graph), "db");
        let without = investigate(&input(cands, &[], 400), &RcaConfig::default());
        assert_ne!(top(&without), "db", "the graph is what decides this case");
    }

    #[test]
    fn a_callee_that_moved_later_does_not_explain_its_caller() {
        let cands = vec![
            ("web", signal("cpu", 16, 10.0, 30.0, 400)),
            ("db", signal("cpu", 17, 10.0, 30.0, 500)),
        ];
        let report = investigate(&input(cands, &[("web", "db")], 400), &RcaConfig::default());
        assert_eq!(top(&report), "web");
    }

    #[test]
    fn a_callee_that_moved_a_minute_earlier_does_not_explain_its_caller() {
        let cands = vec![
            ("web", signal("cpu", 18, 10.0, 300.0, 460)),
            ("db", signal("cpu", 19, 10.0, 20.0, 400)),
        ];
        let report = investigate(&input(cands, &[("web", "db")], 400), &RcaConfig::default());
        assert_eq!(top(&report), "web");
    }

    #[test]
    fn edge_windows_keep_their_length_so_a_final_burst_is_not_a_level() {
        let mut xs = vec![0.0; 100];
        xs[96..].fill(10.0);
        assert!(rolling_median(&xs, 15).iter().all(|v| *v == 0.0));
        xs[40..70].fill(10.0);
        assert_eq!(rolling_median(&xs, 15)[55], 10.0);
        assert_eq!(rolling_median(&[3.0], 15), vec![3.0]);
        assert!(rolling_median(&[], 15).is_empty());
    }

    #[test]
    fn the_held_level_discounts_a_transient_but_not_a_sustained_shift() {
        let times: Vec<i64> = (0..200).map(|i| i * STEP).collect();
        let mut passing = vec![0.0; 200];
        passing[50..70].fill(10.0);
        assert_eq!(held_level(&times, &passing, 30 * STEP), 0.0);
        let mut staying = vec![0.0; 200];
        staying[120..].fill(5.0);
        assert_eq!(held_level(&times, &staying, 30 * STEP), 5.0);
        assert_eq!(held_level(&[], &[], 30 * STEP), 0.0);
    }

    #[test]
    fn the_first_mover_wins_a_tie_in_magnitude() {
        let cands = vec![
            ("late", signal("cpu", 5, 10.0, 30.0, 460)),
            ("early", signal("cpu", 6, 10.0, 30.0, 400)),
            ("calm", signal("cpu", 7, 10.0, 0.0, 0)),
        ];
        let report = investigate(&input(cands, &[], 400), &RcaConfig::default());
        assert_eq!(top(&report), "early");
        assert_eq!(report.onset_ms, Some(400 * STEP));
        let early = &report.hypotheses[0];
        assert!(early.confidence > report.hypotheses[1].confidence);
        assert!((0.0..=1.0).contains(&early.confidence));
    }

    #[test]
    fn a_hint_sixty_seconds_late_finds_the_same_cause_and_onset() {
        let cands = vec![
            ("payment", signal("cpu", 8, 10.0, 6.0, 400)),
            ("orders", signal("cpu", 9, 10.0, 3.0, 430)),
            ("user", signal("mem", 10, 100.0, 0.0, 0)),
        ];
        for hint in [400, 460] {
            let report = investigate(&input(cands.clone(), &[], hint), &RcaConfig::default());
            assert_eq!(top(&report), "payment", "hint {hint}");
            assert_eq!(
                report.hypotheses[0].onset_ms,
                Some(400 * STEP),
                "hint {hint}"
            );
        }
    }

    #[test]
    fn evidence_reorders_a_close_call_and_lands_on_the_timeline() {
        let cands = vec![
            ("carts", signal("mem", 11, 100.0, 5.0, 400)),
            ("orders", signal("mem", 12, 100.0, 5.5, 400)),
        ];
        let mut inp = input(cands, &[], 400);
        inp.occurrences.push(Occurrence {
            kind: OccurrenceKind::Event,
            component: "carts".into(),
            reason: "OOMKilled".into(),
            message: "container carts was OOMKilled".into(),
            time_ms: 450 * STEP,
            count: 2,
        });
        let report = investigate(&inp, &RcaConfig::default());
        assert_eq!(top(&report), "carts");
        let h = &report.hypotheses[0];
        assert!(h.evidence.iter().any(|e| e.signal == "OOMKilled"));
        assert!(
            h.evidence
                .iter()
                .any(|e| e.signal == "mem" && e.baseline.is_some())
        );
        assert!(
            report
                .timeline
                .windows(2)
                .all(|w| w[0].time_ms <= w[1].time_ms)
        );
        assert!(report.timeline.iter().any(|t| t.text.contains("OOMKilled")));
    }

    #[test]
    fn without_a_hint_the_time_is_estimated_from_the_symptom() {
        let cands = vec![
            ("db", signal("cpu", 13, 10.0, 20.0, 300)),
            ("web", signal("cpu", 14, 10.0, 0.0, 0)),
        ];
        let mut inp = input(cands, &[], 0);
        inp.anomaly_time_ms = None;
        inp.symptom = vec![signal("latency", 15, 50.0, 10.0, 302)];
        let report = investigate(&inp, &RcaConfig::default());
        assert_eq!(report.anomaly_time_ms, Some(302 * STEP));
        assert_eq!(top(&report), "db");
    }

    #[test]
    fn degenerate_inputs_give_empty_or_finite_reports() {
        assert!(
            investigate(&RcaInput::default(), &RcaConfig::default())
                .hypotheses
                .is_empty()
        );
        let nan = Series::new("cpu", (0..50).collect(), vec![f64::NAN; 50]);
        let huge = Series::new(
            "mem",
            vec![3, 1, 2, 2],
            vec![1e300, -1e300, f64::INFINITY, 0.0],
        );
        let short = Series::new("x", vec![10], vec![1.0]);
        let inp = input(
            vec![("a", nan), ("b", huge), ("c", short)],
            &[("a", "b")],
            1,
        );
        let report = investigate(&inp, &RcaConfig::default());
        assert!(
            report
                .hypotheses
                .iter()
                .all(|h| h.score.is_finite() && (0.0..=1.0).contains(&h.confidence))
        );
    }
}
