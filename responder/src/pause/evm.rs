//! [`EvmPausable`]: one Pausable contract per module, driven through Ethereum JSON-RPC with
//! transactions Vigil signs itself.
//!
//! A pause (or unpause):
//! 1. **Dry run**: `eth_call` of the call's calldata from the pauser at `latest`. A revert such as
//!    `already paused` or `not owner` refuses with the decoded reason ([`BackendError::Reverted`]) and
//!    nothing is signed.
//! 2. **Gas**: `gas` from the config, else `eth_estimateGas` × 1.2. **Fees**: with a `baseFeePerGas` in
//!    the latest block an EIP-1559 transaction (`maxFeePerGas = min(max_fee_gwei, 2 × base +
//!    priority_fee_gwei)`), without one a legacy EIP-155 transaction at `min(max_fee_gwei,
//!    eth_gasPrice)`.
//! 3. **Nonce**: `eth_getTransactionCount(pauser, "pending")` before each send (see [`super::nonce`]).
//! 4. **Send**: sign (alloy, k256), encode EIP-2718, `eth_sendRawTransaction`. "nonce too low" re-reads
//!    the nonce, "already known" counts as sent, "underpriced" bumps the fees; at most 5 attempts.
//! 5. **Wait**: the receipt of any of the hashes sent at that nonce ends the wait. After
//!    `bump_after_blocks` blocks without one the transaction is replaced (same nonce, fees +12.5%,
//!    never above the cap). A receipt with status `0x0` replays the call at its block for the revert
//!    reason. After `receipt_timeout` the error names the hash and the nonce: the transaction may still
//!    be mined, and a retry of the same call replaces it rather than sending a second one.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alloy_json_abi::Function;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{GenericContractError, SolInterface};
use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::nonce::{
    InFlight, NonceChoice, NonceManager, SendFailure, choose_nonce, classify_send_error,
};
use super::signer::{Fees, SignedTx, TxParams, gwei_to_wei, load_signer, sign};
use super::{BackendError, BackendReceipt, EvmPausableConfig, PauseBackend, PauseCalls};

/// Sends (first attempt and its immediate retries) per pause or unpause.
const MAX_SEND_ATTEMPTS: u32 = 5;

/// A call: its signature (for messages) and its calldata.
#[derive(Debug, Clone)]
struct Call {
    signature: String,
    input: Bytes,
}

/// Encodes a Solidity signature such as `pause()` or `_setMintPaused(address,bool)` with its literal
/// arguments (`["0x…", "true"]`), each coerced to its parameter's type by alloy.
fn encode_call(signature: &str, args: &[String]) -> Result<Call, String> {
    use alloy_dyn_abi::{DynSolType, JsonAbiExt};
    let function = Function::parse(signature)
        .map_err(|error| format!("{signature:?} is not a Solidity function signature: {error}"))?;
    if function.inputs.len() != args.len() {
        return Err(format!(
            "{signature:?} takes {} argument(s), {} given (list them in pause_args / unpause_args)",
            function.inputs.len(),
            args.len()
        ));
    }
    let mut values = Vec::with_capacity(args.len());
    for (index, (param, arg)) in function.inputs.iter().zip(args).enumerate() {
        let ty = DynSolType::parse(&param.selector_type())
            .map_err(|error| format!("{signature:?} parameter {index}: {error}"))?;
        values.push(ty.coerce_str(arg).map_err(|_| {
            format!(
                "argument {index} of {signature:?}: {arg:?} is not a {}",
                param.selector_type()
            )
        })?);
    }
    let input = function
        .abi_encode_input(&values)
        .map_err(|error| format!("{signature:?}: {error}"))?;
    Ok(Call {
        signature: function.signature(),
        input: Bytes::from(input),
    })
}

#[derive(Debug, Clone)]
struct Module {
    address: Address,
    pause: Call,
    unpause: Call,
}

