//! Series identity (a metric name plus a label set) and the samples that flow through the pipeline.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::UnixMs;

/// A label set, ordered by label name so equal sets compare and hash equal.
pub type Labels = BTreeMap<String, String>;

/// The identity of one series: `name{label="value",...}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeriesKey {
    pub name: String,
    #[serde(default)]
    pub labels: Labels,
}

impl SeriesKey {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            labels: Labels::new(),
        }
    }

    /// Adds or replaces one label; returns `self` for chaining.
    pub fn with_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(name.into(), value.into());
        self
    }

    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }
}

impl fmt::Display for SeriesKey {
    /// Prometheus selector form, e.g. `peg_price{target="core-price"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.labels.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (index, (name, value)) in self.labels.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{name}=\"")?;
            for ch in value.chars() {
                match ch {
                    '\\' => f.write_str("\\\\")?,
                    '"' => f.write_str("\\\"")?,
                    '\n' => f.write_str("\\n")?,
                    other => write!(f, "{other}")?,
                }
            }
            f.write_str("\"")?;
        }
        f.write_str("}")
    }
}

/// One observed value of one series at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub key: Arc<SeriesKey>,
    pub at_ms: UnixMs,
    pub value: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_a_prometheus_selector_with_escapes() {
        let key = SeriesKey::new("peg_price")
            .with_label("target", "core")
            .with_label("note", "a\"b\\c");
        assert_eq!(
            key.to_string(),
            r#"peg_price{note="a\"b\\c",target="core"}"#
        );
        assert_eq!(SeriesKey::new("up").to_string(), "up");
    }
}
