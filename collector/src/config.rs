//! Configuration of the collector: the `[[targets]]` entries and the engine-wide settings.
//!
//! Every field has a default so a minimal target is `name`, `kind` and `url`. Unknown keys are rejected
//! (a typo such as `intervall` must not silently fall back to a default). [`TargetConfig::validate`] and
//! [`validate_targets`] report *all* problems at once, each with its path (`targets[2].url: ...`), so
//! `vigil check` can print them together.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::Duration;

use model::HumanDuration;
use serde::{Deserialize, Serialize};

/// The kind of a target, which decides how it is scraped and which series it yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A Prometheus text exposition / OpenMetrics endpoint.
    Prometheus,
    /// An Ethereum JSON-RPC 2.0 node over HTTP.
    EvmRpc,
    /// A JSON price feed.
    Price,
    /// A plain HTTP(S) check (status, body, TLS expiry).
    HttpProbe,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Prometheus => "prometheus",
            TargetKind::EvmRpc => "evm_rpc",
            TargetKind::Price => "price",
            TargetKind::HttpProbe => "http_probe",
        }
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `[[targets]]` entry.
///
/// Fields that only make sense for one kind (`pointer`, `expect_status`, ...) are accepted on every kind and
/// ignored by the others, so switching a target's kind does not force deleting keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// Unique, non-empty; becomes the `target` label of every series of this target.
    pub name: String,
    pub kind: TargetKind,
    /// `http://` or `https://` URL to scrape.
    pub url: String,
    /// Time between scrapes. Default `15s`, at least `100ms`.
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// Limit for one whole scrape (all requests and bodies). Default `5s`, at most `interval`.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// Extra labels added to every series of this target.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// price: RFC 6901 JSON pointer to the price in the reply. Default `/price`.
    #[serde(default = "default_pointer")]
    pub pointer: String,
    /// price: the peg target. Default `1.0`.
    #[serde(default = "default_peg_target")]
    pub target: f64,
    /// http_probe: the expected HTTP status. Default `200`.
    #[serde(default = "default_expect_status")]
    pub expect_status: u16,
    /// http_probe: the HTTP method. Default `GET`.
    #[serde(default = "default_method")]
    pub method: String,
    /// http_probe: the body must contain this text. Written `/regex/` it is a regular expression instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_match: Option<String>,
    /// evm_rpc: the expected block time in seconds, for `chain_block_time_drift_seconds`. Unset: no drift series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_seconds: Option<f64>,
    /// Largest response body read, in bytes; a larger one fails the scrape. Default 10 MiB.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
}

fn default_interval() -> HumanDuration {
    HumanDuration::from_secs(15)
}
fn default_timeout() -> HumanDuration {
    HumanDuration::from_secs(5)
}
fn default_pointer() -> String {
    "/price".to_owned()
}
fn default_peg_target() -> f64 {
    1.0
}
fn default_expect_status() -> u16 {
    200
}
fn default_method() -> String {
    "GET".to_owned()
}
fn default_max_body_bytes() -> u64 {
    DEFAULT_MAX_BODY_BYTES
}

/// Default response body limit: 10 MiB, several times a full node_exporter scrape.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;
/// Shortest allowed scrape interval; below it a target would mostly measure our own scheduling.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

