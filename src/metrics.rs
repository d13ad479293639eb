//! Vigil's own metrics, served at `/metrics` in OpenMetrics text through prometheus-client.
//!
//! Labels are low-cardinality (route templates, status classes, scenario names), never ids or series names.

use std::sync::Arc;

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

/// Handles on every metric Vigil itself updates; cheap to clone.
#[derive(Clone)]
pub struct VigilMetrics {
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Family<HttpLabels, Histogram>,
    pub scenario_commands: Family<ScenarioLabels, Counter>,
    pub info: Family<InfoLabels, Gauge>,
    pub core_height: Gauge,
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
