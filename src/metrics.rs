//! Vigil's own metrics, served at `/metrics` in OpenMetrics text through prometheus-client.
//!
//! Labels are low-cardinality (route templates, status classes, scenario names), never ids or series names.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScenarioLabels {
    pub scenario: String,
    pub action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InfoLabels {
    pub version: String,
    pub store: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LevelLabels {
    pub level: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IncidentLabels {
    pub level: String,
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModuleLabels {
    pub module: String,
}

/// Handles on every metric Vigil itself updates; cheap to clone. The gauges of state kept elsewhere
/// (incidents, outbox, signals, modules) are set at each scrape from their source of truth.
#[derive(Clone)]
pub struct VigilMetrics {
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Family<HttpLabels, Histogram>,
    pub scenario_commands: Family<ScenarioLabels, Counter>,
    pub info: Family<InfoLabels, Gauge>,
    pub core_height: Gauge,
    pub signals_active: Family<LevelLabels, Gauge>,
    pub anomaly_score_max: Gauge<f64, AtomicU64>,
    pub incidents_open: Family<IncidentLabels, Gauge>,
    pub outbox_pending: Gauge,
    pub outbox_oldest_pending_seconds: Gauge<f64, AtomicU64>,
    pub outbox_failed: Gauge,
    pub module_paused: Family<ModuleLabels, Gauge>,
    pub cluster_leader: Gauge,
    pub cluster_members: Gauge,
    pub audit_entries: Gauge,
    pub audit_chain_ok: Gauge,
}

impl VigilMetrics {
    /// Registers Vigil's metrics under the `vigil` prefix.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0005, 2.0, 16))
            }),
            scenario_commands: Family::default(),
            info: Family::default(),
            core_height: Gauge::default(),
            signals_active: Family::default(),
            anomaly_score_max: Gauge::default(),
            incidents_open: Family::default(),
            outbox_pending: Gauge::default(),
            outbox_oldest_pending_seconds: Gauge::default(),
            outbox_failed: Gauge::default(),
            module_paused: Family::default(),
            cluster_leader: Gauge::default(),
            cluster_members: Gauge::default(),
            audit_entries: Gauge::default(),
            audit_chain_ok: Gauge::default(),
        };
        let vigil = registry.sub_registry_with_prefix("vigil");
        vigil.register(
            "http_requests",
            "HTTP requests served, by route template and status class",
            metrics.http_requests.clone(),
        );
        vigil.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            metrics.http_duration.clone(),
        );
        vigil.register(
            "scenario_commands",
            "Fault-scenario starts and stops accepted",
            metrics.scenario_commands.clone(),
        );
        vigil.register(
            "build_info",
            "Version and storage backend of this Vigil",
            metrics.info.clone(),
        );
        vigil.register(
            "core_height",
            "Head height of the embedded core, as Vigil last saw it",
            metrics.core_height.clone(),
        );
        vigil.register(
            "detector_signals_active",
            "Active detector signals by level",
            metrics.signals_active.clone(),
        );
        vigil.register(
            "detector_anomaly_score_max",
            "Highest current anomaly score over all series (0 to 1)",
            metrics.anomaly_score_max.clone(),
        );
        vigil.register(
            "incidents_open",
            "Unresolved incidents by level and state (triggered, acknowledged)",
            metrics.incidents_open.clone(),
        );
        vigil.register(
            "outbox_pending",
            "Pages waiting in the outbox (including retries)",
            metrics.outbox_pending.clone(),
        );
        vigil.register(
            "outbox_oldest_pending_seconds",
            "Age of the oldest page waiting in the outbox; 0 when none waits",
            metrics.outbox_oldest_pending_seconds.clone(),
        );
        vigil.register(
            "outbox_dead_letters",
            "Pages given up on (retry budget spent or permanent error)",
            metrics.outbox_failed.clone(),
        );
        vigil.register(
            "module_paused",
            "1 when the protocol module is paused",
            metrics.module_paused.clone(),
        );
        vigil.register(
            "cluster_leader",
            "1 when this member holds the leader lease (runs the scheduled health-check rounds)",
            metrics.cluster_leader.clone(),
        );
        vigil.register(
            "cluster_members",
            "Members sharing this database that reported within the member TTL",
            metrics.cluster_members.clone(),
        );
        vigil.register(
            "audit_entries",
            "Rows in the pause audit log; it only grows, so a drop means rows were deleted (Prometheus' history is the outside anchor the hash chain lacks)",
            metrics.audit_entries.clone(),
        );
        vigil.register(
            "audit_chain_ok",
            "1 while recomputing the audit log's hash chain gives the stored hashes",
            metrics.audit_chain_ok.clone(),
        );
        metrics
    }
}

