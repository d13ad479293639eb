//! The streaming statistical detectors. Each one judges a point against what came before it, then
//! learns it; each has bounded state and O(1) or O(log n) work per point.
//!
//! Every detector reports a *surprise*: the negative natural log of the probability of seeing something
//! at least this extreme under its model of recent history. Surprises from different detectors and
//! different series are on one scale, which is what lets the ensemble combine them and lets one
//! threshold serve every series.

use serde::{Deserialize, Serialize};

use crate::window::RankWindow;
use model::UnixMs;

/// What one detector concluded about one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// -ln p, where p is the tail probability of the point under the detector's model; 0 = typical.
    pub surprise: f64,
    /// What the detector expected (mean, median, seasonal baseline...).
    pub baseline: f64,
}

impl Observation {
    pub const NEUTRAL: Observation = Observation {
        surprise: 0.0,
        baseline: f64::NAN,
    };

    /// The surprise mapped monotonically into [0, 1): 0.5 at p = 1e-2, 0.75 at p = 1e-6.
    pub fn score(&self) -> f64 {
        surprise_to_score(self.surprise)
    }
}

/// Surprise (nats) at which [`surprise_to_score`] gives 0.5: a one-in-a-hundred point.
const HALF_SCORE_SURPRISE: f64 = 4.605_170_185_988_091;

/// Maps a surprise in nats to a score in [0, 1) without saturating, so extreme points stay ranked.
pub fn surprise_to_score(surprise: f64) -> f64 {
    if surprise.is_nan() || surprise <= 0.0 {
        return 0.0;
    }
    if surprise.is_infinite() {
        return 1.0;
    }
    surprise / (surprise + HALF_SCORE_SURPRISE)
}

/// The inverse of [`surprise_to_score`].
pub fn score_to_surprise(score: f64) -> f64 {
    if score <= 0.0 || score.is_nan() {
        return 0.0;
    }
    if score >= 1.0 {
        return f64::INFINITY;
    }
    HALF_SCORE_SURPRISE * score / (1.0 - score)
}

/// A streaming detector over one series.
///
/// Contract: `observe` scores the point against the past only, then (when `learn` is true) updates the
/// state; it never blocks, never panics on finite input and allocates nothing after construction.
/// With `learn == false` (maintenance windows) the state is left as it was.
pub trait Detector: Send {
    /// Stable name used in evidence, e.g. `ewma_z`.
    fn name(&self) -> &'static str;
    /// Scores `value` observed at `at_ms`, then learns it if `learn`.
    fn observe(&mut self, at_ms: UnixMs, value: f64, learn: bool) -> Observation;
    /// Approximate heap plus inline bytes of this detector's state.
    fn state_bytes(&self) -> usize;
    /// A short human explanation of an observation, for evidence.
    fn explain(&self, observation: &Observation, value: f64) -> String {
        format!(
            "p = {:.1e} against baseline {:.4} (value {:.4})",
            (-observation.surprise).exp(),
            observation.baseline,
            value
        )
    }
}

/// Configuration of one detector; [`DetectorConfig::build`] makes the runtime detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DetectorConfig {
    /// Exponentially weighted mean and variance; Gaussian tail of the z-score.
    EwmaZ { alpha: f64, warmup: u32 },
    /// Rank of the value among the last `window` values (a median/MAD model without the Gaussian
    /// assumption), extrapolated in robust-scale units beyond the observed range.
    MedianMad { window: usize },
    /// Rank of the mean of the last `short` values among past such means: sustained level shifts.
    LevelShift { short: usize, window: usize },
    /// Rank of the spread of the last `short` values among past spreads: bursts and sudden flatness.
    Volatility { short: usize, window: usize },
    /// Time-of-day baseline (an EWMA per UTC time-of-day slot, `slots_per_day` of them, 24 = hourly) and
    /// the rank of the residual among past residuals.
    Seasonal {
        alpha: f64,
        window: usize,
        #[serde(default = "default_slots_per_day")]
        slots_per_day: usize,
        /// Length of the season in days: 1 = daily, 7 = weekly.
        #[serde(default = "default_days")]
        days: usize,
    },
    /// Two-sided CUSUM of the standardised value against a slow EWMA baseline.
    Cusum { alpha: f64, slack: f64, warmup: u32 },
    /// Rank of the per-second change among past changes.
    RateOfChange { window: usize },
}

