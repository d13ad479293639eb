//! Prometheus-style series selectors: `name{label="v",label=~"re",label!="x",label!~"y"}`.

use std::fmt;
use std::str::FromStr;

use regex::Regex;

/// How a [`Matcher`] compares a label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`, a regex anchored at both ends, as in Prometheus.
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One label matcher. A label that a series lacks has the value `""`, as in Prometheus.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
    /// The compiled, anchored regex for `=~` and `!~`.
    regex: Option<Regex>,
}

impl Matcher {
    /// Builds a matcher; fails only for an invalid regex.
    pub fn new(
        label: impl Into<String>,
        op: MatchOp,
        value: impl Into<String>,
    ) -> Result<Self, SelectorError> {
        let value = value.into();
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(compile(&value).map_err(|problem| SelectorError { column: 1, problem })?)
            }
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Self {
            label: label.into(),
            op,
            value,
            regex,
        })
    }

    /// Whether `value` (`""` for a missing label) satisfies this matcher.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => self.value == value,
            MatchOp::NotEqual => self.value != value,
            MatchOp::Regex => self.regex.as_ref().is_some_and(|re| re.is_match(value)),
            MatchOp::NotRegex => !self.regex.as_ref().is_some_and(|re| re.is_match(value)),
        }
    }
}

/// A parsed selector. `__name__` matchers are folded into [`Selector::name`] when they are plain
/// equalities, and otherwise apply to the metric name like any other label.
#[derive(Debug, Clone)]
pub struct Selector {
    name: Option<String>,
    matchers: Vec<Matcher>,
}

/// Why a selector did not parse: the 1-based column (in characters) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid selector at column {column}: {problem}")]
pub struct SelectorError {
    pub column: usize,
    pub problem: String,
}

impl model::HasKind for SelectorError {
    fn kind(&self) -> model::ErrorKind {
        model::ErrorKind::InvalidInput
    }
}

