//! `eth_getLogs`: filter parsing and validation, and the query over the kept blocks.
//!
//! Semantics follow geth and the common providers, so the chain-watching code sees the same answers from
//! the core as from a real node:
//! - `fromBlock`/`toBlock` take tags (`latest`, `pending`, `safe`, `finalized`, `earliest`) or hex numbers
//!   and default to `latest`; `blockHash` selects one block and excludes both. A `toBlock` past the head is
//!   clamped to it; a `fromBlock` past the head yields `[]`.
//! - `address` is one address or an array (OR; empty = any). `topics` has at most 4 positions; each is
//!   `null` (any), a topic, or an array of topics (OR; empty or containing `null` = any). A log with fewer
//!   topics than positions never matches, as in geth.
//! - Limits: a range of more than [`MAX_BLOCK_RANGE`] blocks or more than [`MAX_RESULTS`] results is
//!   refused with [`LIMIT_EXCEEDED`]; a range starting before the kept history and an unknown `blockHash`
//!   are `-32000` errors; `fromBlock` after `toBlock` is invalid params.

use alloy_primitives::{Address, B256};
use serde_json::{Map, Value, json};

use crate::evm::{ChainLog, address_hex, hex_data};
use crate::rpc::{
    RpcError, SERVER_ERROR, block_tag, invalid_params, parse_address, parse_b256, quantity, tx_hash,
};
use crate::sim::{Block, Core};

/// The widest block range one query may span.
pub const MAX_BLOCK_RANGE: u64 = 10_000;
/// The most logs one query may return.
pub const MAX_RESULTS: usize = 10_000;
/// The error code providers use for a query over their limits.
pub const LIMIT_EXCEEDED: i64 = -32005;

enum Blocks {
    Range { from: u64, to: u64 },
    Hash([u8; 32]),
}

struct Filter {
    blocks: Blocks,
    /// Empty: any address.
    addresses: Vec<Address>,
    /// Per position: `None` is any topic.
    topics: Vec<Option<Vec<B256>>>,
}

impl Filter {
    fn matches(&self, log: &ChainLog) -> bool {
        let topics = log.log.topics();
        (self.addresses.is_empty() || self.addresses.contains(&log.log.address))
            && self.topics.len() <= topics.len()
            && self
                .topics
                .iter()
                .zip(topics)
                .all(|(wanted, topic)| wanted.as_ref().is_none_or(|any| any.contains(topic)))
    }
}

/// Answers `eth_getLogs`.
pub(crate) fn get_logs(core: &Core, params: &[Value]) -> Result<Value, RpcError> {
    let filter = parse_filter(core, params)?;
    let blocks: Vec<&Block> = match filter.blocks {
        Blocks::Hash(hash) => vec![
            core.block_by_hash(&hash)
                .ok_or_else(|| RpcError::new(SERVER_ERROR, "unknown block"))?,
        ],
        Blocks::Range { from, to } => {
            if from > to {
                return Err(invalid_params(format!(
                    "params[0]: fromBlock {from:#x} is after toBlock {to:#x}"
                )));
            }
            if to - from >= MAX_BLOCK_RANGE {
                return Err(RpcError::new(
                    LIMIT_EXCEEDED,
                    format!(
                        "query exceeds the maximum block range of {MAX_BLOCK_RANGE} blocks (requested {from:#x}..{to:#x})"
                    ),
                ));
            }
            let to = to.min(core.height());
            if from > to {
                return Ok(Value::Array(Vec::new()));
            }
            let oldest = core.oldest_kept();
            if from < oldest {
                return Err(RpcError::new(
                    SERVER_ERROR,
                    format!(
                        "history pruned: block {from:#x} is before the oldest kept block {oldest:#x}"
                    ),
                ));
            }
            (from..=to)
                .filter_map(|number| core.block(number))
                .collect()
        }
    };
    let mut found = Vec::new();
    for block in blocks {
        for (index, log) in block.logs.iter().enumerate() {
            if !filter.matches(log) {
                continue;
            }
            if found.len() == MAX_RESULTS {
                return Err(RpcError::new(
                    LIMIT_EXCEEDED,
                    format!("query returned more than {MAX_RESULTS} results"),
                ));
            }
            found.push(log_json(block, index, log));
        }
    }
    Ok(Value::Array(found))
}

