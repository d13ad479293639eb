//! Load harness: chain watching of many contracts against a real node.
//!
//! ```sh
//! cargo run --release -p collector --example chain_load -- [CONTRACTS=200] [SECONDS=60] [WINDOWS=3] [POLL_MS=1000] [NODE=hardhat|ganache]
//! ```
//! Starts a local node — Hardhat Network (`tests/peers/start-hardhat-node.sh`, default) or ganache
//! (`tests/peers/start-ganache.sh`), one block per second either way — compiles the test contracts
//! (`tests/peers/compile-contracts.sh`), deploys a token and CONTRACTS bridges holding it, and watches every
//! bridge with the `pausable`, `ownable` and `access-control` presets plus four reads of its own (five
//! `eth_call`s per contract per block: its token balance, `paused()`, two `hasRole` checks and the token's
//! supply) — the collector's real watch loop with a counting sink. While it runs, a stranger withdraws from a
//! random bridge in every block, so each block also carries events to fetch and decode.
//!
//! For each window of SECONDS it prints the blocks processed, the JSON-RPC round trips per block (HTTP
//! requests; a batch counts once) and this process's CPU time as a share of one core; then the medians.
//! Only loopback is used; the run is bounded by WINDOWS × SECONDS.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alloy_dyn_abi::{DynSolValue, JsonAbiExt};
use alloy_json_abi::Function;
use alloy_primitives::{Address, U256};
use async_trait::async_trait;
use collector::chain::{
    ChainAlert, ChainConfig, ChainSink, ChainWatch, Checkpoint, ContractConfig, Preset, ReadConfig,
};
use serde_json::{Value, json};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

struct Counting {
    alerts: AtomicU64,
}

#[async_trait]
impl ChainSink for Counting {
    async fn deliver(&self, alerts: Vec<ChainAlert>) -> Result<(), String> {
        self.alerts
            .fetch_add(alerts.len() as u64, Ordering::Relaxed);
        Ok(())
    }
    async fn load_checkpoint(&self, _: &str) -> Result<Option<Checkpoint>, String> {
        Ok(None)
    }
    async fn save_checkpoint(&self, _: &str, _: &Checkpoint) -> Result<(), String> {
        Ok(())
    }
}

struct Node {
    url: String,
    http: reqwest::Client,
}

impl Node {
    async fn rpc(&self, method: &str, params: Value) -> Value {
        let reply: Value = self
            .http
            .post(&self.url)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .send()
            .await
            .expect("the node answers")
            .json()
            .await
            .expect("JSON");
        if let Some(error) = reply.get("error") {
            panic!("{method}: {error}");
        }
        reply["result"].clone()
    }

    async fn send(&self, from: Address, to: Option<Address>, data: Vec<u8>, gas: u64) -> String {
        let mut tx = json!({"from": format!("{from:#x}"), "data": format!("0x{}", hex(&data)), "gas": format!("{gas:#x}")});
        if let Some(to) = to {
            tx["to"] = json!(format!("{to:#x}"));
        }
        self.rpc("eth_sendTransaction", json!([tx]))
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn receipt(&self, tx: &str) -> Value {
        loop {
            let receipt = self.rpc("eth_getTransactionReceipt", json!([tx])).await;
            if !receipt.is_null() {
                assert_eq!(receipt["status"], "0x1", "{tx} failed: {receipt}");
                return receipt;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    alloy_primitives::hex::encode(bytes)
}

fn call(signature: &str, args: &[DynSolValue]) -> Vec<u8> {
    Function::parse(signature)
        .expect("signature")
        .abi_encode_input(args)
        .expect("arguments")
}

fn artifact(dir: &std::path::Path, name: &str) -> (alloy_json_abi::JsonAbi, Vec<u8>) {
    let value: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap())
            .unwrap();
    let abi = serde_json::from_value(value["abi"].clone()).unwrap();
    let bytes = alloy_primitives::hex::decode(value["bytecode"].as_str().unwrap()).unwrap();
    (abi, bytes)
}

fn deploy_data(abi: &alloy_json_abi::JsonAbi, code: &[u8], args: &[DynSolValue]) -> Vec<u8> {
    let mut data = code.to_vec();
    if let Some(constructor) = &abi.constructor {
        data.extend(constructor.abi_encode_input(args).unwrap());
    }
    data
}

/// CPU seconds (user + system) this process has used, from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let contracts: usize = args.first().map_or(200, |arg| arg.parse().unwrap());
    let seconds: u64 = args.get(1).map_or(60, |arg| arg.parse().unwrap());
    let windows: usize = args.get(2).map_or(3, |arg| arg.parse().unwrap());
    // The chain's `poll` (default 1s): how often the head is asked for.
    let poll_ms: u64 = args.get(3).map_or(1000, |arg| arg.parse().unwrap());
    let node_kind = args.get(4).map_or("hardhat", String::as_str).to_owned();
    collector::targets::ensure_crypto_provider();

    let artifacts = tempfile::tempdir().unwrap();
    let compiled = Command::new("bash")
        .arg(format!("{ROOT}/tests/peers/compile-contracts.sh"))
        .arg(artifacts.path())
        .status()
        .unwrap();
    assert!(compiled.success(), "compile-contracts.sh failed");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let workdir = tempfile::tempdir().unwrap();
    // One block per second throughout; deployments are all sent at once, so they share blocks.
    let script = match node_kind.as_str() {
        "ganache" => "start-ganache.sh",
        "hardhat" => "start-hardhat-node.sh",
        other => panic!("NODE must be hardhat or ganache, not {other:?}"),
    };
    let started = Command::new("bash")
        .arg(format!("{ROOT}/tests/peers/{script}"))
        .arg(port.to_string())
        .arg(workdir.path())
        .env("GANACHE_BLOCK_TIME", "1")
        .env("HARDHAT_INTERVAL_MS", "1000")
        .env("HARDHAT_AUTOMINE", "false")
        .output()
        .unwrap();
    assert!(
        started.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&started.stderr)
    );
    let pid = String::from_utf8_lossy(&started.stdout).trim().to_owned();
    let node = Node {
        url: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::new(),
    };
    let accounts: Vec<Address> = node
        .rpc("eth_accounts", json!([]))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|account| account.as_str().unwrap().parse().unwrap())
        .collect();
    let owner = accounts[0];
    let stranger = accounts[5];

