//! Human-readable durations ("500ms", "15s", "5m", "1h") as they appear in config files.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A [`Duration`] written and read as a human string such as `"15s"` or `"1h 30m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    pub const fn from_millis(millis: u64) -> Self {
        Self(Duration::from_millis(millis))
    }

    pub const fn get(self) -> Duration {
        self.0
    }
}

impl From<HumanDuration> for Duration {
    fn from(value: HumanDuration) -> Self {
        value.0
    }
}

impl FromStr for HumanDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(text.trim())
            .map(HumanDuration)
            .map_err(|error| format!("invalid duration {text:?} ({error}); write e.g. \"500ms\", \"15s\", \"5m\", \"1h\""))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_config_files_use() {
        assert_eq!(
            "500ms".parse::<HumanDuration>().unwrap().get(),
            Duration::from_millis(500)
        );
        assert_eq!(
            "15s".parse::<HumanDuration>().unwrap().get(),
            Duration::from_secs(15)
        );
        assert_eq!(
            "5m".parse::<HumanDuration>().unwrap().get(),
            Duration::from_secs(300)
        );
        assert_eq!(
            "1h".parse::<HumanDuration>().unwrap().get(),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn rejects_garbage_with_a_hint() {
        let error = "fifteen".parse::<HumanDuration>().unwrap_err();
        assert!(error.contains("\"fifteen\""), "{error}");
        assert!(error.contains("15s"), "{error}");
    }

    #[test]
    fn round_trips_through_serde() {
        let value = HumanDuration::from_millis(1500);
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(serde_json::from_str::<HumanDuration>(&json).unwrap(), value);
    }
}