impl DetectorConfig {
    /// Builds the runtime detector.
    pub fn build(&self) -> Box<dyn Detector> {
        match *self {
            DetectorConfig::EwmaZ { alpha, warmup } => Box::new(EwmaZ::new(alpha, warmup)),
            DetectorConfig::MedianMad { window } => Box::new(MedianMad::new(window)),
            DetectorConfig::LevelShift { short, window } => {
                Box::new(ShortWindowRank::new(ShortStat::Mean, short, window))
            }
            DetectorConfig::Volatility { short, window } => {
                Box::new(ShortWindowRank::new(ShortStat::Spread, short, window))
            }
            DetectorConfig::Seasonal {
                alpha,
                window,
                slots_per_day,
                days,
            } => Box::new(Seasonal::new(alpha, window, slots_per_day, days)),
            DetectorConfig::Cusum {
                alpha,
                slack,
                warmup,
            } => Box::new(Cusum::new(alpha, slack, warmup)),
            DetectorConfig::RateOfChange { window } => Box::new(RateOfChange::new(window)),
        }
    }

    /// Checks parameters; returns what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let alpha_ok = |alpha: f64| alpha > 0.0 && alpha < 1.0;
        match *self {
            DetectorConfig::EwmaZ { alpha, .. }
            | DetectorConfig::Seasonal { alpha, .. }
            | DetectorConfig::Cusum { alpha, .. }
                if !alpha_ok(alpha) =>
            {
                Err(format!("alpha must be in (0, 1), got {alpha}"))
            }
            DetectorConfig::Seasonal { slots_per_day, .. }
                if !(1..=1440).contains(&slots_per_day) =>
            {
                Err(format!(
                    "slots_per_day must be in 1..=1440, got {slots_per_day}"
                ))
            }
            DetectorConfig::Cusum { slack, .. } if !(slack.is_finite() && slack > 0.0) => {
                Err(format!("slack must be positive, got {slack}"))
            }
            DetectorConfig::LevelShift { short, .. } | DetectorConfig::Volatility { short, .. }
                if !(2..=64).contains(&short) =>
            {
                Err(format!("short must be in 2..=64, got {short}"))
            }
            DetectorConfig::MedianMad { window }
            | DetectorConfig::LevelShift { window, .. }
            | DetectorConfig::Volatility { window, .. }
            | DetectorConfig::Seasonal { window, .. }
            | DetectorConfig::RateOfChange { window }
                if !(4..=100_000).contains(&window) =>
            {
                Err(format!("window must be in 4..=100000, got {window}"))
            }
            _ => Ok(()),
        }
    }
}

fn default_slots_per_day() -> usize {
    24
}

fn default_days() -> usize {
    1
}

/// Points a rank window needs before its tail probabilities mean anything.
fn min_fill(window: usize) -> usize {
    (window / 4).clamp(4, 32)
}

/// -ln of the two-sided Gaussian tail probability of `z`, accurate far into the tail (no underflow).
pub(crate) fn gaussian_two_sided_surprise(z: f64) -> f64 {
    // erfc(x) = t * exp(-x^2 + poly(t)) (Numerical Recipes erfcc, relative error < 1.2e-7), so the log
    // is computed directly.
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x);
    let poly = -1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    (-(t.ln() - x * x + poly)).max(0.0)
}

/// EWMA mean/variance z-score.
#[derive(Debug, Clone)]
pub struct EwmaZ {
    alpha: f64,
    warmup: u32,
    mean: f64,
    var: f64,
    seen: u32,
}

