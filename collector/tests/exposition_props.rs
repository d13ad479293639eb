//! Properties of the exposition parser and the selector: they never panic, and what is rendered
//! in either format parses back to the same samples.

use collector::exposition::{self, Format, ParseLimits};
use collector::series::Selector;
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
    timestamp_ms: Option<i64>,
}

fn metric_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_:][a-zA-Z0-9_:]{0,20}"
}

fn label_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,12}"
}

/// Any text, with the characters that need escaping made frequent.
fn label_value() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[\\\\\"\na-z é#{}=,]{0,16}"]
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        (0u64..1_000_000).prop_map(|v| v as f64),
        -1e6f64..1e6,
    ]
}

fn sample() -> impl Strategy<Value = Sample> {
    (
        metric_name(),
        prop::collection::btree_map(label_name(), label_value(), 0..6),
        value(),
        prop::option::of(0i64..4_000_000_000_000),
    )
        .prop_map(|(name, labels, value, timestamp_ms)| Sample {
            name,
            labels: labels.into_iter().collect(),
            value,
            timestamp_ms,
        })
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn render_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        // `{:e}` prints the shortest digits that round-trip, in exponent form.
        format!("{value:e}")
    }
}

fn render(samples: &[Sample], format: Format) -> String {
    let mut body = String::new();
    for sample in samples {
        body.push_str(&sample.name);
        body.push('{');
        for (name, value) in &sample.labels {
            body.push_str(&format!("{name}=\"{}\",", escape(value)));
        }
        body.push_str("} ");
        body.push_str(&render_value(sample.value));
        if let Some(ms) = sample.timestamp_ms {
            match format {
                Format::OpenMetrics => body.push_str(&format!(" {}.{:03}", ms / 1000, ms % 1000)),
                _ => body.push_str(&format!(" {ms}")),
            }
        }
        body.push('\n');
    }
    if format == Format::OpenMetrics {
        body.push_str("# EOF\n");
    }
    body
}

fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics(body in any::<String>()) {
        for format in [Format::Text, Format::OpenMetrics, Format::Auto] {
            let _ = exposition::parse(&body, format, &ParseLimits::default(), |_| {});
        }
    }

    #[test]
    fn parse_never_panics_on_near_exposition_text(body in "[a-z_{}=,\"\\\\ #\\n\\r\\t0-9.+eEINaf~-]{0,300}") {
        for format in [Format::Text, Format::OpenMetrics, Format::Auto] {
            let _ = exposition::parse(&body, format, &ParseLimits::default(), |_| {});
        }
    }

    #[test]
    fn rendered_samples_parse_back(samples in prop::collection::vec(sample(), 1..20), open_metrics in any::<bool>()) {
        let format = if open_metrics { Format::OpenMetrics } else { Format::Text };
        let body = render(&samples, format);
        let mut parsed = Vec::new();
        let stats = exposition::parse(&body, format, &ParseLimits::default(), |sample| {
            parsed.push(Sample {
                name: sample.name.to_owned(),
                labels: sample.labels.iter().map(|label| (label.name.to_owned(), label.value.to_string())).collect(),
                value: sample.value,
                timestamp_ms: sample.timestamp_ms,
            });
        }).unwrap();
        prop_assert_eq!(stats.bad_lines, 0, "{:?}\n{}", stats.errors, body);
        prop_assert_eq!(parsed.len(), samples.len());
        for (want, got) in samples.iter().zip(&parsed) {
            prop_assert_eq!(&want.name, &got.name);
            prop_assert_eq!(&want.labels, &got.labels);
            prop_assert!(same_value(want.value, got.value), "{} != {}", want.value, got.value);
            prop_assert_eq!(want.timestamp_ms, got.timestamp_ms);
        }
    }

    #[test]
    fn label_escapes_round_trip(value in label_value()) {
        let body = format!("m{{l=\"{}\"}} 1\n", escape(&value));
        let mut got = None;
        exposition::parse(&body, Format::Text, &ParseLimits::default(), |sample| got = sample.label("l").map(str::to_owned)).unwrap();
        prop_assert_eq!(got, Some(value));
    }

    #[test]
    fn selector_parse_never_panics(text in any::<String>()) {
        let _ = Selector::parse(&text);
    }

    #[test]
    fn selector_display_round_trips(name in metric_name(), labels in prop::collection::btree_map(label_name(), label_value(), 1..4)) {
        let mut text = format!("{name}{{");
        for (label, value) in &labels {
            text.push_str(&format!("{label}!=\"{}\",", escape(value)));
        }
        text.push('}');
        let selector = Selector::parse(&text).unwrap();
        let printed = selector.to_string();
        prop_assert_eq!(Selector::parse(&printed).unwrap().to_string(), printed.clone());
        prop_assert_eq!(selector.matchers().len(), labels.len());
        for (matcher, (label, value)) in selector.matchers().iter().zip(&labels) {
            prop_assert_eq!(&matcher.label, label);
            prop_assert_eq!(&matcher.value, value);
        }
    }
}
