//! Chain watching wired into Vigil: the sink that takes the watchers' alerts to the alert list and the
//! responder and keeps their checkpoints in the database, and the default watch of the embedded core.

use std::sync::Arc;

use async_trait::async_trait;
use collector::alerts::AlertStore;
use collector::chain::{
    ChainAlert, ChainConfig, ChainSink, Checkpoint, ContractConfig, Preset, ReadConfig,
};
use tokio::sync::mpsc;

/// The name of the chain watch of the embedded core.
pub const CORE_CHAIN: &str = "core";

/// Delivers chain alerts: listed in `GET /api/v1/alerts`, then handed to the responder one by one. Only
/// when the responder has stored every one does the watcher move its checkpoint on, so a failure means
/// the same logs are processed again (and fold into what was stored) rather than lost.
pub struct ChainDelivery {
    pub alerts: Arc<AlertStore>,
    pub responder: responder::Responder,
    pub opened: mpsc::UnboundedSender<String>,
    pub store: Arc<dyn responder::Store>,
    /// The accounts Vigil pauses from (lowercase hex).
    pub pausers: Vec<String>,
}

impl ChainDelivery {
    /// A `Paused`/`Unpaused` event: Vigil's own (sent from its pauser) is evidence on the incident that
    /// caused it; anyone else's is an incident of its own — an unpause L1, a pause L2 — and an
    /// `observed_pause` / `observed_unpause` entry in the pause audit log.
    async fn classify_pause_event(&self, alert: &mut ChainAlert) -> Result<(), String> {
        let Some(kind) = alert
            .labels
            .get("alertname")
            .filter(|name| matches!(name.as_str(), "paused" | "unpaused"))
            .cloned()
        else {
            return Ok(());
        };
        if !alert.firing {
            return Ok(());
        }
        let account = alert
            .labels
            .get("account")
            .map(|account| account.to_ascii_lowercase())
            .unwrap_or_default();
        if self.pausers.contains(&account) {
            alert.evidence = true;
            return Ok(());
        }
        let pausing = kind == "paused";
        let module = alert.labels.get("contract").cloned().unwrap_or_default();
        let tx = alert.labels.get("tx").cloned().unwrap_or_default();
        let block = alert.labels.get("block").cloned().unwrap_or_default();
        alert.labels.insert(
            "level".to_owned(),
            if pausing { "L2" } else { "L1" }.to_owned(),
        );
        alert.annotations.insert(
            "summary".to_owned(),
            format!(
                "{module} {} outside Vigil by {account}",
                if pausing { "paused" } else { "UNPAUSED" }
            ),
        );
        let action = if pausing {
            "observed_pause"
        } else {
            "observed_unpause"
        };
        let detail = format!("tx {tx} in block {block}, sent by {account}");
        // Idempotent: a redelivered alert does not write the entry twice.
        let logged = self
            .store
            .audit_entries()
            .await
            .map_err(|error| error.to_string())?
            .iter()
            .any(|entry| entry.action == action && entry.detail == detail);
        if !logged {
            self.store
                .append_audit(&responder::store::NewAuditEntry {
                    at_ms: chrono::Utc::now().timestamp_millis(),
                    actor: account,
                    role: "chain".to_owned(),
                    action: action.to_owned(),
                    module,
                    reason: "seen on chain, not sent by Vigil".to_owned(),
                    incident_id: None,
                    detail,
                })
                .await
                .map_err(|error| error.to_string())?;
        }
        Ok(())
    }
}

#[async_trait]
impl ChainSink for ChainDelivery {
    async fn deliver(&self, mut alerts: Vec<ChainAlert>) -> Result<(), String> {
        for alert in &mut alerts {
            self.classify_pause_event(alert).await?;
        }
        let listed: Vec<ChainAlert> = alerts
            .iter()
            .filter(|alert| !alert.evidence)
            .cloned()
            .collect();
        if !listed.is_empty()
            && let Err(error) = self.alerts.ingest_chain(&listed, chrono::Utc::now())
        {
            // The list is full of firing alerts: still page; the list is only a view.
            tracing::warn!(%error, "chain alerts not listed");
        }
        for alert in &alerts {
            let mut labels = alert.labels.clone();
            if alert.evidence {
                labels.insert("evidence".to_owned(), "true".to_owned());
            }
            let input = responder::AlertInput {
                fingerprint: alert.fingerprint.clone(),
                labels,
                annotations: alert.annotations.clone(),
                status: if alert.firing {
                    responder::AlertStatus::Firing
                } else {
                    responder::AlertStatus::Resolved
                },
                starts_at_ms: alert.at_ms,
                ends_at_ms: (!alert.firing).then_some(alert.at_ms),
            };
            let outcome = self.responder.ingest_alert(&input).await.map_err(|error| {
                format!(
                    "alert {}: {}",
                    alert.fingerprint,
                    crate::api::error::error_chain(&error)
                )
            })?;
            crate::pipeline::announce_opened(&self.opened, outcome);
        }
        Ok(())
    }

