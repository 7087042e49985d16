//! Rolling windows that answer order statistics (median, quantiles) in O(1) per query.
//!
//! A detector asks for the median and the inter-quartile range of its recent past at every
//! point, so the window keeps a sorted copy beside the arrival order. Insert and evict are a
//! binary search plus a shift, O(w) in the worst case but a `memmove` in practice; for the
//! window sizes used here (hundreds of points) that beats a pair of heaps with lazy deletion
//! and keeps every quantile, not only the median, available.

use std::collections::VecDeque;

/// The last `capacity` finite values, in arrival order and sorted.
#[derive(Debug, Clone)]
pub struct RollingWindow {
    capacity: usize,
    order: VecDeque<f64>,
    sorted: Vec<f64>,
}

impl RollingWindow {
    /// A window of at least one value.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        RollingWindow {
            capacity,
            order: VecDeque::with_capacity(capacity + 1),
            sorted: Vec::with_capacity(capacity + 1),
        }
    }

    /// Adds `value`, evicting the oldest when full; non-finite values are ignored.
    pub fn push(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        if self.order.len() == self.capacity
            && let Some(old) = self.order.pop_front()
        {
            let at = self.sorted.partition_point(|v| v.total_cmp(&old).is_lt());
            if at < self.sorted.len() {
                self.sorted.remove(at);
            }
        }
        self.order.push_back(value);
        let at = self.sorted.partition_point(|v| v.total_cmp(&value).is_lt());
        self.sorted.insert(at, value);
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Linear-interpolated quantile, `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let last = self.sorted.len().checked_sub(1)?;
        let pos = q.clamp(0.0, 1.0) * last as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        let (a, b) = (self.sorted[lo], self.sorted[hi.min(last)]);
        Some(a + (b - a) * (pos - lo as f64))
    }

    pub fn median(&self) -> Option<f64> {
        self.quantile(0.5)
    }

    /// Robust standard deviation from the inter-quartile range (IQR / 1.349 for a normal).
    pub fn iqr_sigma(&self) -> Option<f64> {
        Some((self.quantile(0.75)? - self.quantile(0.25)?) / 1.349)
    }

    pub fn min(&self) -> Option<f64> {
        self.sorted.first().copied()
    }

    pub fn max(&self) -> Option<f64> {
        self.sorted.last().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_quantiles_follow_the_window() {
        let mut w = RollingWindow::new(5);
        for v in [5.0, 1.0, 4.0, 2.0, 3.0] {
            w.push(v);
        }
        assert_eq!(w.median(), Some(3.0));
        w.push(100.0); // evicts 5.0 -> {1,4,2,3,100}
        assert_eq!(w.median(), Some(3.0));
        assert_eq!(w.min(), Some(1.0));
        assert_eq!(w.max(), Some(100.0));
        assert_eq!(w.quantile(0.25), Some(2.0));
        assert_eq!(w.len(), 5);
    }

    #[test]
    fn ignores_non_finite_and_handles_empty() {
        let mut w = RollingWindow::new(3);
        assert_eq!(w.median(), None);
        w.push(f64::NAN);
        w.push(f64::INFINITY);
        assert!(w.is_empty());
        w.push(2.0);
        assert_eq!(w.iqr_sigma(), Some(0.0));
    }
}
