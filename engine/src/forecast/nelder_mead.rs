//! A small Nelder–Mead minimiser for fitting smoothing parameters.
//!
//! Holt–Winters has at most four parameters and a cheap, non-smooth loss (one-step squared
//! error), which is the case Nelder–Mead handles well without derivatives. Bounds are imposed
//! by the caller through a logistic map, so the search itself is unconstrained.

/// Minimises `f` from `start`; returns the best point and value. Non-finite values count as
/// +infinity, so a parameter set that blows the model up is simply never chosen.
pub fn minimize(
    f: impl Fn(&[f64]) -> f64,
    start: &[f64],
    step: f64,
    max_evals: usize,
) -> (Vec<f64>, f64) {
    let eval = |x: &[f64]| {
        let v = f(x);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let mut simplex = initial_simplex(start, step, &eval);
    let mut evals = simplex.len();
    while evals < max_evals && !collapsed(&mut simplex) {
        evals += iterate(&mut simplex, &eval);
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0)
}

type Vertex = (Vec<f64>, f64);

fn initial_simplex(start: &[f64], step: f64, eval: &impl Fn(&[f64]) -> f64) -> Vec<Vertex> {
    let mut simplex = vec![(start.to_vec(), eval(start))];
    for i in 0..start.len() {
        let mut x = start.to_vec();
        x[i] += step;
        let v = eval(&x);
        simplex.push((x, v));
    }
    simplex
}

/// Sorts the simplex best-first and says whether it has shrunk to a point. Equal values at
/// distinct points (a symmetric valley) are not convergence; a collapsed simplex is.
fn collapsed(simplex: &mut [Vertex]) -> bool {
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let best = &simplex[0].0;
    let spread = simplex[1..]
        .iter()
        .flat_map(|p| p.0.iter().zip(best).map(|(a, b)| (a - b).abs()))
        .fold(0.0, f64::max);
    spread < 1e-7
}

/// One reflect / expand / contract / shrink step on a sorted simplex; returns evaluations used.
fn iterate(simplex: &mut [Vertex], eval: &impl Fn(&[f64]) -> f64) -> usize {
    let n = simplex.len() - 1;
    let worst = simplex[n].1;
    let centroid: Vec<f64> = (0..n)
        .map(|j| simplex[..n].iter().map(|p| p.0[j]).sum::<f64>() / n as f64)
        .collect();
    let towards = |t: f64| -> Vec<f64> {
        centroid
            .iter()
            .zip(&simplex[n].0)
            .map(|(c, w)| c + t * (w - c))
            .collect()
    };
    let reflected = towards(-1.0);
    let fr = eval(&reflected);
    if fr < simplex[0].1 {
        let expanded = towards(-2.0);
        let fe = eval(&expanded);
        simplex[n] = if fe < fr {
            (expanded, fe)
        } else {
            (reflected, fr)
        };
        return 2;
    }
    if fr < simplex[n - 1].1 {
        simplex[n] = (reflected, fr);
        return 1;
    }
    let contracted = if fr < worst {
        towards(-0.5)
    } else {
        towards(0.5)
    };
    let fc = eval(&contracted);
    if fc < worst.min(fr) {
        simplex[n] = (contracted, fc);
        return 2;
    }
    2 + shrink(simplex, eval)
}

fn shrink(simplex: &mut [Vertex], eval: &impl Fn(&[f64]) -> f64) -> usize {
    let best = simplex[0].0.clone();
    for p in simplex.iter_mut().skip(1) {
        for (x, b) in p.0.iter_mut().zip(&best) {
            *x = b + 0.5 * (*x - b);
        }
        p.1 = eval(&p.0);
    }
    simplex.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_a_bowl() {
        let (x, v) = minimize(
            |p| (p[0] - 3.0).powi(2) + 10.0 * (p[1] + 1.0).powi(2),
            &[0.0, 0.0],
            1.0,
            500,
        );
        assert!(
            (x[0] - 3.0).abs() < 1e-3 && (x[1] + 1.0).abs() < 1e-3,
            "{x:?}"
        );
        assert!(v < 1e-6);
    }

    #[test]
    fn survives_a_loss_that_returns_nan() {
        let (x, _) = minimize(
            |p| {
                if p[0] < 0.0 {
                    f64::NAN
                } else {
                    (p[0] - 1.0).powi(2)
                }
            },
            &[0.5],
            0.2,
            200,
        );
        assert!((x[0] - 1.0).abs() < 1e-3);
    }
}
