//! The Ethereum JSON-RPC 2.0 subset the core answers, as a pure function of the core's state.
//!
//! Methods: `eth_blockNumber`, `eth_getBlockByNumber`, `eth_getBlockByHash`, `eth_syncing`, `net_peerCount`,
//! `web3_clientVersion`, `eth_chainId`, and the state and log reads chain watching uses: `eth_call`,
//! `eth_getCode`, `eth_getStorageAt` (answered from the state kept with each block, see [`crate::evm`]) and
//! `eth_getLogs` (see [`crate::logs`]). Batches are supported; notifications (no `id`) get no reply, as the
//! spec requires.
//!
//! State reads take a block like geth: a tag, a hex number, an EIP-1898 object (`blockNumber` or
//! `blockHash`) or nothing (latest). A block past the head is `-32000 "header not found"`; one whose state
//! is no longer kept is `-32000 "missing trie node"`. A revert is code 3 `"execution reverted"` with the
//! revert data, as geth reports it.

use std::fmt::Display;

use alloy_primitives::{Address, B256};
use alloy_sol_types::{Revert, SolError};
use serde_json::{Map, Value, json};

use crate::evm::{CallOutcome, contract_code, hex_data};
use crate::sim::{Block, Core};

pub const CLIENT_VERSION: &str = concat!("VigilCore/v", env!("CARGO_PKG_VERSION"), "/rust");

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
/// geth's generic server error: missing state, unknown block.
pub(crate) const SERVER_ERROR: i64 = -32000;
/// geth's code for a reverted call.
const EXECUTION_REVERTED: i64 = 3;
/// A batch larger than this is refused as a whole.
pub const MAX_BATCH: usize = 100;

/// Answers one HTTP body. `None` means "no reply" (only notifications were sent).
pub fn handle_body(core: &Core, body: &[u8]) -> (Option<Value>, Vec<String>) {
    let mut methods = Vec::new();
    let request: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(error) => {
            return (
                Some(error_reply(
                    Value::Null,
                    PARSE_ERROR,
                    &format!("parse error: {error}"),
                )),
                methods,
            );
        }
    };
    let reply = match request {
        Value::Array(batch) if batch.is_empty() => Some(error_reply(
            Value::Null,
            INVALID_REQUEST,
            "invalid request: empty batch",
        )),
        Value::Array(batch) if batch.len() > MAX_BATCH => Some(error_reply(
            Value::Null,
            INVALID_REQUEST,
            &format!(
                "invalid request: batch of {} exceeds {MAX_BATCH}",
                batch.len()
            ),
        )),
        Value::Array(batch) => {
            let replies: Vec<Value> = batch
                .iter()
                .filter_map(|item| handle_one(core, item, &mut methods))
                .collect();
            if replies.is_empty() {
                None
            } else {
                Some(Value::Array(replies))
            }
        }
        single => handle_one(core, &single, &mut methods),
    };
    (reply, methods)
}

fn handle_one(core: &Core, request: &Value, methods: &mut Vec<String>) -> Option<Value> {
    let Some(object) = request.as_object() else {
        return Some(error_reply(
            Value::Null,
            INVALID_REQUEST,
            "invalid request: expected an object",
        ));
    };
    let id = object.get("id").cloned();
    let reply_id = id.clone().unwrap_or(Value::Null);
    if !matches!(reply_id, Value::Null | Value::Number(_) | Value::String(_)) {
        return Some(error_reply(
            Value::Null,
            INVALID_REQUEST,
            "invalid request: id must be a number, a string or null",
        ));
    }
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Some(error_reply(
            reply_id,
            INVALID_REQUEST,
            "invalid request: jsonrpc must be \"2.0\"",
        ));
    }
    let Some(method) = object.get("method").and_then(Value::as_str) else {
        return Some(error_reply(
            reply_id,
            INVALID_REQUEST,
            "invalid request: method must be a string",
        ));
    };
    let params = match object.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(params)) => params.clone(),
        Some(_) => {
            return Some(error_reply(
                reply_id,
                INVALID_PARAMS,
                "invalid params: params must be an array",
            ));
        }
    };
    methods.push(method.to_owned());
    let outcome = call(core, method, &params);
    // A request without an id is a notification: it is processed but never answered.
    id.as_ref()?;
    Some(match outcome {
        Ok(result) => json!({"jsonrpc": "2.0", "id": reply_id, "result": result}),
        Err(error) => error.reply(reply_id),
    })
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    fn reply(self, id: Value) -> Value {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(data) = self.data {
            error["data"] = data;
        }
        json!({"jsonrpc": "2.0", "id": id, "error": error})
    }
}