    async fn load_checkpoint(&self, chain: &str) -> Result<Option<Checkpoint>, String> {
        let Some(state) = self
            .store
            .chain_checkpoint(chain)
            .await
            .map_err(|error| error.to_string())?
        else {
            return Ok(None);
        };
        serde_json::from_str(&state).map(Some).map_err(|error| {
            format!("the stored checkpoint of chain {chain} does not parse: {error}")
        })
    }

    async fn save_checkpoint(&self, chain: &str, checkpoint: &Checkpoint) -> Result<(), String> {
        let state = serde_json::to_string(checkpoint).map_err(|error| error.to_string())?;
        self.store
            .save_chain_checkpoint(
                chain,
                i64::try_from(checkpoint.block).unwrap_or(i64::MAX),
                &checkpoint.hash,
                &state,
                chrono::Utc::now().timestamp_millis(),
            )
            .await
            .map_err(|error| error.to_string())
    }
}

/// The embedded core watched like a real chain: its modules (pausable, ownable, access-controlled, their
/// TRN balance as `value_locked`) and its TRN/USD feed, through its own JSON-RPC at `rpc_url`.
///
/// The feed's heartbeat is 60 price ticks (60 s at the default 1 s tick), at most the core's own
/// [`protocol::FEED_HEARTBEAT_SECS`]: a fast test core goes stale as quickly, in ticks, as a real one.
pub fn core_watch(
    core: &protocol::Core,
    rpc_url: &str,
    price_tick: std::time::Duration,
) -> (ChainConfig, Vec<ContractConfig>) {
    let config = core.config();
    let slot_ms = config.slot_ms;
    let peg_target = config.peg_target;
    let heartbeat = (price_tick * 60).clamp(
        std::time::Duration::from_secs(2),
        std::time::Duration::from_secs(protocol::FEED_HEARTBEAT_SECS),
    );
    let chain = ChainConfig {
        name: CORE_CHAIN.to_owned(),
        rpc: vec![rpc_url.to_owned()],
        confirmations: 0,
        // Twice a slot: a new block is seen within half a slot.
        poll: model::HumanDuration::from_millis((slot_ms / 2).clamp(100, 1_000)),
        max_catch_up_blocks: 10_000,
        max_logs_range: 1_000,
        timeout: model::HumanDuration::from_secs(5),
        max_head_lag: 3,
    };
    let contracts_all = core.contracts();
    let token = contracts_all
        .iter()
        .find(|contract| contract.kind == protocol::evm::ContractKind::Token)
        .map(|contract| contract.address.clone());
    let trusted = core.trusted_accounts();
    let mut contracts = Vec::new();
    for contract in &contracts_all {
        let base = ContractConfig {
            name: contract.name.clone(),
            chain: CORE_CHAIN.to_owned(),
            address: contract.address.clone(),
            abi: None,
            presets: Vec::new(),
            trusted: trusted.clone(),
            peg_target: None,
            heartbeat: model::HumanDuration(heartbeat),
            reads: Vec::new(),
            events: Vec::new(),
        };
        match contract.kind {
            protocol::evm::ContractKind::Module => contracts.push(ContractConfig {
                presets: vec![Preset::Pausable, Preset::Ownable, Preset::AccessControl],
                reads: token
                    .iter()
                    .map(|token| ReadConfig {
                        name: "value_locked".to_owned(),
                        call: "balanceOf(address)(uint256)".to_owned(),
                        to: Some(token.clone()),
                        args: vec!["self".to_owned()],
                        decimals: u32::from(protocol::evm::TOKEN_DECIMALS),
                        every: 1,
                        output: 0,
                    })
                    .collect(),
                ..base
            }),
            protocol::evm::ContractKind::PriceFeed => contracts.push(ContractConfig {
                presets: vec![Preset::ChainlinkFeed],
                peg_target: Some(peg_target),
                ..base
            }),
            protocol::evm::ContractKind::Token => {}
        }
    }
    (chain, contracts)
}
