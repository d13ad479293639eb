//! The parser and the store against real node_exporter scrapes and hostile bodies.

use collector::exposition::{self, ExpositionError, Format, MetricType, ParseLimits, Problem};
use collector::series::{Batch, Selector, SeriesLimits, SeriesStore};

const NODE: &str = include_str!("data/node-exporter.prom");
const NODE_FULL: &str = include_str!("data/node-exporter-full.prom");

#[test]
fn node_exporter_scrape_parses_completely() {
    let mut idle = None;
    let mut cpu_series = 0;
    let stats = exposition::parse(NODE, Format::Text, &ParseLimits::default(), |sample| {
        if sample.name == "node_cpu_seconds_total" {
            cpu_series += 1;
            assert_eq!(sample.metric_type, MetricType::Counter);
            if sample.label("cpu") == Some("0") && sample.label("mode") == Some("idle") {
                idle = Some(sample.value);
            }
        }
    })
    .unwrap();
    assert_eq!(stats.samples, 128);
    assert_eq!((stats.bad_lines, stats.lines), (0, 300));
    assert_eq!(idle, Some(218.63));
    assert_eq!(cpu_series, 16);
}

#[test]
fn full_node_exporter_scrape_parses_completely() {
    let mut facts = Vec::new();
    let stats =
        exposition::parse(
            NODE_FULL,
            Format::Auto,
            &ParseLimits::default(),
            |sample| match sample.name {
                "node_filesystem_avail_bytes" if sample.label("mountpoint") == Some("/") => {
                    facts.push(("avail", sample.value, sample.metric_type))
                }
                "go_gc_duration_seconds" if sample.label("quantile") == Some("0.25") => {
                    facts.push(("gc p25", sample.value, sample.metric_type))
                }
                "go_memstats_buck_hash_sys_bytes" => {
                    facts.push(("buck", sample.value, sample.metric_type))
                }
                _ => {}
            },
        )
        .unwrap();
    assert_eq!(stats.format, Format::Text);
    assert_eq!(
        (stats.samples, stats.bad_lines, stats.lines),
        (505, 0, 1071)
    );
    assert_eq!(
        facts,
        [
            ("gc p25", 0.0, MetricType::Summary),
            ("buck", 1_446_233.0, MetricType::Gauge),
            ("avail", 82_959_007_744.0, MetricType::Gauge)
        ]
    );
}

#[test]
fn full_scrape_lands_in_the_store_and_is_queryable() {
    let store = SeriesStore::new(SeriesLimits::default());
    for round in 0..3 {
        let (batch, _) =
            Batch::from_exposition(NODE_FULL, Format::Text, &ParseLimits::default()).unwrap();
        let outcome = store.ingest_batch(
            &batch,
            &[("target", "node")],
            1_700_000_000_000 + round * 15_000,
        );
        assert_eq!(outcome.dropped(), 0);
        assert_eq!(outcome.new_series, if round == 0 { 505 } else { 0 });
    }
    let selector =
        Selector::parse(r#"node_cpu_seconds_total{cpu="0",mode="idle",target="node"}"#).unwrap();
    let found = store.query(&selector, None);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].points.len(), 3);
    assert_eq!(found[0].points[2], (1_700_000_030_000, 218.63));
    let stats = store.stats();
    assert_eq!((stats.series, stats.points), (505, 1515));
}

#[test]
fn cardinality_bomb_is_refused_by_the_parser() {
    let mut body = String::new();
    for index in 0..300_000 {
        body.push_str(&format!("bomb{{id=\"{index}\"}} 1\n"));
    }
    let error =
        exposition::parse(&body, Format::Text, &ParseLimits::default(), |_| {}).unwrap_err();
    assert_eq!(
        error,
        ExpositionError::TooManySamples {
            limit: 200_000,
            line: 200_001
        }
    );
}

#[test]
fn cardinality_bomb_within_the_parse_limit_is_capped_by_the_store() {
    let store = SeriesStore::new(SeriesLimits {
        max_series: 1_000,
        ..SeriesLimits::default()
    });
    let mut batch = Batch::new();
    for index in 0..5_000 {
        batch.push("bomb", [("id", index.to_string().as_str())], None, 1.0);
    }
    let outcome = store.ingest_batch(&batch, &[("target", "evil")], 1_000);
    assert_eq!(
        (outcome.new_series, outcome.dropped_series_limit),
        (1_000, 4_000)
    );
    let stats = store.stats();
    assert_eq!((stats.series, stats.dropped_series_total), (1_000, 4_000));
    // A well-behaved target's existing series keep flowing.
    let again = store.ingest_batch(&batch, &[("target", "evil")], 16_000);
    assert_eq!(again.appended, 1_000);
}

#[test]
fn a_100_mb_line_is_one_bad_line_not_a_100_mb_allocation() {
    let mut body = String::from("good 1\n");
    body.push_str("long{a=\"");
    body.push_str(&"x".repeat(100 * 1024 * 1024));
    body.push_str("\"} 1\nalso_good 2\n");
    let stats = exposition::parse(&body, Format::Text, &ParseLimits::default(), |_| {}).unwrap();
    assert_eq!(stats.samples, 2);
    assert_eq!(stats.errors[0].line, 2);
    assert_eq!(stats.errors[0].problem, Problem::LineTooLong(64 * 1024));
}

#[test]
fn a_large_body_of_many_lines_parses() {
    // ~20 MB of valid lines: all parsed, the limit raised as a caller would for a big exporter.
    let line = "node_network_receive_bytes_total{device=\"eth0\",instance=\"host-000001:9100\"} 1.234567e+09\n";
    let count = 20 * 1024 * 1024 / line.len();
    let body = line.repeat(count);
    let limits = ParseLimits {
        max_samples: count,
        ..ParseLimits::default()
    };
    let mut sum = 0.0;
    let stats =
        exposition::parse(&body, Format::Text, &limits, |sample| sum += sample.value).unwrap();
    assert_eq!(stats.samples, count);
    assert_eq!(sum, 1.234567e9 * count as f64);
}

#[test]
fn malformed_lines_in_a_real_scrape_are_reported_and_the_rest_kept() {
    let mut lines: Vec<&str> = NODE.lines().collect();
    lines[11] = "go_goroutines{ 7";
    lines[200] = "node_load1 O.5";
    let body = lines.join("\n");
    let stats = exposition::parse(&body, Format::Text, &ParseLimits::default(), |_| {}).unwrap();
    assert_eq!(stats.samples, 126);
    assert_eq!(
        stats.error_summary().unwrap(),
        "2 malformed lines; first: line 12, column 16: invalid label name"
    );
    assert_eq!(
        stats.errors[1].to_string(),
        "line 201, column 12: invalid value \"O.5\""
    );
}
