//! The Ethereum JSON-RPC 2.0 subset the core answers, as a pure function of the core's state.
//!
//! Methods: `eth_blockNumber`, `eth_getBlockByNumber`, `eth_syncing`, `net_peerCount`, `web3_clientVersion`,
//! `eth_chainId`. Batches are supported; notifications (no `id`) get no reply, as the spec requires.

use serde_json::{Value, json};

use crate::sim::{Block, Core};

pub const CLIENT_VERSION: &str = concat!("VigilCore/v", env!("CARGO_PKG_VERSION"), "/rust");

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
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
        Err((code, message)) => error_reply(reply_id, code, &message),
    })
}

fn call(core: &Core, method: &str, params: &[Value]) -> Result<Value, (i64, String)> {
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
                    ));
                }
            };
            let number = block_number(core, tag)?;
            Ok(match core.block(number) {
                Some(block) if number <= core.height() => block_json(core, block, full),
                _ => Value::Null,
            })
        }
        other => Err((
            METHOD_NOT_FOUND,
            format!("the method {other} does not exist/is not available"),
        )),
    }
}

fn block_number(core: &Core, tag: &Value) -> Result<u64, (i64, String)> {
    let text = tag.as_str().ok_or((
        INVALID_PARAMS,
        format!("invalid params: params[0] must be a block tag or hex number, got {tag}"),
    ))?;
    match text {
        "latest" | "pending" => Ok(core.height()),
        "finalized" | "safe" => Ok(core.finalized()),
        "earliest" => Ok(0),
        hex_number => parse_quantity(hex_number)
            .ok_or_else(|| (INVALID_PARAMS, format!("invalid params: params[0] {hex_number:?} is not a block tag or 0x-prefixed hex number"))),
    }
}

fn parse_quantity(text: &str) -> Option<u64> {
    let digits = text.strip_prefix("0x")?;
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

fn quantity(value: u64) -> Value {
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
            let hash = crate::sim::digest(&[b"tx", &block.hash, &index.to_be_bytes()]);
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
