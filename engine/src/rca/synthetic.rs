//! Synthetic fault-injection suite: a 12-service call graph whose load and latency propagate
//! along its edges, with faults injected into one service at a time. Deterministic from a seed
//! and pure: it returns [`Case`]s; the benchmark writes them to disk.
//!
//! The system: the front end receives a slowly varying request rate; every edge carries calls
//! per request, so each service's workload is the sum over its callers. Latency is the service's
//! own time plus a weighted share of its callees' latency (seen one scrape later, so a callee
//! moves before its callers); errors propagate upward the same way; sockets follow Little's law
//! (rate x latency). CPU, disk and network follow workload. Every metric carries AR(1) noise
//! plus heavy-tailed glitches (short 3-10 sigma bursts); the front-end rate has flash crowds that
//! move every service at once, before or after the inject time; some JVM-like services have a
//! memory sawtooth with GC pauses and two bystanders drift slowly.
//!
//! Faults (cpu, mem, disk, delay, loss, socket) hit 5 target services x `repeats`, with severity
//! drawn per case, so weak faults sit within the bystanders' tails. The effect sizes are calibrated against the published behaviour of the
//! baselines (N-Sigma and BARO near 0.9 service Avg@5 overall and 0.6-0.7 on loss, as on
//! RCAEval RE1), not against our ranker.

use super::case::{Case, Column};
use std::f64::consts::TAU;

/// Suite shape; the defaults are the benchmarked suite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticConfig {
    pub seed: u64,
    /// Cases per (fault, target).
    pub repeats: usize,
    /// Sample spacing, s.
    pub step_s: i64,
    /// Fault-free history before the inject time, s.
    pub normal_s: i64,
    /// Duration after the inject time, s.
    pub anomalous_s: i64,
    /// Unix seconds of the first sample.
    pub start_s: i64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            seed: 7,
            repeats: 5,
            step_s: 2,
            normal_s: 600,
            anomalous_s: 300,
            start_s: 1_700_000_000,
        }
    }
}

/// Injected fault types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Cpu,
    Mem,
    Disk,
    Delay,
    Loss,
    Socket,
}

impl Fault {
    pub const ALL: [Fault; 6] = [
        Fault::Cpu,
        Fault::Mem,
        Fault::Disk,
        Fault::Delay,
        Fault::Loss,
        Fault::Socket,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Cpu => "cpu",
            Fault::Mem => "mem",
            Fault::Disk => "disk",
            Fault::Delay => "delay",
            Fault::Loss => "loss",
            Fault::Socket => "socket",
        }
    }

    /// The metric a fault acts on first (the fine-grained label).
    fn indicator(self) -> &'static str {
        match self {
            Fault::Cpu => "cpu",
            Fault::Mem => "mem",
            Fault::Disk => "disk",
            Fault::Delay => "latency-50",
            Fault::Loss => "error",
            Fault::Socket => "socket",
        }
    }
}

/// Services in caller-before-callee order.
pub const SERVICES: [&str; 12] = [
    "frontend",
    "checkout",
    "recommend",
    "cart",
    "catalog",
    "user",
    "ad",
    "currency",
    "payment",
    "shipping",
    "email",
    "redis",
];

/// Fault targets: two mid-tier services and three leaves with different fan-in.
pub const TARGETS: [&str; 5] = ["checkout", "cart", "catalog", "currency", "payment"];

/// `(caller, callee, calls per request, share of callee latency on the caller's path)`.
const EDGES: [(usize, usize, f64, f64); 16] = [
    (0, 1, 0.1, 1.0),
    (0, 3, 0.5, 0.6),
    (0, 4, 1.0, 0.8),
    (0, 2, 0.5, 0.5),
    (0, 6, 0.5, 0.3),
    (0, 7, 1.0, 0.5),
    (0, 5, 0.3, 0.5),
    (1, 3, 1.0, 0.8),
    (1, 8, 1.0, 1.0),
    (1, 9, 1.0, 0.8),
    (1, 7, 1.0, 0.6),
    (1, 10, 1.0, 0.4),
    (1, 4, 1.0, 0.6),
    (2, 4, 1.0, 1.0),
    (3, 11, 2.0, 1.0),
    (5, 11, 1.0, 1.0),
];

