//! Prometheus text exposition (0.0.4) and OpenMetrics 1.0 parsing.
//!
//! [`parse`] walks a scrape body once, line by line, and hands every sample to a callback as a
//! [`ParsedSample`] that borrows its metric name and label names from the body; a label value is
//! only copied when it contains escapes. Nothing is allocated per sample, so a caller that only
//! wants a few series pays almost nothing for the rest.
//!
//! # What happens to a bad line
//! A malformed line is skipped, counted in [`ParseStats::bad_lines`] and, for the first
//! [`ParseLimits::max_errors_kept`] of them, described in [`ParseStats::errors`] with its line
//! number, column and what is wrong. The good lines of the same scrape are still delivered.
//! Prometheus drops the whole scrape instead; we keep the good lines because one odd line (an
//! exporter upgrade emitting something new, say) must not blind every detector watching that
//! target during an incident. The target is still reported as having an error, naming the line.
//!
//! The whole scrape fails (an [`ExpositionError`]) only when it cannot be trusted at all: more
//! than [`ParseLimits::max_samples`] samples (a cardinality bomb), more than
//! [`ParseLimits::max_bad_lines`] malformed lines, or malformed lines and no sample at all (an
//! HTML error page, say). Because samples are streamed, a caller that must not keep a partial
//! scrape on error collects them first (see `series::Batch`) and only ingests on `Ok`.
//!
//! # Cost
//! One pass, linear in the body, no backtracking; memory beyond the caller's is one small vector
//! of labels reused for every sample, plus the `# TYPE` table (bounded by the number of families).

mod parser;

use std::borrow::Cow;
use std::fmt;

pub use parser::parse;
/// Shared with the selector parser, which uses the same name rules.
pub(crate) use parser::{label_name_len, metric_name_len};

/// Which wire format a body is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Prometheus text exposition 0.0.4: timestamps are integer milliseconds; no exemplars.
    Text,
    /// OpenMetrics 1.0 text: timestamps are seconds (with a fraction), exemplars allowed, and the
    /// body must end with `# EOF`.
    OpenMetrics,
    /// Decide from the body: OpenMetrics if its last non-blank line is `# EOF`, else text.
    #[default]
    Auto,
}

impl Format {
    /// Picks the format from an HTTP `Content-Type` header value (e.g.
    /// `application/openmetrics-text; version=1.0.0; charset=utf-8` or `text/plain; version=0.0.4`).
    /// Anything unknown, or no header, gives [`Format::Auto`].
    pub fn from_content_type(content_type: Option<&str>) -> Format {
        match content_type {
            Some(value) => {
                let media = value.split(';').next().unwrap_or("").trim();
                if media.eq_ignore_ascii_case("application/openmetrics-text") {
                    Format::OpenMetrics
                } else if media.eq_ignore_ascii_case("text/plain") {
                    Format::Text
                } else {
                    Format::Auto
                }
            }
            None => Format::Auto,
        }
    }

    /// The `Accept` header a scraper should send: OpenMetrics preferred, text accepted.
    pub const ACCEPT_HEADER: &'static str =
        "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
}

/// The type a `# TYPE` line declared for a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    /// No `# TYPE` line, or `untyped`/`unknown`.
    #[default]
    Unknown,
}

impl MetricType {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

/// One label of a parsed sample. `value` is borrowed from the body unless it contained escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label<'a> {
    pub name: &'a str,
    pub value: Cow<'a, str>,
}

/// One sample as it appears in the body. Histogram and summary series come as they are exposed
/// (`x_bucket{le="0.5"}`, `x_sum`, `x_count`, `x{quantile="0.9"}`); nothing is aggregated.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSample<'a> {
    /// The metric name, e.g. `node_cpu_seconds_total`.
    pub name: &'a str,
    /// The labels in the order they appear in the body (not sorted, no duplicates).
    pub labels: &'a [Label<'a>],
    /// The value; NaN and ±infinity are possible.
    pub value: f64,
    /// The sample's own timestamp in Unix milliseconds, if the body gave one.
    pub timestamp_ms: Option<i64>,
    /// The type declared by the `# TYPE` line of the family this sample belongs to.
    pub metric_type: MetricType,
    /// The 1-based line number, for error messages further down.
    pub line: usize,
}

impl ParsedSample<'_> {
    /// The value of the label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|label| label.name == name)
            .map(|label| label.value.as_ref())
    }
}

