//! Incident levels L1 (critical) to L4 (low), as the protocol's operating framework defines them.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How bad an incident is. `L1` is the most severe; the derived order puts `L1` first (`L1 < L4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    /// Critical: platform down, security breach, economic exploit. Respond within 5 minutes.
    L1,
    /// High: performance degradation, peg deviation over 2%, governance attack. Respond within 15 minutes.
    L2,
    /// Medium: a module malfunctioning, a single validator down, UX degraded in one region. Within 1 hour.
    L3,
    /// Low: minor anomalies, analytics discrepancies. Within 24 hours.
    L4,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::L1, Level::L2, Level::L3, Level::L4];

    /// The response-time target of the operating framework.
    pub fn response_target(self) -> Duration {
        match self {
            Level::L1 => Duration::from_secs(5 * 60),
            Level::L2 => Duration::from_secs(15 * 60),
            Level::L3 => Duration::from_secs(60 * 60),
            Level::L4 => Duration::from_secs(24 * 60 * 60),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::L1 => "L1",
            Level::L2 => "L2",
            Level::L3 => "L3",
            Level::L4 => "L4",
        }
    }

    /// A word for people: critical, high, medium, low.
    pub fn severity(self) -> &'static str {
        match self {
            Level::L1 => "critical",
            Level::L2 => "high",
            Level::L3 => "medium",
            Level::L4 => "low",
        }
    }

    /// Whether `self` is more severe than `other`.
    pub fn is_more_severe_than(self, other: Level) -> bool {
        self < other
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_uppercase().as_str() {
            "L1" => Ok(Level::L1),
            "L2" => Ok(Level::L2),
            "L3" => Ok(Level::L3),
            "L4" => Ok(Level::L4),
            _ => Err(format!(
                "unknown level {text:?}; expected one of L1, L2, L3, L4"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l1_is_the_most_severe() {
        assert!(Level::L1.is_more_severe_than(Level::L2));
        assert!(!Level::L4.is_more_severe_than(Level::L3));
        assert_eq!(Level::ALL.iter().min(), Some(&Level::L1));
    }

    #[test]
    fn parses_case_insensitively_and_rejects_others() {
        assert_eq!("l2".parse::<Level>().unwrap(), Level::L2);
        assert!(
            "L5".parse::<Level>()
                .unwrap_err()
                .contains("L1, L2, L3, L4")
        );
    }
}
