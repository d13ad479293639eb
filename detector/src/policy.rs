//! The classification policy (`alerts/policy.toml`): hard-threshold rules that give a signal its
//! level L1–L4, category and component, plus the settings that turn a sustained statistical anomaly
//! into an L4 signal.
//!
//! Parsing keeps spans, so every error names the file, the line and what is wrong.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use model::{HumanDuration, Labels, Level, SeriesKey, SignalCategory};

/// The shipped policy file, compiled in.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../../alerts/policy.toml");

/// A parsed, validated policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub anomaly: AnomalyPolicy,
    pub rules: Vec<Rule>,
}

/// When the statistical ensemble alone makes a signal.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnomalyPolicy {
    /// Ensemble score (0..1) at or above which a series counts as anomalous. Default 0.75.
    pub score: f64,
    /// Score below which an anomaly starts to clear. Default 0.5.
    pub clear_score: f64,
    /// How long the score must stay high before a signal starts. Default 30 s.
    #[serde(rename = "for")]
    pub for_duration: HumanDuration,
    /// How long a signal's series must stay normal (no rule firing, score below `clear_score`) before
    /// the signal ends. Default 60 s.
    pub clear_after: HumanDuration,
    /// The level of such signals. Default L4.
    pub level: Level,
}

impl Default for AnomalyPolicy {
    fn default() -> Self {
        Self {
            score: 0.75,
            clear_score: 0.5,
            for_duration: HumanDuration::from_secs(30),
            clear_after: HumanDuration::from_secs(60),
            level: Level::L4,
        }
    }
}

/// What a rule measures on a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    Value,
    Abs,
    RatePctPerMin,
    UnchangedFor,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Comparison {
    #[serde(rename = ">")]
    Greater,
    #[serde(rename = ">=")]
    GreaterOrEqual,
    #[serde(rename = "<")]
    Less,
    #[serde(rename = "<=")]
    LessOrEqual,
    #[serde(rename = "==")]
    Equal,
    #[serde(rename = "!=")]
    NotEqual,
}

impl Comparison {
    pub fn holds(self, observed: f64, threshold: f64) -> bool {
        match self {
            Comparison::Greater => observed > threshold,
            Comparison::GreaterOrEqual => observed >= threshold,
            Comparison::Less => observed < threshold,
            Comparison::LessOrEqual => observed <= threshold,
            Comparison::Equal => observed == threshold,
            Comparison::NotEqual => observed != threshold,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => ">=",
            Comparison::Less => "<",
            Comparison::LessOrEqual => "<=",
            Comparison::Equal => "==",
            Comparison::NotEqual => "!=",
        }
    }
}

/// Where a rule's component name comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentSource {
    Literal(String),
    Label(String),
}

/// One classification rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub title: String,
    pub series: String,
    pub labels: Labels,
    pub quantity: Quantity,
    /// The look-back of `rate_pct_per_min`.
    pub over: HumanDuration,
    pub op: Comparison,
    pub threshold: f64,
    pub for_duration: HumanDuration,
    pub level: Level,
    pub category: SignalCategory,
    pub component: ComponentSource,
}

impl Rule {
    /// Whether the rule watches `key`.
    pub fn matches(&self, key: &SeriesKey) -> bool {
        key.name == self.series
            && self
                .labels
                .iter()
                .all(|(name, value)| key.label(name) == Some(value.as_str()))
    }

    /// The component a signal on `key` is about.
    pub fn component_for(&self, key: &SeriesKey) -> String {
        match &self.component {
            ComponentSource::Literal(name) => name.clone(),
            ComponentSource::Label(label) => key
                .label(label)
                .map_or_else(|| key.name.clone(), str::to_owned),
        }
    }

    /// The reason string of a firing rule, e.g.
    /// "peg deviation: |peg_deviation_percent| 3.4 for 90 s > 2 for 60 s → L2".
    pub fn reason(&self, observed: f64, held_ms: i64) -> String {
        let quantity = match self.quantity {
            Quantity::Value => self.series.clone(),
            Quantity::Abs => format!("|{}|", self.series),
            Quantity::RatePctPerMin => format!("{} change %/min", self.series),
            Quantity::UnchangedFor => format!("{} unchanged for (s)", self.series),
        };
        format!(
            "{}: {} {} for {} s {} {} for {} s → {}",
            self.title,
            quantity,
            round_for_humans(observed),
            held_ms.max(0) / 1000,
            self.op.as_str(),
            round_for_humans(self.threshold),
            self.for_duration.get().as_secs(),
            self.level
        )
    }
}

