//! The line parser behind [`parse`](super::parse).
//!
//! It works on bytes: every delimiter of the format is ASCII, so slicing the `&str` at their
//! positions is always at a character boundary, and the only per-sample state is one reused
//! vector of labels.

use std::borrow::Cow;
use std::collections::HashMap;

use super::{
    ExpositionError, Format, Label, LineError, MetricType, ParseLimits, ParseStats, ParsedSample,
    Problem,
};

/// Parses `body` in `format`, calling `on_sample` for every valid sample in body order.
///
/// Returns what was seen, including the malformed lines that were skipped; fails only when the
/// scrape as a whole cannot be trusted (see the [module docs](super)). Linear in `body.len()`.
pub fn parse<F>(
    body: &str,
    format: Format,
    limits: &ParseLimits,
    mut on_sample: F,
) -> Result<ParseStats, ExpositionError>
where
    F: FnMut(&ParsedSample<'_>),
{
    let format = match format {
        Format::Auto => sniff(body),
        other => other,
    };
    let open_metrics = format == Format::OpenMetrics;
    let mut stats = ParseStats {
        format,
        ..ParseStats::default()
    };
    let mut types = TypeTable::default();
    let mut labels: Vec<Label<'_>> = Vec::with_capacity(16);
    let mut saw_eof = false;

    let bytes = body.as_bytes();
    let mut start = 0;
    let mut line_no = 0;
    while start < bytes.len() {
        let end =
            memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |offset| start + offset);
        let mut line = &body[start..end];
        start = end + 1;
        line_no += 1;
        if let Some(stripped) = line.strip_suffix('\r') {
            line = stripped;
        }

        if saw_eof {
            // OpenMetrics: nothing may follow `# EOF`; tolerate only blank lines (a trailing
            // newline after the terminator is common).
            if line.trim().is_empty() {
                continue;
            }
            record(
                &mut stats,
                limits,
                LineError {
                    line: line_no,
                    column: 1,
                    problem: Problem::ContentAfterEof,
                },
            )?;
            break;
        }
        if line.len() > limits.max_line_bytes {
            record(
                &mut stats,
                limits,
                LineError {
                    line: line_no,
                    column: limits.max_line_bytes + 1,
                    problem: Problem::LineTooLong(limits.max_line_bytes),
                },
            )?;
            continue;
        }
        let first = line.bytes().position(|byte| byte != b' ' && byte != b'\t');
        let Some(first) = first else { continue };

        if line.as_bytes()[first] == b'#' {
            match comment(line, first, &mut types) {
                Ok(Comment::Eof) if open_metrics => saw_eof = true,
                Ok(_) => {}
                Err((column, problem)) => record(
                    &mut stats,
                    limits,
                    LineError {
                        line: line_no,
                        column,
                        problem,
                    },
                )?,
            }
            continue;
        }

        labels.clear();
        match sample(line, first, open_metrics, limits, &mut labels) {
            Ok(parsed) => {
                if stats.samples == limits.max_samples {
                    return Err(ExpositionError::TooManySamples {
                        limit: limits.max_samples,
                        line: line_no,
                    });
                }
                stats.samples += 1;
                if parsed.exemplar {
                    stats.exemplars_skipped += 1;
                }
                let metric_type = types.type_of(parsed.name);
                on_sample(&ParsedSample {
                    name: parsed.name,
                    labels: &labels,
                    value: parsed.value,
                    timestamp_ms: parsed.timestamp_ms,
                    metric_type,
                    line: line_no,
                });
            }
            Err((column, problem)) => record(
                &mut stats,
                limits,
                LineError {
                    line: line_no,
                    column,
                    problem,
                },
            )?,
        }
    }
    stats.lines = line_no;

    if open_metrics && !saw_eof {
        record(
            &mut stats,
            limits,
            LineError {
                line: line_no + 1,
                column: 1,
                problem: Problem::MissingEof,
            },
        )?;
    }
    if stats.samples == 0
        && let Some(first) = stats.errors.first()
    {
        return Err(ExpositionError::NoValidSample(first.clone()));
    }
    Ok(stats)
}