impl From<(i64, String)> for RpcError {
    fn from((code, message): (i64, String)) -> Self {
        Self::new(code, message)
    }
}

pub(crate) fn invalid_params(message: impl Display) -> RpcError {
    RpcError::new(INVALID_PARAMS, format!("invalid params: {message}"))
}

fn call(core: &Core, method: &str, params: &[Value]) -> Result<Value, RpcError> {
    match method {
        "eth_blockNumber" => Ok(quantity(core.height())),
        "eth_chainId" => Ok(quantity(core.config().chain_id)),
        "net_peerCount" => Ok(quantity(core.peers() as u64)),
        "web3_clientVersion" => Ok(Value::String(CLIENT_VERSION.to_owned())),
        "eth_syncing" => Ok(Value::Bool(false)),
        "eth_getBlockByNumber" => {
            let tag = params.first().ok_or((
                INVALID_PARAMS,
                "invalid params: missing block number (params[0])".to_owned(),
            ))?;
            let full = match params.get(1) {
                None => false,
                Some(Value::Bool(full)) => *full,
                Some(other) => {
                    return Err((
                        INVALID_PARAMS,
                        format!("invalid params: params[1] must be a boolean, got {other}"),
                    )
                        .into());
                }
            };
            let number = block_number(core, tag)?;
            Ok(match core.block(number) {
                Some(block) if number <= core.height() => block_json(core, block, full),
                _ => Value::Null,
            })
        }
        "eth_getBlockByHash" => {
            let hash = parse_b256(
                params
                    .first()
                    .ok_or_else(|| invalid_params("missing block hash (params[0])"))?,
                "params[0]",
            )?;
            let full = match params.get(1) {
                None => false,
                Some(Value::Bool(full)) => *full,
                Some(other) => {
                    return Err(invalid_params(format!(
                        "params[1] must be a boolean, got {other}"
                    )));
                }
            };
            Ok(core
                .block_by_hash(&hash.0)
                .map_or(Value::Null, |block| block_json(core, block, full)))
        }
        "eth_call" => eth_call(core, params),
        "eth_getCode" => {
            let address = required_address(params, 0)?;
            state_block(core, params.get(1), "params[1]")?;
            Ok(if core.addresses().is_contract(&address) {
                data(&contract_code(&address))
            } else {
                data(&[])
            })
        }
        "eth_getStorageAt" => {
            required_address(params, 0)?;
            let slot = params
                .get(1)
                .ok_or_else(|| invalid_params("missing storage slot (params[1])"))?;
            if !slot.as_str().is_some_and(is_hex_quantity) {
                return Err(invalid_params(format!(
                    "params[1]: not a storage slot (hex, at most 32 bytes), got {slot}"
                )));
            }
            state_block(core, params.get(2), "params[2]")?;
            // The modules are not proxies: no slot holds anything a watcher would read.
            Ok(data(&[0; 32]))
        }
        "eth_getLogs" => crate::logs::get_logs(core, params),
        other => Err((
            METHOD_NOT_FOUND,
            format!("the method {other} does not exist/is not available"),
        )
            .into()),
    }
}

fn block_number(core: &Core, tag: &Value) -> Result<u64, RpcError> {
    block_tag(core, tag, "params[0]")
}

/// A block tag or hex number; `field` names the parameter in errors.
pub(crate) fn block_tag(core: &Core, tag: &Value, field: &str) -> Result<u64, RpcError> {
    let text = tag.as_str().ok_or_else(|| {
        invalid_params(format!(
            "{field} must be a block tag or hex number, got {tag}"
        ))
    })?;
    match text {
        "latest" | "pending" => Ok(core.height()),
        "finalized" | "safe" => Ok(core.finalized()),
        "earliest" => Ok(0),
        hex_number => parse_quantity(hex_number).ok_or_else(|| {
            invalid_params(format!(
                "{field} {hex_number:?} is not a block tag or 0x-prefixed hex number"
            ))
        }),
    }
}