const METRICS: [&str; 9] = [
    "cpu",
    "mem",
    "disk",
    "net",
    "socket",
    "workload",
    "error",
    "latency-50",
    "latency-90",
];

/// SplitMix64: tiny, seedable and good enough for simulation noise.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// AR(1) noise with unit stationary variance.
fn ar1(rng: &mut Rng, n: usize, phi: f64) -> Vec<f64> {
    let mut x = rng.normal();
    let k = (1.0 - phi * phi).sqrt();
    (0..n)
        .map(|_| {
            x = phi * x + k * rng.normal();
            x
        })
        .collect()
}

/// Scrape glitches and short bursts (a retried batch, a log flush, a cache refill): at a small
/// rate per sample, 1 to 4 samples of a 3 to 10 sigma excursion, mostly upward. Real metric noise
/// is heavy-tailed; Gaussian noise alone makes "largest z after the inject time" unrealistically
/// reliable.
fn glitches(rng: &mut Rng, n: usize, rate: f64) -> Vec<f64> {
    let mut out = vec![0.0; n];
    let mut i = 0;
    while i < n {
        if rng.uniform() < rate {
            let len = 1 + (rng.uniform() * 4.0) as usize;
            let sign = if rng.uniform() < 0.8 { 1.0 } else { -1.0 };
            let amp = sign * rng.range(3.0, 10.0);
            for v in out.iter_mut().skip(i).take(len) {
                *v = amp;
            }
            i += len;
        }
        i += 1;
    }
    out
}

/// Per-sample probability that a glitch starts on a metric.
const GLITCH_RATE: f64 = 0.002;

/// Fixed per-service characteristics (same system in every case of a suite).
#[derive(Debug, Clone)]
struct Profile {
    own_latency_ms: f64,
    cpu_idle: f64,
    cpu_per_rps: f64,
    mem_bytes: f64,
    /// JVM heap sawtooth: (amplitude as a share of mem, period s).
    sawtooth: Option<(f64, f64)>,
    /// Slow memory drift, share of mem per 10 minutes.
    drift: f64,
    disk_per_rps: f64,
    net_per_rps: f64,
    error_rate: f64,
}

fn profiles(seed: u64) -> Vec<Profile> {
    let mut rng = Rng(seed ^ 0x5E_ED0F_5EED);
    SERVICES
        .iter()
        .map(|name| Profile {
            own_latency_ms: rng.range(3.0, 25.0),
            cpu_idle: rng.range(1.0, 5.0),
            cpu_per_rps: rng.range(0.05, 0.4),
            mem_bytes: rng.range(80e6, 600e6),
            sawtooth: matches!(*name, "checkout" | "cart" | "ad" | "shipping")
                .then(|| (rng.range(0.05, 0.12), rng.range(120.0, 260.0))),
            drift: if matches!(*name, "recommend" | "email") {
                rng.range(0.03, 0.06)
            } else {
                0.0
            },
            disk_per_rps: rng.range(200.0, 4000.0),
            net_per_rps: rng.range(2e3, 2e4),
            error_rate: rng.range(0.0005, 0.003),
        })
        .collect()
}

/// Per-case fault parameters.
#[derive(Debug, Clone, Copy)]
struct Injection {
    fault: Fault,
    target: usize,
    /// Severity in [0, 1], drawn per case.
    severity: f64,
    start: usize,
}

/// All cases: `<fault>/<target>-<repeat>` for every fault, target and repeat.
pub fn generate_suite(cfg: &SyntheticConfig) -> Vec<Case> {
    let mut out = Vec::new();
    for fault in Fault::ALL {
        for target in TARGETS {
            for repeat in 1..=cfg.repeats {
                out.push(generate_case(cfg, fault, target, repeat));
            }
        }
    }
    out
}

