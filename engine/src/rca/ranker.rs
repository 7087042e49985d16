//! The ranking itself: score every candidate signal against its own pre-onset baseline, order the
//! onsets, weigh in the symptom correlation and the call graph, and fuse occurrence evidence.
//!
//! Why each step:
//! - The baseline ends `hint_uncertainty_ms` before the suspected anomaly time, so a hint that is
//!   late (the usual error: alerts fire after the fault) does not leak the fault into the baseline.
//!   Rejected: trusting the hint (BARO and N-Sigma do), which lets a late hint shrink the score
//!   of the very signal that moved first.
//! - Magnitude is a robust z (median and IQR/MAD, with drift extrapolated; see
//!   [`Baseline`]) taken at the 90th percentile of the window rather than its maximum, so one
//!   scrape glitch does not outrank a sustained shift. It is log-compressed: a 1000-sigma CPU hog
//!   and a 50-sigma one are both "clearly moved", and the other cues must be able to reorder them.
//! - Onsets: causes move first. The earliest strong onset anchors the incident; later onsets are
//!   discounted gently (`onset_tau_ms`), since scrape intervals blur a few seconds.
//! - Graph: a callee's slowness shows up in every caller. When a callee is anomalous and moved no
//!   later than its caller, the caller is discounted: the callee explains it.

use super::changepoint::{Baseline, mean_shift_split, onset};
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
    onset_ms: Option<i64>,
    peak: (i64, f64),
    baseline: f64,
    z_peak: f64,
    score: f64,
}

/// Share of the post-window deviations the magnitude is read at.
const MAGNITUDE_QUANTILE: f64 = 0.9;
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
    let mut signals: Vec<SignalScore> = input
        .candidates
        .iter()
        .flat_map(|(comp, list)| list.iter().map(move |s| (comp, s)))
        .filter_map(|(comp, s)| score_signal(comp, s, cut, hint, cfg))
        .collect();
    let incident_onset = incident_onset(&signals);
    for s in &mut signals {
        s.score = s.magnitude * onset_weight(s.onset_ms, incident_onset, cfg);
    }
    if let Some(symptom) = input.symptom.first() {
        weigh_correlation(&mut signals, symptom, input, cfg);
    }
    let mut components = combine(&signals);
    discount_callers(&mut components, &input.graph, cfg);
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

fn score_signal(
    comp: &str,
    s: &Series,
    cut: i64,
    hint: i64,
    cfg: &RcaConfig,
) -> Option<SignalScore> {
    let samples: Vec<(i64, f64)> = s.present().collect();
    let split = samples.partition_point(|p| p.0 < cut);
    // A short history (the signal started near the hint) still gets a baseline up to the hint.
    let split = if split < 10 {
        samples.partition_point(|p| p.0 < hint)
    } else {
        split
    };
    let (pre, post) = samples.split_at(split);
    let base = Baseline::fit(pre)?;
    if post.is_empty() {
        return None;
    }
    let z: Vec<f64> = post.iter().map(|(t, v)| base.z(*t, *v)).collect();
    let weighted: Vec<f64> = z
        .iter()
        .map(|v| if *v < 0.0 { -v * FALL_WEIGHT } else { *v })
        .collect();
    let mag = quantile(&mut weighted.clone(), MAGNITUDE_QUANTILE)?;
    let peak_i = (0..weighted.len()).max_by(|a, b| weighted[*a].total_cmp(&weighted[*b]))?;
    let times: Vec<i64> = post.iter().map(|p| p.0).collect();
    let onset_ms = onset(&times, &z, cut, cfg.onset_threshold, 5, 3);
    Some(SignalScore {
        component: comp.to_string(),
        metric: s.name.clone(),
        magnitude: mag.max(0.0).ln_1p(),
        onset_ms,
        peak: post[peak_i],
        baseline: base.center,
        z_peak: z[peak_i],
        score: 0.0,
    })
}

/// Earliest onset among the strongly moved signals (magnitude in the top quarter).
fn incident_onset(signals: &[SignalScore]) -> Option<i64> {
    let mut mags: Vec<f64> = signals
        .iter()
        .filter(|s| s.onset_ms.is_some())
        .map(|s| s.magnitude)
        .collect();
    let bar = quantile(&mut mags, 0.75)?;
    signals
        .iter()
        .filter(|s| s.magnitude >= bar)
        .filter_map(|s| s.onset_ms)
        .min()
}

fn onset_weight(onset_ms: Option<i64>, incident: Option<i64>, cfg: &RcaConfig) -> f64 {
    match (onset_ms, incident) {
        (Some(on), Some(first)) => {
            let late = (on - first).max(0) as f64 / cfg.onset_tau_ms.max(1) as f64;
            0.5 + 0.5 * (-late).exp()
        }
        // Never persistently above the threshold: a blip, worth half.
        (None, _) => 0.5,
        (Some(_), None) => 1.0,
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

/// Discounts a caller when one of its callees is anomalous: the callee explains the caller.
fn discount_callers(
    components: &mut BTreeMap<String, (f64, usize)>,
    graph: &[(String, String)],
    cfg: &RcaConfig,
) {
    let snapshot = components.clone();
    for (caller, callee) in graph {
        let (Some(er), Some(ee)) = (snapshot.get(caller), snapshot.get(callee)) else {
            continue;
        };
        if ee.0 >= cfg.graph_min_callee_share * er.0 {
            if let Some(c) = components.get_mut(caller) {
                c.0 = c.0.min(er.0 * cfg.caller_discount);
            }
        }
    }
}

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
                onset_ms: best.and_then(|s| s.onset_ms),
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
        .filter(|s| s.component == component && s.onset_ms.is_some())
        .collect();
    mine.sort_by(|a, b| b.score.total_cmp(&a.score));
    mine.into_iter()
        .take(3)
        .map(|s| Evidence {
            signal: s.metric.clone(),
            time_ms: s.onset_ms.unwrap_or(s.peak.0),
            value: Some(s.peak.1),
            baseline: Some(s.baseline),
            text: format!(
                "{} {} to {:.4} (baseline median {:.4}, robust z {:.1})",
                s.metric,
                if s.z_peak >= 0.0 { "rose" } else { "fell" },
                s.peak.1,
                s.baseline,
                s.z_peak
            ),
        })
        .collect()
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