/// The registry, frozen after start-up, plus the handles.
#[derive(Clone)]
pub struct MetricsHub {
    pub registry: Arc<Registry>,
    pub vigil: VigilMetrics,
}

impl MetricsHub {
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(16 * 1024);
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// Sets the scrape-time gauges from their sources: the store (incidents, outbox), the detector's signal
/// board and the embedded core. A source that cannot be read keeps its last values (and is logged), so a
/// slow database never makes `/metrics` fail.
pub async fn refresh_gauges(state: &crate::api::AppState) {
    let metrics = &state.metrics.vigil;
    let now = model::now_ms();
    if let Some(core) = &state.core {
        let core = core.lock();
        metrics
            .core_height
            .set(i64::try_from(core.height()).unwrap_or(i64::MAX));
        for module in core.modules() {
            metrics
                .module_paused
                .get_or_create(&ModuleLabels {
                    module: module.name.to_owned(),
                })
                .set(i64::from(module.paused));
        }
    }
    let mut active = std::collections::BTreeMap::new();
    for level in model::Level::ALL {
        active.insert(level, 0_i64);
    }
    for signal in state.live.signals.list() {
        if signal.active {
            *active.entry(signal.level).or_default() += 1;
        }
    }
    for (level, count) in active {
        metrics
            .signals_active
            .get_or_create(&LevelLabels {
                level: level.as_str().to_owned(),
            })
            .set(count);
    }
    let hottest = state
        .live
        .hottest
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .map(|(_, score)| *score)
        .fold(0.0_f64, f64::max);
    metrics.anomaly_score_max.set(hottest);

    match state.store.open_incident_counts().await {
        Ok(rows) => {
            // Every level/state pair is set, to 0 when none, so alerts see a series either way.
            for level in model::Level::ALL {
                for incident_state in ["triggered", "acknowledged"] {
                    let count = rows
                        .iter()
                        .find(|(l, s, _)| l == level.as_str() && s == incident_state)
                        .map_or(0, |(_, _, count)| *count);
                    metrics
                        .incidents_open
                        .get_or_create(&IncidentLabels {
                            level: level.as_str().to_owned(),
                            state: incident_state.to_owned(),
                        })
                        .set(count);
                }
            }
        }
        Err(error) => tracing::warn!(error = %error, "metrics: cannot count open incidents"),
    }
    metrics
        .cluster_leader
        .set(i64::from(state.cluster.is_leader()));
    match state.cluster.view().await {
        Ok(view) => {
            metrics
                .cluster_members
                .set(i64::try_from(view.members.len()).unwrap_or(i64::MAX));
        }
        Err(error) => tracing::warn!(error = %error, "metrics: cannot read the cluster"),
    }
    match state.actions.pause.audit_log().await {
        Ok(log) => {
            metrics
                .audit_entries
                .set(i64::try_from(log.entries.len()).unwrap_or(i64::MAX));
            metrics.audit_chain_ok.set(i64::from(log.chain_ok));
        }
        Err(error) => tracing::warn!(error = %error, "metrics: cannot read the audit log"),
    }
    match state.store.outbox_backlog().await {
        Ok(backlog) => {
            metrics.outbox_pending.set(backlog.pending);
            metrics.outbox_failed.set(backlog.failed);
            // Milliseconds to seconds; precision loss is irrelevant at these magnitudes.
            #[allow(clippy::cast_precision_loss)]
            let age = backlog
                .oldest_pending_ms
                .map_or(0.0, |oldest| (now - oldest).max(0) as f64 / 1000.0);
            metrics.outbox_oldest_pending_seconds.set(age);
        }
        Err(error) => tracing::warn!(error = %error, "metrics: cannot read the outbox backlog"),
    }
}
