//! Groups per-sample scores into [`AnomalyEvent`]s.
//!
//! Scores are sparse (a novelty fires once, when something new happens), so an event cannot
//! simply be "the run of high scores". It opens at a sample scoring at or above the threshold
//! and stays open while later samples either score high or remain outside the band that was
//! expected at onset; a few samples back inside the band close it.
//!
//! The kind is settled when the event closes, from how it unfolded: the component that fired
//! first sees a single sample, and the first sample of a level shift looks like a spike.

use super::{AnomalyEvent, AnomalyKind, Direction, PointScore};

/// Samples back inside the onset band that close an event.
const QUIET_TO_CLOSE: usize = 3;
/// Samples outside the band on one side that make a spike a level shift.
const SUSTAINED: usize = 4;
/// A one-sided excursion of at least this many samples whose deviation has grown this many
/// times over its first samples is a trend change.
const RAMP_SAMPLES: usize = 8;
const RAMP_GROWTH: f64 = 3.0;
/// Samples outside the band that define an excursion's early size.
const EARLY: usize = 3;

#[derive(Debug, Clone)]
struct Open {
    event: AnomalyEvent,
    expected: f64,
    sigma: f64,
    quiet: usize,
    above: usize,
    below: usize,
    trend: bool,
    /// Deviations of the first few samples outside the band, and of the latest one.
    early: Vec<f64>,
    last: f64,
}

impl Open {
    /// A one-sided excursion still at its largest when it ends and several times its early
    /// size is a ramp (a leak), not a step: a step's deviation stays where it landed.
    fn growing(&self) -> bool {
        let early = self.early.iter().sum::<f64>() / self.early.len().max(1) as f64;
        let one_sided = self.above.min(self.below) == 0;
        one_sided
            && self.above.max(self.below) >= RAMP_SAMPLES
            && self.last.abs() >= 0.9 * self.event.magnitude.abs()
            && self.last.abs() >= RAMP_GROWTH * early.abs()
    }

    fn close(mut self) -> AnomalyEvent {
        let ramp = self.trend || self.growing();
        let ev = &mut self.event;
        if ramp {
            ev.kind = AnomalyKind::TrendChange;
        } else if self.above.min(self.below) >= 2
            && self.above.min(self.below) * 4 >= self.above.max(self.below)
        {
            ev.kind = AnomalyKind::VarianceChange;
        } else if self.above.max(self.below) >= SUSTAINED && ev.kind == AnomalyKind::Spike {
            ev.kind = AnomalyKind::LevelShift;
        }
        if ev.kind == AnomalyKind::LevelShift && self.above != self.below {
            ev.direction = if self.above > self.below {
                Direction::Up
            } else {
                Direction::Down
            };
        }
        self.event
    }
}

#[derive(Debug, Clone)]
pub struct EventBuilder {
    threshold: f64,
    open: Option<Open>,
    closed: Vec<AnomalyEvent>,
}

impl EventBuilder {
    pub fn new(threshold: f64) -> Self {
        EventBuilder {
            threshold,
            open: None,
            closed: Vec::new(),
        }
    }

    pub fn closed(&self) -> &[AnomalyEvent] {
        &self.closed
    }

    pub fn finish(mut self) -> Vec<AnomalyEvent> {
        if let Some(open) = self.open.take() {
            self.closed.push(open.close());
        }
        self.closed
    }

    pub fn push(&mut self, p: &PointScore) {
        let hot = p.score >= self.threshold;
        match self.open.as_mut() {
            Some(open) => {
                let outside = (p.value - open.expected).abs() > 3.0 * open.sigma;
                if hot || outside {
                    extend(open, p);
                } else if !p.value.is_nan() {
                    open.quiet += 1;
                    if open.quiet >= QUIET_TO_CLOSE
                        && let Some(done) = self.open.take()
                    {
                        self.closed.push(done.close());
                    }
                }
            }
            None if hot => {
                let mut open = start(p);
                extend(&mut open, p);
                self.open = Some(open);
            }
            None => {}
        }
    }
}

fn start(p: &PointScore) -> Open {
    let expected = if p.expected.is_finite() {
        p.expected
    } else {
        p.value
    };
    let sigma = ((p.upper - p.lower) / 6.0).max(f64::MIN_POSITIVE);
    let sigma = if sigma.is_finite() {
        sigma
    } else {
        f64::MIN_POSITIVE
    };
    let magnitude = p.value - expected;
    Open {
        event: AnomalyEvent {
            onset_ms: p.ts_ms,
            end_ms: p.ts_ms,
            kind: p.kind.unwrap_or(super::AnomalyKind::Spike),
            direction: p.direction.unwrap_or(super::Direction::Up),
            magnitude,
            magnitude_sigmas: magnitude / sigma,
            expected_lower: p.lower,
            expected_upper: p.upper,
            peak_score: p.score,
            eta_ms: p.eta_ms,
        },
        expected,
        sigma,
        quiet: 0,
        above: 0,
        below: 0,
        trend: false,
        early: Vec::with_capacity(EARLY),
        last: 0.0,
    }
}

fn extend(open: &mut Open, p: &PointScore) {
    open.quiet = 0;
    let deviation = p.value - open.expected;
    if deviation.abs() > 3.0 * open.sigma {
        if deviation > 0.0 {
            open.above += 1;
        } else {
            open.below += 1;
        }
        if open.early.len() < EARLY {
            open.early.push(deviation);
        }
        open.last = deviation;
    }
    open.trend |= p.kind == Some(AnomalyKind::TrendChange);
    let ev = &mut open.event;
    ev.end_ms = p.ts_ms;
    if deviation.abs() > ev.magnitude.abs() {
        ev.magnitude = deviation;
        ev.magnitude_sigmas = deviation / open.sigma;
    }
    if p.score > ev.peak_score {
        ev.peak_score = p.score;
    }
    if p.eta_ms.is_some() && ev.eta_ms.is_none() {
        // Time to the limit is stated from the onset, which is what a reader compares against.
        ev.eta_ms = p.eta_ms.map(|eta| eta + (p.ts_ms - ev.onset_ms));
    }
}
