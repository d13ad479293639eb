//! Pipeline behaviour against a small simulation of the embedded core's normal metrics
//! (see CORE_METRICS.md), with the faults the live requirement names injected.

use super::*;

/// A deterministic generator of the core's series, scraped every 5 s.
struct Core {
    rng: u64,
    at: UnixMs,
    height: f64,
    next_block_at: UnixMs,
    last_block_at: UnixMs,
    price_deviation: f64,
    locked: [f64; 2],
    tx_total: f64,
    validators_offline: f64,
    depeg: bool,
    drain: bool,
}

impl Core {
    fn new(seed: u64) -> Self {
        Self {
            rng: seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1),
            at: 1_800_000_000_000,
            height: 1000.0,
            next_block_at: 1_800_000_006_000,
            last_block_at: 1_800_000_000_000,
            price_deviation: 0.0,
            locked: [5_000_000.0, 2_000_000.0],
            tx_total: 0.0,
            validators_offline: 0.0,
            depeg: false,
            drain: false,
        }
    }

    fn uniform(&mut self) -> f64 {
        self.rng = self
            .rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    fn sample(&self, key: SeriesKey, value: f64) -> Sample {
        Sample {
            key: Arc::new(key.with_label("target", "core")),
            at_ms: self.at,
            value,
        }
    }

    /// Advances 5 s and returns one scrape of every series.
    fn scrape(&mut self) -> Vec<Sample> {
        self.at += 5_000;
        let mut block_times = Vec::new();
        while self.next_block_at <= self.at {
            self.height += 1.0;
            block_times.push((self.next_block_at - self.last_block_at) as f64 / 1000.0);
            self.last_block_at = self.next_block_at;
            self.next_block_at += 6_000 + (self.uniform() * 1000.0 - 500.0) as i64;
            for (i, locked) in self.locked.clone().iter().enumerate() {
                let step = if self.drain && i == 0 {
                    -0.03
                } else {
                    (self.uniform() - 0.5) * 0.004
                };
                self.locked[i] = locked * (1.0 + step);
            }
            self.tx_total += (80.0 + self.uniform() * 40.0).round();
        }
        // Mean-reverting price within about +/-1 %, or 4-6 % off during a depeg.
        let target = if self.depeg { 5.0 } else { 0.0 };
        self.price_deviation +=
            0.3 * (target - self.price_deviation) + (self.uniform() - 0.5) * 0.4;
        let age = (self.at - self.last_block_at) as f64 / 1000.0;
        let block_time = block_times.last().copied().unwrap_or(6.0);
        let txs = 80.0 + self.uniform() * 40.0;
        let error_ratio = 0.005 + (self.uniform() - 0.5) * 0.002;
        let probe = 0.02 + self.uniform() * 0.01;
        vec![
            self.sample(SeriesKey::new("chain_head_age_seconds"), age),
            self.sample(SeriesKey::new("core_chain_height"), self.height),
            self.sample(SeriesKey::new("chain_block_time_seconds"), block_time),
            self.sample(SeriesKey::new("chain_txs_per_block"), txs.round()),
            self.sample(SeriesKey::new("chain_peers"), 24.0),
            self.sample(SeriesKey::new("core_finality_lag_blocks"), 2.0),
            self.sample(
                SeriesKey::new("core_validators_offline"),
                self.validators_offline,
            ),
            self.sample(
                SeriesKey::new("peg_deviation_percent"),
                self.price_deviation,
            ),
            self.sample(
                SeriesKey::new("contract_read")
                    .with_label("chain", "core")
                    .with_label("contract", "bridge")
                    .with_label("read", "value_locked"),
                self.locked[0],
            ),
            self.sample(
                SeriesKey::new("contract_read")
                    .with_label("chain", "core")
                    .with_label("contract", "escrow")
                    .with_label("read", "value_locked"),
                self.locked[1],
            ),
            self.sample(
                SeriesKey::new("core_module_error_ratio").with_label("module", "bridge"),
                error_ratio,
            ),
            self.sample(
                SeriesKey::new("core_module_tx_total").with_label("module", "bridge"),
                self.tx_total,
            ),
            self.sample(SeriesKey::new("probe_duration_seconds"), probe),
            self.sample(SeriesKey::new("probe_success"), 1.0),
        ]
    }
}

