//! [`EvmPausable`]: one Pausable contract per module, driven through Ethereum JSON-RPC.
//!
//! A pause is `eth_call` of `pause()` from the configured account first (a dry run: a revert such as
//! `already paused` or `not owner` refuses with the revert reason and sends nothing), then
//! `eth_sendTransaction` from that account (unlocked on dev nodes such as ganache), then
//! `eth_getTransactionReceipt` polled until the transaction is mined or `receipt_timeout` passes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{BackendError, BackendReceipt, EvmPausableConfig, PauseBackend};

const PAUSE: &str = "0x8456cb59";
const UNPAUSE: &str = "0x3f4ba83a";
const PAUSED: &str = "0x5c975abb";
/// `Error(string)`'s selector, which prefixes a Solidity revert reason.
const ERROR_STRING: &str = "08c379a0";

pub struct EvmPausable {
    client: reqwest::Client,
    config: EvmPausableConfig,
    next_id: AtomicU64,
}

impl EvmPausable {
    pub fn new(config: &EvmPausableConfig) -> Result<Self, BackendError> {
        let client = crate::channels::http_client(config.request_timeout.get())
            .map_err(|error| BackendError::Misconfigured(error.to_string()))?;
        Ok(Self {
            client,
            config: config.clone(),
            next_id: AtomicU64::new(1),
        })
    }

    fn contract(&self, module: &str) -> Result<&str, BackendError> {
        self.config
            .contracts
            .get(module)
            .map(String::as_str)
            .ok_or_else(|| BackendError::UnknownModule(module.to_owned()))
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

    async fn transact(
        &self,
        module: &str,
        selector: &str,
        name: &str,
    ) -> Result<BackendReceipt, BackendError> {
        let to = self.contract(module)?;
        let from = &self.config.from;
        // Dry run first: a revert refuses before anything is signed or mined.
        self.rpc(
            "eth_call",
            json!([{"from": from, "to": to, "data": selector}, "latest"]),
        )
        .await?;
        let mut tx = BTreeMap::from([
            ("from", json!(from)),
            ("to", json!(to)),
            ("data", json!(selector)),
        ]);
        if let Some(gas) = self.config.gas {
            tx.insert("gas", json!(format!("{gas:#x}")));
        }
        let tx_hash = self
            .rpc("eth_sendTransaction", json!([tx]))
            .await?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| {
                BackendError::Invalid("eth_sendTransaction: result is not a string".to_owned())
            })?;
        let receipt = self.wait_for_receipt(&tx_hash).await?;
        let status = receipt
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
        let block_number = receipt
            .get("blockNumber")
            .and_then(Value::as_str)
            .and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok());
        if status != "0x1" {
            return Err(BackendError::TxFailed { tx_hash, status });
        }
        Ok(BackendReceipt {
            backend: "evm".to_owned(),
            detail: format!(
                "evm {name}() on {to}: tx {tx_hash} mined in block {}, status {status}",
                block_number.map_or_else(|| "?".to_owned(), |n| n.to_string())
            ),
            tx_hash: Some(tx_hash),
            status: Some(status),
            block_number,
        })
    }

    async fn wait_for_receipt(&self, tx_hash: &str) -> Result<Value, BackendError> {
        let deadline = tokio::time::Instant::now() + self.config.receipt_timeout.get();
        loop {
            let receipt = self
                .rpc("eth_getTransactionReceipt", json!([tx_hash]))
                .await?;
            if !receipt.is_null() {
                return Ok(receipt);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(BackendError::ReceiptTimeout {
                    tx_hash: tx_hash.to_owned(),
                    waited: self.config.receipt_timeout,
                });
            }
            tokio::time::sleep(self.config.poll_interval.get().min(Duration::from_secs(5))).await;
        }
    }
}

#[async_trait]
impl PauseBackend for EvmPausable {
    fn name(&self) -> &str {
        "evm"
    }

    async fn pause(&self, module: &str) -> Result<BackendReceipt, BackendError> {
        self.transact(module, PAUSE, "pause").await
    }

    async fn unpause(&self, module: &str) -> Result<BackendReceipt, BackendError> {
        self.transact(module, UNPAUSE, "unpause").await
    }

    async fn is_paused(&self, module: &str) -> Result<bool, BackendError> {
        let to = self.contract(module)?;
        let result = self
            .rpc("eth_call", json!([{"to": to, "data": PAUSED}, "latest"]))
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

/// Decodes ABI-encoded `Error(string)` revert data (`0x08c379a0…`) to its string.
pub fn decode_revert_reason(data: &str) -> Option<String> {
    let bytes = hex::decode(data.trim_start_matches("0x")).ok()?;
    if bytes.len() < 4 + 64 || hex::encode(&bytes[..4]) != ERROR_STRING {
        return None;
    }
    let body = &bytes[4..];
    let word = |at: usize| -> Option<usize> {
        let chunk = body.get(at..at + 32)?;
        // Offsets and lengths fit in the last 8 bytes of their word for any sane reason string.
        usize::try_from(u64::from_be_bytes(chunk[24..32].try_into().ok()?)).ok()
    };
    let offset = word(0)?;
    let len = word(offset)?;
    let text = body.get(offset + 32..offset + 32 + len)?;
    String::from_utf8(text.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ganache_revert_data_decodes_to_its_reason() {
        // From a real ganache 7.9.2 answer to bump() on a paused contract.
        let data = "0x08c379a0000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000067061757365640000000000000000000000000000000000000000000000000000";
        assert_eq!(decode_revert_reason(data).as_deref(), Some("paused"));
        assert_eq!(decode_revert_reason("0x"), None);
        assert_eq!(decode_revert_reason("0x1234"), None);
    }

    #[test]
    fn rpc_errors_with_a_revert_become_refusals() {
        let error = rpc_error(&json!({
            "code": -32000,
            "message": "VM Exception while processing transaction: revert already paused"
        }));
        assert!(
            matches!(&error, BackendError::Reverted(reason) if reason == "already paused"),
            "{error:?}"
        );
        let error = rpc_error(&json!({"code": -32601, "message": "method not found"}));
        assert!(matches!(error, BackendError::Rpc { code: -32601, .. }));
    }
}