/// OpenMetrics if the last non-blank line is `# EOF`; looks at the end of the body only.
fn sniff(body: &str) -> Format {
    let trimmed = body.trim_end();
    let last_line = trimmed
        .rfind('\n')
        .map_or(trimmed, |index| &trimmed[index + 1..]);
    if last_line.trim() == "# EOF" {
        Format::OpenMetrics
    } else {
        Format::Text
    }
}

/// Counts a malformed line, keeps its description if there is room, and fails the scrape when
/// there are too many.
fn record(
    stats: &mut ParseStats,
    limits: &ParseLimits,
    error: LineError,
) -> Result<(), ExpositionError> {
    stats.bad_lines += 1;
    if stats.bad_lines > limits.max_bad_lines {
        let first = stats.errors.first().cloned().unwrap_or(error);
        return Err(ExpositionError::TooManyBadLines {
            bad_lines: stats.bad_lines,
            first,
        });
    }
    if stats.errors.len() < limits.max_errors_kept {
        stats.errors.push(error);
    }
    Ok(())
}

/// A column (1-based) and what is wrong there.
type LineProblem = (usize, Problem);

enum Comment {
    Eof,
    Other,
}

/// Handles a line starting with `#` at byte `at`: HELP, TYPE, UNIT, EOF or a plain comment.
fn comment<'a>(
    line: &'a str,
    at: usize,
    types: &mut TypeTable<'a>,
) -> Result<Comment, LineProblem> {
    let rest = &line[at + 1..];
    let rest_trimmed = rest.trim_start_matches([' ', '\t']);
    if rest_trimmed.len() == rest.len() {
        // `#foo`: a plain comment in the text format.
        return Ok(Comment::Other);
    }
    let (keyword, after) = split_token(rest_trimmed);
    match keyword {
        "EOF" if after.trim().is_empty() => Ok(Comment::Eof),
        "HELP" | "TYPE" | "UNIT" => {
            let which: &'static str = match keyword {
                "HELP" => "HELP",
                "TYPE" => "TYPE",
                _ => "UNIT",
            };
            let after_trimmed = after.trim_start_matches([' ', '\t']);
            let name_at = line.len() - after_trimmed.len();
            let (name, value) = split_token(after_trimmed);
            if name.is_empty() {
                return Err((name_at + 1, Problem::InvalidComment(which)));
            }
            if metric_name_len(name.as_bytes()) != name.len() {
                return Err((name_at + 1, Problem::InvalidMetricName));
            }
            if which == "TYPE" {
                let value = value.trim();
                if value.is_empty() {
                    return Err((offset_in(line, value) + 1, Problem::InvalidComment(which)));
                }
                let metric_type = match value {
                    "counter" => MetricType::Counter,
                    "gauge" => MetricType::Gauge,
                    "histogram" => MetricType::Histogram,
                    "gaugehistogram" => MetricType::GaugeHistogram,
                    "summary" => MetricType::Summary,
                    "info" => MetricType::Info,
                    "stateset" => MetricType::StateSet,
                    "untyped" | "unknown" => MetricType::Unknown,
                    other => {
                        return Err((
                            offset_in(line, other) + 1,
                            Problem::UnknownType(truncate(other)),
                        ));
                    }
                };
                if !types.declare(name, metric_type) {
                    return Err((name_at + 1, Problem::DuplicateType(name.to_owned())));
                }
            }
            Ok(Comment::Other)
        }
        // Any other comment is ignored, in both formats.
        _ => Ok(Comment::Other),
    }
}

/// Splits off the first token (up to a space or tab); the rest keeps its leading blank.
fn split_token(text: &str) -> (&str, &str) {
    match text.find([' ', '\t']) {
        Some(index) => (&text[..index], &text[index..]),
        // An empty slice at the end, not a literal: callers compute offsets from it.
        None => (text, &text[text.len()..]),
    }
}

struct Sample<'a> {
    name: &'a str,
    value: f64,
    timestamp_ms: Option<i64>,
    exemplar: bool,
}