fn run(pipeline: &mut Pipeline, core: &mut Core, scrapes: usize) -> Vec<Signal> {
    let mut signals = Vec::new();
    for _ in 0..scrapes {
        for sample in core.scrape() {
            signals.extend(pipeline.observe(&sample));
        }
    }
    signals
}

fn pipeline() -> Pipeline {
    Pipeline::new(PipelineConfig::default(), Policy::default_policy())
}

#[test]
fn thirty_minutes_of_normal_operation_signal_nothing_above_l4() {
    for seed in 1..=3 {
        let mut pipeline = pipeline();
        let mut core = Core::new(seed);
        // Warm up for ten minutes, then watch thirty.
        run(&mut pipeline, &mut core, 120);
        let signals = run(&mut pipeline, &mut core, 360);
        assert!(
            signals.iter().all(|s| s.level == Level::L4),
            "seed {seed}: {signals:#?}"
        );
        assert!(
            signals.len() <= 2,
            "seed {seed}: too many minor anomalies: {signals:#?}"
        );
    }
}

#[test]
fn a_depeg_is_l2_within_three_scrapes_and_ends_with_the_same_id() {
    let mut pipeline = pipeline();
    let mut core = Core::new(7);
    run(&mut pipeline, &mut core, 120);
    core.depeg = true;
    let signals = run(&mut pipeline, &mut core, 3);
    let peg = signals
        .iter()
        .find(|s| s.series.name == "peg_deviation_percent")
        .expect("an L2 within 3 scrapes");
    assert_eq!(
        (peg.level, peg.category, peg.component.as_str(), peg.active),
        (Level::L2, SignalCategory::Peg, "peg", true)
    );
    assert_eq!(peg.score, 1.0, "a firing rule is certain");
    assert_eq!(peg.evidence[0].detector, "threshold");
    assert!(
        peg.reason
            .starts_with("peg deviation: |peg_deviation_percent| ")
            && peg.reason.ends_with("> 2 for 5 s → L2"),
        "{}",
        peg.reason
    );
    assert!(pipeline.active_signals().iter().any(|s| s.id == peg.id));
    // Stays one signal while the depeg lasts.
    let during = run(&mut pipeline, &mut core, 60);
    assert!(
        !during
            .iter()
            .any(|s| s.series.name == "peg_deviation_percent"),
        "{during:#?}"
    );
    core.depeg = false;
    let after = run(&mut pipeline, &mut core, 40);
    let ended = after
        .iter()
        .find(|s| s.series.name == "peg_deviation_percent" && !s.active)
        .expect("the signal ends");
    assert_eq!(ended.id, peg.id);
    assert!(!pipeline.active_signals().iter().any(|s| s.id == peg.id));
}

#[test]
fn an_exploit_drain_is_l1_security_on_the_drained_module() {
    let mut pipeline = pipeline();
    let mut core = Core::new(11);
    run(&mut pipeline, &mut core, 120);
    core.drain = true;
    let signals = run(&mut pipeline, &mut core, 6);
    let drain = signals
        .iter()
        .find(|s| s.level == Level::L1)
        .expect("an L1");
    assert_eq!(
        (drain.category, drain.component.as_str()),
        (SignalCategory::Security, "bridge")
    );
    assert!(
        drain.reason.contains("value locked draining"),
        "{}",
        drain.reason
    );
    assert!(
        !signals
            .iter()
            .any(|s| s.component == "escrow" && s.level < Level::L4)
    );
}

#[test]
fn one_validator_down_is_l3_and_most_down_is_l1() {
    let mut pipeline = pipeline();
    let mut core = Core::new(3);
    run(&mut pipeline, &mut core, 60);
    core.validators_offline = 1.0;
    let signals = run(&mut pipeline, &mut core, 2);
    let down = signals
        .iter()
        .find(|s| s.series.name == "core_validators_offline")
        .unwrap();
    assert_eq!(down.level, Level::L3);
    core.validators_offline = 3.0;
    let worse = run(&mut pipeline, &mut core, 1);
    let escalated = worse
        .iter()
        .find(|s| s.series.name == "core_validators_offline")
        .expect("a level change is emitted");
    assert_eq!((escalated.level, &escalated.id), (Level::L1, &down.id));
}