impl TargetConfig {
    /// A target of `kind` with every other field at its default.
    pub fn new(name: impl Into<String>, kind: TargetKind, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind,
            url: url.into(),
            interval: default_interval(),
            timeout: default_timeout(),
            labels: BTreeMap::new(),
            pointer: default_pointer(),
            target: default_peg_target(),
            expect_status: default_expect_status(),
            method: default_method(),
            body_match: None,
            slot_seconds: None,
            max_body_bytes: default_max_body_bytes(),
        }
    }

    /// Sets interval and timeout; returns `self` for chaining (tests and the core's default targets).
    pub fn with_interval(mut self, interval: Duration, timeout: Duration) -> Self {
        self.interval = HumanDuration(interval);
        self.timeout = HumanDuration(timeout);
        self
    }

    /// Returns every problem of this target, each prefixed with `path_prefix` (e.g. `targets[2]`).
    pub fn validate(&self, path_prefix: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut issue = |field: &str, message: String| {
            issues.push(ConfigIssue {
                path: format!("{path_prefix}.{field}"),
                message,
            });
        };

        if self.name.trim().is_empty() {
            issue("name", "must not be empty".to_owned());
        } else if self.name.len() > 128 {
            issue(
                "name",
                format!("is {} bytes long, at most 128 are allowed", self.name.len()),
            );
        }

        match reqwest::Url::parse(&self.url) {
            Ok(url) if !matches!(url.scheme(), "http" | "https") => issue(
                "url",
                format!(
                    "scheme {:?} is not supported; use http or https",
                    url.scheme()
                ),
            ),
            Ok(url) if url.host_str().is_none_or(str::is_empty) => {
                issue("url", "has no host".to_owned())
            }
            Ok(_) => {}
            Err(error) => issue(
                "url",
                format!("{:?} is not a valid url ({error})", self.url),
            ),
        }

        let interval = self.interval.get();
        let timeout = self.timeout.get();
        if interval < MIN_INTERVAL {
            issue(
                "interval",
                format!("{} is shorter than the minimum of 100ms", self.interval),
            );
        }
        if timeout.is_zero() {
            issue("timeout", "must be longer than 0s".to_owned());
        } else if timeout > interval {
            issue(
                "timeout",
                format!(
                    "{} is longer than the interval {}; scrapes would overlap",
                    self.timeout, self.interval
                ),
            );
        }

        for name in self.labels.keys() {
            if !is_valid_label_name(name) {
                issue(
                    &format!("labels.{name}"),
                    "is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)".to_owned(),
                );
            } else if name == "target" || name.starts_with("__") {
                issue(&format!("labels.{name}"), "is reserved".to_owned());
            }
        }

        if self.max_body_bytes == 0 {
            issue("max_body_bytes", "must be at least 1".to_owned());
        }

        match self.kind {
            TargetKind::Price => {
                if let Err(message) = check_json_pointer(&self.pointer) {
                    issue("pointer", message);
                }
                if !self.target.is_finite() || self.target == 0.0 {
                    issue(
                        "target",
                        format!(
                            "{} is not a usable peg target (finite and non-zero)",
                            self.target
                        ),
                    );
                }
            }
            TargetKind::HttpProbe => {
                if !(100..=599).contains(&self.expect_status) {
                    issue(
                        "expect_status",
                        format!("{} is not an http status (100..=599)", self.expect_status),
                    );
                }
                if reqwest::Method::from_bytes(self.method.as_bytes()).is_err()
                    || self.method.is_empty()
                {
                    issue("method", format!("{:?} is not an http method", self.method));
                }
                if let Some(pattern) = &self.body_match
                    && let Err(message) = BodyMatch::parse(pattern)
                {
                    issue("body_match", message);
                }
            }
            TargetKind::EvmRpc => {
                if let Some(slot) = self.slot_seconds
                    && !(slot.is_finite() && slot > 0.0)
                {
                    issue(
                        "slot_seconds",
                        format!("{slot} must be a positive number of seconds"),
                    );
                }
            }
            TargetKind::Prometheus => {}
        }
        issues
    }
}

/// The targets `vigil run` scrapes on the embedded core served at `base_url` (e.g. `http://127.0.0.1:8080`):
/// `core-rpc` (evm_rpc on `/core/rpc`), `core-metrics` (prometheus on `/core/metrics`), `core-price` (price on
/// `/core/price`) and `core-probe` (http_probe of `/core/price`), every `interval`. `slot_seconds` is the
/// core's block time, for the drift series. The timeout is the default 5 s or the interval if shorter.
pub fn core_targets(base_url: &str, interval: Duration, slot_seconds: f64) -> Vec<TargetConfig> {
    let base = base_url.trim_end_matches('/');
    let timeout = default_timeout().get().min(interval);
    let make = |name: &str, kind: TargetKind, path: &str| {
        let mut target =
            TargetConfig::new(name, kind, format!("{base}{path}")).with_interval(interval, timeout);
        target.labels.insert("source".to_owned(), "core".to_owned());
        target
    };
    let mut rpc = make("core-rpc", TargetKind::EvmRpc, "/core/rpc");
    rpc.slot_seconds = Some(slot_seconds);
    let mut probe = make("core-probe", TargetKind::HttpProbe, "/core/price");
    probe.body_match = Some("\"price\"".to_owned());
    vec![
        rpc,
        make("core-metrics", TargetKind::Prometheus, "/core/metrics"),
        make("core-price", TargetKind::Price, "/core/price"),
        probe,
    ]
}

/// Validates a whole `[[targets]]` list: each target, plus unique names.
pub fn validate_targets(targets: &[TargetConfig], path_prefix: &str) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    let mut seen = HashSet::new();
    for (index, target) in targets.iter().enumerate() {
        let path = format!("{path_prefix}[{index}]");
        issues.extend(target.validate(&path));
        if !target.name.trim().is_empty() && !seen.insert(target.name.as_str()) {
            issues.push(ConfigIssue {
                path: format!("{path}.name"),
                message: format!(
                    "{:?} is used by an earlier target; names must be unique",
                    target.name
                ),
            });
        }
    }
    issues
}

