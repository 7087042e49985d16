//! Tail probabilities in log space, and the map from surprise to a score in [0, 1].
//!
//! Every detector component reports its evidence as a *surprise*: the negative natural log of
//! a probability (a tail, or a rate of new events). Surprises from different components and
//! different series are then on one scale, which is what lets a single threshold work across
//! all of them. Working in log space keeps a 40-restart burst from underflowing to zero.

use crate::math::ln_gamma;

/// `ln P(X >= k)` for `X ~ Poisson(lambda)`: the regularised lower incomplete gamma `P(k, λ)`.
pub fn ln_poisson_upper(k: f64, lambda: f64) -> f64 {
    if k.is_nan() || lambda.is_nan() || k <= 0.0 {
        return 0.0;
    }
    let lambda = lambda.max(1e-12);
    let k = k.min(1e12);
    if lambda < k + 1.0 {
        ln_gamma_p_series(k, lambda)
    } else {
        (1.0 - gamma_q_fraction(k, lambda))
            .max(f64::MIN_POSITIVE)
            .ln()
    }
}

/// Series for `ln P(a, x)`, convergent and accurate for `x < a + 1`.
fn ln_gamma_p_series(a: f64, x: f64) -> f64 {
    let (mut term, mut sum, mut ap) = (1.0 / a, 1.0 / a, a);
    for _ in 0..500 {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        if term.abs() < sum.abs() * 1e-15 {
            break;
        }
    }
    sum.ln() - x + a * x.ln() - ln_gamma(a)
}

/// Continued fraction (modified Lentz) for `Q(a, x) = 1 - P(a, x)`, for `x >= a + 1`.
fn gamma_q_fraction(a: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..500 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        d = if d.abs() < TINY { TINY } else { d };
        c = b + an / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    ((-x + a * x.ln() - ln_gamma(a)).exp() * h).clamp(0.0, 1.0)
}

/// Maps a surprise in nats to a score in [0, 1): `s / (s + half)`, so a surprise of `half`
/// scores 0.5. A saturating ratio rather than `1 - p` keeps distinct, readable scores in the
/// far tail, where `1 - p` rounds every strong anomaly to 1.0.
pub fn surprise_to_score(surprise: f64, half: f64) -> f64 {
    if surprise.is_nan() || surprise <= 0.0 {
        return 0.0;
    }
    if surprise.is_infinite() {
        return 1.0;
    }
    (surprise / (surprise + half.max(f64::MIN_POSITIVE))).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b}");
    }

    #[test]
    fn poisson_tail_matches_known_values() {
        // P(X >= 1 | 0.5) = 1 - e^-0.5
        close(
            ln_poisson_upper(1.0, 0.5),
            (1.0 - (-0.5f64).exp()).ln(),
            1e-12,
        );
        // P(X >= 5 | 1) = 0.0036598468
        close(ln_poisson_upper(5.0, 1.0).exp(), 0.003_659_846_8, 1e-9);
        // P(X >= 3 | 10) = 1 - e^-10 (1 + 10 + 50)
        close(
            ln_poisson_upper(3.0, 10.0).exp(),
            1.0 - (-10f64).exp() * 61.0,
            1e-12,
        );
        assert_eq!(ln_poisson_upper(0.0, 3.0), 0.0);
        assert!(ln_poisson_upper(1e9, 0.0).is_finite());
    }

    #[test]
    fn score_saturates_within_bounds() {
        assert_eq!(surprise_to_score(0.0, 9.0), 0.0);
        close(surprise_to_score(9.0, 9.0), 0.5, 1e-12);
        assert_eq!(surprise_to_score(f64::INFINITY, 9.0), 1.0);
        assert_eq!(surprise_to_score(f64::NAN, 9.0), 0.0);
    }
}