impl EwmaZ {
    pub fn new(alpha: f64, warmup: u32) -> Self {
        Self {
            alpha,
            warmup,
            mean: 0.0,
            var: 0.0,
            seen: 0,
        }
    }
}

impl Detector for EwmaZ {
    fn name(&self) -> &'static str {
        "ewma_z"
    }

    fn observe(&mut self, _at_ms: UnixMs, value: f64, learn: bool) -> Observation {
        if self.seen == 0 {
            if learn {
                self.mean = value;
                self.seen = 1;
            }
            return Observation::NEUTRAL;
        }
        let deviation = value - self.mean;
        // A floor relative to the level keeps a perfectly flat history from making any wiggle infinite.
        let std = self.var.sqrt().max(1e-9 * (1.0 + self.mean.abs()));
        let surprise = if self.seen < self.warmup {
            0.0
        } else {
            gaussian_two_sided_surprise(deviation / std)
        };
        let observation = Observation {
            surprise,
            baseline: self.mean,
        };
        if learn {
            // Past warm-up, the variance learns from a winsorised deviation: one outlier (or the first
            // points after a level shift) must not inflate it so much that the shift stops looking
            // unusual after a couple of points. The mean still moves with the raw value.
            let clipped = if self.seen >= self.warmup {
                deviation.clamp(-4.0 * std, 4.0 * std)
            } else {
                deviation
            };
            self.mean += self.alpha * deviation;
            self.var = (1.0 - self.alpha) * (self.var + self.alpha * clipped * clipped);
            self.seen = self.seen.saturating_add(1);
        }
        observation
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
    }

    fn explain(&self, observation: &Observation, value: f64) -> String {
        let std = self.var.sqrt();
        let z = if std > 0.0 {
            (value - observation.baseline) / std
        } else {
            0.0
        };
        format!("z = {z:.1} over ewma mean {:.4}", observation.baseline)
    }
}

/// Rank of the value within a bounded window of recent values.
#[derive(Debug, Clone)]
pub struct MedianMad {
    window: RankWindow,
    fill: usize,
}

impl MedianMad {
    pub fn new(window: usize) -> Self {
        Self {
            window: RankWindow::new(window),
            fill: min_fill(window),
        }
    }
}

impl Detector for MedianMad {
    fn name(&self) -> &'static str {
        "median_mad"
    }

    fn observe(&mut self, _at_ms: UnixMs, value: f64, learn: bool) -> Observation {
        let observation = if self.window.len() >= self.fill {
            Observation {
                surprise: self.window.tails(value).two_sided(),
                baseline: self.window.median().unwrap_or(f64::NAN),
            }
        } else {
            Observation::NEUTRAL
        };
        if learn {
            self.window.push(value);
        }
        observation
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.window.state_bytes() - std::mem::size_of::<RankWindow>()
    }

    fn explain(&self, observation: &Observation, value: f64) -> String {
        let mad = self.window.robust_scale();
        format!(
            "{value:.4} is {:.1} robust sigmas from median {:.4} (p = {:.1e})",
            (value - observation.baseline) / mad,
            observation.baseline,
            (-observation.surprise).exp()
        )
    }
}

#[derive(Debug, Clone, Copy)]
enum ShortStat {
    Mean,
    Spread,
}

/// Ranks a statistic of the last few values (their mean, or their spread) among its own recent history.
#[derive(Debug, Clone)]
pub struct ShortWindowRank {
    stat: ShortStat,
    recent: Vec<f32>,
    next: usize,
    history: RankWindow,
    fill: usize,
}

impl ShortWindowRank {
    fn new(stat: ShortStat, short: usize, window: usize) -> Self {
        Self {
            stat,
            recent: Vec::with_capacity(short),
            next: 0,
            history: RankWindow::new(window),
            fill: min_fill(window),
        }
    }

