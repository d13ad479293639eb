//! What Vigil does to the protocol and on its own schedule: the emergency pause (with the embedded core as a
//! pause backend), runbooks run when incidents open, and the scheduled health-check rounds fed with what the
//! collectors see.

use std::sync::Arc;

use async_trait::async_trait;
use collector::series::Selector;
use responder::healthchecks::{CheckData, HealthcheckService};
use responder::pause::{BackendError, BackendReceipt, PauseBackend, PauseService};
use responder::runbooks::RunbookExecutor;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::pipeline::LiveLoop;

/// Pauses modules of the embedded core, in process.
pub struct CorePauseBackend(pub protocol::CoreHandle);

fn core_error(error: protocol::CoreError) -> BackendError {
    match error {
        protocol::CoreError::UnknownModule(name) => BackendError::UnknownModule(name),
        other => BackendError::Other(other.to_string()),
    }
}

fn receipt(changed: bool) -> BackendReceipt {
    BackendReceipt {
        backend: "core".into(),
        tx_hash: None,
        status: None,
        block_number: None,
        detail: if changed {
            "done".into()
        } else {
            "no change: already in that state".into()
        },
    }
}

#[async_trait]
impl PauseBackend for CorePauseBackend {
    fn name(&self) -> &str {
        "core"
    }

    async fn pause(&self, module: &str) -> Result<BackendReceipt, BackendError> {
        self.0.pause(module).map(receipt).map_err(core_error)
    }

    async fn unpause(&self, module: &str) -> Result<BackendReceipt, BackendError> {
        self.0.unpause(module).map(receipt).map_err(core_error)
    }

    fn pauser(&self) -> Option<String> {
        Some(protocol::evm::address_hex(
            &self.0.lock().addresses().guardian,
        ))
    }

    async fn is_paused(&self, module: &str) -> Result<bool, BackendError> {
        let core = self.0.lock();
        core.modules()
            .iter()
            .find(|candidate| candidate.name == module)
            .map(|found| found.paused)
            .ok_or_else(|| BackendError::UnknownModule(module.to_owned()))
    }
}

/// Health checks read the collectors' latest values and target health.
pub struct LiveCheckData(pub LiveLoop);

impl CheckData for LiveCheckData {
    fn latest(&self, selector: &str) -> Vec<(model::SeriesKey, f64)> {
        match Selector::parse(selector) {
            Ok(selector) => self
                .0
                .series_store()
                .latest(&selector)
                .into_iter()
                .map(|point| (point.key, point.value))
                .collect(),
            Err(error) => {
                tracing::warn!(%selector, %error, "health check selector does not parse");
                Vec::new()
            }
        }
    }

    fn targets_up(&self) -> Vec<(String, bool, Option<String>)> {
        // A target not scraped yet (just after start) is not known to be down.
        self.0
            .engine
            .targets()
            .into_iter()
            .filter(|target| target.last_scrape.is_some())
            .map(|target| (target.name, target.up, target.last_error))
            .collect()
    }
}

/// Runs the matching runbook for every incident that opens, one task per incident (an on-chain pause waits
/// for mining and must not hold up the others).
pub fn spawn_runbook_runner(
    executor: RunbookExecutor,
    responder: responder::Responder,
    core: Option<protocol::CoreHandle>,
    mut opened: mpsc::UnboundedReceiver<String>,
    cancel: CancellationToken,
    tasks: &TaskTracker,
) {
    let executor = Arc::new(executor);
    let spawner = tasks.clone();
    tasks.spawn(async move {
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                next = opened.recv() => {
                    let Some(incident_id) = next else { break };
                    let executor = Arc::clone(&executor);
                    let responder = responder.clone();
                    let core = core.clone();
                    spawner.spawn(async move {
                        match executor.on_incident_opened(&incident_id).await {
                            Ok(run) => tracing::info!(incident = %incident_id, ?run, "runbook ran"),
                            Err(error) => tracing::warn!(incident = %incident_id, error = %crate::api::error::error_chain(&error), "runbook did not run"),
                        }
                        if let Some(core) = core {
                            report_loss_until_pause(&responder, &core, &incident_id).await;
                        }
                    });
                }
            }
        }
    });
}

/// When an incident is about a core module that is now paused, records how much value left it before the
/// pause (the exploit's take), so the commander sees the damage in the timeline.
async fn report_loss_until_pause(
    responder: &responder::Responder,
    core: &protocol::CoreHandle,
    incident_id: &str,
) {
    let Ok(detail) = responder.get_incident(incident_id).await else {
        return;
    };
    let Some(component) = serde_json::to_value(&detail)
        .ok()
        .and_then(|value| value["component"].as_str().map(str::to_owned))
    else {
        return;
    };
    let loss = {
        let core = core.lock();
        core.modules()
            .iter()
            .find(|module| module.name == component && module.paused)
            .map(|module| (module.outflow_total, module.value_locked))
    };
    if let Some((outflow, remaining)) = loss {
        let text = format!(
            "value lost from {component} until the pause: {outflow:.2} USD ({remaining:.2} USD still locked)"
        );
        if let Err(error) = responder.record_action(incident_id, "vigil", &text).await {
            tracing::warn!(incident = %incident_id, %error, "cannot record the loss");
        }
    }
}

/// Handles for the routes.
#[derive(Clone)]
pub struct Actions {
    pub pause: PauseService,
    pub healthchecks: HealthcheckService,
}

/// A pausable module's state as the chain shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChainModule {
    pub name: String,
    pub paused: bool,
    /// Always `chain`: read with `paused()` from the contract, block by block.
    pub source: &'static str,
    pub checked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Its `value_locked` read, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_locked: Option<f64>,
}

/// Every watched contract with a `paused` read (the `pausable` preset), from the chain watch.
pub fn chain_modules(live: &LiveLoop) -> Vec<ChainModule> {
    live.chains
        .contracts()
        .into_iter()
        .filter_map(|contract| {
            let paused = *contract.reads.get("paused")?;
            Some(ChainModule {
                paused: paused != 0.0,
                source: "chain",
                checked_at: contract.checked_at,
                value_locked: contract.reads.get("value_locked").copied(),
                name: contract.name,
            })
        })
        .collect()
}