    let (token_abi, token_code) = artifact(artifacts.path(), "TestToken");
    let (bridge_abi, bridge_code) = artifact(artifacts.path(), "Bridge");
    let token_tx = node
        .send(
            owner,
            None,
            deploy_data(
                &token_abi,
                &token_code,
                &[
                    DynSolValue::String("Load".into()),
                    DynSolValue::String("LOAD".into()),
                ],
            ),
            5_000_000,
        )
        .await;
    let token: Address = node.receipt(&token_tx).await["contractAddress"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    eprintln!("deploying {contracts} bridges…");
    // In chunks: ganache drops transactions beyond a few dozen pending from one sender.
    let mut bridges = Vec::new();
    while bridges.len() < contracts {
        let mut txs = Vec::new();
        for _ in 0..(contracts - bridges.len()).min(30) {
            txs.push(
                node.send(
                    owner,
                    None,
                    deploy_data(
                        &bridge_abi,
                        &bridge_code,
                        &[DynSolValue::Address(token), DynSolValue::Address(owner)],
                    ),
                    3_000_000,
                )
                .await,
            );
        }
        for tx in &txs {
            bridges.push(
                node.receipt(tx).await["contractAddress"]
                    .as_str()
                    .unwrap()
                    .parse::<Address>()
                    .unwrap(),
            );
        }
    }
    for chunk in bridges.chunks(30) {
        let mut funding = Vec::new();
        for bridge in chunk {
            funding.push(
                node.send(
                    owner,
                    Some(token),
                    call(
                        "mint(address,uint256)",
                        &[
                            DynSolValue::Address(*bridge),
                            DynSolValue::Uint(U256::from(1_000_000_000_000u64), 256),
                        ],
                    ),
                    200_000,
                )
                .await,
            );
        }
        for tx in &funding {
            node.receipt(tx).await;
        }
    }
    eprintln!("deployed and funded");

    let zero_role = format!("0x{}", "00".repeat(32));
    let pauser_role = format!("{:#x}", alloy_primitives::keccak256("PAUSER_ROLE"));
    let read = |name: &str, call: &str, to: Option<Address>, args: Vec<String>| ReadConfig {
        name: name.into(),
        call: call.into(),
        to: to.map(|to| format!("{to:#x}")),
        args,
        decimals: 0,
        every: 1,
        output: 0,
    };
    let configs: Vec<ContractConfig> = bridges
        .iter()
        .enumerate()
        .map(|(index, bridge)| ContractConfig {
            name: format!("bridge-{index}"),
            chain: "load".into(),
            address: format!("{bridge:#x}"),
            abi: None,
            presets: vec![Preset::Pausable, Preset::Ownable, Preset::AccessControl],
            trusted: vec![format!("{owner:#x}")],
            peg_target: None,
            heartbeat: model::HumanDuration::from_secs(3600),
            reads: vec![
                ReadConfig {
                    decimals: 6,
                    ..read(
                        "value_locked",
                        "balanceOf(address)(uint256)",
                        Some(token),
                        vec!["self".into()],
                    )
                },
                read(
                    "admin",
                    "hasRole(bytes32,address)(bool)",
                    None,
                    vec![zero_role.clone(), format!("{owner:#x}")],
                ),
                read(
                    "stranger_pauser",
                    "hasRole(bytes32,address)(bool)",
                    None,
                    vec![pauser_role.clone(), format!("{stranger:#x}")],
                ),
                read("supply", "totalSupply()(uint256)", Some(token), vec![]),
            ],
            events: Vec::new(),
        })
        .collect();
    let chain = ChainConfig {
        name: "load".into(),
        rpc: vec![node.url.clone()],
        confirmations: 0,
        poll: model::HumanDuration::from_millis(poll_ms),
        max_catch_up_blocks: 10_000,
        max_logs_range: 1_000,
        timeout: model::HumanDuration::from_secs(5),
        max_head_lag: 3,
    };
    let compiled = collector::chain::config::compile(&[chain], &configs, std::path::Path::new("."))
        .unwrap_or_else(|issues| panic!("{issues:?}"));
    let reads_per_block: usize = compiled[0]
        .contracts
        .iter()
        .map(|contract| contract.reads.len())
        .sum();
    let store = Arc::new(collector::series::SeriesStore::new(Default::default()));
    let sink = Arc::new(Counting {
        alerts: AtomicU64::new(0),
    });
    let cancel = tokio_util::sync::CancellationToken::new();
    let tasks = tokio_util::task::TaskTracker::new();
    let watch = ChainWatch::start(
        compiled,
        collector::targets::http_client().unwrap(),
        Arc::clone(&store),
        None,
        sink.clone(),
        cancel.clone(),
        &tasks,
    );

    // Events in every block: a stranger withdraws from a random bridge.
    let traffic = {
        let node = Node {
            url: node.url.clone(),
            http: reqwest::Client::new(),
        };
        let bridges = bridges.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let mut index = 0usize;
            while !cancel.is_cancelled() {
                let bridge = bridges[index * 7919 % bridges.len()];
                index += 1;
                node.send(
                    stranger,
                    Some(bridge),
                    call(
                        "withdraw(address,uint256)",
                        &[
                            DynSolValue::Address(stranger),
                            DynSolValue::Uint(U256::from(1_000u64), 256),
                        ],
                    ),
                    200_000,
                )
                .await;
                tokio::time::sleep(Duration::from_millis(1000)).await;
            }
        })
    };

    // Let the watch reach the head before measuring.
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!(
        "{contracts} contracts, {reads_per_block} eth_calls per block, presets pausable+ownable+access-control, poll {poll_ms} ms, {node_kind} 1 block/s"
    );
    println!("window | blocks | round trips/block | CPU % of one core | alerts");
    let mut trips_per_block = Vec::new();
    let mut cpu_share = Vec::new();
    for window in 1..=windows {
        let (trips0, blocks0) = watch.counters();
        let alerts0 = sink.alerts.load(Ordering::Relaxed);
        let cpu0 = cpu_seconds();
        let wall0 = Instant::now();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let (trips1, blocks1) = watch.counters();
        let cpu = cpu_seconds() - cpu0;
        let wall = wall0.elapsed().as_secs_f64();
        let blocks = (blocks1 - blocks0).max(1);
        let per_block = (trips1 - trips0) as f64 / blocks as f64;
        let share = 100.0 * cpu / wall;
        trips_per_block.push(per_block);
        cpu_share.push(share);
        println!(
            "{window} | {blocks} | {per_block:.2} | {share:.2} | {}",
            sink.alerts.load(Ordering::Relaxed) - alerts0
        );
    }
    let errors: BTreeMap<String, String> = watch
        .contracts()
        .into_iter()
        .filter_map(|contract| contract.last_error.map(|error| (contract.name, error)))
        .collect();
    println!(
        "median: {:.2} round trips per block, {:.2}% of one core; contracts with an error: {}",
        median(&mut trips_per_block),
        median(&mut cpu_share),
        errors.len()
    );
    if let Some((name, error)) = errors.iter().next() {
        println!("first error: {name}: {error}");
    }
    cancel.cancel();
    traffic.abort();
    tasks.close();
    tasks.wait().await;
    let _ = Command::new("kill").arg(&pid).status();
}
