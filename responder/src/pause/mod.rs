//! The emergency pause: a guardian pauses a protocol module at once; unpausing needs a quorum of
//! governors; every request, approval, refusal and automatic pause is in an append-only, hash-chained
//! audit log.
//!
//! How it fits: the binary builds a [`PauseService`] from a [`Responder`], a [`PauseBackend`] and the
//! [`PauseConfig`] (`[pause]`), and maps `POST /api/v1/pause` → [`PauseService::pause`],
//! `POST /api/v1/unpause` → [`PauseService::request_unpause`], `GET /api/v1/pauses` →
//! [`PauseService::audit_log`]. Runbook steps call [`PauseService::automatic_pause`].
//!
//! Design decisions:
//! - **The audit log is the state of the quorum.** Approvals are the `unpause_approval` rows of a module
//!   since its last `pause`/`automatic_pause`/`unpause` row, within `approval_window`. Nothing lives only in
//!   memory, so replicas and restarts agree on who approved; a new pause starts a new round of approvals.
//! - **Whether a module is paused is asked of the backend**, not of the log: the chain (or the core) is the
//!   truth, and a pause made elsewhere is honoured.
//! - **Unpausing is never automatic**: only [`PauseService::request_unpause`] unpauses, and only when the
//!   approval that reaches the quorum comes in.
//! - The backends sit behind [`PauseBackend`]. The embedded core's backend is implemented in the binary
//!   (this crate does not depend on `protocol`); [`EvmPausable`] and [`HttpAdmin`] are here.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use model::HumanDuration;
use serde::{Deserialize, Serialize};

use crate::Responder;
use crate::store::{AuditEntry, NewAuditEntry, StoreError};
use crate::time::rfc3339;

mod evm;
mod http;
mod nonce;
mod signer;

pub use evm::{EvmPausable, Readiness, decode_revert_reason};
pub use http::HttpAdmin;

// ---- configuration -----------------------------------------------------------------------------------

/// `[pause]`: quorum, approval window, backend and automatic-pause policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PauseConfig {
    /// Distinct governors whose approvals unpause a module. Default 2.
    pub unpause_quorum: u32,
    /// How long an approval counts. Default 1h.
    pub approval_window: HumanDuration,
    /// Which backend pauses modules. Default `core`.
    pub backend: PauseBackendKind,
    /// Whether runbook steps may pause modules without a person. Default true.
    pub allow_automatic: bool,
    /// Modules runbooks may pause automatically; empty (the default) means every module.
    pub automatic_modules: Vec<String>,
    /// `[pause.evm]`, required when `backend = "evm"`.
    pub evm: Option<EvmPausableConfig>,
    /// `[pause.http]`, required when `backend = "http"`.
    pub http: Option<HttpAdminConfig>,
}