fn round_for_humans(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e12 {
        format!("{value:.0}")
    } else if value.abs() >= 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    }
}

/// A policy file that could not be used. The message names the file and line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct PolicyError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl model::HasKind for PolicyError {
    fn kind(&self) -> model::ErrorKind {
        model::ErrorKind::InvalidInput
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    anomaly: Option<Spanned<AnomalyPolicy>>,
    #[serde(default)]
    rule: Vec<Spanned<RuleFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: String,
    title: Option<String>,
    series: String,
    #[serde(default)]
    labels: Labels,
    quantity: Quantity,
    over: Option<HumanDuration>,
    op: Comparison,
    threshold: Spanned<f64>,
    #[serde(rename = "for")]
    for_duration: HumanDuration,
    level: Level,
    category: SignalCategory,
    component: Option<String>,
    component_label: Option<String>,
}

impl Policy {
    /// Parses and validates a policy; `file_name` is used in error messages.
    pub fn from_toml_str(text: &str, file_name: &str) -> Result<Policy, PolicyError> {
        let error_at = |span: Option<Range<usize>>, message: String| PolicyError {
            file: file_name.to_owned(),
            line: span.map_or(1, |s| line_of(text, s.start)),
            message,
        };
        let parsed: PolicyFile =
            toml::from_str(text).map_err(|e| error_at(e.span(), e.message().trim().to_owned()))?;
        let anomaly = match parsed.anomaly {
            Some(spanned) => {
                let span = spanned.span();
                let anomaly = spanned.into_inner();
                if !(0.0..=1.0).contains(&anomaly.score)
                    || !(0.0..=1.0).contains(&anomaly.clear_score)
                    || anomaly.clear_score > anomaly.score
                {
                    return Err(error_at(
                        Some(span),
                        "[anomaly] needs 0 <= clear_score <= score <= 1".to_owned(),
                    ));
                }
                anomaly
            }
            None => AnomalyPolicy::default(),
        };
        let mut rules: Vec<Rule> = Vec::with_capacity(parsed.rule.len());
        for spanned in parsed.rule {
            let span = spanned.span();
            let rule = spanned.into_inner();
            let at = |message: String| {
                error_at(
                    Some(span.clone()),
                    format!("rule {:?}: {message}", rule.name),
                )
            };
            if rules.iter().any(|r| r.name == rule.name) {
                return Err(at("duplicate rule name".to_owned()));
            }
            if rule.series.trim().is_empty() {
                return Err(at("series must name a metric".to_owned()));
            }
            if !rule.threshold.get_ref().is_finite() {
                return Err(error_at(
                    Some(rule.threshold.span()),
                    format!("rule {:?}: threshold must be a finite number", rule.name),
                ));
            }
            let component = match (rule.component.clone(), rule.component_label.clone()) {
                (Some(name), None) => ComponentSource::Literal(name),
                (None, Some(label)) => ComponentSource::Label(label),
                (Some(_), Some(_)) => {
                    return Err(at(
                        "give either component or component_label, not both".to_owned()
                    ));
                }
                (None, None) => {
                    return Err(at(
                        "missing component (a name) or component_label (a label naming it)"
                            .to_owned(),
                    ));
                }
            };
            let over = match (rule.quantity, rule.over) {
                (Quantity::RatePctPerMin, Some(over)) if over.get().is_zero() => {
                    return Err(at("over must be longer than 0s".to_owned()));
                }
                (Quantity::RatePctPerMin, over) => over.unwrap_or(HumanDuration::from_secs(60)),
                (_, Some(_)) => {
                    return Err(at(
                        "over only applies to quantity = \"rate_pct_per_min\"".to_owned()
                    ));
                }
                (_, None) => HumanDuration::from_secs(0),
            };
            rules.push(Rule {
                title: rule.title.clone().unwrap_or_else(|| rule.name.clone()),
                name: rule.name,
                series: rule.series,
                labels: rule.labels,
                quantity: rule.quantity,
                over,
                op: rule.op,
                threshold: rule.threshold.into_inner(),
                for_duration: rule.for_duration,
                level: rule.level,
                category: rule.category,
                component,
            });
        }
        Ok(Policy { anomaly, rules })
    }

