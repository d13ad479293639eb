//! Thirty minutes of a healthy protocol must not raise anything above L4.
//!
//! The real embedded core runs on a simulated clock at its default settings (6 s slots, price every
//! second); every 5 s of simulated time its `/core/metrics` text is parsed by the collector's own parser and,
//! like the evm_rpc, price and http_probe targets, its chain, peg and probe series are produced under the
//! contract's names. Everything goes through the detector pipeline `vigil run` uses, with the shipped policy.

use std::sync::Arc;

use collector::exposition::{Format, ParseLimits};
use collector::series::Batch;
use model::{Level, Sample, SeriesKey};

const SCRAPE_MS: i64 = 5_000;
const THIRTY_MINUTES_MS: i64 = 30 * 60 * 1000;

fn sample(name: &str, target: &str, labels: &[(&str, &str)], at_ms: i64, value: f64) -> Sample {
    let mut key = SeriesKey::new(name)
        .with_label("target", target)
        .with_label("source", "core");
    for (label, label_value) in labels {
        key = key.with_label(*label, *label_value);
    }
    Sample {
        key: Arc::new(key),
        at_ms,
        value,
    }
}

/// What one scrape round of the four default core targets yields at `now`.
fn scrape_round(core: &protocol::Core, now: i64, last_head: &mut (u64, i64)) -> Vec<Sample> {
    let mut samples = Vec::new();
    let text = protocol::metrics::render(core, &[]);
    let (batch, _) = Batch::from_exposition(&text, Format::OpenMetrics, &ParseLimits::default())
        .expect("the core's metrics parse");
    for (name, labels, _, value) in batch.iter() {
        let labels: Vec<(&str, &str)> = labels.collect();
        samples.push(sample(name, "core-metrics", &labels, now, value));
    }
    let head = core.head();
    if head.number != last_head.0 {
        *last_head = (head.number, now);
    }
    if let Some(parent) = head
        .number
        .checked_sub(1)
        .and_then(|number| core.block(number))
    {
        samples.push(sample(
            "chain_block_time_seconds",
            "core-rpc",
            &[],
            now,
            head.timestamp as f64 - parent.timestamp as f64,
        ));
    }
    samples.push(sample(
        "chain_head_height",
        "core-rpc",
        &[],
        now,
        head.number as f64,
    ));
    samples.push(sample(
        "chain_txs_per_block",
        "core-rpc",
        &[],
        now,
        head.tx_count as f64,
    ));
    samples.push(sample(
        "chain_gas_used",
        "core-rpc",
        &[],
        now,
        head.gas_used as f64,
    ));
    samples.push(sample(
        "chain_peers",
        "core-rpc",
        &[],
        now,
        core.peers() as f64,
    ));
    samples.push(sample("chain_syncing", "core-rpc", &[], now, 0.0));
    samples.push(sample(
        "chain_head_age_seconds",
        "core-rpc",
        &[],
        now,
        (now - last_head.1) as f64 / 1000.0,
    ));
    let target = core.config().peg_target;
    samples.push(sample("peg_price", "core-price", &[], now, core.price()));
    samples.push(sample(
        "peg_deviation_percent",
        "core-price",
        &[],
        now,
        100.0 * (core.price() - target) / target,
    ));
    // Chain watching of the core: each module's value_locked and paused reads, and the TRN/USD feed.
    let chain_sample = |name: &str, labels: &[(&str, &str)], value: f64| {
        let mut key = SeriesKey::new(name).with_label("chain", "core");
        for (label, label_value) in labels {
            key = key.with_label(*label, *label_value);
        }
        Sample {
            key: Arc::new(key),
            at_ms: now,
            value,
        }
    };
    for module in core.modules() {
        samples.push(chain_sample(
            "contract_read",
            &[("contract", module.name), ("read", "value_locked")],
            module.value_locked,
        ));
        samples.push(chain_sample(
            "contract_read",
            &[("contract", module.name), ("read", "paused")],
            if module.paused { 1.0 } else { 0.0 },
        ));
    }
    let feed = core.feed_round();
    let feed_price = feed.answer as f64 / 1e8;
    let age = (head.timestamp as f64 - feed.updated_at as f64).max(0.0);
    for (name, value) in [
        ("peg_price", feed_price),
        (
            "peg_deviation_percent",
            100.0 * (feed_price - target) / target,
        ),
        ("oracle_age_seconds", age),
        (
            "oracle_staleness_ratio",
            age / protocol::FEED_HEARTBEAT_SECS as f64,
        ),
    ] {
        samples.push(chain_sample(name, &[("contract", "trn-usd")], value));
    }
    samples.push(sample("probe_success", "core-probe", &[], now, 1.0));
    samples.push(sample(
        "probe_duration_seconds",
        "core-probe",
        &[],
        now,
        0.002,
    ));
    samples
}