impl Default for PauseConfig {
    fn default() -> Self {
        Self {
            unpause_quorum: 2,
            approval_window: HumanDuration::from_secs(3600),
            backend: PauseBackendKind::Core,
            allow_automatic: true,
            automatic_modules: Vec::new(),
            evm: None,
            http: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseBackendKind {
    /// The embedded protocol core (implemented by the binary).
    Core,
    /// A Pausable contract per module, through Ethereum JSON-RPC ([`EvmPausable`]).
    Evm,
    /// An HTTP admin API ([`HttpAdmin`]).
    Http,
}

/// `[pause.evm]`: where the Pausable contracts are and which key signs the transactions.
///
/// Vigil signs its own transactions (EIP-1559, or EIP-155 legacy on chains without a base fee) and
/// sends them with `eth_sendRawTransaction`; no account has to be unlocked on the node. The key comes
/// from exactly one of `key_env` (an environment variable holding the hex private key) or `keystore`
/// (a Web3 Secret Storage JSON file) + `password_env`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvmPausableConfig {
    /// The `[[chains]]` entry the contracts are on: its first RPC URL is used (unless `rpc_url` is set),
    /// and every `[[contracts]]` entry on it with the `pausable` preset is a pause module (the binary
    /// resolves this before the backend is built).
    pub chain: Option<String>,
    /// JSON-RPC endpoint. Default `http://127.0.0.1:8545`.
    pub rpc_url: String,
    /// The pauser's address. Optional: empty (the default) derives it from the key; when set it must be
    /// the key's address (a guard against loading the wrong key).
    pub from: String,
    /// Environment variable holding the pauser's secp256k1 private key (64 hex digits, `0x` optional).
    pub key_env: Option<String>,
    /// Path to a Web3 Secret Storage (keystore v3) JSON file holding the pauser's key.
    pub keystore: Option<String>,
    /// Environment variable holding the keystore's password (required with `keystore`).
    pub password_env: Option<String>,
    /// Contract address per module, e.g. `{ bridge = "0xe78a…" }`.
    pub contracts: BTreeMap<String, String>,
    /// Which functions pause and unpause a module's contract; modules not listed use `pause()` and
    /// `unpause()`. Only zero-argument Solidity signatures are supported.
    pub calls: BTreeMap<String, PauseCalls>,
    /// Fee cap in gwei: `maxFeePerGas` (or the legacy `gasPrice`) never goes above it, bumps included.
    /// Default 500.
    pub max_fee_gwei: f64,
    /// `maxPriorityFeePerGas` in gwei for the first attempt. Default 2.
    pub priority_fee_gwei: f64,
    /// A transaction not mined after this many blocks is replaced (same nonce) with fees +12.5%, never
    /// above `max_fee_gwei`. Default 3.
    pub bump_after_blocks: u64,
    /// How long to wait for a transaction to be mined. Default 60s.
    pub receipt_timeout: HumanDuration,
    /// How often the receipt is polled. Default 500ms.
    pub poll_interval: HumanDuration,
    /// One JSON-RPC request may take this long. Default 10s.
    pub request_timeout: HumanDuration,
    /// Gas limit for the transactions; unset (the default) uses `eth_estimateGas` × 1.2.
    pub gas: Option<u64>,
}

impl Default for EvmPausableConfig {
    fn default() -> Self {
        Self {
            chain: None,
            rpc_url: "http://127.0.0.1:8545".to_owned(),
            from: String::new(),
            key_env: None,
            keystore: None,
            password_env: None,
            contracts: BTreeMap::new(),
            calls: BTreeMap::new(),
            max_fee_gwei: 500.0,
            priority_fee_gwei: 2.0,
            bump_after_blocks: 3,
            receipt_timeout: HumanDuration::from_secs(60),
            poll_interval: HumanDuration::from_millis(500),
            request_timeout: HumanDuration::from_secs(10),
            gas: None,
        }
    }
}

/// `[pause.evm.calls.<module>]`: the module's pause and unpause functions as Solidity signatures, with
/// their literal arguments, e.g. Compound's `pause_call = "_setMintPaused(address,bool)"`,
/// `pause_args = ["0xc3d6…", "true"]`; the calldata is encoded from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PauseCalls {
    /// Default `pause()`.
    pub pause_call: String,
    /// Default `unpause()`.
    pub unpause_call: String,
    /// Arguments of `pause_call`, as text coerced to each parameter's type. Default none.
    pub pause_args: Vec<String>,
    /// Arguments of `unpause_call`. Default none.
    pub unpause_args: Vec<String>,
}

impl Default for PauseCalls {
    fn default() -> Self {
        Self {
            pause_call: "pause()".to_owned(),
            unpause_call: "unpause()".to_owned(),
            pause_args: Vec::new(),
            unpause_args: Vec::new(),
        }
    }
}

/// `[pause.http]`: an admin API answering `POST {url}/pause` and `POST {url}/unpause` with
/// `{"module": …}`, and `GET {url}/paused?module=…` with `{"paused": bool}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpAdminConfig {
    pub url: String,
    /// Environment variable holding the bearer token; unset sends no `Authorization` header.
    pub token_env: Option<String>,
    /// One request may take this long. Default 10s.
    pub timeout: HumanDuration,
}