/// One case; an unknown `target` falls back to the first target service.
pub fn generate_case(cfg: &SyntheticConfig, fault: Fault, target: &str, repeat: usize) -> Case {
    let step = cfg.step_s.max(1);
    let n = ((cfg.normal_s + cfg.anomalous_s) / step).max(2) as usize;
    let start = (cfg.normal_s / step).clamp(1, n as i64 - 1) as usize;
    let target_idx = SERVICES.iter().position(|s| *s == target).unwrap_or(1);
    let case_seed = cfg.seed.wrapping_mul(1_000_003)
        ^ ((fault as u64) << 40)
        ^ ((target_idx as u64) << 32)
        ^ repeat as u64;
    let mut rng = Rng(case_seed);
    let inj = Injection {
        fault,
        target: target_idx,
        severity: rng.range(0.0, 1.0),
        start,
    };
    let times: Vec<i64> = (0..n as i64).map(|i| cfg.start_s + i * step).collect();
    let columns = simulate(&profiles(cfg.seed), &inj, n, step as f64, &mut rng);
    Case {
        name: format!("{}/{}-{}", fault.name(), SERVICES[target_idx], repeat),
        fault: fault.name().to_string(),
        inject_time: times[start],
        times,
        columns,
        graph: EDGES
            .iter()
            .map(|e| (SERVICES[e.0].to_string(), SERVICES[e.1].to_string()))
            .collect(),
        root_cause: SERVICES[target_idx].to_string(),
        root_metric: Some(format!("{}_{}", SERVICES[target_idx], fault.indicator())),
    }
}

/// Clean (noise-free) state of every service per step, before metric noise.
struct Traffic {
    /// Per-service sawtooth phase, s (a JVM's heap cycle does not start with the case).
    phase: Vec<f64>,
    rate: Vec<Vec<f64>>,
    latency: Vec<Vec<f64>>,
    errors: Vec<Vec<f64>>,
}

fn simulate(
    profiles: &[Profile],
    inj: &Injection,
    n: usize,
    step: f64,
    rng: &mut Rng,
) -> Vec<Column> {
    let traffic = traffic(profiles, inj, n, step, rng);
    let mut cols = Vec::new();
    for (s, p) in profiles.iter().enumerate() {
        for metric in METRICS {
            let values = metric_values(metric, s, p, &traffic, inj, step, rng);
            cols.push(Column {
                name: format!("{}_{metric}", SERVICES[s]),
                values,
            });
        }
    }
    cols
}

/// A JVM's full GC: a stop-the-world pause when its heap sawtooth drops. Only the requests in
/// flight during the pause wait, so a scrape's latency rises by a share of the service's own time.
const GC_PAUSE_SHARE: f64 = 0.25;
/// CPU burned by the collector during that sample, percent.
const GC_CPU: f64 = 5.0;

fn gc_pause(p: &Profile, phase: f64, i: usize, step: f64) -> bool {
    let Some((_, period)) = p.sawtooth else {
        return false;
    };
    let cycle = |k: usize| ((k as f64 * step + phase) / period).floor();
    i > 0 && cycle(i) != cycle(i - 1)
}

/// 0 before the inject step, ramping to 1 over `ramp` steps.
fn ramp(i: usize, start: usize, ramp: usize) -> f64 {
    if i < start {
        0.0
    } else {
        ((i - start + 1) as f64 / ramp.max(1) as f64).min(1.0)
    }
}

fn traffic(profiles: &[Profile], inj: &Injection, n: usize, step: f64, rng: &mut Rng) -> Traffic {
    let k = profiles.len();
    let base_rate = 60.0;
    let load = ar1(rng, n, 0.95);
    let phase = rng.range(0.0, TAU);
    let mut rate = vec![vec![0.0; n]; k];
    for (i, r) in rate[0].iter_mut().enumerate() {
        let t = i as f64 * step;
        *r = base_rate * (1.0 + 0.08 * (t / 1800.0 * TAU + phase).sin() + 0.04 * load[i]);
    }
    add_surges(&mut rate[0], step, rng);
    for &(from, to, calls, _) in &EDGES {
        let upstream = rate[from].clone();
        for (r, u) in rate[to].iter_mut().zip(&upstream) {
            *r += u * calls;
        }
    }
    let (own_extra, own_errors) = fault_on_target(inj, n);
    let (wire_lat, wire_err) = retransmissions(inj, n, rng);
    let phase: Vec<f64> = profiles.iter().map(|_| rng.range(0.0, 300.0)).collect();
    let mut latency = vec![vec![0.0; n]; k];
    let mut errors = vec![vec![0.0; n]; k];
    // Callees first (reverse caller order); a caller sees its callee one step late.
    for s in (0..k).rev() {
        for i in 0..n {
            let mut lat = profiles[s].own_latency_ms;
            if gc_pause(&profiles[s], phase[s], i, step) {
                lat += GC_PAUSE_SHARE * profiles[s].own_latency_ms;
            }
            let mut err = profiles[s].error_rate * rate[s][i];
            if s == inj.target {
                lat += own_extra[i];
                err += own_errors[i] * rate[s][i];
            }
            for &(_, to, calls, share) in EDGES.iter().filter(|e| e.0 == s) {
                let j = i.saturating_sub(1);
                let (wl, we) = if to == inj.target {
                    (wire_lat[j], wire_err[j])
                } else {
                    (0.0, 0.0)
                };
                lat += share * (latency[to][j] + wl);
                let sent = calls * rate[s][i];
                err += 0.8 * errors[to][j] * (sent / rate[to][j].max(1e-9)).min(1.0) + we * sent;
            }
            latency[s][i] = lat;
            errors[s][i] = err;
        }
    }
    Traffic {
        phase,
        rate,
        latency,
        errors,
    }
}