    fn statistic(&self) -> f64 {
        let n = self.recent.len() as f64;
        let mean = self.recent.iter().map(|v| f64::from(*v)).sum::<f64>() / n;
        match self.stat {
            ShortStat::Mean => mean,
            ShortStat::Spread => {
                self.recent
                    .iter()
                    .map(|v| (f64::from(*v) - mean).abs())
                    .sum::<f64>()
                    / n
            }
        }
    }
}

impl Detector for ShortWindowRank {
    fn name(&self) -> &'static str {
        match self.stat {
            ShortStat::Mean => "level_shift",
            ShortStat::Spread => "volatility",
        }
    }

    fn observe(&mut self, _at_ms: UnixMs, value: f64, learn: bool) -> Observation {
        // The statistic includes the current point; it is judged against statistics of earlier windows.
        let capacity = self.recent.capacity();
        let previous = if self.recent.len() < capacity {
            self.recent.push(value as f32);
            None
        } else {
            let old = std::mem::replace(&mut self.recent[self.next], value as f32);
            self.next = (self.next + 1) % capacity;
            Some(old)
        };
        if self.recent.len() < capacity {
            if !learn {
                self.recent.pop();
            }
            return Observation::NEUTRAL;
        }
        let statistic = self.statistic();
        let observation = if self.history.len() >= self.fill {
            Observation {
                surprise: self.history.tails(statistic).two_sided(),
                baseline: self.history.median().unwrap_or(f64::NAN),
            }
        } else {
            Observation::NEUTRAL
        };
        if learn {
            self.history.push(statistic);
        } else if let Some(old) = previous {
            // Undo: the excluded point must not enter the short window either.
            self.next = (self.next + capacity - 1) % capacity;
            self.recent[self.next] = old;
        }
        observation
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.recent.capacity() * 4 + self.history.state_bytes()
            - std::mem::size_of::<RankWindow>()
    }

    fn explain(&self, observation: &Observation, _value: f64) -> String {
        let what = match self.stat {
            ShortStat::Mean => "recent mean",
            ShortStat::Spread => "recent spread",
        };
        format!(
            "{what} {:.4} against typical {:.4} (p = {:.1e})",
            self.statistic(),
            observation.baseline,
            (-observation.surprise).exp()
        )
    }
}

/// Time-of-day (UTC) baseline: one EWMA mean per slot of the day, and the rank of the residual among
/// past residuals.
#[derive(Debug, Clone)]
pub struct Seasonal {
    alpha: f32,
    means: Box<[f32]>,
    period_ms: i64,
    seen: u32,
    residuals: RankWindow,
    fill: usize,
}

impl Seasonal {
    pub fn new(alpha: f64, window: usize, slots_per_day: usize, days: usize) -> Self {
        let days = days.clamp(1, 7);
        let slots = slots_per_day.clamp(1, 1440) * days;
        Self {
            alpha: alpha as f32,
            means: vec![f32::NAN; slots].into_boxed_slice(),
            period_ms: 86_400_000 * days as i64,
            seen: 0,
            residuals: RankWindow::new(window),
            fill: min_fill(window),
        }
    }

    fn slot(&self, at_ms: UnixMs) -> usize {
        let slot_ms = self.period_ms / self.means.len() as i64;
        (at_ms.rem_euclid(self.period_ms) / slot_ms) as usize % self.means.len()
    }
}