    /// The shipped `alerts/policy.toml`.
    pub fn default_policy() -> Policy {
        Policy::from_toml_str(DEFAULT_POLICY_TOML, "alerts/policy.toml")
            .expect("the shipped policy is valid (tested)")
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "[[rule]]\nname = \"r\"\nseries = \"x\"\nquantity = \"value\"\nop = \">\"\nthreshold = 1\nfor = \"0s\"\nlevel = \"L2\"\ncategory = \"peg\"\ncomponent = \"peg\"\n";

    #[test]
    fn the_shipped_policy_parses_and_covers_the_framework() {
        let policy = Policy::default_policy();
        let level_of = |name: &str| {
            policy
                .rules
                .iter()
                .find(|r| r.name == name)
                .map(|r| r.level)
        };
        assert_eq!(level_of("exploit-drain"), Some(Level::L1));
        assert_eq!(level_of("chain-head-stalled"), Some(Level::L1));
        assert_eq!(level_of("peg-deviation"), Some(Level::L2));
        assert_eq!(level_of("validator-down"), Some(Level::L3));
        assert_eq!(policy.anomaly.level, Level::L4);
    }

    #[test]
    fn a_minimal_rule_parses() {
        let policy = Policy::from_toml_str(RULE, "p.toml").unwrap();
        assert_eq!(policy.rules.len(), 1);
        assert_eq!(policy.rules[0].title, "r");
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_problem() {
        let cases = [
            (RULE.replace("level = \"L2\"", "level = \"L5\""), 8, "L5"),
            (RULE.replace("op = \">\"", "op = \"=>\""), 5, "=>"),
            (RULE.replace("for = \"0s\"", "for = \"soon\""), 7, "soon"),
            (
                RULE.replace("component = \"peg\"\n", ""),
                1,
                "missing component",
            ),
            (
                RULE.replace("category = \"peg\"", "category = \"money\""),
                9,
                "money",
            ),
            (format!("# comment\n{RULE}colour = \"red\"\n"), 12, "colour"),
            (format!("{RULE}{RULE}"), 11, "duplicate"),
            (
                RULE.replace(
                    "quantity = \"value\"",
                    "quantity = \"value\"\nover = \"1m\"",
                ),
                1,
                "over only applies",
            ),
            ("[[rule]\n".to_owned(), 1, ""),
        ];
        for (text, line, what) in cases {
            let error = Policy::from_toml_str(&text, "alerts/policy.toml").unwrap_err();
            let shown = error.to_string();
            assert!(
                shown.starts_with(&format!("alerts/policy.toml:{line}: ")),
                "expected line {line}: {shown}"
            );
            assert!(shown.contains(what), "expected {what:?} in {shown}");
        }
    }

    #[test]
    fn rules_match_names_and_labels_and_pick_their_component() {
        let text = RULE.replace(
            "component = \"peg\"",
            "component_label = \"module\"\nlabels = { target = \"core\" }",
        );
        let rule = &Policy::from_toml_str(&text, "p.toml").unwrap().rules[0];
        let key = SeriesKey::new("x")
            .with_label("target", "core")
            .with_label("module", "bridge");
        assert!(rule.matches(&key));
        assert!(!rule.matches(&SeriesKey::new("x").with_label("target", "other")));
        assert_eq!(rule.component_for(&key), "bridge");
    }

    #[test]
    fn reasons_read_like_the_framework() {
        let policy = Policy::default_policy();
        let peg = policy
            .rules
            .iter()
            .find(|r| r.name == "peg-deviation")
            .unwrap();
        assert_eq!(
            peg.reason(3.4, 90_000),
            "peg deviation: |peg_deviation_percent| 3.4 for 90 s > 2 for 5 s → L2"
        );
    }
}