/// Flash crowds: up to two smooth surges of 10-35% of the front-end rate, 30-150 s long, at
/// random times (before or after the inject time alike). Every service's load-driven metrics
/// move together, which a ranker that reads "largest deviation" takes for a fault.
fn add_surges(rate: &mut [f64], step: f64, rng: &mut Rng) {
    let n = rate.len();
    let count = (rng.uniform() * 3.0) as usize;
    for _ in 0..count {
        let center = rng.range(0.0, n as f64);
        let width = rng.range(15.0, 75.0) / step;
        let height = rng.range(0.10, 0.35);
        for (i, r) in rate.iter_mut().enumerate() {
            let x = (i as f64 - center) / width;
            *r *= 1.0 + height * (-x * x * 2.0).exp();
        }
    }
}

/// Share of packets lost under a loss fault of severity `sev`.
fn loss_share(sev: f64) -> f64 {
    0.05 + 0.2 * sev
}

/// Extra latency (ms) and error share a caller sees on its calls to a target losing packets:
/// a call waits for a retransmission timeout with the loss probability, and fails after retries
/// with its square.
fn retransmissions(inj: &Injection, n: usize, rng: &mut Rng) -> (Vec<f64>, Vec<f64>) {
    let p = loss_share(inj.severity);
    let mut lat = vec![0.0; n];
    let mut err = vec![0.0; n];
    if inj.fault != Fault::Loss {
        return (lat, err);
    }
    for i in inj.start..n {
        // A scrape averages many calls: the share of delayed calls fluctuates around p.
        let delayed = (p * (1.0 + 0.5 * rng.normal())).clamp(0.0, 1.0);
        lat[i] = delayed * 200.0;
        err[i] = p * p;
    }
    (lat, err)
}

/// Extra own latency (ms) and error share the fault adds at the target, per step.
fn fault_on_target(inj: &Injection, n: usize) -> (Vec<f64>, Vec<f64>) {
    let sev = inj.severity;
    let mut lat = vec![0.0; n];
    let mut err = vec![0.0; n];
    for i in inj.start..n {
        let r = ramp(i, inj.start, 5);
        match inj.fault {
            Fault::Cpu => lat[i] = r * (1.0 + 6.0 * sev),
            Fault::Mem => {
                lat[i] = r * 3.0 * sev * ((i - inj.start) as f64 / (n - inj.start) as f64)
            }
            Fault::Disk => lat[i] = r * (0.5 + 3.0 * sev),
            Fault::Delay => lat[i] = r * (5.0 + 45.0 * sev),
            // Loss is felt by the callers (see `traffic`); the target only resets a few requests.
            Fault::Loss => err[i] = r * loss_share(sev) * 0.05,
            Fault::Socket => lat[i] = r * (0.5 + 3.0 * sev),
        }
    }
    (lat, err)
}

