//! Small robust statistics shared by the rankers: location and scale of a window, NaN-aware.
//!
//! Every function skips NaN and answers `None` (or a neutral value) on empty input, so callers
//! never divide by a zero-length window.

use crate::series::quantile;

/// Present (non-NaN) values of a slice.
pub fn present(values: &[f64]) -> Vec<f64> {
    values.iter().copied().filter(|v| !v.is_nan()).collect()
}

/// Mean and population standard deviation (ddof = 0, as scikit-learn's `StandardScaler`).
pub fn mean_std(values: &[f64]) -> Option<(f64, f64)> {
    let xs = present(values);
    if xs.is_empty() {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    Some((mean, var.max(0.0).sqrt()))
}

/// Median and inter-quartile range (linear interpolation, as numpy's default percentile).
pub fn median_iqr(values: &[f64]) -> Option<(f64, f64)> {
    let mut xs = present(values);
    let q1 = quantile(&mut xs, 0.25)?;
    let median = quantile(&mut xs, 0.5)?;
    let q3 = quantile(&mut xs, 0.75)?;
    Some((median, q3 - q1))
}

/// Median of the present values.
pub fn median(values: &[f64]) -> Option<f64> {
    quantile(&mut present(values), 0.5)
}

/// True when every present value equals the first one (RCAEval's `drop_constant` test).
pub fn is_constant(values: &[f64]) -> bool {
    let mut it = values.iter().filter(|v| !v.is_nan());
    match it.next() {
        Some(first) => it.all(|v| v == first),
        None => true,
    }
}

/// Maximum of the present values; `None` when there are none.
pub fn max(values: &[f64]) -> Option<f64> {
    values
        .iter()
        .copied()
        .filter(|v| !v.is_nan())
        .reduce(f64::max)
}

/// Pearson correlation of two equal-length slices, skipping pairs with a NaN; 0 when undefined.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| !x.is_nan() && !y.is_nan())
        .map(|(x, y)| (*x, *y))
        .collect();
    if pairs.len() < 3 {
        return 0.0;
    }
    let n = pairs.len() as f64;
    let (ma, mb) = pairs
        .iter()
        .fold((0.0, 0.0), |acc, (x, y)| (acc.0 + x / n, acc.1 + y / n));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    let denom = (saa * sbb).sqrt();
    if denom > 0.0 && denom.is_finite() {
        (sab / denom).clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_skip_nan_and_handle_empty() {
        assert_eq!(mean_std(&[]), None);
        assert_eq!(mean_std(&[f64::NAN, 2.0, 4.0]), Some((3.0, 1.0)));
        assert_eq!(median_iqr(&[1.0, 2.0, 3.0, 4.0, 5.0]), Some((3.0, 2.0)));
        assert!(is_constant(&[1.0, f64::NAN, 1.0]));
        assert!(!is_constant(&[1.0, 2.0]));
        assert_eq!(max(&[f64::NAN]), None);
    }

    #[test]
    fn pearson_of_opposite_lines_is_minus_one() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [8.0, 6.0, 4.0, 2.0];
        assert!((pearson(&a, &b) + 1.0).abs() < 1e-12);
        assert_eq!(pearson(&a, &[1.0, 1.0, 1.0, 1.0]), 0.0);
    }
}