impl Default for HttpAdminConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            token_env: None,
            timeout: HumanDuration::from_secs(10),
        }
    }
}

impl PauseConfig {
    /// Every problem, with its path under `prefix` (e.g. `pause`).
    pub fn validate(&self, prefix: &str) -> Vec<(String, String)> {
        let at = |path: &str| {
            if prefix.is_empty() {
                path.to_owned()
            } else {
                format!("{prefix}.{path}")
            }
        };
        let mut problems = Vec::new();
        if self.unpause_quorum == 0 {
            problems.push((
                at("unpause_quorum"),
                "must be at least 1 (unpausing is never automatic)".to_owned(),
            ));
        }
        if self.approval_window.get().is_zero() {
            problems.push((at("approval_window"), "must be longer than 0s".to_owned()));
        }
        match (self.backend, &self.evm, &self.http) {
            (PauseBackendKind::Evm, None, _) => problems.push((
                at("evm"),
                "backend = \"evm\" needs a [pause.evm] table (rpc_url, key_env or keystore, contracts)".to_owned(),
            )),
            (PauseBackendKind::Http, _, None) => problems.push((
                at("http"),
                "backend = \"http\" needs a [pause.http] table (url, token_env)".to_owned(),
            )),
            _ => {}
        }
        if let Some(evm) = &self.evm {
            if !(evm.rpc_url.starts_with("http://") || evm.rpc_url.starts_with("https://")) {
                problems.push((
                    at("evm.rpc_url"),
                    format!("{:?} is not an http(s) URL", evm.rpc_url),
                ));
            }
            if !evm.from.is_empty() && !is_address(&evm.from) {
                problems.push((
                    at("evm.from"),
                    format!(
                        "{:?} is not a 0x-prefixed 20-byte address (leave it out to use the key's address)",
                        evm.from
                    ),
                ));
            }
            problems.extend(
                evm::validate_config(evm)
                    .into_iter()
                    .map(|(path, message)| (at(&format!("evm.{path}")), message)),
            );
            if evm.contracts.is_empty() && evm.chain.is_none() {
                problems.push((
                    at("evm.contracts"),
                    "needs at least one module = \"0x…\" entry, or chain = a [[chains]] name whose pausable [[contracts]] are the modules".to_owned(),
                ));
            }
            for (module, address) in &evm.contracts {
                if !is_address(address) {
                    problems.push((
                        at(&format!("evm.contracts.{module}")),
                        format!("{address:?} is not a 0x-prefixed 20-byte address"),
                    ));
                }
            }
            for (name, value) in [
                ("receipt_timeout", evm.receipt_timeout),
                ("poll_interval", evm.poll_interval),
                ("request_timeout", evm.request_timeout),
            ] {
                if value.get().is_zero() {
                    problems.push((
                        at(&format!("evm.{name}")),
                        "must be longer than 0s".to_owned(),
                    ));
                }
            }
        }
        if let Some(http) = &self.http
            && !(http.url.starts_with("http://") || http.url.starts_with("https://"))
        {
            problems.push((
                at("http.url"),
                format!("{:?} is not an http(s) URL", http.url),
            ));
        }
        problems
    }
}

fn is_address(text: &str) -> bool {
    text.len() == 42 && text.starts_with("0x") && text[2..].chars().all(|c| c.is_ascii_hexdigit())
}

// ---- actors ------------------------------------------------------------------------------------------

/// A token's role. The binary authenticates; this service enforces what each role may do here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Responder,
    Guardian,
    Admin,
    /// Separate from the viewer < responder < guardian < admin ladder: approves unpauses only.
    Governor,
    /// Vigil itself (runbook steps).
    System,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Guardian => "guardian",
            Role::Admin => "admin",
            Role::Governor => "governor",
            Role::System => "system",
        }
    }
}