/// Bounds on what one scrape may contain. Every field has a default that fits real exporters with
/// a wide margin; a body that breaks one is hostile or broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLimits {
    /// Longest accepted line in bytes; a longer line is a bad line (default 64 KiB).
    pub max_line_bytes: usize,
    /// Most labels on one sample; more is a bad line (default 64).
    pub max_labels: usize,
    /// Longest label name in bytes (default 256).
    pub max_label_name_bytes: usize,
    /// Longest label value in bytes, after unescaping (default 4 KiB).
    pub max_label_value_bytes: usize,
    /// Most samples in one scrape; one more fails the scrape with
    /// [`ExpositionError::TooManySamples`] (default 200,000).
    pub max_samples: usize,
    /// Most malformed lines before the scrape fails with [`ExpositionError::TooManyBadLines`]
    /// (default 1,000).
    pub max_bad_lines: usize,
    /// How many line errors are kept in [`ParseStats::errors`]; the rest are only counted (default 10).
    pub max_errors_kept: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_line_bytes: 64 * 1024,
            max_labels: 64,
            max_label_name_bytes: 256,
            max_label_value_bytes: 4 * 1024,
            max_samples: 200_000,
            max_bad_lines: 1_000,
            max_errors_kept: 10,
        }
    }
}

/// What a successful parse saw.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParseStats {
    /// The format actually parsed (never `Auto`).
    pub format: Format,
    /// Samples handed to the callback.
    pub samples: usize,
    /// Lines read, including comments and blank lines.
    pub lines: usize,
    /// Malformed lines that were skipped.
    pub bad_lines: usize,
    /// The first few malformed lines, in order.
    pub errors: Vec<LineError>,
    /// Exemplars seen and skipped (OpenMetrics only).
    pub exemplars_skipped: usize,
}

impl ParseStats {
    /// The first malformed line, if any: what a target's `last_error` should say.
    pub fn first_error(&self) -> Option<&LineError> {
        self.errors.first()
    }

    /// A one-line summary of the bad lines for a target's `last_error`, e.g.
    /// `2 malformed lines; first: line 7, column 12: expected a value after the labels`.
    pub fn error_summary(&self) -> Option<String> {
        let first = self.first_error()?;
        Some(if self.bad_lines == 1 {
            format!("1 malformed line: {first}")
        } else {
            format!("{} malformed lines; first: {first}", self.bad_lines)
        })
    }
}

/// A malformed line: where, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {problem}")]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column (in bytes) where the problem was found.
    pub column: usize,
    pub problem: Problem,
}

/// What is wrong with a malformed line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("invalid metric name")]
    InvalidMetricName,
    #[error("invalid label name")]
    InvalidLabelName,
    #[error("expected '=' after label name")]
    ExpectedEquals,
    #[error("expected '\"' to open a label value")]
    ExpectedQuote,
    #[error("label value is not terminated")]
    UnterminatedLabelValue,
    #[error("expected ',' or '}}' after a label value")]
    ExpectedCommaOrBrace,
    #[error("duplicate label name {0:?}")]
    DuplicateLabel(String),
    #[error("expected a value after the metric name and labels")]
    MissingValue,
    #[error("invalid value {0:?}")]
    InvalidValue(String),
    #[error("invalid timestamp {0:?}")]
    InvalidTimestamp(String),
    #[error("unexpected text {0:?} after the sample")]
    TrailingText(String),
    #[error("exemplars are only allowed in OpenMetrics")]
    ExemplarInText,
    #[error("malformed exemplar")]
    InvalidExemplar,
    #[error("malformed # {0} line")]
    InvalidComment(&'static str),
    #[error("unknown metric type {0:?}")]
    UnknownType(String),
    #[error("second # TYPE line for {0:?}")]
    DuplicateType(String),
    #[error("line longer than {0} bytes")]
    LineTooLong(usize),
    #[error("more than {0} labels")]
    TooManyLabels(usize),
    #[error("label name longer than {0} bytes")]
    LabelNameTooLong(usize),
    #[error("label value longer than {0} bytes")]
    LabelValueTooLong(usize),
    #[error("content after # EOF")]
    ContentAfterEof,
    #[error("missing # EOF at the end of an OpenMetrics body")]
    MissingEof,
}

/// Why a whole scrape was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpositionError {
    /// A cardinality bomb or a runaway exporter.
    #[error("more than {limit} samples in one scrape (at line {line})")]
    TooManySamples { limit: usize, line: usize },
    /// Mostly garbage.
    #[error("{bad_lines} malformed lines, more than the limit; first: {first}")]
    TooManyBadLines { bad_lines: usize, first: LineError },
    /// Malformed lines and not one valid sample: probably not an exposition body at all.
    #[error("no valid sample; first malformed line: {0}")]
    NoValidSample(LineError),
}

impl model::HasKind for ExpositionError {
    fn kind(&self) -> model::ErrorKind {
        model::ErrorKind::InvalidInput
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Text => "text",
            Format::OpenMetrics => "openmetrics",
            Format::Auto => "auto",
        })
    }
}

#[cfg(test)]
mod tests;