/// One configuration problem: where (`targets[2].url`) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigIssue {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Engine-wide settings (one per process).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollectorSettings {
    /// Most scrapes in flight at once across all targets. Default 16.
    pub max_concurrent_scrapes: usize,
    /// Each scrape after the first is delayed by a random fraction of the interval up to this. Default 0.05.
    pub jitter_fraction: f64,
    /// The first scrape of each target happens at a random point within this fraction of its interval, so
    /// targets configured together do not all fire at once. Default 1.0.
    pub first_scrape_spread: f64,
    /// Passed to the series store: most series kept across all targets. Default 200 000.
    pub max_series: usize,
    /// Most samples one scrape of one exposition target may have; more fails that scrape (a cardinality
    /// bomb must not crowd the other targets out of the store). Default 20 000.
    pub max_series_per_target: usize,
    /// Passed to the series store: points kept per series. Default 64 (16 minutes at 15 s).
    pub max_points_per_series: usize,
}

impl Default for CollectorSettings {
    fn default() -> Self {
        Self {
            max_concurrent_scrapes: 16,
            jitter_fraction: 0.05,
            first_scrape_spread: 1.0,
            max_series: 200_000,
            max_series_per_target: 20_000,
            max_points_per_series: 64,
        }
    }
}

impl CollectorSettings {
    /// Returns every problem, each prefixed with `path_prefix` (e.g. `collector`).
    pub fn validate(&self, path_prefix: &str) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut issue = |field: &str, message: String| {
            issues.push(ConfigIssue {
                path: format!("{path_prefix}.{field}"),
                message,
            });
        };
        if self.max_concurrent_scrapes == 0 {
            issue("max_concurrent_scrapes", "must be at least 1".to_owned());
        }
        if !(0.0..=0.5).contains(&self.jitter_fraction) {
            issue(
                "jitter_fraction",
                format!("{} is outside 0.0..=0.5", self.jitter_fraction),
            );
        }
        if !(0.0..=1.0).contains(&self.first_scrape_spread) {
            issue(
                "first_scrape_spread",
                format!("{} is outside 0.0..=1.0", self.first_scrape_spread),
            );
        }
        for (field, value) in [
            ("max_series", self.max_series),
            ("max_series_per_target", self.max_series_per_target),
            ("max_points_per_series", self.max_points_per_series),
        ] {
            if value == 0 {
                issue(field, "must be at least 1".to_owned());
            }
        }
        issues
    }
}

/// What an `http_probe` body must contain.
#[derive(Debug, Clone)]
pub enum BodyMatch {
    Substring(String),
    Regex(regex::Regex),
}

impl BodyMatch {
    /// `/.../` is a regular expression, anything else a plain substring.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        if pattern.is_empty() {
            return Err("must not be empty".to_owned());
        }
        if pattern.len() >= 2 && pattern.starts_with('/') && pattern.ends_with('/') {
            let inner = &pattern[1..pattern.len() - 1];
            return regex::RegexBuilder::new(inner)
                .size_limit(1 << 20)
                .build()
                .map(BodyMatch::Regex)
                .map_err(|error| format!("invalid regular expression {inner:?} ({error})"));
        }
        Ok(BodyMatch::Substring(pattern.to_owned()))
    }

    pub fn is_match(&self, body: &str) -> bool {
        match self {
            BodyMatch::Substring(text) => body.contains(text.as_str()),
            BodyMatch::Regex(regex) => regex.is_match(body),
        }
    }
}

impl fmt::Display for BodyMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyMatch::Substring(text) => write!(f, "{text:?}"),
            BodyMatch::Regex(regex) => write!(f, "/{}/", regex.as_str()),
        }
    }
}

/// Checks RFC 6901 syntax: empty (the whole document) or `/`-separated tokens where `~` is only followed by
/// `0` or `1`.
pub(crate) fn check_json_pointer(pointer: &str) -> Result<(), String> {
    if pointer.is_empty() {
        return Ok(());
    }
    if !pointer.starts_with('/') {
        return Err(format!(
            "{pointer:?} is not a json pointer: it must be empty or start with '/'"
        ));
    }
    let mut chars = pointer.chars();
    while let Some(ch) = chars.next() {
        if ch == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!(
                "{pointer:?} is not a json pointer: '~' must be followed by '0' or '1'"
            ));
        }
    }
    Ok(())
}