/// A log in the shape nodes return it.
pub(crate) fn log_json(block: &Block, index: usize, log: &ChainLog) -> Value {
    json!({
        "address": address_hex(&log.log.address),
        "topics": log.log.topics().iter().map(|topic| hex_data(topic.as_slice())).collect::<Vec<_>>(),
        "data": hex_data(&log.log.data.data),
        "blockNumber": quantity(block.number),
        "blockHash": hex_data(&block.hash),
        "blockTimestamp": quantity(block.timestamp),
        "transactionHash": hex_data(&tx_hash(&block.hash, log.tx_index)),
        "transactionIndex": quantity(log.tx_index as u64),
        "logIndex": quantity(index as u64),
        "removed": false,
    })
}

fn present<'a>(object: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    object.get(field).filter(|value| !value.is_null())
}

fn parse_filter(core: &Core, params: &[Value]) -> Result<Filter, RpcError> {
    let filter = params
        .first()
        .ok_or_else(|| invalid_params("missing filter object (params[0])"))?;
    let object = filter.as_object().ok_or_else(|| {
        invalid_params(format!("params[0]: must be a filter object, got {filter}"))
    })?;
    let from = present(object, "fromBlock");
    let to = present(object, "toBlock");
    let blocks = match present(object, "blockHash") {
        Some(_) if from.is_some() || to.is_some() => {
            return Err(invalid_params(
                "params[0]: cannot specify both blockHash and fromBlock/toBlock",
            ));
        }
        Some(hash) => Blocks::Hash(parse_b256(hash, "params[0].blockHash")?.0),
        None => {
            let latest = Value::String("latest".into());
            Blocks::Range {
                from: block_tag(core, from.unwrap_or(&latest), "params[0].fromBlock")?,
                to: block_tag(core, to.unwrap_or(&latest), "params[0].toBlock")?,
            }
        }
    };
    let addresses = match present(object, "address") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| parse_address(item, &format!("params[0].address[{index}]")))
            .collect::<Result<_, _>>()?,
        Some(single) => vec![parse_address(single, "params[0].address")?],
    };
    let topics = match present(object, "topics") {
        None => Vec::new(),
        Some(Value::Array(positions)) => {
            if positions.len() > 4 {
                return Err(invalid_params(format!(
                    "params[0].topics: at most 4 topic positions, got {}",
                    positions.len()
                )));
            }
            positions
                .iter()
                .enumerate()
                .map(|(index, position)| parse_position(position, index))
                .collect::<Result<_, _>>()?
        }
        Some(other) => {
            return Err(invalid_params(format!(
                "params[0].topics: must be an array, got {other}"
            )));
        }
    };
    Ok(Filter {
        blocks,
        addresses,
        topics,
    })
}

fn parse_position(position: &Value, index: usize) -> Result<Option<Vec<B256>>, RpcError> {
    match position {
        Value::Null => Ok(None),
        Value::Array(alternatives) => {
            let mut topics = Vec::with_capacity(alternatives.len());
            let mut any = alternatives.is_empty();
            for (alternative, topic) in alternatives.iter().enumerate() {
                if topic.is_null() {
                    any = true;
                } else {
                    topics.push(parse_b256(
                        topic,
                        &format!("params[0].topics[{index}][{alternative}]"),
                    )?);
                }
            }
            Ok((!any).then_some(topics))
        }
        single => Ok(Some(vec![parse_b256(
            single,
            &format!("params[0].topics[{index}]"),
        )?])),
    }
}