/// Parses a sample line whose first non-blank byte is at `at`; pushes its labels into `labels`.
fn sample<'a>(
    line: &'a str,
    at: usize,
    open_metrics: bool,
    limits: &ParseLimits,
    labels: &mut Vec<Label<'a>>,
) -> Result<Sample<'a>, LineProblem> {
    let bytes = line.as_bytes();
    let name_len = metric_name_len(&bytes[at..]);
    if name_len == 0 {
        return Err((at + 1, Problem::InvalidMetricName));
    }
    let name = &line[at..at + name_len];
    let mut pos = skip_blanks(bytes, at + name_len);
    if pos < bytes.len() && bytes[pos] == b'{' {
        pos = label_set(line, pos + 1, limits, labels)?;
        pos = skip_blanks(bytes, pos);
    } else if pos == at + name_len && pos < bytes.len() {
        // Something glued to the name that is neither a label set nor a blank.
        return Err((pos + 1, Problem::InvalidMetricName));
    }

    let (value_token, value_at, next) = token(line, pos);
    if value_token.is_empty() {
        return Err((value_at + 1, Problem::MissingValue));
    }
    let value = parse_value(value_token)
        .ok_or_else(|| (value_at + 1, Problem::InvalidValue(truncate(value_token))))?;
    pos = skip_blanks(bytes, next);

    let mut timestamp_ms = None;
    if pos < bytes.len() && bytes[pos] != b'#' {
        let (ts_token, ts_at, next) = token(line, pos);
        let parsed = if open_metrics {
            parse_seconds_as_ms(ts_token)
        } else {
            parse_int(ts_token)
        };
        timestamp_ms =
            Some(parsed.ok_or_else(|| (ts_at + 1, Problem::InvalidTimestamp(truncate(ts_token))))?);
        pos = skip_blanks(bytes, next);
    }

    let mut exemplar = false;
    if pos < bytes.len() {
        if bytes[pos] != b'#' {
            return Err((pos + 1, Problem::TrailingText(truncate(&line[pos..]))));
        }
        if !open_metrics {
            return Err((pos + 1, Problem::ExemplarInText));
        }
        check_exemplar(line, pos + 1, limits)?;
        exemplar = true;
    }
    Ok(Sample {
        name,
        value,
        timestamp_ms,
        exemplar,
    })
}

/// Parses labels after `{` at `pos` up to and including `}`; returns the position after `}`.
fn label_set<'a>(
    line: &'a str,
    mut pos: usize,
    limits: &ParseLimits,
    labels: &mut Vec<Label<'a>>,
) -> Result<usize, LineProblem> {
    let bytes = line.as_bytes();
    loop {
        pos = skip_blanks(bytes, pos);
        match bytes.get(pos) {
            None => return Err((pos + 1, Problem::ExpectedCommaOrBrace)),
            Some(b'}') => return Ok(pos + 1),
            Some(_) => {}
        }
        let name_len = label_name_len(&bytes[pos..]);
        if name_len == 0 {
            return Err((pos + 1, Problem::InvalidLabelName));
        }
        if name_len > limits.max_label_name_bytes {
            return Err((
                pos + 1,
                Problem::LabelNameTooLong(limits.max_label_name_bytes),
            ));
        }
        let name = &line[pos..pos + name_len];
        let name_at = pos;
        pos = skip_blanks(bytes, pos + name_len);
        if bytes.get(pos) != Some(&b'=') {
            return Err((pos + 1, Problem::ExpectedEquals));
        }
        pos = skip_blanks(bytes, pos + 1);
        if bytes.get(pos) != Some(&b'"') {
            return Err((pos + 1, Problem::ExpectedQuote));
        }
        let value_at = pos + 1;
        let (value, after) =
            label_value(line, value_at).ok_or((value_at, Problem::UnterminatedLabelValue))?;
        if value.len() > limits.max_label_value_bytes {
            return Err((
                value_at + 1,
                Problem::LabelValueTooLong(limits.max_label_value_bytes),
            ));
        }
        if labels.iter().any(|label| label.name == name) {
            return Err((name_at + 1, Problem::DuplicateLabel(name.to_owned())));
        }
        if labels.len() == limits.max_labels {
            return Err((name_at + 1, Problem::TooManyLabels(limits.max_labels)));
        }
        labels.push(Label { name, value });
        pos = skip_blanks(bytes, after);
        match bytes.get(pos) {
            Some(b',') => pos += 1,
            Some(b'}') => return Ok(pos + 1),
            _ => return Err((pos + 1, Problem::ExpectedCommaOrBrace)),
        }
    }
}

