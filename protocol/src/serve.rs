//! Runs the core in real time and serves it: `POST /core/rpc`, `GET /core/metrics`, `GET /core/price`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::sim::{Core, CoreConfig, CoreError, CoreSnapshot, Scenario, ScenarioParams};

/// How long `latency-spike` delays each RPC and price reply.
const SPIKE_DELAY: Duration = Duration::from_millis(1500);

/// A shared handle on the running core; cheap to clone.
#[derive(Clone)]
pub struct CoreHandle {
    inner: Arc<Shared>,
}

struct Shared {
    core: Mutex<Core>,
    rpc_requests: Mutex<BTreeMap<String, u64>>,
    changed: tokio::sync::Notify,
}

impl CoreHandle {
    pub fn new(config: CoreConfig) -> Result<Self, CoreError> {
        let core = Core::new(config, model::now_ms())?;
        Ok(Self {
            inner: Arc::new(Shared {
                core: Mutex::new(core),
                rpc_requests: Mutex::default(),
                changed: tokio::sync::Notify::new(),
            }),
        })
    }

    /// Locks the core after bringing it up to the current time. Hold the guard only briefly: never across `.await`.
    pub fn lock(&self) -> MutexGuard<'_, Core> {
        let mut core = self
            .inner
            .core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        core.advance_to(model::now_ms());
        core
    }

    pub fn snapshot(&self) -> CoreSnapshot {
        self.lock().snapshot()
    }

    pub fn start_scenario(
        &self,
        scenario: Scenario,
        params: ScenarioParams,
    ) -> Result<bool, CoreError> {
        let changed = self.lock().start_scenario(scenario, params)?;
        self.inner.changed.notify_waiters();
        Ok(changed)
    }

    pub fn stop_scenario(&self, scenario: Scenario) -> bool {
        let changed = self.lock().stop_scenario(scenario);
        self.inner.changed.notify_waiters();
        changed
    }

    pub fn pause(&self, module: &str) -> Result<bool, CoreError> {
        self.lock().pause(module)
    }

    pub fn unpause(&self, module: &str) -> Result<bool, CoreError> {
        self.lock().unpause(module)
    }

    fn count_rpc(&self, methods: Vec<String>) {
        let mut counts = self
            .inner
            .rpc_requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for method in methods {
            // Unknown method names are folded so a client cannot blow up the label set.
            let known = [
                "eth_blockNumber",
                "eth_getBlockByNumber",
                "eth_syncing",
                "net_peerCount",
                "web3_clientVersion",
                "eth_chainId",
                "eth_getBlockByHash",
                "eth_call",
                "eth_getCode",
                "eth_getStorageAt",
                "eth_getLogs",
            ];
            let label = if known.contains(&method.as_str()) {
                method
            } else {
                "other".to_owned()
            };
            *counts.entry(label).or_default() += 1;
        }
    }

    fn rpc_counts(&self) -> Vec<(String, u64)> {
        self.inner
            .rpc_requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

/// Advances the core in real time until `cancel` fires, so blocks land on their slots even when nobody asks.
pub fn spawn_driver(handle: CoreHandle, cancel: CancellationToken, tracker: &TaskTracker) {
    tracker.spawn(async move {
        loop {
            let wait_ms = {
                let core = handle.lock();
                (core.next_event_ms() - model::now_ms()).clamp(1, 1000)
            };
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(Duration::from_millis(wait_ms as u64)) => {}
                () = handle.inner.changed.notified() => {}
            }
        }
        tracing::debug!("core driver stopped");
    });
}

/// The core's public interface, to be merged into the HTTP server's router.
pub fn router(handle: CoreHandle) -> Router {
    Router::new()
        .route("/core/rpc", post(rpc))
        .route("/core/metrics", get(metrics))
        .route("/core/price", get(price))
        .with_state(handle)
}

async fn spike_delay(handle: &CoreHandle) {
    let spiking = handle.lock().is_active(Scenario::LatencySpike);
    if spiking {
        tokio::time::sleep(SPIKE_DELAY).await;
    }
}

async fn rpc(State(handle): State<CoreHandle>, body: Bytes) -> Response {
    spike_delay(&handle).await;
    let (reply, methods) = {
        let core = handle.lock();
        crate::rpc::handle_body(&core, &body)
    };
    handle.count_rpc(methods);
    match reply {
        Some(reply) => (
            [(header::CONTENT_TYPE, "application/json")],
            reply.to_string(),
        )
            .into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn metrics(State(handle): State<CoreHandle>) -> Response {
    let counts = handle.rpc_counts();
    let text = {
        let core = handle.lock();
        crate::metrics::render(&core, &counts)
    };
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response()
}

async fn price(State(handle): State<CoreHandle>) -> Response {
    spike_delay(&handle).await;
    let (price, target, at) = {
        let core = handle.lock();
        (core.price(), core.config().peg_target, core.now_ms())
    };
    let at = chrono::DateTime::from_timestamp_millis(at)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    axum::Json(json!({"symbol": "TRN", "price": price, "target": target, "at": at})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    #[tokio::test]
    async fn serves_rpc_metrics_and_price() {
        let handle = CoreHandle::new(CoreConfig {
            slot_ms: 100,
            slot_jitter_ms: 5,
            ..CoreConfig::default()
        })
        .unwrap();
        let app = router(handle.clone());
        let reply = app
            .clone()
            .oneshot(
                Request::post("/core/rpc")
                    .body(Body::from(
                        r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#,
                    ))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
        let body = axum::body::to_bytes(reply.into_body(), 1 << 20)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&body).contains("0x5647"));

        let metrics = app
            .clone()
            .oneshot(Request::get("/core/metrics").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(
            metrics.headers()[header::CONTENT_TYPE],
            crate::metrics::CONTENT_TYPE
        );
        let body = axum::body::to_bytes(metrics.into_body(), 1 << 20)
            .await
            .unwrap();
        assert!(
            String::from_utf8_lossy(&body)
                .contains("core_rpc_requests_total{method=\"eth_chainId\"} 1")
        );

        let price = app
            .oneshot(Request::get("/core/price").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(
            &axum::body::to_bytes(price.into_body(), 1 << 20)
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(body["symbol"], "TRN");
        assert!((body["price"].as_f64().unwrap() - 1.0).abs() < 0.01);
        assert!(body["at"].as_str().unwrap().ends_with('Z'));
    }
}
