//! Signals: the detector's judgement that a series is abnormal, how sure it is and how bad it is.

use serde::{Deserialize, Serialize};

use crate::{Level, SeriesKey, UnixMs};

/// What kind of problem a signal is about; the classification policy maps kind and magnitude to a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalCategory {
    /// Block production, finality, validators, peers.
    Chain,
    /// The token's price against its peg target.
    Peg,
    /// Security breaches and economic exploits (abnormal outflows of value locked).
    Security,
    /// Hosts and services under the protocol.
    Infra,
    /// What users experience: latency, errors, per region.
    Ux,
}

impl SignalCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            SignalCategory::Chain => "chain",
            SignalCategory::Peg => "peg",
            SignalCategory::Security => "security",
            SignalCategory::Infra => "infra",
            SignalCategory::Ux => "ux",
        }
    }
}

/// One detector's contribution to a signal: what it saw and against what baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The detector's name, e.g. `ewma_z`, `cusum`, `threshold`.
    pub detector: String,
    /// Its score in [0, 1].
    pub score: f64,
    /// The observed value.
    pub value: f64,
    /// What the detector expected (mean, median, seasonal baseline or threshold).
    pub baseline: f64,
    /// A short human explanation, e.g. "z = 6.1 over EWMA mean 1.000".
    pub detail: String,
}

/// A judgement that something is abnormal, as the responder consumes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Stable for the life of the signal (one anomaly episode of one series).
    pub id: String,
    pub series: SeriesKey,
    pub category: SignalCategory,
    /// The component affected (`chain`, `peg`, `bridge`, …), for grouping and the status page.
    pub component: String,
    /// Calibrated anomaly score in [0, 1].
    pub score: f64,
    pub level: Level,
    /// Why this level, e.g. "peg deviation 3.4% for 90 s > 2% for 60 s → L2".
    pub reason: String,
    pub started_at_ms: UnixMs,
    /// The time of the latest sample that kept the signal alive (or ended it).
    pub updated_at_ms: UnixMs,
    /// False once the series has been back to normal long enough.
    pub active: bool,
    pub evidence: Vec<Evidence>,
}