#[test]
fn thirty_quiet_minutes_raise_nothing_above_l4() {
    quiet_run(protocol::CoreConfig::default(), [1, 2, 3, 4, 5]);
}

#[test]
fn a_fast_test_core_is_just_as_quiet() {
    // The e2e tests run the core with 100 ms slots; it must not raise alarms a real core would not.
    quiet_run(
        protocol::CoreConfig {
            slot_ms: 100,
            slot_jitter_ms: 8,
            price_tick_ms: 100,
            ..protocol::CoreConfig::default()
        },
        [1, 2, 3],
    );
}

fn quiet_run<const N: usize>(base: protocol::CoreConfig, seeds: [u64; N]) {
    for seed in seeds {
        let genesis = 1_800_000_000_000;
        let config = protocol::CoreConfig {
            seed,
            ..base.clone()
        };
        let mut core = protocol::Core::new(config, genesis).unwrap();
        let mut pipeline = detector::Pipeline::new(
            detector::PipelineConfig::default(),
            detector::Policy::default_policy(),
        );
        let mut last_head = (0, genesis);
        let mut raised = Vec::new();
        let mut now = genesis;
        while now < genesis + THIRTY_MINUTES_MS {
            now += SCRAPE_MS;
            core.advance_to(now);
            for sample in scrape_round(&core, now, &mut last_head) {
                raised.extend(pipeline.observe(&sample));
            }
        }
        assert!(
            core.height() > 250,
            "the chain ran: height {}",
            core.height()
        );
        let serious: Vec<String> = raised
            .iter()
            .filter(|signal| signal.active && signal.level < Level::L4)
            .map(|signal| format!("{} {} {}", signal.level, signal.series, signal.reason))
            .collect();
        assert!(
            serious.is_empty(),
            "seed {seed}: signals above L4 in normal operation: {serious:#?}"
        );
    }
}

#[test]
fn the_same_harness_does_raise_an_l1_for_a_drain() {
    // Guards the test above against passing because nothing could ever fire.
    let genesis = 1_800_000_000_000;
    let mut core = protocol::Core::new(protocol::CoreConfig::default(), genesis).unwrap();
    let mut pipeline = detector::Pipeline::new(
        detector::PipelineConfig::default(),
        detector::Policy::default_policy(),
    );
    let mut last_head = (0, genesis);
    let mut levels = Vec::new();
    let mut now = genesis;
    while now < genesis + 10 * 60 * 1000 {
        now += SCRAPE_MS;
        if now == genesis + 5 * 60 * 1000 {
            core.start_scenario(
                protocol::Scenario::ExploitDrain,
                protocol::ScenarioParams::default(),
            )
            .unwrap();
        }
        core.advance_to(now);
        for sample in scrape_round(&core, now, &mut last_head) {
            levels.extend(
                pipeline
                    .observe(&sample)
                    .into_iter()
                    .map(|signal| signal.level),
            );
        }
    }
    assert!(levels.contains(&Level::L1), "{levels:?}");
}