#[test]
fn a_stalled_chain_is_l1() {
    let mut pipeline = pipeline();
    let mut core = Core::new(5);
    run(&mut pipeline, &mut core, 60);
    core.next_block_at = i64::MAX;
    let signals = run(&mut pipeline, &mut core, 5);
    assert!(
        signals
            .iter()
            .any(|s| s.level == Level::L1 && s.category == SignalCategory::Chain),
        "{signals:#?}"
    );
}

#[test]
fn counter_resets_are_not_anomalies() {
    let mut pipeline = pipeline();
    let key = Arc::new(SeriesKey::new("requests_total"));
    let mut signals = Vec::new();
    for i in 0..400i64 {
        // Restarts every 100 scrapes.
        let value = (i % 100) as f64 * 50.0 + (i % 3) as f64;
        signals.extend(pipeline.observe(&Sample {
            key: Arc::clone(&key),
            at_ms: i * 5_000,
            value,
        }));
    }
    assert!(signals.is_empty(), "{signals:#?}");
}

#[test]
fn a_sustained_statistical_anomaly_without_a_rule_is_l4_with_evidence() {
    let mut pipeline = pipeline();
    let key = Arc::new(SeriesKey::new("ux_latency_ms").with_label("region", "eu"));
    let mut signals = Vec::new();
    for i in 0..300i64 {
        let value = if i < 250 {
            120.0 + (i % 7) as f64
        } else {
            900.0 + (i % 5) as f64
        };
        signals.extend(pipeline.observe(&Sample {
            key: Arc::clone(&key),
            at_ms: i * 5_000,
            value,
        }));
    }
    let signal = signals.first().expect("an L4");
    assert_eq!(
        (signal.level, signal.category, signal.component.as_str()),
        (Level::L4, SignalCategory::Ux, "eu")
    );
    assert!(
        signal.reason.starts_with("minor anomaly"),
        "{}",
        signal.reason
    );
    assert!(
        !signal.evidence.is_empty()
            && signal
                .evidence
                .iter()
                .all(|e| (0.0..=1.0).contains(&e.score))
    );
    assert_eq!(pipeline.hottest(1)[0].0, *key);
}

#[test]
fn the_number_of_series_is_bounded() {
    let mut pipeline = Pipeline::new(
        PipelineConfig {
            max_series: 3,
            ..PipelineConfig::default()
        },
        Policy::default_policy(),
    );
    for i in 0..5 {
        pipeline.observe(&Sample {
            key: Arc::new(SeriesKey::new(format!("s{i}"))),
            at_ms: i * 1000,
            value: 1.0,
        });
    }
    assert_eq!(pipeline.series_count(), 3);
    let names: Vec<String> = pipeline
        .hottest(10)
        .into_iter()
        .map(|(k, _)| k.name)
        .collect();
    assert!(!names.contains(&"s0".to_owned()) && names.contains(&"s4".to_owned()));
    assert!(pipeline.state_bytes() > 0);
}

#[test]
fn excluded_samples_do_not_move_baselines() {
    let key = Arc::new(SeriesKey::new("latency"));
    let mut clean = pipeline();
    let mut maintained = pipeline();
    for i in 0..200i64 {
        let sample = Sample {
            key: Arc::clone(&key),
            at_ms: i * 5_000,
            value: 10.0 + (i % 4) as f64,
        };
        clean.observe(&sample);
        maintained.observe(&sample);
        if i % 10 == 0 {
            let junk = Sample {
                key: Arc::clone(&key),
                at_ms: i * 5_000 + 1,
                value: 1e6,
            };
            assert!(
                maintained
                    .observe_excluded(&junk)
                    .iter()
                    .all(|s| s.level != Level::L4)
            );
        }
    }
    let probe = Sample {
        key: Arc::clone(&key),
        at_ms: 200 * 5_000,
        value: 30.0,
    };
    clean.observe(&probe);
    maintained.observe(&probe);
    assert_eq!(clean.hottest(1)[0].1, maintained.hottest(1)[0].1);
}