/// Who asks: the token's name and role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub name: String,
    pub role: Role,
}

impl Actor {
    pub fn new(name: impl Into<String>, role: Role) -> Self {
        Self {
            name: name.into(),
            role,
        }
    }
}

// ---- backends ----------------------------------------------------------------------------------------

/// What a backend reports about a pause or unpause it carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendReceipt {
    /// `core`, `evm`, `http`.
    pub backend: String,
    /// The transaction, for on-chain backends.
    pub tx_hash: Option<String>,
    /// The receipt status (`0x1` = success), for on-chain backends.
    pub status: Option<String>,
    pub block_number: Option<u64>,
    /// One line for the audit log and the timeline.
    pub detail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("module {0:?} is not known to the pause backend")]
    UnknownModule(String),
    /// The dry run (`eth_call`) reverted, e.g. `already paused` or `not owner`; nothing was sent.
    #[error("refused by the contract: {0}")]
    Reverted(String),
    #[error("json-rpc error {code}: {message}")]
    Rpc { code: i64, message: String },
    #[error("could not reach the pause backend")]
    Transport(#[source] reqwest::Error),
    #[error("the pause backend answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("transaction {tx_hash} was not mined within {waited}")]
    ReceiptTimeout {
        tx_hash: String,
        waited: HumanDuration,
    },
    #[error("transaction {tx_hash} failed on chain (status {status})")]
    TxFailed { tx_hash: String, status: String },
    #[error("pause backend answered something unexpected: {0}")]
    Invalid(String),
    #[error("pause backend is misconfigured: {0}")]
    Misconfigured(String),
    /// For backends implemented outside this crate (the embedded core).
    #[error("{0}")]
    Other(String),
}

impl model::HasKind for BackendError {
    fn kind(&self) -> model::ErrorKind {
        use model::ErrorKind;
        match self {
            BackendError::UnknownModule(_) => ErrorKind::NotFound,
            BackendError::Reverted(_) | BackendError::TxFailed { .. } => ErrorKind::Conflict,
            BackendError::Misconfigured(_) => ErrorKind::InvalidInput,
            BackendError::Rpc { .. }
            | BackendError::Transport(_)
            | BackendError::Status { .. }
            | BackendError::ReceiptTimeout { .. }
            | BackendError::Invalid(_)
            | BackendError::Other(_) => ErrorKind::Unavailable,
        }
    }
}

/// Pauses and unpauses protocol modules somewhere real.
///
/// Contract: `pause`/`unpause` return once the change is in effect (mined, for a chain) or failed; they
/// are not retried by the caller, so an implementation must not report success for a change it did not
/// make. `is_paused` must be cheap enough to call before every request.
#[async_trait]
pub trait PauseBackend: Send + Sync + 'static {
    /// `core`, `evm`, `http`.
    fn name(&self) -> &str;
    async fn pause(&self, module: &str) -> Result<BackendReceipt, BackendError>;
    async fn unpause(&self, module: &str) -> Result<BackendReceipt, BackendError>;
    async fn is_paused(&self, module: &str) -> Result<bool, BackendError>;
    /// The account this backend pauses from, `0x` + 40 lowercase hex digits, when it has one: a
    /// `Paused`/`Unpaused` event from any other account was not Vigil's doing.
    fn pauser(&self) -> Option<String> {
        None
    }
    /// Whether a pause of `module` would go through now, `min_pauses` times over: `Ok` with a line for
    /// the digest, `Err` with why not. Backends without an on-chain path have nothing to check.
    async fn readiness(&self, module: &str, min_pauses: u32) -> Result<String, String> {
        let _ = min_pauses;
        Ok(format!(
            "{module}: nothing to check on the {} backend",
            self.name()
        ))
    }
}

