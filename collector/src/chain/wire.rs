//! The JSON-RPC shapes the watcher reads — block headers, logs, hex quantities and data — checked strictly:
//! every problem names the field, and nothing a node sends can panic the watcher.

use alloy_primitives::{Address, B256};
use serde_json::{Value, json};

use super::rpc::Call;

/// A block header's fields the watcher uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Header {
    pub number: u64,
    pub hash: B256,
    pub parent: B256,
    pub timestamp: u64,
}

/// A log with its position.
#[derive(Debug)]
pub(crate) struct Log {
    pub address: Address,
    pub topics: Vec<B256>,
    pub data: Vec<u8>,
    pub block: u64,
    pub block_hash: B256,
    pub tx: B256,
    pub log_index: u64,
}

/// `eth_getBlockByNumber(number, false)`.
pub(crate) fn block_call(number: u64) -> Call {
    Call::new(
        "eth_getBlockByNumber",
        json!([format!("{number:#x}"), false]),
    )
}

/// Bytes as lowercase hex digits, no prefix (alloy's codec).
pub(crate) fn hex(bytes: &[u8]) -> String {
    alloy_primitives::hex::encode(bytes)
}

/// Hex digits (no prefix) to bytes; `None` if odd-length or not hex.
pub(crate) fn decode_hex(digits: &str) -> Option<Vec<u8>> {
    // alloy's decoder would take a second "0x" prefix: the caller already removed the one allowed.
    if digits.starts_with("0x") || digits.starts_with("0X") {
        return None;
    }
    alloy_primitives::hex::decode(digits).ok()
}

/// `0x`-prefixed data to bytes.
pub(crate) fn parse_bytes(text: &str) -> Option<Vec<u8>> {
    decode_hex(text.strip_prefix("0x")?)
}

pub(crate) fn parse_quantity(value: Option<&Value>, field: &str) -> Result<u64, String> {
    let text = value
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{field}: missing or not a string"))?;
    let digits = text
        .strip_prefix("0x")
        .ok_or_else(|| format!("{field}: {text:?} is not 0x-hex"))?;
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    if digits.len() > 16 {
        return Err(format!("{field}: {text:?} does not fit 64 bits"));
    }
    u64::from_str_radix(digits, 16).map_err(|_| format!("{field}: {text:?} is not hex"))
}

pub(crate) fn parse_hash(value: Option<&Value>, field: &str) -> Result<B256, String> {
    let text = value
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{field}: missing or not a string"))?;
    match parse_bytes(text) {
        Some(bytes) if bytes.len() == 32 => Ok(B256::from_slice(&bytes)),
        _ => Err(format!("{field}: {text:?} is not a 32-byte 0x-hex hash")),
    }
}

pub(crate) fn parse_header(value: &Value) -> Result<Header, String> {
    if value.is_null() {
        return Err("the block is null (not known to the provider)".to_owned());
    }
    Ok(Header {
        number: parse_quantity(value.get("number"), "number")?,
        hash: parse_hash(value.get("hash"), "hash")?,
        parent: parse_hash(value.get("parentHash"), "parentHash")?,
        timestamp: parse_quantity(value.get("timestamp"), "timestamp")?,
    })
}

/// An `eth_getLogs` result, sorted by block and log index; logs flagged `removed` are left out.
pub(crate) fn parse_logs(value: &Value) -> Result<Vec<Log>, String> {
    let items = value
        .as_array()
        .ok_or_else(|| format!("eth_getLogs: expected an array, found {value}"))?;
    let mut logs = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let at = |field: &str| format!("eth_getLogs[{index}].{field}");
        if item.get("removed").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let address_text = item
            .get("address")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{}: missing", at("address")))?;
        let address = super::config::parse_address(address_text)
            .map_err(|error| format!("{}: {error}", at("address")))?;
        let topics = item
            .get("topics")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{}: missing or not an array", at("topics")))?
            .iter()
            .enumerate()
            .map(|(topic_index, topic)| {
                parse_hash(Some(topic), &at(&format!("topics[{topic_index}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if topics.len() > 4 {
            return Err(format!(
                "{}: {} topics, at most 4",
                at("topics"),
                topics.len()
            ));
        }
        let data_text = item
            .get("data")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{}: missing", at("data")))?;
        let data = parse_bytes(data_text).ok_or_else(|| format!("{}: not 0x-hex", at("data")))?;
        logs.push(Log {
            address,
            topics,
            data,
            block: parse_quantity(item.get("blockNumber"), &at("blockNumber"))?,
            block_hash: parse_hash(item.get("blockHash"), &at("blockHash"))?,
            tx: parse_hash(item.get("transactionHash"), &at("transactionHash"))?,
            log_index: parse_quantity(item.get("logIndex"), &at("logIndex"))?,
        });
    }
    logs.sort_by_key(|log| (log.block, log.log_index));
    Ok(logs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_headers_and_logs_strictly() {
        let header = parse_header(&json!({
            "number": "0x10",
            "hash": format!("0x{}", "ab".repeat(32)),
            "parentHash": format!("0x{}", "cd".repeat(32)),
            "timestamp": "0x5"
        }))
        .unwrap();
        assert_eq!(header.number, 16);
        assert!(
            parse_header(&json!({"number": "16"}))
                .unwrap_err()
                .contains("number")
        );
        assert!(parse_header(&Value::Null).is_err());
        let logs = parse_logs(&json!([{
            "address": format!("0x{}", "11".repeat(20)),
            "topics": [format!("0x{}", "22".repeat(32))],
            "data": "0x",
            "blockNumber": "0x2", "blockHash": format!("0x{}", "33".repeat(32)),
            "transactionHash": format!("0x{}", "44".repeat(32)), "logIndex": "0x0"
        }]))
        .unwrap();
        assert_eq!(logs.len(), 1);
        let bad =
            parse_logs(&json!([{"address": "0x12", "topics": [], "data": "0x"}])).unwrap_err();
        assert!(bad.contains("eth_getLogs[0].address"), "{bad}");
        assert!(parse_logs(&json!({"not": "an array"})).is_err());
        assert_eq!(
            parse_quantity(Some(&json!("0x00000000000000000001")), "n"),
            Ok(1)
        );
        assert!(parse_quantity(Some(&json!("0x1ffffffffffffffff")), "n").is_err());
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "(0x)?[0-9a-fA-Fxz]{0,70}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("address".to_owned()),
                        Just("topics".to_owned()),
                        Just("data".to_owned()),
                        Just("blockNumber".to_owned()),
                        Just("blockHash".to_owned()),
                        Just("transactionHash".to_owned()),
                        Just("logIndex".to_owned()),
                        Just("number".to_owned()),
                        Just("hash".to_owned()),
                        Just("parentHash".to_owned()),
                        Just("timestamp".to_owned()),
                        Just("removed".to_owned()),
                    ],
                    inner,
                    0..8
                )
                .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Whatever a node answers, parsing it is an error or a value, never a panic.
        #[test]
        fn node_replies_never_panic(value in json_value()) {
            let _ = parse_logs(&value);
            let _ = parse_logs(&Value::Array(vec![value.clone()]));
            let _ = parse_header(&value);
        }
    }
}
