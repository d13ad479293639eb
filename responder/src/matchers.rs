//! Label matchers in Alertmanager's text form (`name="value"`, `name!="value"`, `name=~"regex"`,
//! `name!~"regex"`), used by silences and inhibition rules. A missing label counts as the empty string,
//! as in Alertmanager, so `module!=""` means "has a module label".

use std::fmt;

use model::Labels;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

/// One label matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    name: String,
    op: Op,
    value: String,
    regex: Option<regex::Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Matcher {
    /// Parses `name="value"` and its `!=`, `=~`, `!~` forms (quotes optional).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (name, op, rest) = ["!=", "=~", "!~", "="]
            .iter()
            .filter_map(|symbol| text.find(symbol).map(|at| (at, *symbol)))
            .min_by_key(|(at, symbol)| (*at, std::cmp::Reverse(symbol.len())))
            .map(|(at, symbol)| {
                let op = match symbol {
                    "!=" => Op::NotEqual,
                    "=~" => Op::Regex,
                    "!~" => Op::NotRegex,
                    _ => Op::Equal,
                };
                (text[..at].trim(), op, text[at + symbol.len()..].trim())
            })
            .ok_or_else(|| format!("matcher {text:?} has no operator; write name=\"value\""))?;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "matcher {text:?} has an invalid label name {name:?}"
            ));
        }
        let value = rest
            .strip_prefix('"')
            .and_then(|inner| inner.strip_suffix('"'))
            .unwrap_or(rest)
            .replace("\\\"", "\"");
        let regex = match op {
            Op::Regex | Op::NotRegex => Some(
                // Anchored like Prometheus: the whole value must match.
                regex::Regex::new(&format!("^(?:{value})$"))
                    .map_err(|error| format!("matcher {text:?} has an invalid regex: {error}"))?,
            ),
            Op::Equal | Op::NotEqual => None,
        };
        Ok(Self {
            name: name.to_owned(),
            op,
            value,
            regex,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        let actual = labels.get(&self.name).map(String::as_str).unwrap_or("");
        match (self.op, &self.regex) {
            (Op::Equal, _) => actual == self.value,
            (Op::NotEqual, _) => actual != self.value,
            (Op::Regex, Some(regex)) => regex.is_match(actual),
            (Op::NotRegex, Some(regex)) => !regex.is_match(actual),
            (Op::Regex | Op::NotRegex, None) => false,
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            Op::Equal => "=",
            Op::NotEqual => "!=",
            Op::Regex => "=~",
            Op::NotRegex => "!~",
        };
        write!(f, "{}{op}{:?}", self.name, self.value)
    }
}

impl Serialize for Matcher {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Matcher::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Whether every matcher matches (an empty list matches everything).
pub fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|matcher| matcher.matches(labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_and_applies_the_four_operators() {
        let set = labels(&[("component", "bridge"), ("alertname", "ChainHalted")]);
        assert!(
            Matcher::parse(r#"component="bridge""#)
                .unwrap()
                .matches(&set)
        );
        assert!(
            !Matcher::parse(r#"component!="bridge""#)
                .unwrap()
                .matches(&set)
        );
        assert!(
            Matcher::parse(r#"alertname=~"Chain.*""#)
                .unwrap()
                .matches(&set)
        );
        assert!(
            !Matcher::parse(r#"alertname=~"Chain""#)
                .unwrap()
                .matches(&set),
            "anchored"
        );
        assert!(
            Matcher::parse(r#"alertname!~"Peg.*""#)
                .unwrap()
                .matches(&set)
        );
        assert!(
            Matcher::parse(r#"module!="""#)
                .unwrap()
                .matches(&labels(&[("module", "escrow")]))
        );
        assert!(
            !Matcher::parse(r#"module!="""#).unwrap().matches(&set),
            "missing is empty"
        );
    }

    #[test]
    fn bad_matchers_say_what_is_wrong() {
        assert!(
            Matcher::parse("component")
                .unwrap_err()
                .contains("no operator")
        );
        assert!(
            Matcher::parse(r#"a b="c""#)
                .unwrap_err()
                .contains("label name")
        );
        assert!(Matcher::parse(r#"a=~"(""#).unwrap_err().contains("regex"));
    }

    #[test]
    fn round_trips_through_text() {
        let matcher = Matcher::parse(r#"alertname=~"Chain.*""#).unwrap();
        assert_eq!(Matcher::parse(&matcher.to_string()).unwrap(), matcher);
    }
}
