//! The live loop: collectors scrape targets into the series store and hand every sample to the detector;
//! the detector's signals and the Alertmanager receivers' alerts go to the responder.
//!
//! Nothing here decides anything: it connects `collector`, `detector` and `responder`, which know only
//! `model`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use collector::alerts::{AlertEvent, AlertStore, AlertStoreConfig};
use collector::config::{CollectorSettings, TargetConfig};
use collector::engine::{CollectorMetrics, Engine, EngineHandle, EngineSinks};
use collector::series::SeriesStore;
use collector::ux::{UxLimits, UxReceiver};
use model::{Sample, Signal};
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How many samples may wait for the detector before new ones are dropped (and counted).
const DETECTOR_QUEUE: usize = 65_536;
/// How often the detector's learned models are refitted.
const REFIT_EVERY: Duration = Duration::from_secs(300);
/// How long ended signals stay listed.
const ENDED_SIGNAL_RETENTION_MS: i64 = 3600 * 1000;

/// `[detector]`: the live detector and its classification policy.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectorSettings {
    /// Classification policy file; default: the shipped `alerts/policy.toml`, compiled in.
    pub policy: Option<std::path::PathBuf>,
    /// Detector tuning (windows, series limit, group models); every field defaulted.
    pub pipeline: detector::PipelineConfig,
}

impl DetectorSettings {
    /// Where the shipped policy sits in a checkout; used when present and no other file is configured.
    pub const DEFAULT_POLICY: &'static str = "./alerts/policy.toml";

    /// The policy in force: the configured file, else `./alerts/policy.toml` when it exists (so edits to it
    /// take effect), else the shipped policy compiled into the binary.
    pub fn load_policy(&self) -> Result<detector::Policy, String> {
        let path = match &self.policy {
            Some(path) => path.clone(),
            None if std::path::Path::new(Self::DEFAULT_POLICY).exists() => {
                Self::DEFAULT_POLICY.into()
            }
            None => return Ok(detector::Policy::default_policy()),
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("{}: cannot read: {error}", path.display()))?;
        detector::Policy::from_toml_str(&text, &path.display().to_string())
            .map_err(|error| error.to_string())
    }
}

/// Signals the detector raised: active ones and those that ended within the last hour.
#[derive(Clone, Default)]
pub struct SignalBoard {
    signals: Arc<Mutex<HashMap<String, Signal>>>,
}

impl SignalBoard {
    fn record(&self, signal: &Signal) {
        let mut signals = self
            .signals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        signals.insert(signal.id.clone(), signal.clone());
        let horizon = signal.updated_at_ms - ENDED_SIGNAL_RETENTION_MS;
        signals.retain(|_, kept| kept.active || kept.updated_at_ms >= horizon);
    }

    /// Active signals first (most severe, then highest score), then recently ended ones.
    pub fn list(&self) -> Vec<Signal> {
        let mut list: Vec<Signal> = self
            .signals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .values()
            .cloned()
            .collect();
        list.sort_by(|a, b| {
            b.active
                .cmp(&a.active)
                .then(a.level.cmp(&b.level))
                .then(b.score.total_cmp(&a.score))
                .then(a.id.cmp(&b.id))
        });
        list
    }
}

/// Handles on the running loop, for the HTTP API.
#[derive(Clone)]
pub struct LiveLoop {
    pub engine: EngineHandle,
    pub alerts: Arc<AlertStore>,
    pub ux: Arc<UxReceiver>,
    pub signals: SignalBoard,
    /// Contract watches on EVM chains.
    pub chains: collector::chain::ChainWatch,
    /// Current anomaly scores of the hottest series, refreshed by the detector task.
    pub hottest: Arc<Mutex<Vec<(model::SeriesKey, f64)>>>,
}

impl LiveLoop {
    pub fn series_store(&self) -> &Arc<SeriesStore> {
        self.engine.store()
    }
}

pub struct LiveLoopParts<'a> {
    pub targets: Vec<TargetConfig>,
    pub collector: &'a CollectorSettings,
    pub detector: &'a DetectorSettings,
    pub alerts: AlertStoreConfig,
    pub responder: responder::Responder,
    pub registry: &'a mut Registry,
    /// Where ids of newly opened incidents go (the runbook runner).
    pub opened: mpsc::UnboundedSender<String>,
    /// Chains and contracts to watch, resolved.
    pub chains: Vec<collector::chain::CompiledChain>,
    /// Where chain checkpoints are kept.
    pub store: Arc<dyn responder::Store>,
    /// The accounts Vigil pauses from: their `Paused`/`Unpaused` events are Vigil's own.
    pub pausers: Vec<String>,
}