/// Problems in `[pause.evm]` beyond the ones [`super::PauseConfig::validate`] checks itself, with paths
/// relative to `evm` (no environment is read here; [`EvmPausable::new`] loads the key).
pub(crate) fn validate_config(config: &EvmPausableConfig) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    match (&config.key_env, &config.keystore, &config.password_env) {
        (Some(_), Some(_), _) => problems.push((
            "key_env".to_owned(),
            "set key_env or keystore, not both".to_owned(),
        )),
        (None, None, _) => problems.push((
            "key_env".to_owned(),
            "the pauser's key is needed: key_env = \"VAR\" (hex private key) or keystore = \"path\" + password_env = \"VAR\"".to_owned(),
        )),
        (None, Some(_), None) => problems.push((
            "password_env".to_owned(),
            "keystore needs password_env (the variable holding its password)".to_owned(),
        )),
        (Some(_), None, Some(_)) => problems.push((
            "password_env".to_owned(),
            "password_env goes with keystore, not key_env".to_owned(),
        )),
        _ => {}
    }
    for (name, value) in [
        ("key_env", &config.key_env),
        ("keystore", &config.keystore),
        ("password_env", &config.password_env),
    ] {
        if value
            .as_deref()
            .is_some_and(|value| value.trim().is_empty())
        {
            problems.push((name.to_owned(), "must not be empty".to_owned()));
        }
    }
    if !(config.max_fee_gwei.is_finite() && config.max_fee_gwei > 0.0) {
        problems.push((
            "max_fee_gwei".to_owned(),
            format!("{} is not a positive number of gwei", config.max_fee_gwei),
        ));
    }
    if !(config.priority_fee_gwei.is_finite() && config.priority_fee_gwei >= 0.0) {
        problems.push((
            "priority_fee_gwei".to_owned(),
            format!("{} is not a number of gwei", config.priority_fee_gwei),
        ));
    } else if config.priority_fee_gwei > config.max_fee_gwei {
        problems.push((
            "priority_fee_gwei".to_owned(),
            format!(
                "{} gwei is above max_fee_gwei ({} gwei)",
                config.priority_fee_gwei, config.max_fee_gwei
            ),
        ));
    }
    if config.bump_after_blocks == 0 {
        problems.push((
            "bump_after_blocks".to_owned(),
            "must be at least 1".to_owned(),
        ));
    }
    if config.gas == Some(0) {
        problems.push((
            "gas".to_owned(),
            "must be above 0 (leave it out to estimate)".to_owned(),
        ));
    }
    for (module, calls) in &config.calls {
        if !config.contracts.contains_key(module) {
            problems.push((
                format!("calls.{module}"),
                format!("module {module} has no entry in contracts"),
            ));
        }
        for (name, signature, args) in [
            ("pause_call", &calls.pause_call, &calls.pause_args),
            ("unpause_call", &calls.unpause_call, &calls.unpause_args),
        ] {
            if let Err(message) = encode_call(signature, args) {
                problems.push((format!("calls.{module}.{name}"), message));
            }
        }
    }
    problems
}

/// Whether the pauser can pause a module now: for `vigil check` and the status page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// The address that signs (derived from the key).
    pub pauser: Address,
    pub balance_wei: U256,
    /// Gas limit × the most the first attempt may pay per gas (what the balance must cover).
    pub estimated_cost_wei_per_pause: U256,
    pub gas_limit: u64,
    /// The first attempt's fees, e.g. `max fee 3 gwei, priority fee 2 gwei`.
    pub fees: String,
    /// The pause call's dry run from the pauser at `latest`: `Err` holds why it would be refused (e.g.
    /// `not owner`, `already paused`).
    pub dry_run: Result<(), String>,
}

pub struct EvmPausable {
    client: reqwest::Client,
    config: EvmPausableConfig,
    next_id: AtomicU64,
    signer: PrivateKeySigner,
    modules: BTreeMap<String, Module>,
    paused_call: Call,
    chain_id: OnceCell<u64>,
    nonces: NonceManager,
    cap: u128,
    priority: u128,
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Pause,
    Unpause,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Pause => "pause",
            Action::Unpause => "unpause",
        }
    }
}

