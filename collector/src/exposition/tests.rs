//! Unit tests of the parser, one behaviour each.

use std::borrow::Cow;

use super::*;

/// An owned copy of a parsed sample, so tests can look at all of them after the parse.
#[derive(Debug, Clone, PartialEq)]
struct Owned {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
    timestamp_ms: Option<i64>,
    metric_type: MetricType,
    line: usize,
}

fn parse_all(body: &str, format: Format) -> (Vec<Owned>, ParseStats) {
    try_parse_all(body, format, &ParseLimits::default()).unwrap_or_else(|error| panic!("{error}"))
}

fn try_parse_all(
    body: &str,
    format: Format,
    limits: &ParseLimits,
) -> Result<(Vec<Owned>, ParseStats), ExpositionError> {
    let mut samples = Vec::new();
    let stats = parse(body, format, limits, |sample| {
        samples.push(Owned {
            name: sample.name.to_owned(),
            labels: sample
                .labels
                .iter()
                .map(|label| (label.name.to_owned(), label.value.to_string()))
                .collect(),
            value: sample.value,
            timestamp_ms: sample.timestamp_ms,
            metric_type: sample.metric_type,
            line: sample.line,
        });
    })?;
    Ok((samples, stats))
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

#[test]
fn a_counter_with_help_type_and_labels() {
    let body = "# HELP http_requests_total The total.\n# TYPE http_requests_total counter\nhttp_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n";
    let (samples, stats) = parse_all(body, Format::Text);
    assert_eq!(stats.samples, 1);
    assert_eq!(stats.bad_lines, 0);
    assert_eq!(stats.lines, 3);
    let sample = &samples[0];
    assert_eq!(sample.name, "http_requests_total");
    assert_eq!(
        sample.labels,
        labels(&[("method", "post"), ("code", "200")])
    );
    assert_eq!(sample.value, 1027.0);
    assert_eq!(sample.timestamp_ms, Some(1_395_066_363_000));
    assert_eq!(sample.metric_type, MetricType::Counter);
    assert_eq!(sample.line, 3);
}

#[test]
fn histogram_and_summary_samples_come_as_exposed_with_their_family_type() {
    let body = r#"# TYPE rpc_duration_seconds histogram
rpc_duration_seconds_bucket{le="0.05"} 24054
rpc_duration_seconds_bucket{le="+Inf"} 144320
rpc_duration_seconds_sum 53423
rpc_duration_seconds_count 144320
# TYPE gc summary
gc{quantile="0.5"} 4.9351e-05
gc_sum 1.7560473e+06
gc_count 2693
untyped_thing 3
"#;
    let (samples, _) = parse_all(body, Format::Text);
    let names: Vec<_> = samples
        .iter()
        .map(|s| (s.name.as_str(), s.metric_type))
        .collect();
    assert_eq!(
        names,
        [
            ("rpc_duration_seconds_bucket", MetricType::Histogram),
            ("rpc_duration_seconds_bucket", MetricType::Histogram),
            ("rpc_duration_seconds_sum", MetricType::Histogram),
            ("rpc_duration_seconds_count", MetricType::Histogram),
            ("gc", MetricType::Summary),
            ("gc_sum", MetricType::Summary),
            ("gc_count", MetricType::Summary),
            ("untyped_thing", MetricType::Unknown),
        ]
    );
    assert_eq!(samples[1].labels, labels(&[("le", "+Inf")]));
    assert_eq!(samples[4].value, 4.9351e-05);
}

#[test]
fn type_is_found_for_samples_away_from_their_type_line() {
    let body = "# TYPE a gauge\n# TYPE b counter\na 1\nb_total 2\nb_created 3\n";
    let (samples, _) = parse_all(body, Format::Text);
    assert_eq!(
        samples.iter().map(|s| s.metric_type).collect::<Vec<_>>(),
        [MetricType::Gauge, MetricType::Counter, MetricType::Counter]
    );
}

#[test]
fn label_value_escapes_are_decoded_and_only_then_copied() {
    let body = "a{path=\"C:\\\\dir\\\\\",quote=\"say \\\"hi\\\"\",nl=\"x\\ny\",plain=\"ok\",odd=\"\\t\"} 1\n";
    let mut seen = Vec::new();
    parse(body, Format::Text, &ParseLimits::default(), |sample| {
        for label in sample.labels {
            seen.push((
                label.name.to_owned(),
                label.value.to_string(),
                matches!(label.value, Cow::Borrowed(_)),
            ));
        }
    })
    .unwrap();
    assert_eq!(
        seen,
        [
            ("path".to_owned(), "C:\\dir\\".to_owned(), false),
            ("quote".to_owned(), "say \"hi\"".to_owned(), false),
            ("nl".to_owned(), "x\ny".to_owned(), false),
            ("plain".to_owned(), "ok".to_owned(), true),
            // Unknown escapes are kept as written, as Prometheus does.
            ("odd".to_owned(), "\\t".to_owned(), false),
        ]
    );
}

#[test]
fn empty_label_sets_trailing_commas_and_blanks() {
    let body = "a{} 1\nb{x=\"1\",} 2\nc { x = \"1\" , y=\"\" } 3\n\td\t4\n";
    let (samples, stats) = parse_all(body, Format::Text);
    assert_eq!(stats.bad_lines, 0, "{:?}", stats.errors);
    assert_eq!(samples.len(), 4);
    assert!(samples[0].labels.is_empty());
    assert_eq!(samples[1].labels, labels(&[("x", "1")]));
    assert_eq!(samples[2].labels, labels(&[("x", "1"), ("y", "")]));
    assert_eq!((samples[3].name.as_str(), samples[3].value), ("d", 4.0));
}

#[test]
fn special_and_numeric_values() {
    let body = "a NaN\nb +Inf\nc -Inf\nd 42\ne -3.5\nf 1.5e3\ng 2E-2\nh .5\ni Inf\nj 18446744073709551616\nk +7\n";
    let (samples, stats) = parse_all(body, Format::Text);
    assert_eq!(stats.bad_lines, 0, "{:?}", stats.errors);
    let values: Vec<f64> = samples.iter().map(|s| s.value).collect();
    assert!(values[0].is_nan());
    assert_eq!(
        &values[1..],
        [
            f64::INFINITY,
            f64::NEG_INFINITY,
            42.0,
            -3.5,
            1500.0,
            0.02,
            0.5,
            f64::INFINITY,
            18446744073709551616.0,
            7.0
        ]
    );
}

#[test]
fn text_timestamps_are_integer_milliseconds() {
    let (samples, _) = parse_all("a 1 1700000000123\nb 1 -5\nc 1\n", Format::Text);
    assert_eq!(
        samples.iter().map(|s| s.timestamp_ms).collect::<Vec<_>>(),
        [Some(1_700_000_000_123), Some(-5), None]
    );
    let (_, stats) = parse_all("a 1 1.5\nb 2\n", Format::Text);
    assert_eq!(
        stats.errors[0].to_string(),
        "line 1, column 5: invalid timestamp \"1.5\""
    );
}

#[test]
fn openmetrics_timestamps_are_seconds_with_a_fraction() {
    let body = "a 1 1520879607.789\nb 1 1520879607\nc 1 1.520879607789e9\nd 1 0.0015\n# EOF\n";
    let (samples, stats) = parse_all(body, Format::OpenMetrics);
    assert_eq!(stats.bad_lines, 0, "{:?}", stats.errors);
    assert_eq!(
        samples.iter().map(|s| s.timestamp_ms).collect::<Vec<_>>(),
        [
            Some(1_520_879_607_789),
            Some(1_520_879_607_000),
            Some(1_520_879_607_789),
            Some(1)
        ]
    );
}

#[test]
fn openmetrics_eof_ends_the_body_and_nothing_may_follow() {
    let body = "# TYPE a counter\n# UNIT a seconds\na_total 1\n# EOF\n";
    let (samples, stats) = parse_all(body, Format::OpenMetrics);
    assert_eq!((samples.len(), stats.bad_lines), (1, 0));
    assert_eq!(samples[0].metric_type, MetricType::Counter);

    let (samples, stats) = parse_all("a 1\n# EOF\nb 2\nc 3\n", Format::OpenMetrics);
    assert_eq!(samples.len(), 1, "nothing after # EOF is taken");
    assert_eq!(stats.bad_lines, 1);
    assert_eq!(
        stats.errors[0].to_string(),
        "line 3, column 1: content after # EOF"
    );

    let (_, stats) = parse_all("a 1\nb 2\n", Format::OpenMetrics);
    assert_eq!(
        stats.errors[0].to_string(),
        "line 3, column 1: missing # EOF at the end of an OpenMetrics body"
    );
}

#[test]
fn exemplars_are_skipped_in_openmetrics_and_refused_in_text() {
    let body = "# TYPE foo histogram\nfoo_bucket{le=\"0.1\"} 8 # {trace_id=\"KOO5S4vxi0o\"} 0.067 1520879607.789\nfoo_bucket{le=\"+Inf\"} 9 # {} 3\nfoo_count 17 1520879607.7\n# EOF\n";
    let (samples, stats) = parse_all(body, Format::OpenMetrics);
    assert_eq!(stats.bad_lines, 0, "{:?}", stats.errors);
    assert_eq!(stats.exemplars_skipped, 2);
    assert_eq!(
        samples.iter().map(|s| s.value).collect::<Vec<_>>(),
        [8.0, 9.0, 17.0]
    );
    assert_eq!(
        samples[0].timestamp_ms, None,
        "the exemplar's timestamp is not the sample's"
    );

    let (_, stats) = parse_all("foo 8 # {a=\"b\"} 1\nbar 1\n", Format::Text);
    assert_eq!(
        stats.errors[0].to_string(),
        "line 1, column 7: exemplars are only allowed in OpenMetrics"
    );

    let (_, stats) = parse_all("foo 8 # {a=\"b\"}\nbar 1\n# EOF\n", Format::OpenMetrics);
    assert_eq!(stats.errors[0].problem, Problem::InvalidExemplar);
}

#[test]
fn crlf_and_blank_lines_are_tolerated() {
    let body = "# TYPE a gauge\r\n\r\na{x=\"1\"} 1\r\n   \r\nb 2 1000\r\n";
    let (samples, stats) = parse_all(body, Format::Text);
    assert_eq!(stats.bad_lines, 0, "{:?}", stats.errors);
    assert_eq!(samples[0].labels, labels(&[("x", "1")]));
    assert_eq!(
        (samples[1].value, samples[1].timestamp_ms, samples[1].line),
        (2.0, Some(1000), 5)
    );
}

#[test]
fn malformed_lines_name_line_column_and_problem_and_good_lines_are_kept() {
    let cases: &[(&str, &str)] = &[
        ("1abc 1", "line 2, column 1: invalid metric name"),
        ("a{1x=\"1\"} 1", "line 2, column 3: invalid label name"),
        (
            "a{x\"1\"} 1",
            "line 2, column 4: expected '=' after label name",
        ),
        (
            "a{x=1} 1",
            "line 2, column 5: expected '\"' to open a label value",
        ),
        (
            "a{x=\"1} 1",
            "line 2, column 5: label value is not terminated",
        ),
        (
            "a{x=\"1\" y=\"2\"} 1",
            "line 2, column 9: expected ',' or '}' after a label value",
        ),
        (
            "a{x=\"1\"",
            "line 2, column 8: expected ',' or '}' after a label value",
        ),
        (
            "a{x=\"1\",x=\"2\"} 1",
            "line 2, column 9: duplicate label name \"x\"",
        ),
        (
            "a",
            "line 2, column 2: expected a value after the metric name and labels",
        ),
        (
            "a{x=\"1\"}",
            "line 2, column 9: expected a value after the metric name and labels",
        ),
        ("a one", "line 2, column 3: invalid value \"one\""),
        (
            "a 1 2 3",
            "line 2, column 7: unexpected text \"3\" after the sample",
        ),
        ("a-b 1", "line 2, column 2: invalid metric name"),
        (
            "# TYPE a nonsense",
            "line 2, column 10: unknown metric type \"nonsense\"",
        ),
        ("# TYPE 9a gauge", "line 2, column 8: invalid metric name"),
        ("# TYPE", "line 2, column 7: malformed # TYPE line"),
        ("# TYPE lonely", "line 2, column 14: malformed # TYPE line"),
        (
            "# TYPE good gauge",
            "line 2, column 8: second # TYPE line for \"good\"",
        ),
    ];
    for (bad, expected) in cases {
        let body = format!("# TYPE good gauge\n{bad}\ngood 1\n");
        let (samples, stats) = parse_all(&body, Format::Text);
        assert_eq!(stats.bad_lines, 1, "{bad}");
        assert_eq!(stats.errors[0].to_string(), *expected, "{bad}");
        assert_eq!(
            samples.last().map(|s| (s.name.as_str(), s.value)),
            Some(("good", 1.0)),
            "{bad}"
        );
        assert_eq!(
            stats.error_summary().unwrap(),
            format!("1 malformed line: {expected}")
        );
    }
}

#[test]
fn a_body_of_garbage_fails_the_scrape() {
    let html = "<html>\n<body>502 Bad Gateway</body>\n</html>\n";
    let error = try_parse_all(html, Format::Auto, &ParseLimits::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "no valid sample; first malformed line: line 1, column 1: invalid metric name"
    );
}

#[test]
fn an_empty_body_is_an_empty_scrape() {
    let (samples, stats) = parse_all("", Format::Auto);
    assert!(samples.is_empty());
    assert_eq!((stats.format, stats.bad_lines), (Format::Text, 0));
}

#[test]
fn too_many_samples_fails_the_scrape() {
    let limits = ParseLimits {
        max_samples: 3,
        ..ParseLimits::default()
    };
    let body = "a 1\nb 1\nc 1\n";
    assert_eq!(
        try_parse_all(body, Format::Text, &limits).unwrap().0.len(),
        3
    );
    let error = try_parse_all("a 1\nb 1\nc 1\nd 1\n", Format::Text, &limits).unwrap_err();
    assert_eq!(error, ExpositionError::TooManySamples { limit: 3, line: 4 });
    assert_eq!(
        error.to_string(),
        "more than 3 samples in one scrape (at line 4)"
    );
}

#[test]
fn too_many_bad_lines_fails_the_scrape() {
    let limits = ParseLimits {
        max_bad_lines: 2,
        max_errors_kept: 1,
        ..ParseLimits::default()
    };
    let (_, stats) = try_parse_all("a 1\n!\n!\n", Format::Text, &limits).unwrap();
    assert_eq!((stats.bad_lines, stats.errors.len()), (2, 1));
    let error = try_parse_all("a 1\n!\n!\n!\n", Format::Text, &limits).unwrap_err();
    assert!(
        matches!(error, ExpositionError::TooManyBadLines { bad_lines: 3, .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("first: line 2, column 1"),
        "{error}"
    );
}

#[test]
fn per_line_limits() {
    let limits = ParseLimits {
        max_line_bytes: 40,
        max_labels: 2,
        max_label_name_bytes: 5,
        max_label_value_bytes: 4,
        ..ParseLimits::default()
    };
    let cases = [
        (
            format!("a{{x=\"{}\"}} 1", "v".repeat(50)),
            "line 1, column 41: line longer than 40 bytes",
        ),
        (
            "a{x=\"1\",y=\"2\",z=\"3\"} 1".to_owned(),
            "line 1, column 15: more than 2 labels",
        ),
        (
            "a{abcdef=\"1\"} 1".to_owned(),
            "line 1, column 3: label name longer than 5 bytes",
        ),
        (
            "a{x=\"12345\"} 1".to_owned(),
            "line 1, column 6: label value longer than 4 bytes",
        ),
    ];
    for (line, expected) in cases {
        let body = format!("{line}\nok 1\n");
        let (samples, stats) = try_parse_all(&body, Format::Text, &limits).unwrap();
        assert_eq!(stats.errors[0].to_string(), expected);
        assert_eq!(samples.len(), 1);
    }
}

#[test]
fn huge_tokens_do_not_make_huge_errors() {
    let body = format!("a {}\nok 1\n", "x".repeat(10_000));
    let (_, stats) = parse_all(&body, Format::Text);
    assert!(
        stats.errors[0].to_string().len() < 200,
        "{}",
        stats.errors[0]
    );
}

#[test]
fn auto_detects_openmetrics_by_its_terminator() {
    let (samples, stats) = parse_all("a 1 1.5\n# EOF\n", Format::Auto);
    assert_eq!(stats.format, Format::OpenMetrics);
    assert_eq!(samples[0].timestamp_ms, Some(1500));
    let (_, stats) = parse_all("a 1 1500\n", Format::Auto);
    assert_eq!(stats.format, Format::Text);
}

#[test]
fn format_from_content_type() {
    assert_eq!(
        Format::from_content_type(Some(
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        )),
        Format::OpenMetrics
    );
    assert_eq!(
        Format::from_content_type(Some("text/plain; version=0.0.4; charset=utf-8")),
        Format::Text
    );
    assert_eq!(
        Format::from_content_type(Some("application/json")),
        Format::Auto
    );
    assert_eq!(Format::from_content_type(None), Format::Auto);
}

#[test]
fn plain_comments_are_ignored() {
    let (samples, stats) = parse_all(
        "#comment\n# just words here\n# HELP a some help \\n text\na 1\n",
        Format::Text,
    );
    assert_eq!((samples.len(), stats.bad_lines), (1, 0));
}