fn metric_values(
    metric: &str,
    s: usize,
    p: &Profile,
    tr: &Traffic,
    inj: &Injection,
    step: f64,
    rng: &mut Rng,
) -> Vec<f64> {
    let n = tr.rate[s].len();
    let mut noise = ar1(rng, n, 0.7);
    for (v, g) in noise.iter_mut().zip(glitches(rng, n, GLITCH_RATE)) {
        *v += g;
    }
    let hit = s == inj.target;
    let sev = inj.severity;
    (0..n)
        .map(|i| {
            let rate = tr.rate[s][i];
            let r = if hit { ramp(i, inj.start, 5) } else { 0.0 };
            let t = i as f64 * step;
            let v = match metric {
                "cpu" => {
                    let hog = if inj.fault == Fault::Cpu {
                        r * (4.0 + 20.0 * sev)
                    } else {
                        0.0
                    };
                    let gc = if gc_pause(p, tr.phase[s], i, step) {
                        GC_CPU
                    } else {
                        0.0
                    };
                    p.cpu_idle + p.cpu_per_rps * rate + hog + gc + 0.6 * noise[i]
                }
                "mem" => {
                    let cycle = |(a, period): (f64, f64)| a * ((t + tr.phase[s]) / period).fract();
                    let saw = p.sawtooth.map_or(0.0, cycle);
                    let drift = p.drift * t / 600.0;
                    let leak = if hit && inj.fault == Fault::Mem {
                        (0.1 + 0.4 * sev) * (i.saturating_sub(inj.start)) as f64
                            / (n - inj.start) as f64
                    } else {
                        0.0
                    };
                    p.mem_bytes * (1.0 + saw + drift + leak + 0.004 * noise[i])
                }
                "disk" => {
                    let io = if inj.fault == Fault::Disk {
                        r * (0.6 + 2.5 * sev)
                    } else {
                        0.0
                    };
                    p.disk_per_rps * rate * (1.0 + io + 0.15 * noise[i])
                }
                "net" => {
                    let resent = if inj.fault == Fault::Loss {
                        r * loss_share(sev)
                    } else {
                        0.0
                    };
                    p.net_per_rps * rate * (1.0 + resent + 0.08 * noise[i])
                }
                "socket" => {
                    let leak = match inj.fault {
                        Fault::Socket => r * (4.0 + 20.0 * sev),
                        // Connections waiting on retransmissions.
                        Fault::Loss => r * rate * loss_share(sev) * 0.05,
                        _ => 0.0,
                    };
                    4.0 + rate * tr.latency[s][i] / 1000.0 + leak + 0.8 * noise[i]
                }
                "workload" => rate * (1.0 + 0.05 * noise[i]),
                "error" => (tr.errors[s][i] * (1.0 + 0.3 * noise[i])).max(0.0),
                "latency-50" => tr.latency[s][i] * (1.0 + 0.05 * noise[i]),
                _ => tr.latency[s][i] * (1.7 + 0.15 * noise[i]),
            };
            if v.is_finite() { v } else { 0.0 }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_is_deterministic_and_complete() {
        let cfg = SyntheticConfig {
            repeats: 1,
            ..Default::default()
        };
        let a = generate_suite(&cfg);
        let b = generate_suite(&cfg);
        assert_eq!(a.len(), 6 * 5);
        assert_eq!(a, b);
        let c = &a[0];
        assert_eq!(c.columns.len(), 12 * METRICS.len());
        assert_eq!(c.inject_time, cfg.start_s + cfg.normal_s);
        assert!(
            c.columns
                .iter()
                .all(|col| col.values.iter().all(|v| v.is_finite()))
        );
        assert_eq!(c.graph.len(), EDGES.len());
    }

    #[test]
    fn delay_reaches_callers_one_step_after_the_callee() {
        let cfg = SyntheticConfig {
            seed: 3,
            ..Default::default()
        };
        let case = generate_case(&cfg, Fault::Delay, "payment", 1);
        let col = |name: &str| &case.columns.iter().find(|c| c.name == name).unwrap().values;
        let start = (cfg.normal_s / cfg.step_s) as usize;
        let (pay, chk) = (col("payment_latency-50"), col("checkout_latency-50"));
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!(mean(&pay[start + 10..]) > mean(&pay[..start]) + 2.0);
        assert!(mean(&chk[start + 10..]) > mean(&chk[..start]) + 2.0);
    }
}