impl EvmPausable {
    /// Loads the key through `env` (`key_env`, or `keystore` + `password_env`) and checks the config;
    /// every problem is [`BackendError::Misconfigured`]. Nothing is sent to the node yet.
    pub fn new(
        config: &EvmPausableConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, BackendError> {
        let problems = validate_config(config);
        if !problems.is_empty() {
            return Err(BackendError::Misconfigured(
                problems
                    .iter()
                    .map(|(path, message)| format!("pause.evm.{path}: {message}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
        }
        let signer = load_signer(config, env)?;
        let mut modules = BTreeMap::new();
        for (module, address) in &config.contracts {
            let address: Address = address.parse().map_err(|_| {
                BackendError::Misconfigured(format!(
                    "pause.evm.contracts.{module}: {address:?} is not a 20-byte address"
                ))
            })?;
            let calls = config.calls.get(module).cloned().unwrap_or_default();
            let encode = |name: &str, signature: &str, args: &[String]| {
                encode_call(signature, args).map_err(|message| {
                    BackendError::Misconfigured(format!(
                        "pause.evm.calls.{module}.{name}: {message}"
                    ))
                })
            };
            let PauseCalls {
                pause_call,
                unpause_call,
                pause_args,
                unpause_args,
            } = calls;
            modules.insert(
                module.clone(),
                Module {
                    address,
                    pause: encode("pause_call", &pause_call, &pause_args)?,
                    unpause: encode("unpause_call", &unpause_call, &unpause_args)?,
                },
            );
        }
        let client = crate::channels::http_client(config.request_timeout.get())
            .map_err(|error| BackendError::Misconfigured(error.to_string()))?;
        Ok(Self {
            client,
            config: config.clone(),
            next_id: AtomicU64::new(1),
            signer,
            modules,
            paused_call: encode_call("paused()", &[]).map_err(BackendError::Misconfigured)?,
            chain_id: OnceCell::new(),
            nonces: NonceManager::default(),
            cap: gwei_to_wei(config.max_fee_gwei),
            priority: gwei_to_wei(config.priority_fee_gwei),
        })
    }

    /// The address that signs the pause transactions (the contracts' owner or pauser must be it).
    pub fn pauser_address(&self) -> Address {
        self.signer.address()
    }

    fn module(&self, module: &str) -> Result<&Module, BackendError> {
        self.modules
            .get(module)
            .ok_or_else(|| BackendError::UnknownModule(module.to_owned()))
    }

    /// Balance, cost of one pause and the pause's dry run for `module`.
    pub async fn readiness(&self, module: &str) -> Result<Readiness, BackendError> {
        let target = self.module(module)?.clone();
        let pauser = self.pauser_address();
        let balance_wei = parse_u256(
            &self
                .rpc("eth_getBalance", json!([pauser, "latest"]))
                .await?,
            "eth_getBalance",
        )?;
        let fees = self.current_fees().await?;
        let dry_run = match self
            .eth_call(target.address, &target.pause.input, "latest".into())
            .await
        {
            Ok(_) => Ok(()),
            Err(BackendError::Reverted(reason)) => Err(reason),
            Err(other) => return Err(other),
        };
        let gas_limit = match (self.config.gas, &dry_run) {
            (Some(gas), _) => gas,
            (None, Ok(())) => {
                self.estimate_gas(&target.address, &target.pause.input)
                    .await?
            }
            // A call that reverts cannot be estimated; a plain pause costs well under this.
            (None, Err(_)) => 100_000,
        };
        Ok(Readiness {
            pauser,
            balance_wei,
            estimated_cost_wei_per_pause: U256::from(gas_limit) * U256::from(fees.max_per_gas()),
            gas_limit,
            fees: fees.to_string(),
            dry_run,
        })
    }

    /// One JSON-RPC call; a JSON-RPC error becomes [`BackendError::Rpc`], or [`BackendError::Reverted`]
    /// when it carries a revert.
    async fn rpc(&self, method: &str, params: Value) -> Result<Value, BackendError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let response = self
            .client
            .post(&self.config.rpc_url)
            .json(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .send()
            .await
            .map_err(BackendError::Transport)?;
        let status = response.status();
        let body: Value = response.json().await.map_err(BackendError::Transport)?;
        if let Some(error) = body.get("error") {
            return Err(rpc_error(error));
        }
        if !status.is_success() {
            return Err(BackendError::Status {
                status: status.as_u16(),
                body: body.to_string(),
            });
        }
        body.get("result").cloned().ok_or_else(|| {
            BackendError::Invalid(format!("{method} answered without a result: {body}"))
        })
    }

    /// `eth_call` of `input` on `to` from the pauser at `block`.
    async fn eth_call(
        &self,
        to: Address,
        input: &Bytes,
        block: Value,
    ) -> Result<Value, BackendError> {
        self.rpc(
            "eth_call",
            json!([{"from": self.pauser_address(), "to": to, "data": input}, block]),
        )
        .await
    }

    async fn estimate_gas(&self, to: &Address, input: &Bytes) -> Result<u64, BackendError> {
        let estimate = parse_u64(
            &self
                .rpc(
                    "eth_estimateGas",
                    json!([{"from": self.pauser_address(), "to": to, "data": input}]),
                )
                .await?,
            "eth_estimateGas",
        )?;
        Ok(estimate.saturating_mul(6) / 5)
    }

    async fn chain_id(&self) -> Result<u64, BackendError> {
        self.chain_id
            .get_or_try_init(|| async {
                parse_u64(&self.rpc("eth_chainId", json!([])).await?, "eth_chainId")
            })
            .await
            .copied()
    }

    async fn block_number(&self) -> Result<u64, BackendError> {
        parse_u64(
            &self.rpc("eth_blockNumber", json!([])).await?,
            "eth_blockNumber",
        )
    }

    async fn transaction_count(&self, block: &str) -> Result<u64, BackendError> {
        parse_u64(
            &self
                .rpc(
                    "eth_getTransactionCount",
                    json!([self.pauser_address(), block]),
                )
                .await?,
            "eth_getTransactionCount",
        )
    }

    /// The first attempt's fees: EIP-1559 when the latest block has a base fee, legacy otherwise.
    async fn current_fees(&self) -> Result<Fees, BackendError> {
        let block = self
            .rpc("eth_getBlockByNumber", json!(["latest", false]))
            .await?;
        let base_fee = match block.get("baseFeePerGas") {
            Some(value) if !value.is_null() => Some(parse_u128(value, "baseFeePerGas")?),
            _ => None,
        };
        let gas_price = match base_fee {
            Some(_) => 0,
            None => parse_u128(&self.rpc("eth_gasPrice", json!([])).await?, "eth_gasPrice")?,
        };
        let fees = Fees::initial(base_fee, gas_price, self.priority, self.cap);
        if let Some(base) = base_fee
            && base > self.cap
        {
            tracing::warn!(
                base_fee = base,
                cap = self.cap,
                "the base fee is above pause.evm.max_fee_gwei: the pause will wait until it drops"
            );
        }
        Ok(fees)
    }

    async fn receipt(&self, hash: &B256) -> Result<Option<Value>, BackendError> {
        let receipt = self.rpc("eth_getTransactionReceipt", json!([hash])).await?;
        Ok((!receipt.is_null()).then_some(receipt))
    }

    async fn is_known(&self, hash: &B256) -> bool {
        matches!(
            self.rpc("eth_getTransactionByHash", json!([hash])).await,
            Ok(value) if !value.is_null()
        )
    }

    async fn send_raw(&self, signed: &SignedTx) -> Result<(), BackendError> {
        self.rpc("eth_sendRawTransaction", json!([signed.raw]))
            .await
            .map(|_| ())
    }

    async fn transact(&self, module: &str, action: Action) -> Result<BackendReceipt, BackendError> {
        let target = self.module(module)?;
        let call = match action {
            Action::Pause => &target.pause,
            Action::Unpause => &target.unpause,
        };
        let to = target.address;
        // One pause or unpause at a time per backend, from the dry run to the receipt.
        let mut in_flight = self.nonces.lock().await;

        // Dry run first: a revert refuses before anything is signed.
        self.eth_call(to, &call.input, "latest".into()).await?;
        let gas_limit = match self.config.gas {
            Some(gas) => gas,
            None => self.estimate_gas(&to, &call.input).await?,
        };
        let chain_id = self.chain_id().await?;
        let mut fees = self.current_fees().await?;
        let latest = self.transaction_count("latest").await?;
        let pending = self.transaction_count("pending").await?;
        let known = match in_flight.as_ref().and_then(|f| f.hashes.last()) {
            Some(hash) => self.is_known(hash).await,
            None => false,
        };
        let choice = choose_nonce(latest, pending, in_flight.as_ref(), to, &call.input, known);
        let mut hashes: Vec<B256> = Vec::new();
        if let (NonceChoice::Replace(_), Some(previous)) = (choice, in_flight.as_ref()) {
            // A retry of a call still in flight replaces it: above its fees, watching its hashes too.
            hashes = previous.hashes.clone();
            fees = at_least(
                fees,
                previous.fees.bumped(self.cap).unwrap_or(previous.fees),
            );
            tracing::info!(
                module,
                nonce = previous.nonce,
                "replacing the in-flight {} transaction",
                action.as_str()
            );
        }
        let mut nonce = choice.nonce();

        let mut attempt = 0;
        let first = loop {
            attempt += 1;
            let signed = sign(
                &self.signer,
                &TxParams {
                    chain_id,
                    nonce,
                    gas_limit,
                    to,
                    input: call.input.clone(),
                    fees,
                },
            )?;
            let error = match self.send_raw(&signed).await {
                Ok(()) => break signed.hash,
                Err(error) => error,
            };
            let failure = match &error {
                BackendError::Rpc { message, .. } => classify_send_error(message),
                _ => SendFailure::Other,
            };
            tracing::warn!(module, nonce, attempt, error = %error, ?failure, "eth_sendRawTransaction refused");
            match failure {
                SendFailure::AlreadyKnown => break signed.hash,
                SendFailure::NonceTooLow if attempt < MAX_SEND_ATTEMPTS => {
                    // An earlier attempt of ours may be what used the nonce.
                    for hash in hashes.iter().rev() {
                        if let Some(receipt) = self.receipt(hash).await? {
                            *in_flight = None;
                            return self.finish(action, call, to, nonce, *hash, &receipt).await;
                        }
                    }
                    hashes.clear();
                    nonce = self.transaction_count("pending").await?.max(nonce + 1);
                }
                SendFailure::Underpriced if attempt < MAX_SEND_ATTEMPTS => {
                    fees = fees.bumped(self.cap).ok_or_else(|| {
                        BackendError::Other(format!(
                            "nonce {nonce} of {} is taken by a pooled transaction paying more than pause.evm.max_fee_gwei allows ({fees}); raise the cap or wait for it",
                            self.pauser_address()
                        ))
                    })?;
                }
                _ => return Err(error),
            }
        };
        hashes.push(first);
        *in_flight = Some(InFlight {
            nonce,
            to,
            input: call.input.clone(),
            fees,
            hashes: hashes.clone(),
        });
        tracing::info!(module, nonce, tx = %first, %fees, "sent {} transaction", action.as_str());

        // Wait for a receipt of any attempt; replace a transaction that sits too long.
        let deadline = tokio::time::Instant::now() + self.config.receipt_timeout.get();
        let mut last_send_block = self.block_number().await?;
        let mut warned_at_cap = false;
        loop {
            for hash in hashes.iter().rev() {
                if let Some(receipt) = self.receipt(hash).await? {
                    *in_flight = None;
                    return self.finish(action, call, to, nonce, *hash, &receipt).await;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                let latest = hashes.last().copied().unwrap_or(first);
                let earlier = if hashes.len() > 1 {
                    format!(
                        "; earlier attempts at the same nonce: {}",
                        hashes[..hashes.len() - 1]
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                } else {
                    String::new()
                };
                return Err(BackendError::ReceiptTimeout {
                    tx_hash: format!(
                        "{latest} (nonce {nonce} from {}{earlier}; it may still be mined: check it before retrying, a retry replaces it at the same nonce)",
                        self.pauser_address()
                    ),
                    waited: self.config.receipt_timeout,
                });
            }
            let block = self.block_number().await?;
            if block >= last_send_block.saturating_add(self.config.bump_after_blocks) {
                last_send_block = block;
                match fees.bumped(self.cap) {
                    None => {
                        if !warned_at_cap {
                            tracing::warn!(module, nonce, %fees, "not mined yet and the fees are at pause.evm.max_fee_gwei: waiting");
                            warned_at_cap = true;
                        }
                    }
                    Some(next) => {
                        let signed = sign(
                            &self.signer,
                            &TxParams {
                                chain_id,
                                nonce,
                                gas_limit,
                                to,
                                input: call.input.clone(),
                                fees: next,
                            },
                        )?;
                        let outcome = self.send_raw(&signed).await;
                        let failure = match &outcome {
                            Ok(()) => None,
                            Err(BackendError::Rpc { message, .. }) => {
                                Some(classify_send_error(message))
                            }
                            Err(_) => Some(SendFailure::Other),
                        };
                        match failure {
                            None | Some(SendFailure::AlreadyKnown) => {
                                tracing::info!(module, nonce, tx = %signed.hash, fees = %next, "replaced a transaction not mined after {} blocks", self.config.bump_after_blocks);
                                fees = next;
                                hashes.push(signed.hash);
                                if let Some(state) = in_flight.as_mut() {
                                    state.fees = next;
                                    state.hashes = hashes.clone();
                                }
                            }
                            Some(SendFailure::Underpriced) => {
                                // The node wants more: the next bump starts from here.
                                fees = next;
                            }
                            Some(SendFailure::NonceTooLow) => {
                                for hash in hashes.iter().rev() {
                                    if let Some(receipt) = self.receipt(hash).await? {
                                        *in_flight = None;
                                        return self
                                            .finish(action, call, to, nonce, *hash, &receipt)
                                            .await;
                                    }
                                }
                                *in_flight = None;
                                return Err(BackendError::Other(format!(
                                    "nonce {nonce} of {} was used by another transaction; none of ours ({}) was mined, so the {} did not happen: try again",
                                    self.pauser_address(),
                                    hashes
                                        .iter()
                                        .map(ToString::to_string)
                                        .collect::<Vec<_>>()
                                        .join(", "),
                                    call.signature
                                )));
                            }
                            Some(_) => {
                                if let Err(error) = outcome {
                                    tracing::warn!(module, nonce, error = %error, "could not send the replacement; still waiting");
                                }
                            }
                        }
                    }
                }
            }
            tokio::time::sleep(self.config.poll_interval.get().min(Duration::from_secs(5))).await;
        }
    }

    /// Turns a receipt into the backend's answer; a failed one replays the call for its reason.
    async fn finish(
        &self,
        action: Action,
        call: &Call,
        to: Address,
        nonce: u64,
        hash: B256,
        receipt: &Value,
    ) -> Result<BackendReceipt, BackendError> {
        let tx_hash = receipt
            .get("transactionHash")
            .and_then(Value::as_str)
            .map_or_else(|| hash.to_string(), str::to_owned);
        let status = receipt
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
        let block_number = receipt
            .get("blockNumber")
            .and_then(|value| parse_u64(value, "blockNumber").ok());
        if status != "0x1" {
            if let Some(block) = block_number {
                let replay = self
                    .eth_call(to, &call.input, json!(format!("{block:#x}")))
                    .await;
                if let Err(BackendError::Reverted(reason)) = replay {
                    return Err(BackendError::Reverted(format!(
                        "{reason} (transaction {tx_hash}, nonce {nonce}, reverted in block {block})"
                    )));
                }
            }
            return Err(BackendError::TxFailed { tx_hash, status });
        }
        Ok(BackendReceipt {
            backend: "evm".to_owned(),
            detail: format!(
                "evm {} on {to} from {}: tx {tx_hash} (nonce {nonce}) mined in block {}, status {status}",
                call.signature,
                self.pauser_address(),
                block_number.map_or_else(|| "?".to_owned(), |n| n.to_string())
            ),
            tx_hash: Some(tx_hash),
            status: Some(status),
            block_number,
        })
        .inspect(|_| tracing::debug!(action = action.as_str(), "evm transaction mined"))
    }
}

/// `fees`, raised to at least `floor` (same kind) so a replacement outbids the transaction it replaces.
fn at_least(fees: Fees, floor: Fees) -> Fees {
    match (fees, floor) {
        (
            Fees::Eip1559 {
                max_fee,
                priority_fee,
            },
            Fees::Eip1559 {
                max_fee: floor_max,
                priority_fee: floor_priority,
            },
        ) => {
            let max_fee = max_fee.max(floor_max);
            Fees::Eip1559 {
                max_fee,
                priority_fee: priority_fee.max(floor_priority).min(max_fee),
            }
        }
        (Fees::Legacy { gas_price }, Fees::Legacy { gas_price: floor }) => Fees::Legacy {
            gas_price: gas_price.max(floor),
        },
        // The chain changed kind under us (unlikely): the floor is what the node has pooled.
        (_, floor) => floor,
    }
}

#[async_trait]
impl PauseBackend for EvmPausable {
    fn name(&self) -> &str {
        "evm"
    }

    fn pauser(&self) -> Option<String> {
        Some(format!("{:#x}", self.pauser_address()))
    }

    async fn readiness(&self, module: &str, min_pauses: u32) -> Result<String, String> {
        let ready = EvmPausable::readiness(self, module)
            .await
            .map_err(|error| format!("pause path broken for {module}: {error}"))?;
        let pauser = format!("{:#x}", ready.pauser);
        if let Err(reason) = &ready.dry_run {
            // Already paused is a working path: the contract is simply in that state.
            if !reason.to_ascii_lowercase().contains("paused") {
                return Err(format!(
                    "pause path broken for {module}: pause() from {pauser} would revert: {reason}"
                ));
            }
        }
        let needed = ready.estimated_cost_wei_per_pause * U256::from(min_pauses);
        if ready.balance_wei < needed {
            return Err(format!(
                "pause path broken for {module}: {pauser} holds {} wei, less than {min_pauses} pauses at current fees ({} wei each, {})",
                ready.balance_wei, ready.estimated_cost_wei_per_pause, ready.fees
            ));
        }
        Ok(format!(
            "{module}: ready (pauser {pauser}, {} wei covers {} pauses at {})",
            ready.balance_wei,
            ready.balance_wei / ready.estimated_cost_wei_per_pause.max(U256::from(1)),
            ready.fees
        ))
    }

    async fn pause(&self, module: &str) -> Result<BackendReceipt, BackendError> {
        self.transact(module, Action::Pause).await
    }

    async fn unpause(&self, module: &str) -> Result<BackendReceipt, BackendError> {
        self.transact(module, Action::Unpause).await
    }

    async fn is_paused(&self, module: &str) -> Result<bool, BackendError> {
        let to = self.module(module)?.address;
        let result = self
            .rpc(
                "eth_call",
                json!([{"to": to, "data": self.paused_call.input}, "latest"]),
            )
            .await?;
        let word = result
            .as_str()
            .ok_or_else(|| BackendError::Invalid(format!("paused() returned {result}")))?;
        let digits = word.trim_start_matches("0x");
        if digits.is_empty() {
            // No code at the address: a wrong contract address, not "not paused".
            return Err(BackendError::Invalid(format!(
                "paused() on {to} returned no data; is the contract deployed there?"
            )));
        }
        Ok(digits.trim_start_matches('0') == "1")
    }
}

fn quantity<'a>(value: &'a Value, what: &str) -> Result<&'a str, BackendError> {
    value
        .as_str()
        .and_then(|text| text.strip_prefix("0x"))
        .ok_or_else(|| BackendError::Invalid(format!("{what}: {value} is not a hex quantity")))
}

fn parse_u64(value: &Value, what: &str) -> Result<u64, BackendError> {
    let digits = quantity(value, what)?;
    u64::from_str_radix(if digits.is_empty() { "0" } else { digits }, 16)
        .map_err(|_| BackendError::Invalid(format!("{what}: {value} is not a u64 quantity")))
}

fn parse_u128(value: &Value, what: &str) -> Result<u128, BackendError> {
    let digits = quantity(value, what)?;
    u128::from_str_radix(if digits.is_empty() { "0" } else { digits }, 16)
        .map_err(|_| BackendError::Invalid(format!("{what}: {value} is not a u128 quantity")))
}

fn parse_u256(value: &Value, what: &str) -> Result<U256, BackendError> {
    let digits = quantity(value, what)?;
    U256::from_str_radix(if digits.is_empty() { "0" } else { digits }, 16)
        .map_err(|_| BackendError::Invalid(format!("{what}: {value} is not a quantity")))
}

/// Turns a JSON-RPC error object into a backend error, extracting a revert reason when there is one.
fn rpc_error(error: &Value) -> BackendError {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("unknown error")
        .to_owned();
    let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
    // ganache puts the revert data in `data` as a string; other nodes nest it as `data.data`.
    let data = match error.get("data") {
        Some(Value::String(data)) => Some(data.as_str()),
        Some(Value::Object(object)) => object.get("data").and_then(Value::as_str),
        _ => None,
    };
    if let Some(reason) = data.and_then(decode_revert_reason) {
        return BackendError::Reverted(reason);
    }
    if let Some(index) = message.find("revert") {
        let reason = message[index + "revert".len()..].trim();
        return BackendError::Reverted(if reason.is_empty() {
            message.clone()
        } else {
            reason.to_owned()
        });
    }
    BackendError::Rpc { code, message }
}

/// Decodes revert data: `Error(string)` (`0x08c379a0…`) to its string, `Panic(uint256)` to its
/// description (e.g. `panic: arithmetic underflow or overflow (0x11)`); anything else is `None`.
pub fn decode_revert_reason(data: &str) -> Option<String> {
    let bytes = hex::decode(data.trim_start_matches("0x")).ok()?;
    match GenericContractError::abi_decode(&bytes).ok()? {
        GenericContractError::Revert(revert) => Some(revert.reason),
        GenericContractError::Panic(panic) => Some(panic.to_string()),
        GenericContractError::CustomError(never) => match never {},
    }
}

#[cfg(test)]
#[path = "evm_tests.rs"]
mod tests;