impl Detector for Seasonal {
    fn name(&self) -> &'static str {
        "seasonal"
    }

    fn observe(&mut self, at_ms: UnixMs, value: f64, learn: bool) -> Observation {
        let hour = self.slot(at_ms);
        let baseline = f64::from(self.means[hour]);
        if baseline.is_nan() {
            if learn {
                self.means[hour] = value as f32;
            }
            return Observation::NEUTRAL;
        }
        let residual = value - baseline;
        // Hour buckets fill only after a day of data; until most have a baseline the residuals mix
        // days and are not yet comparable.
        let observation = if self.residuals.len() >= self.fill
            && self.seen as usize >= self.means.len().min(288)
        {
            Observation {
                surprise: self.residuals.tails(residual).two_sided(),
                baseline,
            }
        } else {
            Observation::NEUTRAL
        };
        if learn {
            self.residuals.push(residual);
            self.means[hour] += self.alpha * residual as f32;
            self.seen = self.seen.saturating_add(1);
        }
        observation
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.means.len() * 4 + self.residuals.state_bytes()
            - std::mem::size_of::<RankWindow>()
    }

    fn explain(&self, observation: &Observation, value: f64) -> String {
        format!(
            "{value:.4} against the usual {:.4} at this time of day (p = {:.1e})",
            observation.baseline,
            (-observation.surprise).exp()
        )
    }
}

/// Two-sided CUSUM change-point detector on values standardised by a slow EWMA.
#[derive(Debug, Clone)]
pub struct Cusum {
    baseline: EwmaZ,
    slack: f64,
    upper: f64,
    lower: f64,
}

impl Cusum {
    pub fn new(alpha: f64, slack: f64, warmup: u32) -> Self {
        Self {
            baseline: EwmaZ::new(alpha, warmup),
            slack,
            upper: 0.0,
            lower: 0.0,
        }
    }
}

impl Detector for Cusum {
    fn name(&self) -> &'static str {
        "cusum"
    }

    fn observe(&mut self, at_ms: UnixMs, value: f64, learn: bool) -> Observation {
        let mean = self.baseline.mean;
        let std = self.baseline.var.sqrt().max(1e-9 * (1.0 + mean.abs()));
        let ready = self.baseline.seen >= self.baseline.warmup;
        self.baseline.observe(at_ms, value, learn);
        if !ready {
            return Observation::NEUTRAL;
        }
        let z = ((value - mean) / std).clamp(-50.0, 50.0);
        let upper = (self.upper + z - self.slack).max(0.0);
        let lower = (self.lower - z - self.slack).max(0.0);
        if learn {
            self.upper = upper;
            self.lower = lower;
        }
        // For a Gaussian walk with drift -k, P(max S > h) is about exp(-2kh).
        Observation {
            surprise: 2.0 * self.slack * upper.max(lower),
            baseline: mean,
        }
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
    }

    fn explain(&self, observation: &Observation, _value: f64) -> String {
        format!(
            "cumulative shift {:.1} sigmas from {:.4}",
            self.upper.max(self.lower),
            observation.baseline
        )
    }
}

/// Rank of the per-second rate of change among recent rates.
#[derive(Debug, Clone)]
pub struct RateOfChange {
    previous: Option<(UnixMs, f64)>,
    rates: RankWindow,
    fill: usize,
}

impl RateOfChange {
    pub fn new(window: usize) -> Self {
        Self {
            previous: None,
            rates: RankWindow::new(window),
            fill: min_fill(window),
        }
    }
}