/// Builds the `evm` or `http` backend from the config (`core` is built by the binary: `None`).
pub fn build_backend(
    config: &PauseConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Arc<dyn PauseBackend>>, BackendError> {
    Ok(match config.backend {
        PauseBackendKind::Core => None,
        PauseBackendKind::Evm => {
            let evm = config.evm.as_ref().ok_or_else(|| {
                BackendError::Misconfigured("backend = \"evm\" without [pause.evm]".to_owned())
            })?;
            Some(Arc::new(EvmPausable::new(evm, env)?))
        }
        PauseBackendKind::Http => {
            let http = config.http.as_ref().ok_or_else(|| {
                BackendError::Misconfigured("backend = \"http\" without [pause.http]".to_owned())
            })?;
            let token = match &http.token_env {
                Some(variable) => Some(env(variable).ok_or_else(|| {
                    BackendError::Misconfigured(format!(
                        "environment variable {variable} is not set (pause.http.token_env)"
                    ))
                })?),
                None => None,
            };
            Some(Arc::new(HttpAdmin::new(http, token)?))
        }
    })
}

// ---- errors ------------------------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
pub enum PauseError {
    #[error("{actor} ({role}) may not {action}: {needed}")]
    Forbidden {
        actor: String,
        role: &'static str,
        action: &'static str,
        needed: &'static str,
    },
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("module {0} is not paused")]
    NotPaused(String),
    #[error("cannot {action} module {module}")]
    Backend {
        action: &'static str,
        module: String,
        #[source]
        source: BackendError,
    },
    #[error("pause audit log storage failed")]
    Store(#[from] StoreError),
}

impl model::HasKind for PauseError {
    fn kind(&self) -> model::ErrorKind {
        use model::ErrorKind;
        match self {
            PauseError::Forbidden { .. } => ErrorKind::Forbidden,
            PauseError::InvalidInput(_) => ErrorKind::InvalidInput,
            PauseError::NotPaused(_) => ErrorKind::Conflict,
            PauseError::Backend { source, .. } => source.kind(),
            PauseError::Store(error) => error.kind(),
        }
    }
}

// ---- views -------------------------------------------------------------------------------------------

/// `POST /api/v1/pause` and `POST /api/v1/unpause` bodies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseRequest {
    pub module: String,
    pub reason: String,
    /// The incident the pause answers; its timeline records the action.
    #[serde(default)]
    pub incident_id: Option<String>,
}

/// `POST /api/v1/pause` answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PauseOutcome {
    pub module: String,
    pub paused: bool,
    /// Whether this request changed anything (false when the module was paused already).
    pub changed: bool,
    pub tx_hash: Option<String>,
    pub detail: String,
}

/// `POST /api/v1/unpause` answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnpauseOutcome {
    pub module: String,
    /// `pending` until the quorum is reached, then `done`.
    pub state: &'static str,
    /// Governors whose approvals count now, in the order they approved.
    pub approvals: Vec<String>,
    pub quorum: u32,
    pub tx_hash: Option<String>,
}

/// What a runbook's automatic pause did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AutomaticPause {
    Paused {
        tx_hash: Option<String>,
        detail: String,
    },
    AlreadyPaused,
    Refused {
        reason: String,
    },
}

/// One `GET /api/v1/pauses` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntryView {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub module: String,
    pub reason: String,
    pub incident_id: Option<String>,
    pub detail: String,
    pub hash: String,
    pub prev_hash: String,
}

/// `GET /api/v1/pauses`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditLog {
    pub entries: Vec<AuditEntryView>,
    /// Whether recomputing the hash chain over every row gives the stored hashes.
    pub chain_ok: bool,
    /// The first row that does not chain, when `chain_ok` is false.
    pub broken_at: Option<i64>,
}

impl From<&AuditEntry> for AuditEntryView {
    fn from(entry: &AuditEntry) -> Self {
        Self {
            seq: entry.seq,
            at: rfc3339(entry.at_ms),
            actor: entry.actor.clone(),
            role: entry.role.clone(),
            action: entry.action.clone(),
            module: entry.module.clone(),
            reason: entry.reason.clone(),
            incident_id: entry.incident_id.clone(),
            detail: entry.detail.clone(),
            hash: entry.hash.clone(),
            prev_hash: entry.prev_hash.clone(),
        }
    }
}