/// Starts the collectors, the detector task and the alert sweeper.
pub fn start(
    parts: LiveLoopParts<'_>,
    cancel: CancellationToken,
    tasks: &TaskTracker,
) -> anyhow::Result<LiveLoop> {
    let policy = parts
        .detector
        .load_policy()
        .map_err(anyhow::Error::msg)
        .context("invalid detector policy")?;
    let store = Arc::new(SeriesStore::new(parts.collector.series_limits()));
    let (sample_tx, sample_rx) = mpsc::channel::<Sample>(DETECTOR_QUEUE);
    let metrics = CollectorMetrics::register(parts.registry);
    let engine = Engine::start(
        parts.targets,
        parts.collector,
        EngineSinks {
            store: Arc::clone(&store),
            samples: Some(sample_tx.clone()),
            metrics,
            client: None,
        },
        cancel.clone(),
        tasks,
    )
    .context("cannot start the collectors")?;
    let ux = Arc::new(UxReceiver::new(
        Arc::clone(&store),
        Some(sample_tx.clone()),
        UxLimits::default(),
    ));
    let alerts = Arc::new(AlertStore::new(parts.alerts));
    let chains = collector::chain::ChainWatch::start(
        parts.chains,
        collector::targets::http_client().context("cannot build the HTTP client")?,
        Arc::clone(&store),
        Some(sample_tx),
        Arc::new(crate::chain::ChainDelivery {
            alerts: Arc::clone(&alerts),
            responder: parts.responder.clone(),
            opened: parts.opened.clone(),
            store: parts.store,
            pausers: parts.pausers,
        }),
        cancel.clone(),
        tasks,
    );
    let signals = SignalBoard::default();
    let hottest = Arc::new(Mutex::new(Vec::new()));

    let pipeline = detector::Pipeline::new(parts.detector.pipeline.clone(), policy);
    tasks.spawn(run_detector(
        pipeline,
        sample_rx,
        parts.responder.clone(),
        parts.opened.clone(),
        signals.clone(),
        Arc::clone(&hottest),
        cancel.clone(),
    ));
    tasks.spawn(sweep_alerts(
        Arc::clone(&alerts),
        parts.responder,
        parts.opened,
        cancel,
    ));
    Ok(LiveLoop {
        engine,
        alerts,
        ux,
        signals,
        chains,
        hottest,
    })
}

/// Feeds samples to the detector and its signals to the responder, until cancelled.
async fn run_detector(
    mut pipeline: detector::Pipeline,
    mut samples: mpsc::Receiver<Sample>,
    responder: responder::Responder,
    opened: mpsc::UnboundedSender<String>,
    board: SignalBoard,
    hottest: Arc<Mutex<Vec<(model::SeriesKey, f64)>>>,
    cancel: CancellationToken,
) {
    let mut batch = Vec::with_capacity(1024);
    let mut refit = tokio::time::interval(REFIT_EVERY);
    refit.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    refit.tick().await;
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = refit.tick() => {
                // A few milliseconds of fitting; not worth a thread hop.
                match pipeline.refit() {
                    Ok(report) => tracing::debug!(?report, "detector models refitted"),
                    Err(error) => tracing::warn!(%error, "detector refit failed"),
                }
            }
            received = samples.recv_many(&mut batch, 1024) => {
                if received == 0 {
                    break;
                }
                let mut raised = Vec::new();
                for sample in batch.drain(..) {
                    raised.extend(pipeline.observe(&sample));
                }
                *hottest.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = pipeline.hottest(20);
                for signal in raised {
                    board.record(&signal);
                    tracing::info!(id = %signal.id, level = %signal.level, active = signal.active, reason = %signal.reason, "signal");
                    match responder.ingest_signal(&signal).await {
                        Ok(outcome) => announce_opened(&opened, outcome),
                        Err(error) => tracing::error!(error = %crate::api::error::error_chain(&error), signal = %signal.id, "cannot hand the signal to the responder"),
                    }
                }
            }
        }
    }
    tracing::debug!("detector stopped");
}

/// Resolves pushed alerts whose `endsAt` has passed (or that were not re-sent), and tells the responder.
async fn sweep_alerts(
    alerts: Arc<AlertStore>,
    responder: responder::Responder,
    opened: mpsc::UnboundedSender<String>,
    cancel: CancellationToken,
) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = ticker.tick() => {
                let events = alerts.sweep(chrono::Utc::now());
                forward_alert_events(&responder, &opened, &events).await;
            }
        }
    }
}

/// Hands alert changes to the responder; returns how many it refused.
pub async fn forward_alert_events(
    responder: &responder::Responder,
    opened: &mpsc::UnboundedSender<String>,
    events: &[AlertEvent],
) -> usize {
    let mut failed = 0;
    for event in events {
        let alert = event.alert();
        let input = responder::AlertInput {
            fingerprint: alert.fingerprint.clone(),
            labels: alert.labels.clone(),
            annotations: alert.annotations.clone(),
            status: match event {
                AlertEvent::Firing(_) => responder::AlertStatus::Firing,
                AlertEvent::Resolved(_) => responder::AlertStatus::Resolved,
            },
            starts_at_ms: alert.starts_at.timestamp_millis(),
            ends_at_ms: alert.ends_at.map(|at| at.timestamp_millis()),
        };
        match responder.ingest_alert(&input).await {
            Ok(outcome) => announce_opened(opened, outcome),
            Err(error) => {
                failed += 1;
                tracing::error!(error = %crate::api::error::error_chain(&error), fingerprint = %alert.fingerprint, "cannot hand the alert to the responder");
            }
        }
    }
    failed
}

/// Hands an incident that opened (or escalated without a runbook) to the runbook runner.
pub fn announce_opened(opened: &mpsc::UnboundedSender<String>, outcome: responder::IngestOutcome) {
    if let (true, Some(id)) = (outcome.opened || outcome.escalated, outcome.incident_id) {
        // The runbook runner is gone only during shutdown.
        let _ = opened.send(id);
    }
}