/// The block whose state a read at `tag` sees (absent or null: latest).
fn state_block<'a>(
    core: &'a Core,
    tag: Option<&Value>,
    field: &str,
) -> Result<&'a Block, RpcError> {
    let number = match tag {
        None | Some(Value::Null) => core.height(),
        Some(Value::Object(object)) => return eip1898_block(core, object, field),
        Some(tag) => block_tag(core, tag, field)?,
    };
    state_at(core, number)
}

fn state_at(core: &Core, number: u64) -> Result<&Block, RpcError> {
    if number > core.height() {
        return Err(RpcError::new(SERVER_ERROR, "header not found"));
    }
    core.block(number).ok_or_else(|| {
        RpcError::new(
            SERVER_ERROR,
            format!(
                "missing trie node: state of block {number:#x} is pruned (oldest kept block {:#x})",
                core.oldest_kept()
            ),
        )
    })
}

/// An EIP-1898 block parameter: `{"blockNumber": ..}` or `{"blockHash": .., "requireCanonical"?: bool}`.
fn eip1898_block<'a>(
    core: &'a Core,
    object: &Map<String, Value>,
    field: &str,
) -> Result<&'a Block, RpcError> {
    match (object.get("blockNumber"), object.get("blockHash")) {
        (Some(number), None) => state_at(
            core,
            block_tag(core, number, &format!("{field}.blockNumber"))?,
        ),
        (None, Some(hash)) => {
            let hash = parse_b256(hash, &format!("{field}.blockHash"))?;
            core.block_by_hash(&hash.0).ok_or_else(|| {
                RpcError::new(
                    SERVER_ERROR,
                    format!("header for hash {} not found", hex_data(hash.as_slice())),
                )
            })
        }
        _ => Err(invalid_params(format!(
            "{field}: a block object needs exactly one of blockNumber and blockHash"
        ))),
    }
}

fn eth_call(core: &Core, params: &[Value]) -> Result<Value, RpcError> {
    let request = params
        .first()
        .ok_or_else(|| invalid_params("missing call object (params[0])"))?;
    let object = request.as_object().ok_or_else(|| {
        invalid_params(format!("params[0]: must be a call object, got {request}"))
    })?;
    let present = |field: &str| object.get(field).filter(|value| !value.is_null());
    if let Some(from) = present("from") {
        parse_address(from, "params[0].from")?;
    }
    for field in [
        "gas",
        "gasPrice",
        "value",
        "maxFeePerGas",
        "maxPriorityFeePerGas",
    ] {
        if let Some(value) = present(field)
            && !value.as_str().is_some_and(is_hex_quantity)
        {
            return Err(invalid_params(format!(
                "params[0].{field}: not a hex quantity, got {value}"
            )));
        }
    }
    let to = present("to")
        .map(|to| parse_address(to, "params[0].to"))
        .transpose()?;
    let input = present("input")
        .map(|input| parse_bytes(input, "params[0].input"))
        .transpose()?;
    let legacy = present("data")
        .map(|data| parse_bytes(data, "params[0].data"))
        .transpose()?;
    let calldata = match (input, legacy) {
        (Some(input), Some(legacy)) if input != legacy => {
            return Err(invalid_params(
                "params[0]: both \"data\" and \"input\" are set and not equal",
            ));
        }
        (Some(bytes), _) | (None, Some(bytes)) => bytes,
        (None, None) => Vec::new(),
    };
    let block = state_block(core, params.get(1), "params[1]")?;
    // Without `to` this would deploy code; nothing is deployed, so it returns nothing.
    let Some(to) = to else {
        return Ok(data(&[]));
    };
    match crate::evm::call(core.addresses(), &block.state, &to, &calldata) {
        CallOutcome::Return(bytes) => Ok(data(&bytes)),
        CallOutcome::Revert(bytes) => {
            let message = match Revert::abi_decode(&bytes) {
                Ok(revert) => format!("execution reverted: {}", revert.reason),
                Err(_) => "execution reverted".to_owned(),
            };
            Err(RpcError {
                code: EXECUTION_REVERTED,
                message,
                data: Some(data(&bytes)),
            })
        }
    }
}

