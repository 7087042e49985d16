//! Shape novelty: has the series ever traced this short curve before?
//!
//! The last few (block-averaged) samples, squashed by `asinh` around the warm-up median in
//! units of the warm-up spread, form a point in a small space. Seen shapes are kept as
//! prototypes; a window farther than a vigilance radius from every prototype is new and becomes
//! one. How surprising a new shape is depends on how rarely new shapes have been appearing
//! (an exponentially forgetting rate), so a noisy series that invents shapes all the time pays
//! little for one more. The prototype memory with a vigilance test is the idea behind adaptive
//! resonance (ART) detectors such as NAB's ARTime, without their learning dynamics.

/// Most prototypes kept; past it the oldest slots are overwritten in turn.
const MAX_PROTOTYPES: usize = 4096;
/// Steps before a new shape can be surprising.
const LEARNING_STEPS: f64 = 16.0;

#[derive(Debug, Clone)]
pub struct ShapeNovelty {
    block: usize,
    width: usize,
    radius: f64,
    warmup: usize,
    decay: f64,
    warm: Vec<f64>,
    center: f64,
    scale: f64,
    acc: (f64, usize),
    window: Vec<f64>,
    protos: Vec<f64>,
    next_slot: usize,
    recent: Vec<usize>,
    new_rate: (f64, f64),
}

impl ShapeNovelty {
    pub fn new(block: usize, width: usize, radius: f64, warmup: usize, half_life: f64) -> Self {
        ShapeNovelty {
            block: block.max(1),
            width: width.max(1),
            radius,
            warmup,
            decay: 0.5f64.powf(1.0 / half_life.max(1.0)),
            warm: Vec::new(),
            center: 0.0,
            scale: 1.0,
            acc: (0.0, 0),
            window: Vec::new(),
            protos: Vec::new(),
            next_slot: 0,
            recent: Vec::new(),
            new_rate: (0.0, 0.0),
        }
    }

    /// Surprise (nats) of the shape ending at `x`; 0 between block ends and while warming up.
    pub fn observe(&mut self, x: f64) -> f64 {
        if self.warm.len() < self.warmup {
            self.warm.push(x);
            if self.warm.len() == self.warmup {
                self.fix_scale();
            }
            return 0.0;
        }
        self.acc.0 += x;
        self.acc.1 += 1;
        if self.acc.1 < self.block {
            return 0.0;
        }
        let mean = self.acc.0 / self.acc.1 as f64;
        self.acc = (0.0, 0);
        self.window
            .push(((mean - self.center) / self.scale).asinh());
        if self.window.len() > self.width {
            self.window.remove(0);
        }
        if self.window.len() < self.width {
            return 0.0;
        }
        self.step()
    }

    fn fix_scale(&mut self) {
        let mut w = self.warm.clone();
        let med = crate::series::quantile(&mut w, 0.5).unwrap_or(0.0);
        let q1 = crate::series::quantile(&mut w, 0.25).unwrap_or(0.0);
        let q3 = crate::series::quantile(&mut w, 0.75).unwrap_or(0.0);
        // Mostly-zero signals have no inter-quartile range; their mean absolute deviation
        // still says how big a usual excursion is.
        let mad = w.iter().map(|v| (v - med).abs()).sum::<f64>() / w.len().max(1) as f64;
        let floor = (1.25 * mad).max(1e-3 * med.abs()).max(1e-12);
        self.center = med;
        self.scale = ((q3 - q1) / 1.349).max(floor);
        self.warm = Vec::new();
        self.warm.reserve_exact(0);
        self.warmup = 0;
    }

    fn distance(&self, slot: usize) -> f64 {
        let p = &self.protos[slot * self.width..(slot + 1) * self.width];
        p.iter()
            .zip(&self.window)
            .map(|(a, b)| (a - b).abs())
            .sum::<f64>()
            / self.width as f64
    }

    fn matches(&self) -> Option<usize> {
        let n = self.protos.len() / self.width;
        let hit = |s: &usize| self.distance(*s) <= self.radius;
        self.recent
            .iter()
            .copied()
            .find(hit)
            .or_else(|| (0..n).find(hit))
    }

    fn step(&mut self) -> f64 {
        let (new, total) = self.new_rate;
        let found = self.matches();
        let surprise = match found {
            Some(slot) => {
                self.recent.retain(|s| *s != slot);
                self.recent.insert(0, slot);
                self.recent.truncate(8);
                0.0
            }
            None => {
                self.store();
                // The first shapes are all new; novelty means something once a few are known.
                if total < LEARNING_STEPS {
                    0.0
                } else {
                    -((new + 1.0) / (total + 2.0)).ln()
                }
            }
        };
        let is_new = if found.is_none() { 1.0 } else { 0.0 };
        self.new_rate = (new * self.decay + is_new, total * self.decay + 1.0);
        surprise
    }

    fn store(&mut self) {
        let n = self.protos.len() / self.width;
        if n < MAX_PROTOTYPES {
            self.protos.extend_from_slice(&self.window);
        } else {
            let s = self.next_slot % MAX_PROTOTYPES;
            self.protos[s * self.width..(s + 1) * self.width].copy_from_slice(&self.window);
            self.next_slot += 1;
        }
    }
}
