//! RCAEval-style accuracy: AC@k and Avg@5 over service rankings.
//!
//! A ranker's metric (or component) ranking is mapped to services with [`service_of`] and
//! de-duplicated keeping the first occurrence; a case counts for AC@k when its labelled service is
//! among the first k. Avg@5 is the mean of AC@1..AC@5.

use super::case::service_of;

/// Maps ranked metric or component names to services, de-duplicated, in order.
pub fn service_ranking<S: AsRef<str>>(ranked: &[S]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in ranked {
        let svc = service_of(name.as_ref());
        if !out.iter().any(|s| s == svc) {
            out.push(svc.to_string());
        }
    }
    out
}

/// Hit counts at k = 1..=5 over a set of cases.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    pub cases: usize,
    /// `hits[k-1]` = cases whose answer is within the first k.
    pub hits: [usize; 5],
}

impl Tally {
    /// Records one case: `services` is the ranking, `truth` the labelled service.
    pub fn record(&mut self, services: &[String], truth: &str) {
        self.cases += 1;
        let truth = service_of(truth);
        if let Some(pos) = services.iter().position(|s| s == truth) {
            for hit in self.hits.iter_mut().skip(pos) {
                *hit += 1;
            }
        }
    }

    /// Adds another tally's counts.
    pub fn merge(&mut self, other: &Tally) {
        self.cases += other.cases;
        for (a, b) in self.hits.iter_mut().zip(other.hits) {
            *a += b;
        }
    }

    /// AC@k for k in 1..=5; 0 when there are no cases or k is out of range.
    pub fn ac(&self, k: usize) -> f64 {
        match (self.cases, k) {
            (0, _) | (_, 0) | (_, 6..) => 0.0,
            (n, k) => self.hits[k - 1] as f64 / n as f64,
        }
    }

    /// Mean of AC@1..AC@5.
    pub fn avg5(&self) -> f64 {
        (1..=5).map(|k| self.ac(k)).sum::<f64>() / 5.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_deduplicated_in_order() {
        let r = service_ranking(&["carts-db_mem", "orders_cpu", "carts_cpu", "user_mem"]);
        assert_eq!(r, vec!["carts", "orders", "user"]);
    }

    #[test]
    fn tally_counts_hits_at_k() {
        let mut t = Tally::default();
        let r = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        t.record(&r, "a");
        t.record(&r, "c");
        t.record(&r, "z");
        assert_eq!(t.hits, [1, 1, 2, 2, 2]);
        assert!((t.ac(3) - 2.0 / 3.0).abs() < 1e-12);
        assert!((t.avg5() - (1.0 + 1.0 + 2.0 + 2.0 + 2.0) / 15.0).abs() < 1e-12);
        assert_eq!(Tally::default().ac(1), 0.0);
    }
}