pub(crate) fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        targets: Vec<TargetConfig>,
    }

    fn parse(text: &str) -> Result<Vec<TargetConfig>, String> {
        toml::from_str::<File>(text)
            .map(|file| file.targets)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn minimal_target_gets_the_documented_defaults() {
        let targets = parse(
            "[[targets]]\nname = \"feed\"\nkind = \"price\"\nurl = \"http://127.0.0.1:1/p\"\n",
        )
        .unwrap();
        let target = &targets[0];
        assert_eq!(target.interval.get(), Duration::from_secs(15));
        assert_eq!(target.timeout.get(), Duration::from_secs(5));
        assert_eq!(target.pointer, "/price");
        assert_eq!(target.target, 1.0);
        assert_eq!(target.expect_status, 200);
        assert_eq!(target.max_body_bytes, 10 * 1024 * 1024);
        assert!(validate_targets(&targets, "targets").is_empty());
    }

    #[test]
    fn unknown_keys_and_kinds_are_rejected() {
        let error = parse(
            "[[targets]]\nname = \"a\"\nkind = \"price\"\nurl = \"http://x\"\nintervall = \"5s\"\n",
        )
        .unwrap_err();
        assert!(error.contains("intervall"), "{error}");
        let error = parse("[[targets]]\nname = \"a\"\nkind = \"graphite\"\nurl = \"http://x\"\n")
            .unwrap_err();
        assert!(error.contains("graphite"), "{error}");
    }

    #[test]
    fn validation_reports_every_problem_with_its_path() {
        let text = r#"
[[targets]]
name = "a"
kind = "prometheus"
url = "http://127.0.0.1:9100/metrics"

[[targets]]
name = "a"
kind = "price"
url = "ftp://feed.example/price"
interval = "50ms"
pointer = "price"
target = 0.0

[[targets]]
name = ""
kind = "http_probe"
url = "not a url"
interval = "1s"
timeout = "2s"
expect_status = 42
body_match = "/(unclosed/"
labels = { target = "x", "bad-name" = "y" }
"#;
        let issues = validate_targets(&parse(text).unwrap(), "targets");
        let rendered: Vec<String> = issues.iter().map(ToString::to_string).collect();
        let paths: Vec<&str> = issues.iter().map(|issue| issue.path.as_str()).collect();
        for expected in [
            "targets[1].name",
            "targets[1].url",
            "targets[1].interval",
            "targets[1].pointer",
            "targets[1].target",
            "targets[2].name",
            "targets[2].url",
            "targets[2].timeout",
            "targets[2].expect_status",
            "targets[2].body_match",
            "targets[2].labels.target",
            "targets[2].labels.bad-name",
        ] {
            assert!(
                paths.contains(&expected),
                "missing {expected} in {rendered:#?}"
            );
        }
        assert!(
            !paths.iter().any(|path| path.starts_with("targets[0]")),
            "{rendered:#?}"
        );
        assert!(
            rendered.iter().any(|line| line.contains("ftp")),
            "{rendered:#?}"
        );
    }

    #[test]
    fn core_targets_are_valid_and_named_as_documented() {
        let targets = core_targets("http://127.0.0.1:8080/", Duration::from_secs(5), 6.0);
        assert!(validate_targets(&targets, "targets").is_empty());
        let names: Vec<&str> = targets.iter().map(|target| target.name.as_str()).collect();
        assert_eq!(
            names,
            ["core-rpc", "core-metrics", "core-price", "core-probe"]
        );
        assert_eq!(targets[0].url, "http://127.0.0.1:8080/core/rpc");
        assert_eq!(targets[0].slot_seconds, Some(6.0));
        let fast = core_targets("http://127.0.0.1:8080", Duration::from_secs(1), 6.0);
        assert_eq!(
            fast[0].timeout.get(),
            Duration::from_secs(1),
            "timeout never exceeds the interval"
        );
    }

    #[test]
    fn json_pointer_syntax() {
        assert!(check_json_pointer("").is_ok());
        assert!(check_json_pointer("/data/0/price").is_ok());
        assert!(check_json_pointer("/a~1b/c~0d").is_ok());
        assert!(check_json_pointer("/a~2").is_err());
        assert!(check_json_pointer("price").is_err());
    }

    #[test]
    fn body_match_is_substring_unless_slashed() {
        let plain = BodyMatch::parse("a.b").unwrap();
        assert!(plain.is_match("xa.by") && !plain.is_match("axb"));
        let regex = BodyMatch::parse(r#"/"status":\s*"ok"/"#).unwrap();
        assert!(regex.is_match(r#"{"status":  "ok"}"#) && !regex.is_match(r#"{"status":"down"}"#));
    }

    #[test]
    fn settings_validation() {
        assert!(
            CollectorSettings::default()
                .validate("collector")
                .is_empty()
        );
        let settings = CollectorSettings {
            max_concurrent_scrapes: 0,
            jitter_fraction: 2.0,
            ..Default::default()
        };
        let issues = settings.validate("collector");
        assert_eq!(issues.len(), 2, "{issues:?}");
        assert_eq!(issues[0].path, "collector.max_concurrent_scrapes");
    }
}
