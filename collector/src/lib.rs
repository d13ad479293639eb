//! Collectors (placeholder until the collector lands).
//!
//! What the collector does, module by module:
//! * [`config`]: `[[targets]]` entries and engine settings, validated with paths (`targets[2].url: ...`).
//! * [`targets`]: the target kinds (prometheus, evm_rpc, price, http_probe), each a [`targets::Scraper`].
//! * [`engine`]: schedules scrapes (one task per target, global concurrency limit, timeouts), keeps target
//!   health, writes the series store and offers every sample to the detector without waiting on it.
//! * [`alerts`]: alerts pushed by Alertmanager (webhook) and Prometheus (API v2), with Alertmanager's
//!   fingerprints and resolve semantics.
//! * [`ux`]: real-user beacons turned into `ux_latency_ms` / `ux_errors_total`.

pub mod alerts;
pub mod chain;
pub mod config;
pub mod engine;
pub mod exposition;
pub mod series;
pub mod targets;
pub mod ux;