#[test]
fn the_classifier_relevels_statistical_signals_after_enough_labels() {
    let mut pipeline = pipeline();
    let key = Arc::new(SeriesKey::new("ux_latency_ms").with_label("region", "eu"));
    let feed = |pipeline: &mut Pipeline, start: i64| {
        let mut signals = Vec::new();
        for i in 0..300i64 {
            let value = if i < 250 {
                120.0 + (i % 7) as f64
            } else {
                900.0 + (i % 5) as f64 + (start as f64)
            };
            signals.extend(pipeline.observe(&Sample {
                key: Arc::clone(&key),
                at_ms: start + i * 5_000,
                value,
            }));
        }
        signals
    };
    let first = feed(&mut pipeline, 0);
    let signal = first.first().unwrap().clone();
    assert_eq!(signal.level, Level::L4);
    for _ in 0..25 {
        pipeline.record_label(&signal, Level::L3);
    }
    assert!(pipeline.refit().unwrap().classifier_active);
    let mut fresh = Pipeline::new(PipelineConfig::default(), Policy::default_policy());
    fresh.set_labels(std::iter::repeat_n((signal.clone(), Level::L3), 25));
    fresh.refit().unwrap();
    let relabelled = feed(&mut fresh, 0);
    let relabelled = relabelled.first().unwrap();
    assert_eq!(relabelled.level, Level::L3, "{}", relabelled.reason);
    assert!(
        relabelled
            .reason
            .contains("learned from 25 commander labels"),
        "{}",
        relabelled.reason
    );
}

#[test]
fn the_chain_health_group_flags_an_unusual_combination() {
    let mut pipeline = pipeline();
    let mut core = Core::new(9);
    run(&mut pipeline, &mut core, 200);
    let report = pipeline.refit().unwrap();
    assert_eq!(report.groups_fitted, vec!["chain_health".to_owned()]);
    // Finality lag jumps while everything else looks normal.
    let mut signals = Vec::new();
    for _ in 0..20 {
        for mut sample in core.scrape() {
            if sample.key.name == "core_finality_lag_blocks" {
                sample.value = 40.0;
            }
            signals.extend(pipeline.observe(&sample));
        }
    }
    assert!(
        signals
            .iter()
            .any(|s| s.series.name == "vigil_group_anomaly"),
        "{signals:#?}"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn a_constant_series_never_signals(value in -1e9f64..1e9, len in 1usize..400, name in "[a-z_]{1,12}") {
            let mut pipeline = pipeline();
            let key = Arc::new(SeriesKey::new(name));
            for i in 0..len {
                let signals = pipeline.observe(&Sample { key: Arc::clone(&key), at_ms: i as i64 * 5_000, value });
                prop_assert!(signals.is_empty());
            }
        }

        #[test]
        fn signal_scores_are_finite_and_in_unit_range(values in prop::collection::vec(-1e6f64..1e6, 1..400)) {
            let mut pipeline = pipeline();
            let key = Arc::new(SeriesKey::new("anything"));
            for (i, value) in values.iter().enumerate() {
                for signal in pipeline.observe(&Sample { key: Arc::clone(&key), at_ms: i as i64 * 5_000, value: *value }) {
                    prop_assert!(signal.score.is_finite() && (0.0..=1.0).contains(&signal.score));
                    prop_assert!(signal.evidence.iter().all(|e| e.score.is_finite() && (0.0..=1.0).contains(&e.score)));
                }
            }
            prop_assert!(pipeline.hottest(1).iter().all(|(_, s)| (0.0..=1.0).contains(s)));
        }
    }
}

#[test]
fn pipeline_config_reads_from_toml_with_defaults_and_rejects_unknown_keys() {
    let config: PipelineConfig =
        toml::from_str("max_series = 5\n[ensemble]\nsuppression_decay = 0.9\n").unwrap();
    assert_eq!(config.max_series, 5);
    assert_eq!(config.ensemble.suppression_decay, 0.9);
    assert_eq!(config.ensemble.detectors, EnsembleConfig::live().detectors);
    assert_eq!(config.groups, PipelineConfig::default().groups);
    let error = toml::from_str::<PipelineConfig>("max_seris = 5\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("max_seris"), "{error}");
}
