//! Exposition parsing throughput, side by side with the `prometheus-parse` crate on the same
//! input: the real node_exporter scrape scaled to ~100k samples.
//!
//! `cargo bench -p collector --bench exposition`

mod common;

use std::hint::black_box;
use std::time::Instant;

use collector::exposition::{self, Format, ParseLimits};
use collector::series::Batch;
use criterion::{Criterion, Throughput};

fn main() {
    let (body, samples) = common::scaled_node_exporter(200);
    let limits = ParseLimits {
        max_samples: 10_000_000,
        ..ParseLimits::default()
    };
    println!(
        "input: {samples} samples, {:.1} MB",
        body.len() as f64 / 1e6
    );

    let mut criterion = Criterion::default().configure_from_args().sample_size(20);
    let mut group = criterion.benchmark_group("exposition_100k");
    group.throughput(Throughput::Elements(samples as u64));
    group.bench_function("vigil_parse", |b| {
        b.iter(|| {
            let mut sum = 0.0;
            let stats = exposition::parse(black_box(&body), Format::Text, &limits, |sample| {
                sum += sample.value
            })
            .unwrap();
            assert_eq!(stats.samples, samples);
            black_box(sum)
        })
    });
    group.bench_function("vigil_parse_into_batch", |b| {
        b.iter(|| {
            let (batch, _) =
                Batch::from_exposition(black_box(&body), Format::Text, &limits).unwrap();
            assert_eq!(batch.len(), samples);
            batch
        })
    });
    group.bench_function("prometheus_parse", |b| {
        b.iter(|| {
            // The crate takes owned lines; this is how it is fed from a body.
            let scrape = prometheus_parse::Scrape::parse(
                black_box(&body).lines().map(|line| Ok(line.to_owned())),
            )
            .unwrap();
            // It folds each summary's quantile lines into one sample, hence not `samples`.
            assert!(scrape.samples.len() >= samples - samples / 100);
            scrape
        })
    });
    group.finish();

    // Hostile size: one ~100 MB body, timed once, to show the parse stays linear.
    let (big, big_samples) = common::scaled_node_exporter(2_500);
    let started = Instant::now();
    let stats = exposition::parse(&big, Format::Text, &limits, |sample| {
        black_box(sample.value);
    })
    .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(stats.samples, big_samples);
    println!(
        "one {:.0} MB body: {} samples in {:.3} s = {:.0} MB/s, {:.2} M samples/s",
        big.len() as f64 / 1e6,
        big_samples,
        elapsed.as_secs_f64(),
        big.len() as f64 / 1e6 / elapsed.as_secs_f64(),
        big_samples as f64 / 1e6 / elapsed.as_secs_f64()
    );
    criterion.final_summary();
}
