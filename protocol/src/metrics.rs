//! Prometheus text metrics of the core, rendered with prometheus-client from a consistent view of its state.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::sim::{Core, Scenario};

type Labels = Vec<(&'static str, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// Content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Renders the core's metrics; `rpc_requests` are the serving layer's per-method request counts.
pub fn render(core: &Core, rpc_requests: &[(String, u64)]) -> String {
    let mut registry = Registry::default();
    let head = core.head();

    gauge(
        &mut registry,
        "core_chain_height",
        "Head block number",
        core.height() as f64,
    );
    gauge(
        &mut registry,
        "core_chain_slot",
        "Current slot number (slots advance even when no block is produced)",
        core.slot() as f64,
    );
    counter(
        &mut registry,
        "core_blocks",
        "Blocks produced",
        core.height(),
    );
    gauge(
        &mut registry,
        "core_block_txs",
        "Transactions in the last block",
        head.tx_count as f64,
    );
    gauge(
        &mut registry,
        "core_block_gas_used",
        "Gas used by the last block",
        head.gas_used as f64,
    );
    gauge(
        &mut registry,
        "core_finality_lag_blocks",
        "Head minus the finalized block",
        (core.height() - core.finalized()) as f64,
    );
    gauge(
        &mut registry,
        "core_peers",
        "Peer count of the node",
        core.peers() as f64,
    );
    let offline = core
        .validators()
        .iter()
        .filter(|validator| !validator.online)
        .count();
    gauge(
        &mut registry,
        "core_validators_offline",
        "Validators offline",
        offline as f64,
    );
    gauge(
        &mut registry,
        "core_validators",
        "Validators in the set",
        core.validators().len() as f64,
    );

    let online = Family::<Labels, FloatGauge>::default();
    let missed = Family::<Labels, Counter>::default();
    for validator in core.validators() {
        let labels = vec![("validator", validator.id.clone())];
        online
            .get_or_create(&labels)
            .set(if validator.online { 1.0 } else { 0.0 });
        missed.get_or_create(&labels).inc_by(validator.missed_slots);
    }
    registry.register(
        "core_validator_online",
        "1 when the validator is online",
        online,
    );
    registry.register("core_missed_slots", "Slots the validator missed", missed);

    let symbol = vec![("symbol", "TRN".to_owned())];
    let price = Family::<Labels, FloatGauge>::default();
    price.get_or_create(&symbol).set(core.price());
    registry.register("core_token_price_usd", "Token price in USD", price);
    let target = Family::<Labels, FloatGauge>::default();
    target.get_or_create(&symbol).set(core.config().peg_target);
    registry.register("core_peg_target_usd", "Peg target in USD", target);

    let paused = Family::<Labels, FloatGauge>::default();
    let value_locked = Family::<Labels, FloatGauge>::default();
    let tx = Family::<Labels, Counter>::default();
    let errors = Family::<Labels, Counter>::default();
    let rejected = Family::<Labels, Counter>::default();
    let outflow = Family::<Labels, Counter<f64, AtomicU64>>::default();
    let error_ratio = Family::<Labels, FloatGauge>::default();
    for module in core.modules() {
        let labels = vec![("module", module.name.to_owned())];
        paused
            .get_or_create(&labels)
            .set(if module.paused { 1.0 } else { 0.0 });
        value_locked.get_or_create(&labels).set(module.value_locked);
        tx.get_or_create(&labels).inc_by(module.tx_total);
        errors.get_or_create(&labels).inc_by(module.errors_total);
        rejected
            .get_or_create(&labels)
            .inc_by(module.rejected_total);
        outflow.get_or_create(&labels).inc_by(module.outflow_total);
        error_ratio.get_or_create(&labels).set(module.error_ratio());
    }
    registry.register("core_module_paused", "1 when the module is paused", paused);
    registry.register(
        "core_module_value_locked",
        "Value locked in the module, USD",
        value_locked,
    );
    registry.register("core_module_tx", "Transactions the module processed", tx);
    registry.register(
        "core_module_errors",
        "Transactions of the module that failed",
        errors,
    );
    registry.register(
        "core_module_rejected",
        "Transactions rejected because the module is paused",
        rejected,
    );
    registry.register(
        "core_module_outflow",
        "USD that left the module through the exploit path",
        outflow,
    );
    registry.register(
        "core_module_error_ratio",
        "Errors over transactions across the recent blocks",
        error_ratio,
    );

    let requests = Family::<Labels, Counter>::default();
    for (method, count) in rpc_requests {
        requests
            .get_or_create(&vec![("method", method.clone())])
            .inc_by(*count);
    }
    registry.register(
        "core_rpc_requests",
        "JSON-RPC requests answered, by method",
        requests,
    );

    let scenarios = Family::<Labels, FloatGauge>::default();
    for scenario in Scenario::ALL {
        scenarios
            .get_or_create(&vec![("scenario", scenario.as_str().to_owned())])
            .set(if core.is_active(scenario) { 1.0 } else { 0.0 });
    }
    registry.register(
        "core_scenario_active",
        "1 while the fault scenario runs",
        scenarios,
    );

    let mut text = String::with_capacity(8 * 1024);
    encode(&mut text, &registry).expect("writing to a String cannot fail");
    text
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: f64) {
    let gauge = FloatGauge::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

fn counter(registry: &mut Registry, name: &str, help: &str, value: u64) {
    let counter = Counter::<u64>::default();
    counter.inc_by(value);
    registry.register(name, help, counter);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::CoreConfig;

    #[test]
    fn renders_the_documented_names_in_openmetrics_form() {
        let mut core = Core::new(
            CoreConfig {
                slot_ms: 100,
                slot_jitter_ms: 5,
                ..CoreConfig::default()
            },
            0,
        )
        .unwrap();
        core.advance_to(2_000);
        let text = render(&core, &[("eth_blockNumber".into(), 3)]);
        for needle in [
            "core_chain_height ",
            "core_blocks_total ",
            "core_validator_online{validator=\"v1\"} 1",
            "core_module_value_locked{module=\"bridge\"}",
            "core_module_rejected_total{module=\"registry\"} 0",
            "core_token_price_usd{symbol=\"TRN\"}",
            "core_rpc_requests_total{method=\"eth_blockNumber\"} 3",
            "core_scenario_active{scenario=\"depeg\"} 0",
            "# TYPE core_missed_slots counter",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
