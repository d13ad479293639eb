//! Ingest of 100k active series scraped every 15 s, on one core, and memory per series.
//!
//! `cargo bench -p collector --bench ingest`

mod common;

use std::hint::black_box;
use std::time::Instant;

use collector::exposition::{Format, ParseLimits};
use collector::series::{Batch, Selector, SeriesLimits, SeriesStore};
use criterion::{Criterion, Throughput};

const INTERVAL_MS: i64 = 15_000;

/// Resident set size in bytes, from /proc/self/statm (Linux).
fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    // 198 copies of the 505-sample scrape = 99,990 series.
    let (body, samples) = common::scaled_node_exporter(198);
    let limits = ParseLimits {
        max_samples: 1_000_000,
        ..ParseLimits::default()
    };
    let (batch, _) = Batch::from_exposition(&body, Format::Text, &limits).unwrap();
    let series_limits = SeriesLimits::default();
    let points = series_limits.points_per_series;
    println!("input: {samples} series per round, points_per_series = {points}");

    // Fill a store with a full window for every series, measuring RSS around it.
    let rss_before = rss_bytes();
    let store = SeriesStore::new(series_limits);
    let fill_started = Instant::now();
    for round in 0..points as i64 {
        let outcome = store.ingest_batch(
            &batch,
            &[("target", "bench")],
            1_700_000_000_000 + round * INTERVAL_MS,
        );
        assert_eq!(outcome.dropped(), 0);
    }
    let fill = fill_started.elapsed();
    let rss_after = rss_bytes();
    let stats = store.stats();
    assert_eq!((stats.series, stats.points), (samples, samples * points));
    println!(
        "filled {} series x {} points in {:.2} s; approx_bytes = {:.1} MB ({:.0} B/series); RSS delta = {:.1} MB ({:.0} B/series)",
        stats.series,
        points,
        fill.as_secs_f64(),
        stats.approx_bytes as f64 / 1e6,
        stats.approx_bytes as f64 / stats.series as f64,
        (rss_after - rss_before) as f64 / 1e6,
        (rss_after - rss_before) as f64 / stats.series as f64
    );

    let mut criterion = Criterion::default().configure_from_args().sample_size(20);
    let mut group = criterion.benchmark_group("ingest_100k_series");
    group.throughput(Throughput::Elements(samples as u64));
    let mut at = 1_700_000_000_000 + points as i64 * INTERVAL_MS;
    group.bench_function("ingest_batch_one_round", |b| {
        b.iter(|| {
            at += INTERVAL_MS;
            let outcome = store.ingest_batch(black_box(&batch), &[("target", "bench")], at);
            assert_eq!(outcome.appended, samples);
            outcome
        })
    });
    group.bench_function("parse_and_ingest_one_round", |b| {
        b.iter(|| {
            at += INTERVAL_MS;
            let (batch, _) =
                Batch::from_exposition(black_box(&body), Format::Text, &limits).unwrap();
            let outcome = store.ingest_batch(&batch, &[("target", "bench")], at);
            assert_eq!(outcome.appended, samples);
            outcome
        })
    });
    let selector = Selector::parse(r#"node_cpu_seconds_total{cpu="0",mode="idle"}"#).unwrap();
    group.throughput(Throughput::Elements(1));
    group.bench_function("query_selector_over_100k", |b| {
        b.iter(|| black_box(store.query(&selector, None)).len())
    });
    group.finish();
    criterion.final_summary();
}