fn required_address(params: &[Value], index: usize) -> Result<Address, RpcError> {
    let value = params
        .get(index)
        .ok_or_else(|| invalid_params(format!("missing address (params[{index}])")))?;
    parse_address(value, &format!("params[{index}]"))
}

/// A `0x`-prefixed hex string of exactly `len` bytes.
fn fixed_hex(value: &Value, len: usize) -> Option<Vec<u8>> {
    let digits = value.as_str()?.strip_prefix("0x")?;
    if digits.len() != len * 2 {
        return None;
    }
    hex::decode(digits).ok()
}

pub(crate) fn parse_address(value: &Value, field: &str) -> Result<Address, RpcError> {
    fixed_hex(value, 20)
        .map(|bytes| Address::from_slice(&bytes))
        .ok_or_else(|| invalid_params(format!("{field}: not a 20-byte hex address, got {value}")))
}

pub(crate) fn parse_b256(value: &Value, field: &str) -> Result<B256, RpcError> {
    fixed_hex(value, 32)
        .map(|bytes| B256::from_slice(&bytes))
        .ok_or_else(|| invalid_params(format!("{field}: not a 32-byte hex value, got {value}")))
}

fn parse_bytes(value: &Value, field: &str) -> Result<Vec<u8>, RpcError> {
    value
        .as_str()
        .and_then(|text| text.strip_prefix("0x"))
        .and_then(|digits| hex::decode(digits).ok())
        .ok_or_else(|| invalid_params(format!("{field}: not 0x-prefixed hex bytes, got {value}")))
}

