//! Tests of the EVM pause backend: configuration, fees, nonces and a scripted JSON-RPC node.
use super::*;

#[test]
fn ganache_revert_data_decodes_to_its_reason() {
    // From a real ganache 7.9.2 answer to bump() on a paused contract.
    let data = "0x08c379a0000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000067061757365640000000000000000000000000000000000000000000000000000";
    assert_eq!(decode_revert_reason(data).as_deref(), Some("paused"));
    assert_eq!(decode_revert_reason("0x"), None);
    assert_eq!(decode_revert_reason("0x1234"), None);
    // Panic(0x11): arithmetic overflow.
    let panic = format!("0x4e487b71{:064x}", 0x11);
    assert_eq!(
        decode_revert_reason(&panic).as_deref(),
        Some("panic: arithmetic underflow or overflow (0x11)")
    );
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

#[test]
fn calls_are_encoded_from_their_signatures() {
    let pause = encode_call("pause()", &[]).unwrap();
    assert_eq!(pause.input.as_ref(), [0x84, 0x56, 0xcb, 0x59]);
    assert_eq!(
        encode_call("unpause()", &[]).unwrap().input.as_ref(),
        [0x3f, 0x4b, 0xa8, 0x3a]
    );
    assert_eq!(
        encode_call("paused()", &[]).unwrap().input.as_ref(),
        [0x5c, 0x97, 0x5a, 0xbb]
    );
    let error = encode_call("_setMintPaused(address,bool)", &[]).unwrap_err();
    assert!(error.contains("takes 2 argument(s), 0 given"), "{error}");
    // Compound's comptroller: _setMintPaused(cToken, true), encoded with its arguments.
    let ctoken = "0x5d3a536e4d6dbd6114cc1ead35777bab948e3643";
    let mint = encode_call(
        "_setMintPaused(address,bool)",
        &[ctoken.to_owned(), "true".to_owned()],
    )
    .unwrap();
    let selector = alloy_primitives::keccak256("_setMintPaused(address,bool)");
    assert_eq!(&mint.input[..4], &selector[..4]);
    assert_eq!(mint.input.len(), 4 + 64);
    assert_eq!(
        &mint.input[4 + 12..4 + 32],
        &alloy_primitives::hex::decode(&ctoken[2..]).unwrap()[..]
    );
    assert_eq!(mint.input[4 + 63], 1);
    let bad = encode_call(
        "_setMintPaused(address,bool)",
        &[ctoken.to_owned(), "maybe".to_owned()],
    )
    .unwrap_err();
    assert!(
        bad.contains("argument 1") && bad.contains("\"maybe\""),
        "{bad}"
    );
    assert!(encode_call("not a signature", &[]).is_err());
}

fn problems(toml_text: &str) -> Vec<(String, String)> {
    let config: EvmPausableConfig = toml::from_str(toml_text).unwrap();
    validate_config(&config)
}

#[test]
fn config_problems_name_their_keys() {
    let base = "contracts = { bridge = \"0xe78A0F7E598Cc8b0Bb87894B0F60dD2a88d6a8Ab\" }\n";
    assert!(problems(&format!("{base}key_env = \"K\"")).is_empty());
    assert!(
        problems(&format!(
            "{base}keystore = \"/k.json\"\npassword_env = \"P\""
        ))
        .is_empty()
    );
    let paths = |text: &str| -> Vec<String> {
        problems(&format!("{base}{text}"))
            .into_iter()
            .map(|(path, _)| path)
            .collect()
    };
    assert_eq!(paths(""), ["key_env"]);
    assert_eq!(
        paths("key_env = \"K\"\nkeystore = \"/k.json\""),
        ["key_env"]
    );
    assert_eq!(paths("keystore = \"/k.json\""), ["password_env"]);
    assert_eq!(
        paths("key_env = \"K\"\npassword_env = \"P\""),
        ["password_env"]
    );
    assert_eq!(
        paths("key_env = \"K\"\nmax_fee_gwei = 0\npriority_fee_gwei = -1\nbump_after_blocks = 0"),
        ["max_fee_gwei", "priority_fee_gwei", "bump_after_blocks"]
    );
    assert_eq!(
        paths("key_env = \"K\"\nmax_fee_gwei = 1\npriority_fee_gwei = 2"),
        ["priority_fee_gwei"]
    );
    assert_eq!(
        paths(
            "key_env = \"K\"\n[calls.bridge]\npause_call = \"_setMintPaused(address,bool)\"\n[calls.vault]\n"
        ),
        ["calls.bridge.pause_call", "calls.vault"]
    );
    // Custom zero-argument calls with a default for the one not given.
    assert!(paths("key_env = \"K\"\n[calls.bridge]\npause_call = \"pauseAll()\"").is_empty());
    // Arguments given with the call.
    assert!(
        paths(
            "key_env = \"K\"\n[calls.bridge]\npause_call = \"_setMintPaused(address,bool)\"\npause_args = [\"0x5d3a536e4d6dbd6114cc1ead35777bab948e3643\", \"true\"]"
        )
        .is_empty()
    );
}

#[test]
fn the_backend_refuses_to_start_without_a_usable_key() {
    let config: EvmPausableConfig = toml::from_str(
        "key_env = \"PAUSER_KEY\"\ncontracts = { bridge = \"0xe78A0F7E598Cc8b0Bb87894B0F60dD2a88d6a8Ab\" }",
    )
    .unwrap();
    let error = EvmPausable::new(&config, &|_| None).err().expect("no key");
    assert!(
        matches!(&error, BackendError::Misconfigured(m) if m.contains("PAUSER_KEY is not set")),
        "{error:?}"
    );
    let key = "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d";
    let backend = EvmPausable::new(&config, &|name| {
        (name == "PAUSER_KEY").then(|| key.to_owned())
    })
    .unwrap();
    assert_eq!(
        backend.pauser_address(),
        "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1"
            .parse::<Address>()
            .unwrap()
    );
}

#[test]
fn replacements_outbid_what_they_replace() {
    let current = Fees::Eip1559 {
        max_fee: 100,
        priority_fee: 10,
    };
    let floor = Fees::Eip1559 {
        max_fee: 150,
        priority_fee: 5,
    };
    assert_eq!(
        at_least(current, floor),
        Fees::Eip1559 {
            max_fee: 150,
            priority_fee: 10
        }
    );
    assert_eq!(
        at_least(Fees::Legacy { gas_price: 7 }, Fees::Legacy { gas_price: 9 }),
        Fees::Legacy { gas_price: 9 }
    );
}

/// A scripted JSON-RPC node: every `eth_blockNumber` is a new block, the base fee is 1 gwei, and a
/// transaction is mined only once its max fee reaches `mine_at` wei. (ganache cannot hold a
/// transaction back while blocks go on unless it pays less than the base fee, which the backend never
/// does, so the bump path is exercised here.)
async fn scripted_node(
    mine_at: u128,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<alloy_consensus::TxEnvelope>>>,
) {
    use alloy_consensus::Transaction;
    use alloy_eips::eip2718::Decodable2718;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sent: Arc<Mutex<Vec<alloy_consensus::TxEnvelope>>> = Arc::default();
    let state = (Arc::clone(&sent), Arc::new(AtomicU64::new(100)));
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let (sent, block) = (Arc::clone(&state.0), Arc::clone(&state.1));
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                loop {
                    // One request: headers, then Content-Length bytes of body.
                    let (head_end, length) = loop {
                        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
                            let length = head
                                .lines()
                                .find_map(|line| line.strip_prefix("content-length:"))
                                .and_then(|value| value.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            break (end + 4, length);
                        }
                        let mut chunk = [0u8; 4096];
                        let read = socket.read(&mut chunk).await.unwrap_or(0);
                        if read == 0 {
                            return;
                        }
                        buffer.extend_from_slice(&chunk[..read]);
                    };
                    while buffer.len() < head_end + length {
                        let mut chunk = [0u8; 4096];
                        let read = socket.read(&mut chunk).await.unwrap_or(0);
                        if read == 0 {
                            return;
                        }
                        buffer.extend_from_slice(&chunk[..read]);
                    }
                    let request: Value =
                        serde_json::from_slice(&buffer[head_end..head_end + length]).unwrap();
                    buffer.drain(..head_end + length);
                    let params = &request["params"];
                    let result = match request["method"].as_str().unwrap() {
                        "eth_call" => json!("0x"),
                        "eth_estimateGas" => json!("0xc350"),
                        "eth_chainId" => json!("0x539"),
                        "eth_getBlockByNumber" => json!({"baseFeePerGas": "0x3b9aca00"}),
                        "eth_getTransactionCount" => json!("0x5"),
                        "eth_getTransactionByHash" => Value::Null,
                        "eth_blockNumber" => {
                            json!(format!("{:#x}", block.fetch_add(1, Ordering::Relaxed)))
                        }
                        "eth_sendRawTransaction" => {
                            let raw =
                                hex::decode(params[0].as_str().unwrap().trim_start_matches("0x"))
                                    .unwrap();
                            let tx = alloy_consensus::TxEnvelope::decode_2718(&mut raw.as_slice())
                                .unwrap();
                            let hash = *tx.tx_hash();
                            sent.lock().unwrap().push(tx);
                            json!(hash)
                        }
                        "eth_getTransactionReceipt" => {
                            let wanted: B256 = params[0].as_str().unwrap().parse().unwrap();
                            let mined = sent.lock().unwrap().iter().any(|tx| {
                                *tx.tx_hash() == wanted && tx.max_fee_per_gas() >= mine_at
                            });
                            if mined {
                                json!({"status": "0x1", "blockNumber": "0x80", "transactionHash": wanted})
                            } else {
                                Value::Null
                            }
                        }
                        other => panic!("unexpected method {other}"),
                    };
                    let body = json!({"jsonrpc": "2.0", "id": request["id"], "result": result})
                        .to_string();
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, sent)
}

#[tokio::test]
async fn a_transaction_not_mined_after_n_blocks_is_replaced_with_bumped_fees_up_to_the_cap() {
    use alloy_consensus::Transaction;
    let gwei = 1_000_000_000u128;
    // First attempt: 2 × 1 gwei base + 2 gwei priority = 4 gwei; then 4.5; then 5.0625 capped to 5.
    let (url, sent) = scripted_node(5 * gwei).await;
    let config: EvmPausableConfig = toml::from_str(&format!(
        r#"
        rpc_url = "{url}"
        key_env = "K"
        contracts = {{ bridge = "0xe78A0F7E598Cc8b0Bb87894B0F60dD2a88d6a8Ab" }}
        max_fee_gwei = 5
        bump_after_blocks = 3
        poll_interval = "10ms"
        receipt_timeout = "20s"
        "#
    ))
    .unwrap();
    let key = "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d";
    let backend = EvmPausable::new(&config, &|_| Some(key.to_owned())).unwrap();
    let receipt = backend.pause("bridge").await.unwrap();

    let sent = sent.lock().unwrap().clone();
    let fees: Vec<(u128, Option<u128>)> = sent
        .iter()
        .map(|tx| (tx.max_fee_per_gas(), tx.max_priority_fee_per_gas()))
        .collect();
    assert_eq!(
        fees,
        [
            (4 * gwei, Some(2 * gwei)),
            (4 * gwei + gwei / 2, Some(2 * gwei + gwei / 4)),
            (5 * gwei, Some(2 * gwei + gwei / 4 + gwei * 9 / 32)),
        ]
    );
    assert!(sent.iter().all(|tx| tx.nonce() == 5 && tx.is_eip1559()));
    assert!(
        sent.iter().all(|tx| tx.gas_limit() == 60_000),
        "estimate × 1.2"
    );
    assert_eq!(
        receipt.tx_hash.as_deref(),
        Some(sent[2].tx_hash().to_string().as_str())
    );
    assert!(receipt.detail.contains("nonce 5"), "{}", receipt.detail);
}
