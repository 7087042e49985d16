//! Changes in a short daily cost series, where the streaming detector
//! ([`crate::anomaly`]) is still warming up: a day is unusual when it sits more than `k` robust
//! sigmas from the median of the days before it, and an event lasts while later days stay
//! outside the band that held at its onset (so a step shows as one event up to its end).

use serde::{Deserialize, Serialize};

/// One stretch of unusual days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shift {
    /// Index of the first unusual day.
    pub start: usize,
    /// Index of the last day of the event (inclusive).
    pub end: usize,
    /// Median of the baseline days at onset.
    pub expected: f64,
    /// Largest deviation from `expected` in the event, signed.
    pub magnitude: f64,
    /// `magnitude` in robust sigmas of the baseline.
    pub sigmas: f64,
}

/// Finds shifts in `values` (NaN = missing). `baseline` is how many prior days form the
/// reference (at least 3 are needed); the scale is the MAD, floored at `min_rel` of the median
/// so a flat series does not flag cents.
pub fn shifts(values: &[f64], baseline: usize, k: f64, min_rel: f64) -> Vec<Shift> {
    let baseline = baseline.max(3);
    let mut out: Vec<Shift> = Vec::new();
    let mut open: Option<(Shift, f64)> = None;
    for i in 0..values.len() {
        let x = values[i];
        if !x.is_finite() {
            continue;
        }
        if let Some((event, scale)) = open.as_mut() {
            let dev = x - event.expected;
            if dev.abs() > k * *scale && dev.signum() == event.magnitude.signum() {
                event.end = i;
                if dev.abs() > event.magnitude.abs() {
                    event.magnitude = dev;
                    event.sigmas = dev / *scale;
                }
                continue;
            }
            if let Some((event, _)) = open.take() {
                out.push(event);
            }
        }
        let Some((median, scale)) = reference(values, i, baseline, min_rel) else {
            continue;
        };
        let dev = x - median;
        if dev.abs() > k * scale {
            let event = Shift {
                start: i,
                end: i,
                expected: median,
                magnitude: dev,
                sigmas: dev / scale,
            };
            open = Some((event, scale));
        }
    }
    out.extend(open.map(|(e, _)| e));
    out
}

/// Median and robust scale of the finite values in the `baseline` days before `i`.
fn reference(values: &[f64], i: usize, baseline: usize, min_rel: f64) -> Option<(f64, f64)> {
    let mut window: Vec<f64> = values[i.saturating_sub(baseline)..i]
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if window.len() < 3 {
        return None;
    }
    let median = crate::series::quantile(&mut window, 0.5)?;
    let mut dev: Vec<f64> = window.iter().map(|v| (v - median).abs()).collect();
    let mad = crate::series::quantile(&mut dev, 0.5)? * 1.4826;
    let floor = median.abs() * min_rel.max(0.0);
    let scale = mad.max(floor);
    (scale > 0.0).then_some((median, scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_one_event_to_the_end() {
        let mut v: Vec<f64> = (0..30).map(|i| 10.0 + f64::from(i % 3) * 0.1).collect();
        for x in v.iter_mut().skip(19) {
            *x *= 2.6;
        }
        let s = shifts(&v, 14, 4.0, 0.03);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!((s[0].start, s[0].end), (19, 29));
        assert!(s[0].magnitude > 15.0 && s[0].sigmas > 4.0);
    }

    #[test]
    fn weekly_dips_and_noise_are_not_events() {
        let v: Vec<f64> = (0..60)
            .map(|i| if i % 7 >= 5 { 93.0 } else { 100.0 } + f64::from(i % 4))
            .collect();
        assert!(shifts(&v, 14, 4.0, 0.03).is_empty());
    }

    #[test]
    fn a_one_day_spike_down_and_bad_input() {
        let mut v = vec![50.0; 20];
        v[12] = 5.0;
        let s = shifts(&v, 7, 4.0, 0.03);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].start, s[0].end), (12, 12));
        assert!(s[0].magnitude < 0.0);
        assert!(shifts(&[], 7, 4.0, 0.03).is_empty());
        assert!(shifts(&[f64::NAN, 1.0, f64::INFINITY], 0, 4.0, -1.0).is_empty());
        assert!(shifts(&[0.0; 10], 7, 4.0, 0.03).is_empty());
    }
}
