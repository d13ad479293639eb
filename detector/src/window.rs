//! A bounded sliding window that keeps its values sorted, so the empirical tail probability of a new
//! value (how many recent values are at least as extreme) costs a binary search.
//!
//! Values are stored as `f32`: the window exists to rank values, and halving its memory keeps the
//! per-series state of the live ensemble under a kilobyte.

/// Caps how many robust-scale units beyond the observed range still add surprise, so a jump out of a
/// perfectly constant history gives a large but finite surprise.
const MAX_EXCESS: f64 = 60.0;

/// Natural logarithms of small counts, shared by every window: ranking is on the hot path and `ln`
/// is its most expensive step.
static LN_TABLE: std::sync::LazyLock<Vec<f64>> =
    std::sync::LazyLock::new(|| (0..=LN_TABLE_SIZE).map(|k| (k as f64).ln()).collect());
const LN_TABLE_SIZE: usize = 4096;

fn ln_count(count: usize) -> f64 {
    if count <= LN_TABLE_SIZE {
        LN_TABLE[count]
    } else {
        (count as f64).ln()
    }
}

/// The most recent `capacity` values, in arrival order and in sorted order.
#[derive(Debug, Clone)]
pub(crate) struct RankWindow {
    capacity: u32,
    head: u32,
    ring: Vec<f32>,
    sorted: Vec<f32>,
}

/// Empirical tail probabilities of one value against a window, as natural logarithms (so that points
/// far outside history do not underflow to zero and tie).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tails {
    /// ln P(X <= x), with the +1 correction so it is never -inf.
    pub(crate) low: f64,
    /// ln P(X >= x), likewise.
    pub(crate) high: f64,
}

impl Tails {
    pub(crate) const NEUTRAL: Tails = Tails {
        low: 0.0,
        high: 0.0,
    };

    /// Surprise (-ln p) of the two-sided p-value, twice the smaller tail capped at 1.
    pub(crate) fn two_sided(self) -> f64 {
        (-(std::f64::consts::LN_2 + self.low.min(self.high))).max(0.0)
    }

    /// Surprise of the upper tail only.
    pub(crate) fn upper(self) -> f64 {
        (-self.high).max(0.0)
    }
}

impl RankWindow {
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(2, u32::MAX as usize);
        Self {
            capacity: capacity as u32,
            ring: Vec::with_capacity(capacity),
            head: 0,
            sorted: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Adds a value, evicting the oldest once full. O(log n) search plus an O(n) memmove of at most
    /// `capacity` floats, which for the window sizes used here is a few cache lines.
    pub(crate) fn push(&mut self, value: f64) {
        let value = value as f32;
        if !value.is_finite() {
            return;
        }
        if self.ring.len() < self.capacity as usize {
            self.ring.push(value);
        } else {
            let oldest = std::mem::replace(&mut self.ring[self.head as usize], value);
            self.head = (self.head + 1) % self.capacity;
            let at = self.sorted.partition_point(|x| *x < oldest);
            if at < self.sorted.len() {
                self.sorted.remove(at);
            }
        }
        let at = self.sorted.partition_point(|x| *x < value);
        self.sorted.insert(at, value);
    }

    /// The `q` quantile (0..=1) by nearest rank; `None` when empty.
    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        if self.sorted.is_empty() {
            return None;
        }
        let index = ((self.sorted.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
        Some(f64::from(self.sorted[index]))
    }

    pub(crate) fn median(&self) -> Option<f64> {
        self.quantile(0.5)
    }

    /// A robust spread: the interquartile range scaled to a normal sigma, falling back to a fraction of
    /// the full range (and then to a tiny floor) so that a mostly constant window still has a scale.
    pub(crate) fn robust_scale(&self) -> f64 {
        let (Some(q1), Some(q3)) = (self.quantile(0.25), self.quantile(0.75)) else {
            return f64::MIN_POSITIVE;
        };
        let iqr = (q3 - q1) / 1.349;
        if iqr > 0.0 {
            return iqr;
        }
        let lo = f64::from(self.sorted[0]);
        let hi = f64::from(self.sorted[self.sorted.len() - 1]);
        let range = (hi - lo) / 4.0;
        if range > 0.0 {
            return range;
        }
        1e-6 * (1.0 + hi.abs())
    }

    /// Tail probabilities of `value` among the window's values. Beyond the observed range the tail keeps
    /// shrinking exponentially in robust-scale units, so a point far outside history is rarer than one
    /// just past the maximum (this also spreads scores, which a threshold search needs).
    pub(crate) fn tails(&self, value: f64) -> Tails {
        let n = self.sorted.len();
        if n == 0 {
            return Tails::NEUTRAL;
        }
        let v = value as f32;
        let below = self.sorted.partition_point(|x| *x < v);
        let at_or_below = self.sorted.partition_point(|x| *x <= v);
        let ln_denominator = ln_count(n + 1);
        let mut high = ln_count(n - below + 1) - ln_denominator;
        let mut low = ln_count(at_or_below + 1) - ln_denominator;
        let lo = f64::from(self.sorted[0]);
        let hi = f64::from(self.sorted[n - 1]);
        if value > hi || value < lo {
            let scale = self.robust_scale();
            if value > hi {
                high -= ((value - hi) / scale).min(MAX_EXCESS);
            } else {
                low -= ((lo - value) / scale).min(MAX_EXCESS);
            }
        }
        Tails { low, high }
    }

    pub(crate) fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + (self.ring.capacity() + self.sorted.capacity()) * std::mem::size_of::<f32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_most_recent_values_sorted() {
        let mut window = RankWindow::new(3);
        for value in [5.0, 1.0, 3.0, 4.0] {
            window.push(value);
        }
        assert_eq!(window.sorted, vec![1.0, 3.0, 4.0]);
        window.push(0.0);
        assert_eq!(window.sorted, vec![0.0, 3.0, 4.0]);
    }

    #[test]
    fn extreme_values_have_small_tails_and_typical_ones_do_not() {
        let mut window = RankWindow::new(100);
        for i in 0..100 {
            window.push(f64::from(i));
        }
        assert!(window.tails(50.0).two_sided() < 0.1);
        let just_above = window.tails(99.5).upper();
        let far_above = window.tails(500.0).upper();
        assert!(far_above > just_above && just_above >= (101.0f64).ln() - 1e-9);
        assert!(-window.tails(-50.0).low > (101.0f64).ln() + 1.0);
    }

    #[test]
    fn a_value_equal_to_a_constant_history_is_not_surprising() {
        let mut window = RankWindow::new(10);
        for _ in 0..10 {
            window.push(7.0);
        }
        assert_eq!(window.tails(7.0).two_sided(), 0.0);
        assert!(window.tails(7.1).two_sided() > 10.0);
    }
}
