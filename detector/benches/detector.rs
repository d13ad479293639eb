//! Throughput of the statistical ensemble and the pipeline, state per series, and the cost of
//! fitting and scoring the linfa models.
//!
//! `CARGO_TARGET_DIR=/work/target-detector cargo bench -p detector --bench detector`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use detector::ensemble::{Ensemble, EnsembleConfig};
use detector::learn::{GroupModel, GroupModelKind, LevelClassifier};
use detector::pipeline::{Pipeline, PipelineConfig};
use detector::policy::Policy;
use model::{Evidence, Level, Sample, SeriesKey, Signal, SignalCategory};

const POINTS: usize = 100_000;

fn series(n: usize) -> Vec<f64> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let noise = (state >> 11) as f64 / (1u64 << 53) as f64;
            100.0 + 10.0 * (i as f64 / 288.0 * std::f64::consts::TAU).sin() + noise * 3.0
        })
        .collect()
}

fn ensembles(c: &mut Criterion) {
    let values = series(POINTS);
    let mut group = c.benchmark_group("ensemble");
    group.throughput(Throughput::Elements(POINTS as u64));
    for (name, config) in [
        ("live", EnsembleConfig::live()),
        ("replay", EnsembleConfig::replay()),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut ensemble = Ensemble::new(&config);
                let mut total = 0.0;
                for (i, value) in values.iter().enumerate() {
                    total += ensemble.observe(i as i64 * 5_000, *value, true).score;
                }
                black_box(total)
            })
        });
        let mut ensemble = Ensemble::new(&config);
        for (i, value) in values.iter().enumerate() {
            ensemble.observe(i as i64 * 5_000, *value, true);
        }
        eprintln!(
            "state bytes per series ({name} ensemble): {}",
            ensemble.state_bytes()
        );
    }
    group.finish();
}

fn pipeline(c: &mut Criterion) {
    let keys: Vec<Arc<SeriesKey>> = (0..100)
        .map(|i| {
            Arc::new(
                SeriesKey::new(format!("metric_{}", i % 10)).with_label("instance", format!("{i}")),
            )
        })
        .collect();
    let values = series(POINTS);
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(POINTS as u64));
    group.bench_function("observe_100_series", |b| {
        b.iter(|| {
            let mut pipeline = Pipeline::new(PipelineConfig::default(), Policy::default_policy());
            let mut signals = 0;
            for (i, value) in values.iter().enumerate() {
                let sample = Sample {
                    key: Arc::clone(&keys[i % keys.len()]),
                    at_ms: (i / keys.len()) as i64 * 5_000,
                    value: *value,
                };
                signals += pipeline.observe(&sample).len();
            }
            black_box(signals)
        })
    });
    group.finish();
    let mut pipeline = Pipeline::new(PipelineConfig::default(), Policy::default_policy());
    for (i, value) in values.iter().enumerate() {
        pipeline.observe(&Sample {
            key: Arc::clone(&keys[i % keys.len()]),
            at_ms: (i / keys.len()) as i64 * 5_000,
            value: *value,
        });
    }
    eprintln!(
        "pipeline state bytes per series (100 series): {}",
        pipeline.state_bytes() / keys.len()
    );
}

fn chain_rows(n: usize) -> Vec<Vec<f64>> {
    series(n * 4)
        .chunks(4)
        .map(|c| {
            vec![
                6.0 + c[0] / 100.0,
                c[1],
                24.0 + c[2] / 50.0,
                2.0 + c[3] / 100.0,
            ]
        })
        .collect()
}

/// Ranking quality of a group model: AUC of faulty rows against held-out normal rows.
fn group_model_auc(kind: GroupModelKind) -> f64 {
    let all = chain_rows(1120);
    let (train, normal) = all.split_at(720);
    let model = GroupModel::fit(kind, train).unwrap();
    let faults: Vec<Vec<f64>> = normal[..200]
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut row = row.clone();
            match i % 4 {
                // Each fault is under half a standard deviation of one member, breaking the members'
                // usual correlation rather than leaving any member's own range.
                0 => row[3] += 0.03,
                1 => row[1] -= 3.0,
                2 => row[2] -= 0.06,
                _ => row[0] += 0.03,
            }
            row
        })
        .collect();
    let normal_scores: Vec<f64> = normal[200..].iter().map(|r| model.surprise(r)).collect();
    let fault_scores: Vec<f64> = faults.iter().map(|r| model.surprise(r)).collect();
    let mut wins = 0.0;
    for f in &fault_scores {
        for n in &normal_scores {
            wins += if f > n {
                1.0
            } else if f == n {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (fault_scores.len() * normal_scores.len()) as f64
}

fn linfa_models(c: &mut Criterion) {
    for kind in [GroupModelKind::Knn, GroupModelKind::Gmm] {
        eprintln!(
            "group model {kind:?}: AUC of injected faults vs held-out normal rows = {:.3}",
            group_model_auc(kind)
        );
    }
    let rows = chain_rows(720);
    let mut group = c.benchmark_group("group_model");
    for kind in [GroupModelKind::Knn, GroupModelKind::Gmm] {
        let name = format!("{kind:?}").to_lowercase();
        group.bench_function(format!("fit_720x4_{name}"), |b| {
            b.iter(|| black_box(GroupModel::fit(kind, &rows).unwrap()))
        });
        let model = GroupModel::fit(kind, &rows).unwrap();
        group.bench_function(format!("score_one_row_{name}"), |b| {
            b.iter(|| black_box(model.surprise(&[6.5, 120.0, 25.0, 3.0])))
        });
    }
    group.finish();

    let signal = |category: SignalCategory, score: f64| Signal {
        id: "s".into(),
        series: SeriesKey::new("x"),
        category,
        component: "c".into(),
        score,
        level: Level::L4,
        reason: String::new(),
        started_at_ms: 0,
        updated_at_ms: 60_000,
        active: true,
        evidence: vec![Evidence {
            detector: "d".into(),
            score,
            value: 1.0,
            baseline: 0.0,
            detail: String::new(),
        }],
    };
    let mut classifier = LevelClassifier::new(20, 10_000);
    for i in 0..500 {
        let category = [
            SignalCategory::Chain,
            SignalCategory::Peg,
            SignalCategory::Ux,
        ][i % 3];
        classifier.record(
            &signal(category, (i % 100) as f64 / 100.0),
            Level::ALL[i % 4],
        );
    }
    let mut group = c.benchmark_group("classifier");
    group.bench_function("refit_500_labels", |b| {
        b.iter(|| black_box(classifier.clone().refit().unwrap()))
    });
    classifier.refit().unwrap();
    let probe = signal(SignalCategory::Peg, 0.7);
    group.bench_function("predict", |b| {
        b.iter(|| black_box(classifier.predict(&probe)))
    });
    group.finish();
}

criterion_group!(benches, ensembles, pipeline, linfa_models);
criterion_main!(benches);