impl Detector for RateOfChange {
    fn name(&self) -> &'static str {
        "rate_of_change"
    }

    fn observe(&mut self, at_ms: UnixMs, value: f64, learn: bool) -> Observation {
        let Some((before_ms, before)) = self.previous else {
            if learn {
                self.previous = Some((at_ms, value));
            }
            return Observation::NEUTRAL;
        };
        // Repeated or backwards timestamps happen (DST, clock steps); treat them as one second apart.
        let seconds = ((at_ms - before_ms) as f64 / 1000.0).max(1.0);
        let rate = (value - before) / seconds;
        let observation = if self.rates.len() >= self.fill {
            Observation {
                surprise: self.rates.tails(rate).two_sided(),
                baseline: self.rates.median().unwrap_or(0.0),
            }
        } else {
            Observation::NEUTRAL
        };
        if learn {
            self.rates.push(rate);
            self.previous = Some((at_ms, value));
        }
        observation
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.rates.state_bytes() - std::mem::size_of::<RankWindow>()
    }

    fn explain(&self, observation: &Observation, value: f64) -> String {
        let rate = self
            .previous
            .map(|(_, before)| value - before)
            .unwrap_or(0.0);
        format!(
            "change {rate:.4} against typical rate {:.4}/s (p = {:.1e})",
            observation.baseline,
            (-observation.surprise).exp()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_configs() -> Vec<DetectorConfig> {
        vec![
            DetectorConfig::EwmaZ {
                alpha: 0.05,
                warmup: 10,
            },
            DetectorConfig::MedianMad { window: 64 },
            DetectorConfig::LevelShift {
                short: 4,
                window: 64,
            },
            DetectorConfig::Volatility {
                short: 4,
                window: 64,
            },
            DetectorConfig::Seasonal {
                alpha: 0.1,
                window: 64,
                slots_per_day: 24,
                days: 1,
            },
            DetectorConfig::Cusum {
                alpha: 0.02,
                slack: 0.5,
                warmup: 10,
            },
            DetectorConfig::RateOfChange { window: 64 },
        ]
    }

    fn noise(i: usize) -> f64 {
        // A deterministic pseudo-noise in [-1, 1].
        let x = (i as f64 * 12.9898).sin() * 43_758.545_3;
        2.0 * (x - x.floor()) - 1.0
    }

    #[test]
    fn gaussian_surprise_matches_known_tails() {
        assert!((gaussian_two_sided_surprise(1.96) - (0.05f64).ln().abs()).abs() < 1e-3);
        assert!((gaussian_two_sided_surprise(0.0)).abs() < 1e-6);
        assert!(gaussian_two_sided_surprise(40.0) > 700.0);
    }

    #[test]
    fn every_detector_flags_a_large_spike_more_than_typical_points() {
        for config in all_configs() {
            let mut detector = config.build();
            let mut typical: f64 = 0.0;
            for i in 0..3000 {
                let at = i as i64 * 300_000;
                let observation = detector.observe(at, 10.0 + noise(i), true);
                if i > 2500 {
                    typical = typical.max(observation.surprise);
                }
            }
            let spike = detector.observe(3000 * 300_000, 40.0, true);
            assert!(
                spike.surprise > typical,
                "{}: spike {} typical {}",
                detector.name(),
                spike.surprise,
                typical
            );
        }
    }

    #[test]
    fn excluded_points_leave_the_state_unchanged() {
        for config in all_configs() {
            let mut learned = config.build();
            let mut excluded = config.build();
            for i in 0..200 {
                let at = i as i64 * 60_000;
                learned.observe(at, noise(i), true);
                excluded.observe(at, noise(i), true);
                if i % 10 == 0 {
                    excluded.observe(at + 1, 1e6, false);
                }
            }
            let a = learned.observe(200 * 60_000, 0.3, true);
            let b = excluded.observe(200 * 60_000, 0.3, true);
            assert_eq!(a, b, "{}", learned.name());
        }
    }

    #[test]
    fn score_mapping_is_monotone_and_bounded() {
        let mut last = -1.0;
        for surprise in [0.0, 0.1, 1.0, 4.6, 10.0, 100.0, 1e6] {
            let score = surprise_to_score(surprise);
            assert!((0.0..1.0).contains(&score) && score > last);
            assert!((score_to_surprise(score) - surprise).abs() < 1e-6 * (1.0 + surprise));
            last = score;
        }
    }

    #[test]
    fn invalid_parameters_are_named() {
        let error = DetectorConfig::EwmaZ {
            alpha: 1.5,
            warmup: 1,
        }
        .validate()
        .unwrap_err();
        assert!(error.contains("alpha"), "{error}");
        assert!(
            DetectorConfig::MedianMad { window: 1 }
                .validate()
                .unwrap_err()
                .contains("window")
        );
    }
}