/// Reads a label value starting just after its opening quote; returns it (unescaped) and the
/// position after the closing quote. Borrows unless the value has escapes. `\\`, `\"` and `\n`
/// are decoded; any other backslash is kept as it is, as Prometheus does.
fn label_value(line: &str, start: usize) -> Option<(Cow<'_, str>, usize)> {
    let bytes = line.as_bytes();
    let first = memchr::memchr2(b'"', b'\\', &bytes[start..])? + start;
    if bytes[first] == b'"' {
        return Some((Cow::Borrowed(&line[start..first]), first + 1));
    }
    let mut decoded = String::with_capacity(first - start + 16);
    let mut segment_start = start;
    let mut pos = first;
    loop {
        // `pos` is at a backslash or a quote.
        decoded.push_str(&line[segment_start..pos]);
        if bytes[pos] == b'"' {
            return Some((Cow::Owned(decoded), pos + 1));
        }
        match bytes.get(pos + 1)? {
            b'\\' => decoded.push('\\'),
            b'"' => decoded.push('"'),
            b'n' => decoded.push('\n'),
            _ => {
                decoded.push('\\');
                segment_start = pos + 1;
                pos = memchr::memchr2(b'"', b'\\', &bytes[pos + 1..])? + pos + 1;
                continue;
            }
        }
        segment_start = pos + 2;
        pos = memchr::memchr2(b'"', b'\\', &bytes[pos + 2..])? + pos + 2;
    }
}

/// Checks the shape of an OpenMetrics exemplar after its `#`: ` {labels} value [timestamp]`.
fn check_exemplar(line: &str, pos: usize, limits: &ParseLimits) -> Result<(), LineProblem> {
    let bytes = line.as_bytes();
    let pos = skip_blanks(bytes, pos);
    if bytes.get(pos) != Some(&b'{') {
        return Err((pos + 1, Problem::InvalidExemplar));
    }
    let mut scratch = Vec::new();
    let pos = label_set(line, pos + 1, limits, &mut scratch)
        .map_err(|(column, _)| (column, Problem::InvalidExemplar))?;
    let pos = skip_blanks(bytes, pos);
    let (value, value_at, next) = token(line, pos);
    if value.is_empty() || parse_value(value).is_none() {
        return Err((value_at + 1, Problem::InvalidExemplar));
    }
    let pos = skip_blanks(bytes, next);
    if pos < bytes.len() {
        let (ts, ts_at, next) = token(line, pos);
        if parse_seconds_as_ms(ts).is_none() || skip_blanks(bytes, next) != bytes.len() {
            return Err((ts_at + 1, Problem::InvalidExemplar));
        }
    }
    Ok(())
}

/// The token at `pos` (up to a blank or the end), where it starts, and the position after it.
fn token(line: &str, pos: usize) -> (&str, usize, usize) {
    let bytes = line.as_bytes();
    let mut end = pos;
    while end < bytes.len() && bytes[end] != b' ' && bytes[end] != b'\t' {
        end += 1;
    }
    (&line[pos..end], pos, end)
}

fn skip_blanks(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && (bytes[pos] == b' ' || bytes[pos] == b'\t') {
        pos += 1;
    }
    pos
}

const fn class_table(first: bool, colon: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphabetic()
            || b == b'_'
            || (colon && b == b':')
            || (!first && b.is_ascii_digit());
        byte += 1;
    }
    table
}

const METRIC_FIRST: [bool; 256] = class_table(true, true);
const METRIC_REST: [bool; 256] = class_table(false, true);
const LABEL_FIRST: [bool; 256] = class_table(true, false);
const LABEL_REST: [bool; 256] = class_table(false, false);

/// Length of the metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) at the start of `bytes`, 0 if none.
pub(crate) fn metric_name_len(bytes: &[u8]) -> usize {
    match bytes.first() {
        Some(&b) if METRIC_FIRST[b as usize] => {
            1 + bytes[1..]
                .iter()
                .take_while(|&&b| METRIC_REST[b as usize])
                .count()
        }
        _ => 0,
    }
}

/// Length of the label name (`[a-zA-Z_][a-zA-Z0-9_]*`) at the start of `bytes`, 0 if none.
pub(crate) fn label_name_len(bytes: &[u8]) -> usize {
    match bytes.first() {
        Some(&b) if LABEL_FIRST[b as usize] => {
            1 + bytes[1..]
                .iter()
                .take_while(|&&b| LABEL_REST[b as usize])
                .count()
        }
        _ => 0,
    }
}