// ---- the service -------------------------------------------------------------------------------------

/// Actions that start a new round of unpause approvals for their module.
const ROUND_BOUNDARIES: [&str; 3] = ["pause", "automatic_pause", "unpause"];

/// The emergency-pause service; cheap to clone.
#[derive(Clone)]
pub struct PauseService {
    responder: Responder,
    backend: Arc<dyn PauseBackend>,
    config: Arc<PauseConfig>,
}

impl PauseService {
    /// Validates `config`; problems come back with their paths under `pause`.
    pub fn new(
        responder: Responder,
        backend: Arc<dyn PauseBackend>,
        config: PauseConfig,
    ) -> Result<Self, PauseError> {
        let problems = config.validate("pause");
        if !problems.is_empty() {
            return Err(PauseError::InvalidInput(
                problems
                    .iter()
                    .map(|(path, message)| format!("{path}: {message}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
        }
        Ok(Self {
            responder,
            backend,
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> &PauseConfig {
        &self.config
    }

    pub fn backend(&self) -> &Arc<dyn PauseBackend> {
        &self.backend
    }

    /// `POST /api/v1/pause`: pauses `module` at once. Needs guardian or admin.
    pub async fn pause(
        &self,
        module: &str,
        reason: &str,
        actor: &Actor,
    ) -> Result<PauseOutcome, PauseError> {
        self.pause_for_incident(module, reason, actor, None).await
    }

    /// Like [`pause`](Self::pause), and records the action (with the tx hash) in the incident's timeline.
    pub async fn pause_for_incident(
        &self,
        module: &str,
        reason: &str,
        actor: &Actor,
        incident_id: Option<&str>,
    ) -> Result<PauseOutcome, PauseError> {
        let module = required("module", module)?;
        let reason = required("reason", reason)?;
        if !matches!(actor.role, Role::Guardian | Role::Admin) {
            let error = PauseError::Forbidden {
                actor: actor.name.clone(),
                role: actor.role.as_str(),
                action: "pause a module",
                needed: "pausing needs the guardian or admin role",
            };
            self.audit(
                actor,
                "pause_refused",
                &module,
                &reason,
                incident_id,
                error.to_string(),
            )
            .await?;
            return Err(error);
        }
        let already = self.is_paused(&module).await?;
        let (receipt, detail) = if already {
            (
                None,
                format!("module {module} was paused already; nothing sent"),
            )
        } else {
            match self.backend.pause(&module).await {
                Ok(receipt) => {
                    let detail = receipt.detail.clone();
                    (Some(receipt), detail)
                }
                Err(source) => {
                    let error = PauseError::Backend {
                        action: "pause",
                        module: module.clone(),
                        source,
                    };
                    self.audit(
                        actor,
                        "pause_failed",
                        &module,
                        &reason,
                        incident_id,
                        chain(&error),
                    )
                    .await?;
                    return Err(error);
                }
            }
        };
        self.audit(
            actor,
            "pause",
            &module,
            &reason,
            incident_id,
            detail.clone(),
        )
        .await?;
        if let Some(incident_id) = incident_id {
            self.note_in_timeline(
                incident_id,
                &actor.name,
                &format!("paused module {module}: {reason} ({detail})"),
            )
            .await;
        }
        Ok(PauseOutcome {
            module,
            paused: true,
            changed: !already,
            tx_hash: receipt.and_then(|receipt| receipt.tx_hash),
            detail,
        })
    }

    /// `POST /api/v1/unpause`: one governor's approval. The module unpauses when `unpause_quorum` distinct
    /// governors approved within `approval_window` (the same governor twice counts once).
    pub async fn request_unpause(
        &self,
        module: &str,
        reason: &str,
        governor: &Actor,
    ) -> Result<UnpauseOutcome, PauseError> {
        let module = required("module", module)?;
        let reason = required("reason", reason)?;
        if governor.role != Role::Governor {
            let error = PauseError::Forbidden {
                actor: governor.name.clone(),
                role: governor.role.as_str(),
                action: "approve an unpause",
                needed: "only governors approve unpauses",
            };
            self.audit(
                governor,
                "unpause_refused",
                &module,
                &reason,
                None,
                error.to_string(),
            )
            .await?;
            return Err(error);
        }
        if !self.is_paused(&module).await? {
            let error = PauseError::NotPaused(module.clone());
            self.audit(
                governor,
                "unpause_refused",
                &module,
                &reason,
                None,
                error.to_string(),
            )
            .await?;
            return Err(error);
        }
        self.audit(
            governor,
            "unpause_approval",
            &module,
            &reason,
            None,
            format!("approval by {}", governor.name),
        )
        .await?;
        let approvals = self.current_approvals(&module).await?;
        let quorum = self.config.unpause_quorum;
        if approvals.len() < quorum as usize {
            return Ok(UnpauseOutcome {
                module,
                state: "pending",
                approvals,
                quorum,
                tx_hash: None,
            });
        }
        match self.backend.unpause(&module).await {
            Ok(receipt) => {
                let detail = format!(
                    "quorum {}/{quorum} reached ({}); {}",
                    approvals.len(),
                    approvals.join(", "),
                    receipt.detail
                );
                self.audit(governor, "unpause", &module, &reason, None, detail)
                    .await?;
                Ok(UnpauseOutcome {
                    module,
                    state: "done",
                    approvals,
                    quorum,
                    tx_hash: receipt.tx_hash,
                })
            }
            Err(source) => {
                let error = PauseError::Backend {
                    action: "unpause",
                    module: module.clone(),
                    source,
                };
                self.audit(
                    governor,
                    "unpause_failed",
                    &module,
                    &reason,
                    None,
                    chain(&error),
                )
                .await?;
                Err(error)
            }
        }
    }

    /// A runbook step's pause for `incident_id`. Refused (and audited) when automatic pauses are off, the
    /// module is not in `automatic_modules`, or a maintenance window covers the module's component.
    pub async fn automatic_pause(
        &self,
        module: &str,
        incident_id: &str,
        reason: &str,
    ) -> Result<AutomaticPause, PauseError> {
        let module = required("module", module)?;
        let system = Actor::new("vigil", Role::System);
        let now = self.responder.now();
        let refusal = if !self.config.allow_automatic {
            Some("policy: automatic pauses are disabled (pause.allow_automatic = false)".to_owned())
        } else if !self.config.automatic_modules.is_empty()
            && !self.config.automatic_modules.contains(&module)
        {
            Some(format!(
                "policy: module {module} is not in pause.automatic_modules"
            ))
        } else if self.responder.is_under_maintenance(&module, now) {
            Some(format!("maintenance window covers {module}"))
        } else {
            None
        };
        if let Some(why) = refusal {
            self.audit(
                &system,
                "automatic_pause_refused",
                &module,
                reason,
                Some(incident_id),
                why.clone(),
            )
            .await?;
            return Ok(AutomaticPause::Refused { reason: why });
        }
        if self.is_paused(&module).await? {
            return Ok(AutomaticPause::AlreadyPaused);
        }
        match self.backend.pause(&module).await {
            Ok(receipt) => {
                self.audit(
                    &system,
                    "automatic_pause",
                    &module,
                    reason,
                    Some(incident_id),
                    receipt.detail.clone(),
                )
                .await?;
                self.note_in_timeline(
                    incident_id,
                    "vigil",
                    &format!(
                        "paused module {module} automatically: {reason} ({})",
                        receipt.detail
                    ),
                )
                .await;
                Ok(AutomaticPause::Paused {
                    tx_hash: receipt.tx_hash,
                    detail: receipt.detail,
                })
            }
            Err(source) => {
                let error = PauseError::Backend {
                    action: "pause",
                    module: module.clone(),
                    source,
                };
                self.audit(
                    &system,
                    "pause_failed",
                    &module,
                    reason,
                    Some(incident_id),
                    chain(&error),
                )
                .await?;
                Err(error)
            }
        }
    }

    /// `GET /api/v1/pauses`: every audit entry, oldest first, and whether the hash chain holds.
    pub async fn audit_log(&self) -> Result<AuditLog, PauseError> {
        let entries = self.responder.store().audit_entries().await?;
        let broken_at = crate::store::actions::first_broken_link(&entries);
        Ok(AuditLog {
            entries: entries.iter().map(AuditEntryView::from).collect(),
            chain_ok: broken_at.is_none(),
            broken_at,
        })
    }

    /// Modules whose latest pause-changing audit entry is a pause (what Vigil did; the backend may know
    /// of pauses made elsewhere).
    pub async fn paused_modules(&self) -> Result<Vec<String>, PauseError> {
        let entries = self.responder.store().audit_entries().await?;
        let mut state: BTreeMap<String, bool> = BTreeMap::new();
        for entry in &entries {
            match entry.action.as_str() {
                "pause" | "automatic_pause" => {
                    state.insert(entry.module.clone(), true);
                }
                "unpause" => {
                    state.insert(entry.module.clone(), false);
                }
                _ => {}
            }
        }
        Ok(state
            .into_iter()
            .filter_map(|(module, paused)| paused.then_some(module))
            .collect())
    }

    /// Governors whose approvals count for `module` now, in the order they first approved.
    async fn current_approvals(&self, module: &str) -> Result<Vec<String>, PauseError> {
        let entries = self.responder.store().audit_entries().await?;
        let since = self.responder.now()
            - i64::try_from(self.config.approval_window.get().as_millis()).unwrap_or(i64::MAX);
        let round_start = entries
            .iter()
            .rposition(|entry| {
                entry.module == module && ROUND_BOUNDARIES.contains(&entry.action.as_str())
            })
            .map_or(0, |index| index + 1);
        let mut approvals: Vec<String> = Vec::new();
        for entry in &entries[round_start..] {
            if entry.module == module
                && entry.action == "unpause_approval"
                && entry.at_ms >= since
                && !approvals.contains(&entry.actor)
            {
                approvals.push(entry.actor.clone());
            }
        }
        Ok(approvals)
    }

    async fn is_paused(&self, module: &str) -> Result<bool, PauseError> {
        self.backend
            .is_paused(module)
            .await
            .map_err(|source| PauseError::Backend {
                action: "read the pause state of",
                module: module.to_owned(),
                source,
            })
    }

    async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        module: &str,
        reason: &str,
        incident_id: Option<&str>,
        detail: String,
    ) -> Result<AuditEntry, PauseError> {
        let entry = NewAuditEntry {
            at_ms: self.responder.now(),
            actor: actor.name.clone(),
            role: actor.role.as_str().to_owned(),
            action: action.to_owned(),
            module: module.to_owned(),
            reason: reason.to_owned(),
            incident_id: incident_id.map(str::to_owned),
            detail,
        };
        tracing::info!(
            actor = %entry.actor,
            action = %entry.action,
            module = %entry.module,
            "pause audit entry"
        );
        Ok(self.responder.store().append_audit(&entry).await?)
    }

    /// The pause happened whatever the timeline says, so a failure to record it is logged, not returned.
    async fn note_in_timeline(&self, incident_id: &str, actor: &str, text: &str) {
        if let Err(error) = self.responder.record_action(incident_id, actor, text).await {
            tracing::warn!(incident_id, error = ?error, "could not record the pause in the incident timeline");
        }
    }
}

fn required(field: &str, value: &str) -> Result<String, PauseError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(PauseError::InvalidInput(format!(
            "{field} must not be empty"
        )));
    }
    Ok(value.to_owned())
}

/// The error with its causes, for the audit log.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