impl Selector {
    /// Parses `name`, `name{...}` or `{...}`. Like Prometheus, a selector must name a metric or
    /// have at least one matcher that does not match the empty string, so it cannot select
    /// everything by accident.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        Parser { text, pos: 0 }.selector()
    }

    /// Selects the series named `name`, whatever their labels.
    pub fn name_only(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            matchers: Vec::new(),
        }
    }

    /// The exact metric name, if the selector has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The label matchers (other than an exact name).
    pub fn matchers(&self) -> &[Matcher] {
        &self.matchers
    }

    /// Whether the series `name` with labels looked up by `label` is selected.
    pub fn matches_with<'a>(&self, name: &str, label: impl Fn(&str) -> Option<&'a str>) -> bool {
        if self.name.as_deref().is_some_and(|wanted| wanted != name) {
            return false;
        }
        self.matchers.iter().all(|matcher| {
            let value = if matcher.label == "__name__" {
                Some(name)
            } else {
                label(&matcher.label)
            };
            matcher.matches(value.unwrap_or(""))
        })
    }

    /// Whether `key` is selected.
    pub fn matches(&self, key: &model::SeriesKey) -> bool {
        self.matches_with(&key.name, |name| key.label(name))
    }
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Selector::parse(text)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            f.write_str(name)?;
        }
        if self.matchers.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (index, matcher) in self.matchers.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}{}\"", matcher.label, matcher.op.as_str())?;
            for ch in matcher.value.chars() {
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

/// Compiles a Prometheus regex: anchored at both ends, with a size cap so that a hostile
/// selector cannot make the HTTP layer build a huge automaton.
fn compile(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
        .map_err(|error| match error {
            regex::Error::CompiledTooBig(_) => "regex too large".to_owned(),
            other => format!(
                "invalid regex: {}",
                other
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .to_lowercase()
            ),
        })
}

/// A hand-written recursive-descent parser; positions are byte offsets, errors report columns
/// in characters.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn selector(mut self) -> Result<Selector, SelectorError> {
        self.skip_blanks();
        let name_len = crate::exposition::metric_name_len(&self.text.as_bytes()[self.pos..]);
        let mut name = None;
        if name_len > 0 {
            name = Some(self.text[self.pos..self.pos + name_len].to_owned());
            self.pos += name_len;
            self.skip_blanks();
        }
        let mut matchers = Vec::new();
        if self.peek() == Some(b'{') {
            self.pos += 1;
            loop {
                self.skip_blanks();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    break;
                }
                let matcher_at = self.pos;
                let matcher = self.matcher()?;
                // Folded into the name only when it is one: `{__name__="a b"}` stays a matcher
                // (that selects nothing), so printing the selector gives back the same selector.
                let valid_name = crate::exposition::metric_name_len(matcher.value.as_bytes())
                    == matcher.value.len();
                if matcher.label == "__name__" && matcher.op == MatchOp::Equal && valid_name {
                    if name.is_some() {
                        return Err(self.error_at(matcher_at, "metric name given twice"));
                    }
                    name = Some(matcher.value);
                } else {
                    matchers.push(matcher);
                }
                self.skip_blanks();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    Some(_) => return Err(self.error("expected ',' or '}' after a matcher")),
                    None => return Err(self.error("missing '}'")),
                }
            }
            self.skip_blanks();
        }
        if self.pos < self.text.len() {
            let problem = if name.is_none() && matchers.is_empty() {
                "expected a metric name or '{'"
            } else {
                "unexpected text after the selector"
            };
            return Err(self.error(problem));
        }
        if name.is_none() && matchers.iter().all(|matcher| matcher.matches("")) {
            return Err(SelectorError {
                column: 1,
                problem: "a selector needs a metric name or a matcher that does not match the empty string".to_owned(),
            });
        }
        Ok(Selector { name, matchers })
    }

    fn matcher(&mut self) -> Result<Matcher, SelectorError> {
        let name_len = crate::exposition::label_name_len(&self.text.as_bytes()[self.pos..]);
        if name_len == 0 {
            return Err(self.error("expected a label name"));
        }
        let label = self.text[self.pos..self.pos + name_len].to_owned();
        self.pos += name_len;
        self.skip_blanks();
        let rest = &self.text.as_bytes()[self.pos..];
        let op = match rest {
            [b'=', b'~', ..] => MatchOp::Regex,
            [b'!', b'~', ..] => MatchOp::NotRegex,
            [b'!', b'=', ..] => MatchOp::NotEqual,
            [b'=', ..] => MatchOp::Equal,
            _ => return Err(self.error("expected one of =, !=, =~, !~ after the label name")),
        };
        self.pos += op.as_str().len();
        self.skip_blanks();
        let value_at = self.pos;
        let value = self.string()?;
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(compile(&value).map_err(|problem| self.error_at(value_at, &problem))?)
            }
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Matcher {
            label,
            op,
            value,
            regex,
        })
    }

    /// A PromQL string literal: "…" or '…' with escapes, or `…` raw.
    fn string(&mut self) -> Result<String, SelectorError> {
        let start = self.pos;
        let quote = match self.peek() {
            Some(quote @ (b'"' | b'\'' | b'`')) => quote as char,
            _ => return Err(self.error("expected a quoted string")),
        };
        self.pos += 1;
        let mut value = String::new();
        let mut chars = self.text[self.pos..].char_indices();
        while let Some((offset, ch)) = chars.next() {
            if ch == quote {
                self.pos += offset + 1;
                return Ok(value);
            }
            if ch == '\\' && quote != '`' {
                let escape_at = self.pos + offset;
                let decoded = match chars.next().map(|(_, ch)| ch) {
                    Some('\\') => '\\',
                    Some('"') => '"',
                    Some('\'') => '\'',
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    Some('u') => {
                        let hex: String = chars.by_ref().take(4).map(|(_, ch)| ch).collect();
                        u32::from_str_radix(&hex, 16)
                            .ok()
                            .filter(|_| hex.len() == 4)
                            .and_then(char::from_u32)
                            .ok_or_else(|| self.error_at(escape_at, "invalid \\u escape"))?
                    }
                    _ => return Err(self.error_at(escape_at, "unknown escape sequence")),
                };
                value.push(decoded);
                continue;
            }
            value.push(ch);
        }
        Err(self.error_at(start, "string is not terminated"))
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn error(&self, problem: &str) -> SelectorError {
        self.error_at(self.pos, problem)
    }

    fn error_at(&self, pos: usize, problem: &str) -> SelectorError {
        let column = self.text[..pos.min(self.text.len())].chars().count() + 1;
        SelectorError {
            column,
            problem: problem.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::SeriesKey;

    fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
        labels
            .iter()
            .fold(SeriesKey::new(name), |key, (label, value)| {
                key.with_label(*label, *value)
            })
    }

    #[test]
    fn bare_name_selects_every_series_of_that_name() {
        let selector = Selector::parse("up").unwrap();
        assert_eq!(selector.name(), Some("up"));
        assert!(selector.matches(&key("up", &[("job", "a")])));
        assert!(!selector.matches(&key("upx", &[])));
    }

    #[test]
    fn all_four_operators() {
        let selector = Selector::parse(
            r#"node_cpu_seconds_total{cpu="0", mode=~"idle|user", instance!="b", job!~"bad.*"}"#,
        )
        .unwrap();
        assert!(selector.matches(&key(
            "node_cpu_seconds_total",
            &[
                ("cpu", "0"),
                ("mode", "idle"),
                ("instance", "a"),
                ("job", "node")
            ]
        )));
        assert!(!selector.matches(&key(
            "node_cpu_seconds_total",
            &[("cpu", "0"), ("mode", "system"), ("instance", "a")]
        )));
        assert!(!selector.matches(&key(
            "node_cpu_seconds_total",
            &[("cpu", "0"), ("mode", "idle"), ("instance", "b")]
        )));
        assert!(!selector.matches(&key(
            "node_cpu_seconds_total",
            &[("cpu", "0"), ("mode", "idle"), ("job", "badjob")]
        )));
    }

    #[test]
    fn regexes_are_anchored_like_prometheus() {
        let selector = Selector::parse(r#"x{mode=~"id"}"#).unwrap();
        assert!(!selector.matches(&key("x", &[("mode", "idle")])));
        assert!(
            Selector::parse(r#"x{mode=~"id.*"}"#)
                .unwrap()
                .matches(&key("x", &[("mode", "idle")]))
        );
        // An alternation must not escape the anchors.
        assert!(
            !Selector::parse(r#"x{mode=~"a|b"}"#)
                .unwrap()
                .matches(&key("x", &[("mode", "ab")]))
        );
    }

    #[test]
    fn missing_label_is_the_empty_string() {
        let selector = Selector::parse(r#"x{env=""}"#).unwrap();
        assert!(selector.matches(&key("x", &[])));
        assert!(!selector.matches(&key("x", &[("env", "prod")])));
        assert!(
            Selector::parse(r#"x{env!=""}"#)
                .unwrap()
                .matches(&key("x", &[("env", "prod")]))
        );
    }

    #[test]
    fn name_matcher_without_a_name() {
        let selector = Selector::parse(r#"{__name__=~"core_module_.*", module="bridge"}"#).unwrap();
        assert_eq!(selector.name(), None);
        assert!(selector.matches(&key("core_module_paused", &[("module", "bridge")])));
        assert!(!selector.matches(&key("core_peers", &[("module", "bridge")])));
        let exact = Selector::parse(r#"{__name__="up"}"#).unwrap();
        assert_eq!(exact.name(), Some("up"));
        // Found by the fuzzer: a "name" that is not one must not be printed as a bare name.
        let odd = Selector::parse(r#"{__name__="c~ore"}"#).unwrap();
        assert_eq!(
            (odd.name(), odd.to_string()),
            (None, r#"{__name__="c~ore"}"#.to_owned())
        );
    }

    #[test]
    fn trailing_comma_blanks_and_quote_styles() {
        let selector = Selector::parse(" x { a = 'v' , b=`r\\aw`, } ").unwrap();
        assert!(selector.matches(&key("x", &[("a", "v"), ("b", "r\\aw")])));
    }

    #[test]
    fn escapes_in_values() {
        let selector = Selector::parse(r#"x{path="C:\\dir\"q\"\n"}"#).unwrap();
        assert!(selector.matches(&key("x", &[("path", "C:\\dir\"q\"\n")])));
        assert_eq!(
            Selector::parse(&selector.to_string()).unwrap().to_string(),
            selector.to_string()
        );
    }

    #[test]
    fn errors_say_what_and_where() {
        let cases = [
            ("", 1, "metric name"),
            ("x{a=\"1\"", 8, "missing '}'"),
            ("x{1a=\"1\"}", 3, "label name"),
            ("x{a==\"1\"}", 5, "quoted string"),
            ("x{a~\"1\"}", 4, "=, !=, =~, !~"),
            ("x{a=\"1\" b=\"2\"}", 9, "',' or '}'"),
            ("x{a=\"1}", 5, "not terminated"),
            ("x{a=~\"(\"}", 6, "invalid regex"),
            ("{a=~\".*\"}", 1, "does not match the empty string"),
            ("{}", 1, "does not match the empty string"),
            ("x y", 3, "unexpected text"),
            ("x{a=\"\\q\"}", 6, "unknown escape"),
            ("x{__name__=\"y\"}", 3, "metric name given twice"),
            ("ü{a=\"1\"}", 1, "expected a metric name"),
        ];
        for (text, column, needle) in cases {
            let error = Selector::parse(text).expect_err(text);
            assert_eq!(error.column, column, "{text}: {error}");
            assert!(error.to_string().contains(needle), "{text}: {error}");
            assert!(
                error.to_string().starts_with("invalid selector at column"),
                "{error}"
            );
        }
    }

    #[test]
    fn huge_regexes_are_refused() {
        let error = Selector::parse(r#"x{a=~"(a{1000}){1000}"}"#).unwrap_err();
        assert!(error.problem.contains("too large"), "{error}");
    }
}