/// Parses a sample value: a float, an integer, or NaN / ±Inf in any case (as Go's ParseFloat).
fn parse_value(token: &str) -> Option<f64> {
    let bytes = token.as_bytes();
    // Fast path: most exporter values are small non-negative integers.
    if !bytes.is_empty() && bytes.len() <= 15 && bytes.iter().all(u8::is_ascii_digit) {
        let mut value: u64 = 0;
        for &b in bytes {
            value = value * 10 + u64::from(b - b'0');
        }
        return Some(value as f64);
    }
    // Rust's parser accepts what the formats allow (`1e3`, `.5`, `+Inf`, `nan`, `infinity`), and
    // rejects what they do not (hex, `_` separators, blanks).
    token.parse::<f64>().ok()
}

/// A text-format timestamp: integer milliseconds, possibly negative.
fn parse_int(token: &str) -> Option<i64> {
    token.parse::<i64>().ok()
}

/// An OpenMetrics timestamp: seconds since the epoch with an optional fraction, as milliseconds.
/// Decimal forms are converted exactly (fractions beyond milliseconds are truncated); exponent
/// forms go through f64.
fn parse_seconds_as_ms(token: &str) -> Option<i64> {
    let (negative, digits) = match token.as_bytes().first()? {
        b'-' => (true, &token[1..]),
        b'+' => (false, &token[1..]),
        _ => (false, token),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let decimal = !(whole.is_empty() && fraction.is_empty())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if decimal {
        let seconds: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut millis: i64 = 0;
        for index in 0..3 {
            millis = millis * 10
                + fraction
                    .as_bytes()
                    .get(index)
                    .map_or(0, |b| i64::from(b - b'0'));
        }
        let total = seconds.checked_mul(1000)?.checked_add(millis)?;
        return Some(if negative { -total } else { total });
    }
    let seconds: f64 = token.parse().ok()?;
    let millis = (seconds * 1000.0).round();
    // Also rejects NaN and infinities, which are not timestamps.
    if millis.is_finite() && millis.abs() < 9.0e18 {
        Some(millis as i64)
    } else {
        None
    }
}

/// The byte offset of `sub`, a subslice of `line`, within `line`.
fn offset_in(line: &str, sub: &str) -> usize {
    sub.as_ptr() as usize - line.as_ptr() as usize
}

/// Keeps offending text short in error messages: a 100 MB token must not become a 100 MB error.
fn truncate(text: &str) -> String {
    const MAX: usize = 64;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The `# TYPE` declarations seen so far, with a one-entry cache because samples follow their
/// family's TYPE line in practice.
#[derive(Default)]
struct TypeTable<'a> {
    declared: HashMap<&'a str, MetricType>,
    last_family: &'a str,
    last_type: MetricType,
}

/// Suffixes that a family's samples add to its name.
const SUFFIXES: [&str; 8] = [
    "_bucket", "_count", "_sum", "_total", "_created", "_info", "_gcount", "_gsum",
];

impl<'a> TypeTable<'a> {
    /// Records a declaration; false if the family was already declared.
    fn declare(&mut self, family: &'a str, metric_type: MetricType) -> bool {
        if self.declared.insert(family, metric_type).is_some() {
            return false;
        }
        self.last_family = family;
        self.last_type = metric_type;
        true
    }

    fn type_of(&mut self, name: &str) -> MetricType {
        if belongs_to(name, self.last_family) {
            return self.last_type;
        }
        if self.declared.is_empty() {
            return MetricType::Unknown;
        }
        if let Some(&metric_type) = self.declared.get(name) {
            return metric_type;
        }
        for suffix in SUFFIXES {
            if let Some(family) = name.strip_suffix(suffix)
                && let Some(&metric_type) = self.declared.get(family)
            {
                return metric_type;
            }
        }
        MetricType::Unknown
    }
}

fn belongs_to(name: &str, family: &str) -> bool {
    !family.is_empty()
        && name
            .strip_prefix(family)
            .is_some_and(|rest| rest.is_empty() || SUFFIXES.contains(&rest))
}