/// A hex quantity of at most 32 bytes (storage slots, gas, values).
fn is_hex_quantity(text: &str) -> bool {
    text.strip_prefix("0x").is_some_and(|digits| {
        !digits.is_empty() && digits.len() <= 64 && digits.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// The hash of the block's transaction at `index`, as `eth_getBlockByNumber` lists it.
pub(crate) fn tx_hash(block_hash: &[u8; 32], index: u32) -> [u8; 32] {
    crate::sim::digest(&[b"tx", block_hash, &index.to_be_bytes()])
}

fn parse_quantity(text: &str) -> Option<u64> {
    let digits = text.strip_prefix("0x")?;
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

pub(crate) fn quantity(value: u64) -> Value {
    Value::String(format!("{value:#x}"))
}

fn data(bytes: &[u8]) -> Value {
    Value::String(format!("0x{}", hex::encode(bytes)))
}

fn block_json(core: &Core, block: &Block, full: bool) -> Value {
    let miner = core.validators().get(block.proposer).map_or_else(
        || format!("0x{}", "0".repeat(40)),
        |validator| validator.address.clone(),
    );
    let transactions: Vec<Value> = (0..block.tx_count)
        .map(|index| {
            let hash = tx_hash(&block.hash, index);
            if full {
                json!({
                    "hash": data(&hash),
                    "blockHash": data(&block.hash),
                    "blockNumber": quantity(block.number),
                    "transactionIndex": quantity(index as u64),
                    "from": miner,
                    "to": data(&hash[..20]),
                    "value": "0x0",
                    "gas": quantity(52_000),
                    "gasPrice": quantity(1_000_000_000),
                    "nonce": quantity(index as u64),
                    "input": "0x",
                })
            } else {
                data(&hash)
            }
        })
        .collect();
    json!({
        "number": quantity(block.number),
        "hash": data(&block.hash),
        "parentHash": data(&block.parent_hash),
        "nonce": "0x0000000000000000",
        "sha3Uncles": data(&crate::sim::digest(&[b"uncles"])),
        "logsBloom": format!("0x{}", "0".repeat(512)),
        "transactionsRoot": data(&crate::sim::digest(&[b"txroot", &block.hash])),
        "stateRoot": data(&crate::sim::digest(&[b"state", &block.hash])),
        "receiptsRoot": data(&crate::sim::digest(&[b"receipts", &block.hash])),
        "miner": miner,
        "difficulty": "0x0",
        "totalDifficulty": "0x0",
        "extraData": "0x",
        "size": quantity(540 + block.tx_count as u64 * 110),
        "gasLimit": quantity(30_000_000),
        "gasUsed": quantity(block.gas_used),
        "timestamp": quantity(block.timestamp),
        "baseFeePerGas": quantity(1_000_000_000),
        "mixHash": data(&[0; 32]),
        "transactions": transactions,
        "uncles": [],
    })
}

fn error_reply(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::CoreConfig;

    fn core() -> Core {
        let mut core = Core::new(
            CoreConfig {
                slot_ms: 100,
                slot_jitter_ms: 5,
                ..CoreConfig::default()
            },
            1_700_000_000_000,
        )
        .unwrap();
        core.advance_to(1_700_000_001_050);
        core
    }

    fn ask(core: &Core, body: &str) -> Value {
        handle_body(core, body.as_bytes()).0.expect("a reply")
    }

    #[test]
    fn answers_the_head_and_identity_methods() {
        let core = core();
        let height = core.height();
        assert!(height >= 9);
        assert_eq!(
            ask(
                &core,
                r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}"#
            )["result"],
            format!("{height:#x}")
        );
        assert_eq!(
            ask(
                &core,
                r#"{"jsonrpc":"2.0","id":"a","method":"eth_chainId","params":[]}"#
            )["result"],
            "0x5647"
        );
        assert_eq!(
            ask(
                &core,
                r#"{"jsonrpc":"2.0","id":2,"method":"eth_syncing","params":[]}"#
            )["result"],
            false
        );
        assert!(
            ask(
                &core,
                r#"{"jsonrpc":"2.0","id":3,"method":"web3_clientVersion"}"#
            )["result"]
                .as_str()
                .unwrap()
                .starts_with("VigilCore/")
        );
        assert!(
            ask(
                &core,
                r#"{"jsonrpc":"2.0","id":4,"method":"net_peerCount"}"#
            )["result"]
                .as_str()
                .unwrap()
                .starts_with("0x")
        );
    }

    #[test]
    fn returns_blocks_by_tag_and_number_and_null_beyond_the_head() {
        let core = core();
        let latest = ask(
            &core,
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["latest",false]}"#,
        );
        let number = latest["result"]["number"].as_str().unwrap().to_owned();
        let by_number = ask(
            &core,
            &format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["{number}",true]}}"#
            ),
        );
        assert_eq!(by_number["result"]["hash"], latest["result"]["hash"]);
        let txs = by_number["result"]["transactions"].as_array().unwrap();
        assert!(!txs.is_empty() && txs[0]["hash"].is_string());
        let future = ask(
            &core,
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0xffffff",false]}"#,
        );
        assert_eq!(future["result"], Value::Null);
        let genesis = ask(
            &core,
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["earliest",false]}"#,
        );
        assert_eq!(genesis["result"]["number"], "0x0");
    }

    #[test]
    fn reports_errors_with_standard_codes() {
        let core = core();
        assert_eq!(ask(&core, "{not json")["error"]["code"], PARSE_ERROR);
        assert_eq!(ask(&core, "[]")["error"]["code"], INVALID_REQUEST);
        assert_eq!(
            ask(
                &core,
                r#"{"jsonrpc":"1.0","id":1,"method":"eth_blockNumber"}"#
            )["error"]["code"],
            INVALID_REQUEST
        );
        assert_eq!(
            ask(
                &core,
                r#"{"jsonrpc":"2.0","id":1,"method":"eth_sendTransaction"}"#
            )["error"]["code"],
            METHOD_NOT_FOUND
        );
        let bad = ask(
            &core,
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0xZZ"]}"#,
        );
        assert_eq!(bad["error"]["code"], INVALID_PARAMS);
        assert!(
            bad["error"]["message"]
                .as_str()
                .unwrap()
                .contains("params[0]")
        );
    }

    #[test]
    fn answers_batches_in_order_and_skips_notifications() {
        let core = core();
        let reply = ask(
            &core,
            r#"[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","method":"eth_blockNumber"},{"jsonrpc":"2.0","id":2,"method":"net_peerCount"}]"#,
        );
        let replies = reply.as_array().unwrap();
        assert_eq!(replies.len(), 2);
        assert_eq!(replies[0]["id"], 1);
        assert_eq!(replies[1]["id"], 2);
        assert!(
            handle_body(&core, br#"{"jsonrpc":"2.0","method":"eth_blockNumber"}"#)
                .0
                .is_none()
        );
    }
}
