//! The fuzz bodies, shared by the libFuzzer targets and by the stable-toolchain fallback test
//! (`collector/tests/fuzz_fallback.rs` includes this file), so both check the same invariants.

use collector::exposition::{self, Format, ParseLimits};
use collector::series::{Batch, Selector, SeriesLimits, SeriesStore};

/// Parses `data` as exposition text in every format with tight limits and checks what any
/// input must satisfy: no panic, counts that agree, names and labels that are valid, and
/// line numbers within the body. Whatever parses also goes through a small store.
pub fn exposition(data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let limits = ParseLimits {
        max_line_bytes: 512,
        max_labels: 8,
        max_samples: 1_000,
        max_bad_lines: 200,
        max_errors_kept: 4,
        ..ParseLimits::default()
    };
    let line_count = body.split('\n').count();
    for format in [Format::Text, Format::OpenMetrics, Format::Auto] {
        let mut seen = 0;
        let result = exposition::parse(body, format, &limits, |sample| {
            seen += 1;
            assert!(valid_name(sample.name, true), "bad name {:?}", sample.name);
            for (index, label) in sample.labels.iter().enumerate() {
                assert!(valid_name(label.name, false), "bad label {:?}", label.name);
                assert!(
                    sample.labels[..index]
                        .iter()
                        .all(|other| other.name != label.name),
                    "duplicate label"
                );
            }
            assert!(sample.labels.len() <= limits.max_labels);
            assert!(sample.line >= 1 && sample.line <= line_count);
        });
        match result {
            Ok(stats) => {
                assert_eq!(stats.samples, seen);
                assert!(
                    stats.errors.len() <= limits.max_errors_kept
                        && stats.errors.len() <= stats.bad_lines
                );
                assert!(stats.bad_lines <= limits.max_bad_lines);
                assert!(stats.errors.iter().all(|error| error.line >= 1
                    && error.line <= line_count + 1
                    && !error.to_string().is_empty()));
                assert!(
                    stats
                        .errors
                        .windows(2)
                        .all(|pair| pair[0].line < pair[1].line)
                );
            }
            Err(error) => assert!(!error.to_string().is_empty()),
        }
    }
    if let Ok((batch, _)) = Batch::from_exposition(body, Format::Auto, &limits) {
        let store = SeriesStore::new(SeriesLimits {
            max_series: 64,
            points_per_series: 4,
            ..SeriesLimits::default()
        });
        let outcome = store.ingest_batch(&batch, &[("target", "fuzz")], 1_000);
        let stats = store.stats();
        assert!(stats.series <= 64);
        assert_eq!(outcome.new_series, stats.series);
    }
}

/// Parses `data` as a selector; whatever parses must print back to a selector that parses to
/// the same thing.
pub fn selector(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(selector) = Selector::parse(text) {
        let printed = selector.to_string();
        let reparsed = Selector::parse(&printed)
            .unwrap_or_else(|error| panic!("{printed:?} does not parse again: {error}"));
        assert_eq!(reparsed.to_string(), printed);
    }
}

fn valid_name(name: &str, colon: bool) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || (colon && b == b':'));
    first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || (colon && b == b':'))
}
