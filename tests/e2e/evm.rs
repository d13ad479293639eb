//! Test support for chain watching: a real EVM dev node (ganache 7, started by
//! `tests/peers/start-ganache.sh`), the test contracts of `tests/peers/eth/contracts/` compiled by
//! `tests/peers/compile-contracts.sh` (solc-js 0.8.37, evmVersion shanghai), and helpers to deploy them,
//! send transactions, call views, read logs and fake reorgs (`evm_snapshot` / `evm_revert`).
//!
//! Encoding and decoding go through alloy (`Function::parse` + `JsonAbiExt`, `Event::parse` +
//! `EventExt`): tests name functions and events by their Solidity signature, e.g.
//! `chain.send(owner, bridge, "withdraw(address,uint256)", &[addr(to), uint(5)])` or
//! `chain.call(token, "balanceOf(address)(uint256)", &[addr(bridge)])`.
//!
//! Ganache quirks this module absorbs or that tests must know about:
//! - `eth_sendTransaction` without `gas` uses ganache's default gas limit of 90,000 (no estimation),
//!   so deployments would run out of gas; every transaction here is sent with `eth_estimateGas` × 1.25
//!   (or an explicit gas). A transaction that would revert therefore fails at estimation, whose error
//!   carries the revert reason (`data.reason`), and is never mined.
//! - With `--blockTime N` a sent transaction is only mined with the next timed block (≤ N s); with 0
//!   every transaction is mined at once. `evm_mine` works in both modes.
//! - `evm_revert` rewinds the head to the snapshot's block at once and drops the reverted blocks,
//!   their transactions (not put back in the pool: receipts vanish, the sender's nonce is rewound)
//!   and their logs; with a block time the next block at the reverted height gets a new hash.
//!   A snapshot id can be reverted to once. `eth_getBlockByHash` with an orphaned hash returns null
//!   only until that height is mined again; from then on it returns the NEW canonical block at that
//!   height (with a different `hash` than the one asked for): compare hashes, never trust non-null.
//!   `eth_getBlockByNumber` and `eth_getLogs` (by range or by `blockHash`) only show the new chain.
//! - Revert reasons: `eth_call` errors carry the revert data in `error.data` (hex), `eth_estimateGas`
//!   in `error.data.result` (plus `error.data.reason`); receipts have none. Helpers here turn them
//!   into `"revert: <reason>"`.

// Test support: each test uses the helpers it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use alloy_dyn_abi::{DynSolValue, EventExt, FunctionExt, JsonAbiExt};
use alloy_json_abi::{Event, Function, JsonAbi};
use alloy_primitives::{Address, B256, Bytes, I256, U256, hex, keccak256};
use serde_json::{Value, json};

use crate::peers::Peer;

/// The ten accounts of ganache's `--wallet.deterministic` mnemonic, unlocked, 1000 ETH each.
const DETERMINISTIC_ACCOUNTS: [&str; 10] = [
    "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1",
    "0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0",
    "0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b",
    "0xE11BA2b4D45Eaed5996Cd0823791E0C93114882d",
    "0xd03ea8624C8C5987235048901fB614fDcA89b117",
    "0x95cED938F7991cd0dFcb48F0a06a40FA1aF46EBC",
    "0x3E5e9111Ae8eB78Fe1CC3bb8915d5D461F3Ef9A9",
    "0x28a8746e75304c0780E011BEd21C72cD78cd535E",
    "0xACa94ef8bD5ffEE41947b4585a84BdA5a3d3DA6E",
    "0x1dF62f291b2E969fB0849d99D9Ce41e2F137006e",
];

/// Tokens (6 decimals) the bridge of [`deploy_protocol`] holds: 1,000,000.
pub const BRIDGE_TOKENS: u64 = 1_000_000_000_000;
/// Tokens (6 decimals) the owner of [`deploy_protocol`] holds: 1,000,000.
pub const OWNER_TOKENS: u64 = 1_000_000_000_000;
/// The feed's initial answer in [`deploy_protocol`]: 1.00 with 8 decimals.
pub const FEED_ANSWER: i64 = 100_000_000;

/// `keccak256("PAUSER_ROLE")`, the bridge's pauser role.
pub fn pauser_role() -> B256 {
    keccak256("PAUSER_ROLE")
}

/// The ERC-1967 implementation slot, `keccak256("eip1967.proxy.implementation") - 1`.
pub fn implementation_slot() -> B256 {
    B256::from(U256::from_be_bytes(keccak256("eip1967.proxy.implementation").0) - U256::from(1))
}

/// The ERC-1967 admin slot, `keccak256("eip1967.proxy.admin") - 1`.
pub fn admin_slot() -> B256 {
    B256::from(U256::from_be_bytes(keccak256("eip1967.proxy.admin").0) - U256::from(1))
}

pub fn addr(a: Address) -> DynSolValue {
    DynSolValue::Address(a)
}

/// A `uint256` from any unsigned integer or `U256`.
pub fn uint<T>(v: T) -> DynSolValue
where
    U256: alloy_primitives::ruint::UintTryFrom<T>,
{
    DynSolValue::Uint(U256::from(v), 256)
}

pub fn int(v: i64) -> DynSolValue {
    DynSolValue::Int(I256::try_from(v).unwrap(), 256)
}

pub fn bytes32(v: B256) -> DynSolValue {
    DynSolValue::FixedBytes(v, 32)
}

pub fn string(s: &str) -> DynSolValue {
    DynSolValue::String(s.to_owned())
}

/// topic0 of an event signature, e.g. `Withdrawal(address,uint256)` (parameter names and `indexed` allowed).
pub fn event_topic(signature: &str) -> B256 {
    parse_event(signature).selector()
}

fn parse_event(signature: &str) -> Event {
    Event::parse(signature).unwrap_or_else(|e| panic!("bad event signature {signature:?}: {e}"))
}

fn parse_function(signature: &str) -> Function {
    Function::parse(signature)
        .unwrap_or_else(|e| panic!("bad function signature {signature:?}: {e}"))
}

fn quantity(value: &Value) -> Option<u64> {
    u64::from_str_radix(value.as_str()?.strip_prefix("0x")?, 16).ok()
}

fn hex_str<T: AsRef<[u8]>>(bytes: T) -> String {
    hex::encode_prefixed(bytes)
}

// ------------------------------------------------------------------------------------------------
// Artifacts

/// Compiled contracts (`<Name>.json` hardhat-style artifacts) in a cache directory.
pub struct Artifacts {
    pub dir: PathBuf,
}

/// One compiled contract.
#[derive(Clone, Debug)]
pub struct Artifact {
    pub name: String,
    pub abi: JsonAbi,
    pub bytecode: Vec<u8>,
    pub path: PathBuf,
}

impl Artifacts {
    /// Compiles `tests/peers/eth/contracts/*.sol` once per test process into
    /// `$CARGO_TARGET_TMPDIR/evm-artifacts` (the script itself skips compiling when the sources did not
    /// change, so later processes take ~0.5 s). Needs Node.js/npm (solc-js is installed on first use).
    pub fn get() -> &'static Artifacts {
        static ARTIFACTS: OnceLock<Artifacts> = OnceLock::new();
        ARTIFACTS.get_or_init(|| {
            let dir = PathBuf::from(concat!(env!("CARGO_TARGET_TMPDIR"), "/evm-artifacts"));
            let script = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/peers/compile-contracts.sh"
            );
            let output = Command::new("bash")
                .arg(script)
                .arg(&dir)
                .output()
                .expect("bash runs");
            assert!(
                output.status.success(),
                "compile-contracts.sh failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            Artifacts { dir }
        })
    }

    /// The artifact of contract `name` (TestToken, Bridge, Feed, UpgradeableProxy, Implementation).
    pub fn artifact(&self, name: &str) -> Artifact {
        let path = self.dir.join(format!("{name}.json"));
        Artifact::load(&path)
    }
}

impl Artifact {
    pub fn load(path: &Path) -> Artifact {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("artifact {}: {e}", path.display()));
        let json: Value = serde_json::from_str(&text).expect("an artifact is JSON");
        let abi: JsonAbi =
            serde_json::from_value(json["abi"].clone()).expect("the artifact's abi parses");
        let bytecode = hex::decode(json["bytecode"].as_str().expect("bytecode is a string"))
            .expect("bytecode is hex");
        Artifact {
            name: json["contractName"].as_str().unwrap_or_default().to_owned(),
            abi,
            bytecode,
            path: path.to_path_buf(),
        }
    }

    /// Creation code followed by the ABI-encoded constructor arguments.
    pub fn deploy_data(&self, ctor_args: &[DynSolValue]) -> Vec<u8> {
        let mut data = self.bytecode.clone();
        match &self.abi.constructor {
            Some(constructor) => data.extend(
                constructor
                    .abi_encode_input(ctor_args)
                    .unwrap_or_else(|e| panic!("{} constructor arguments: {e}", self.name)),
            ),
            None => assert!(ctor_args.is_empty(), "{} has no constructor", self.name),
        }
        data
    }
}

// ------------------------------------------------------------------------------------------------
// Receipts and logs

/// A log as `eth_getLogs` / a receipt returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct Log {
    pub address: Address,
    pub topics: Vec<B256>,
    pub data: Bytes,
    pub block_number: u64,
    pub block_hash: B256,
    pub transaction_hash: B256,
    pub log_index: u64,
    pub removed: bool,
}

impl Log {
    pub fn from_json(log: &Value) -> Log {
        let parse = |key: &str| -> B256 {
            log[key]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("log {key} in {log}"))
        };
        Log {
            address: log["address"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("log address"),
            topics: log["topics"]
                .as_array()
                .expect("log topics")
                .iter()
                .map(|t| t.as_str().and_then(|s| s.parse().ok()).expect("a topic"))
                .collect(),
            data: log["data"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("log data"),
            block_number: quantity(&log["blockNumber"]).expect("log blockNumber"),
            block_hash: parse("blockHash"),
            transaction_hash: parse("transactionHash"),
            log_index: quantity(&log["logIndex"]).expect("log logIndex"),
            removed: log["removed"].as_bool().unwrap_or(false),
        }
    }

    /// The event's parameters in declaration order if this log is `event` (a signature such as
    /// `"Withdrawal(address indexed to, uint256 amount)"`; `indexed` must be marked), else `None`.
    /// Indexed dynamic parameters (string, bytes, arrays) come back as their keccak hash.
    pub fn decode(&self, event: &str) -> Option<Vec<DynSolValue>> {
        let event = parse_event(event);
        if self.topics.first() != Some(&event.selector()) {
            return None;
        }
        let decoded = event
            .decode_log_parts(self.topics.iter().copied(), &self.data)
            .ok()?;
        let (mut indexed, mut body) = (decoded.indexed.into_iter(), decoded.body.into_iter());
        event
            .inputs
            .iter()
            .map(|input| {
                if input.indexed {
                    indexed.next()
                } else {
                    body.next()
                }
            })
            .collect()
    }
}

/// A mined transaction's receipt.
#[derive(Clone, Debug)]
pub struct TxReceipt {
    pub hash: B256,
    pub block_number: u64,
    pub block_hash: B256,
    /// `true` for status 0x1.
    pub status: bool,
    pub gas_used: u64,
    pub contract_address: Option<Address>,
    pub logs: Vec<Log>,
}

impl TxReceipt {
    pub fn from_json(receipt: &Value) -> TxReceipt {
        TxReceipt {
            hash: receipt["transactionHash"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("receipt hash"),
            block_number: quantity(&receipt["blockNumber"]).expect("receipt blockNumber"),
            block_hash: receipt["blockHash"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("receipt blockHash"),
            status: quantity(&receipt["status"]) == Some(1),
            gas_used: quantity(&receipt["gasUsed"]).unwrap_or_default(),
            contract_address: receipt["contractAddress"]
                .as_str()
                .and_then(|s| s.parse().ok()),
            logs: receipt["logs"]
                .as_array()
                .map(|logs| logs.iter().map(Log::from_json).collect())
                .unwrap_or_default(),
        }
    }

    /// Every log of `event` (see [`Log::decode`]) emitted by `emitter`, decoded.
    pub fn events(&self, emitter: Address, event: &str) -> Vec<Vec<DynSolValue>> {
        self.logs
            .iter()
            .filter(|log| log.address == emitter)
            .filter_map(|log| log.decode(event))
            .collect()
    }
}

// ------------------------------------------------------------------------------------------------
// The dev chain

/// A ganache 7 node on loopback; stopped on drop (or [`DevChain::kill`]).
pub struct DevChain {
    pub url: String,
    pub port: u16,
    pub block_time_secs: u32,
    /// ganache's deterministic accounts, unlocked (`eth_sendTransaction` signs for them).
    pub accounts: Vec<Address>,
    http: reqwest::Client,
    peer: Peer,
}

impl DevChain {
    /// Starts ganache with `--blockTime block_time_secs` (0 = a block per transaction), chain id 1337.
    /// `None` (and a "skipped" line) unless `VIGIL_PEER_TESTS=1`.
    pub fn start(block_time_secs: u32) -> Option<DevChain> {
        let peer = Peer::start(
            "start-ganache.sh",
            &[],
            &[("GANACHE_BLOCK_TIME", block_time_secs.to_string())],
        )?;
        vigil::telemetry::ensure_crypto_provider();
        Some(DevChain {
            url: format!("http://127.0.0.1:{}", peer.port),
            port: peer.port,
            block_time_secs,
            accounts: DETERMINISTIC_ACCOUNTS
                .iter()
                .map(|a| a.parse().unwrap())
                .collect(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            peer,
        })
    }

    /// ganache's working directory (its log is `ganache.log` there).
    pub fn workdir(&self) -> &Path {
        self.peer.workdir.path()
    }

    /// Kills the node (SIGTERM) and waits until its port refuses connections.
    pub fn kill(self) {
        let port = self.port;
        drop(self);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            assert!(
                Instant::now() < deadline,
                "ganache on port {port} did not stop"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One JSON-RPC call: the `result`, or `Err` with the method and the JSON-RPC error object
    /// (ganache puts revert data in `error.data`) or the transport error.
    pub async fn rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let reply: Value = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("{method}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("{method}: {e}"))?;
        match reply.get("error") {
            Some(error) => {
                let mut error = error.clone();
                if let Some(object) = error.as_object_mut() {
                    object.remove("stack");
                }
                Err(format!("{method}: {error}"))
            }
            None => Ok(reply["result"].clone()),
        }
    }

    async fn rpc_ok(&self, method: &str, params: Value) -> Value {
        self.rpc(method, params)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Sends a transaction (`to = None` deploys) with gas = estimate × 1.25 unless `gas` is given, and
    /// returns its hash without waiting. `Err` carries the revert reason when the estimation reverts.
    pub async fn send_raw(
        &self,
        from: Address,
        to: Option<Address>,
        data: &[u8],
        gas: Option<u64>,
    ) -> Result<B256, String> {
        let mut tx = json!({"from": hex_str(from), "data": hex_str(data)});
        if let Some(to) = to {
            tx["to"] = json!(hex_str(to));
        }
        let gas = match gas {
            Some(gas) => gas,
            None => {
                let estimate = self
                    .rpc("eth_estimateGas", json!([tx.clone()]))
                    .await
                    .map_err(|e| revert_message(&e))?;
                let estimate = quantity(&estimate).ok_or("eth_estimateGas: not a quantity")?;
                estimate + estimate / 4
            }
        };
        tx["gas"] = json!(format!("{gas:#x}"));
        let hash = self.rpc("eth_sendTransaction", json!([tx])).await?;
        hash.as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("eth_sendTransaction returned {hash}"))
    }

    /// `eth_getTransactionReceipt`, `None` while pending (or after the tx was reverted away).
    pub async fn receipt(&self, tx: B256) -> Option<TxReceipt> {
        let receipt = self
            .rpc_ok("eth_getTransactionReceipt", json!([hex_str(tx)]))
            .await;
        (!receipt.is_null()).then(|| TxReceipt::from_json(&receipt))
    }

    /// Polls for the receipt (every 50 ms, up to 30 s plus ten block times).
    pub async fn wait_receipt(&self, tx: B256) -> TxReceipt {
        let deadline =
            Instant::now() + Duration::from_secs(30 + 10 * u64::from(self.block_time_secs));
        loop {
            if let Some(receipt) = self.receipt(tx).await {
                return receipt;
            }
            assert!(
                Instant::now() < deadline,
                "no receipt for {tx} on {}",
                self.url
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Deploys `artifact` with constructor arguments from `from`, waits for the receipt and returns the
    /// contract's address; panics with the revert reason if the constructor reverts.
    pub async fn deploy(
        &self,
        artifact: &Artifact,
        ctor_args: &[DynSolValue],
        from: Address,
    ) -> Address {
        let tx = self
            .send_raw(from, None, &artifact.deploy_data(ctor_args), None)
            .await
            .unwrap_or_else(|e| panic!("deploying {}: {e}", artifact.name));
        self.wait_deployed(tx).await
    }

    /// Waits for a deployment's receipt ([`DevChain::deploy_no_wait`]): the contract's address.
    /// (ganache fills `contractAddress` even when the constructor failed, so this checks the status.)
    pub async fn wait_deployed(&self, tx: B256) -> Address {
        let receipt = self.wait_receipt(tx).await;
        assert!(receipt.status, "deployment {tx} failed: {receipt:?}");
        receipt
            .contract_address
            .expect("a deployment receipt has contractAddress")
    }

    /// Like [`DevChain::deploy`] without waiting: the transaction hash.
    pub async fn deploy_no_wait(
        &self,
        artifact: &Artifact,
        ctor_args: &[DynSolValue],
        from: Address,
    ) -> B256 {
        self.send_raw(from, None, &artifact.deploy_data(ctor_args), None)
            .await
            .unwrap_or_else(|e| panic!("deploying {}: {e}", artifact.name))
    }

    /// Calls `signature` (e.g. `"withdraw(address,uint256)"`) on `to` in a transaction from `from`, waits
    /// for the receipt. Panics with the revert reason if it would revert or did.
    pub async fn send(
        &self,
        from: Address,
        to: Address,
        signature: &str,
        args: &[DynSolValue],
    ) -> TxReceipt {
        let data = encode_call(signature, args);
        let tx = self
            .send_raw(from, Some(to), &data, None)
            .await
            .unwrap_or_else(|e| panic!("{signature} on {to}: {e}"));
        let receipt = self.wait_receipt(tx).await;
        if !receipt.status {
            // The receipt carries no reason: replay the call on the state it was mined on top of.
            let replay = self
                .rpc(
                    "eth_call",
                    json!([{"from": hex_str(from), "to": hex_str(to), "data": hex_str(&data)},
                        format!("{:#x}", receipt.block_number.saturating_sub(1))]),
                )
                .await;
            panic!(
                "{signature} on {to} failed in block {}: {}",
                receipt.block_number,
                replay.err().map(|e| revert_message(&e)).unwrap_or_default()
            );
        }
        receipt
    }

    /// Like [`DevChain::send`] without waiting for the receipt: the transaction hash (for reorg tests).
    /// Panics with the revert reason if the transaction would revert at the current head (gas is
    /// estimated there: for a transaction that depends on another still pending, use
    /// [`DevChain::send_raw`] with an explicit gas).
    pub async fn send_no_wait(
        &self,
        from: Address,
        to: Address,
        signature: &str,
        args: &[DynSolValue],
    ) -> B256 {
        self.send_raw(from, Some(to), &encode_call(signature, args), None)
            .await
            .unwrap_or_else(|e| panic!("{signature} on {to}: {e}"))
    }

    /// `eth_call` at `latest` of `signature_with_outputs`, e.g. `"balanceOf(address)(uint256)"` or
    /// `"function paused() view returns (bool)"`; the decoded outputs. Panics on revert.
    pub async fn call(
        &self,
        to: Address,
        signature_with_outputs: &str,
        args: &[DynSolValue],
    ) -> Vec<DynSolValue> {
        self.try_call_at(to, signature_with_outputs, args, "latest")
            .await
            .unwrap_or_else(|e| panic!("{signature_with_outputs} on {to}: {e}"))
    }

    /// `eth_call` at `block` ("latest", "0x1f", ...); `Err` with the revert reason.
    pub async fn try_call_at(
        &self,
        to: Address,
        signature_with_outputs: &str,
        args: &[DynSolValue],
        block: &str,
    ) -> Result<Vec<DynSolValue>, String> {
        let function = parse_function(signature_with_outputs);
        let data = function
            .abi_encode_input(args)
            .map_err(|e| format!("encoding {signature_with_outputs}: {e}"))?;
        let output = self
            .rpc(
                "eth_call",
                json!([{"to": hex_str(to), "data": hex_str(data)}, block]),
            )
            .await
            .map_err(|e| revert_message(&e))?;
        let output = hex::decode(output.as_str().unwrap_or_default())
            .map_err(|e| format!("eth_call output: {e}"))?;
        function.abi_decode_output(&output).map_err(|e| {
            format!(
                "decoding {signature_with_outputs} from 0x{}: {e}",
                hex::encode(&output)
            )
        })
    }

    /// `evm_snapshot`: an id for [`DevChain::revert`].
    pub async fn snapshot(&self) -> String {
        let id = self.rpc_ok("evm_snapshot", json!([])).await;
        id.as_str().expect("a snapshot id").to_owned()
    }

    /// `evm_revert`: back to the snapshot's block (see the module docs); `false` for an unknown id.
    pub async fn revert(&self, id: &str) -> bool {
        self.rpc_ok("evm_revert", json!([id])).await == json!(true)
    }

    /// Mines `blocks` blocks at once (`evm_mine`), in addition to the timed ones.
    pub async fn mine(&self, blocks: u32) {
        self.rpc_ok("evm_mine", json!([{"blocks": blocks}])).await;
    }

    /// Moves the clock of the next blocks forward (`evm_increaseTime`).
    pub async fn increase_time(&self, secs: u64) {
        self.rpc_ok("evm_increaseTime", json!([secs])).await;
    }

    /// Halts (`miner_stop`) / resumes (`miner_start`) block production; the node keeps answering.
    pub async fn stop_mining(&self) {
        self.rpc_ok("miner_stop", json!([])).await;
    }

    pub async fn start_mining(&self) {
        self.rpc_ok("miner_start", json!([])).await;
    }

    pub async fn block_number(&self) -> u64 {
        quantity(&self.rpc_ok("eth_blockNumber", json!([])).await).expect("eth_blockNumber")
    }

    /// `eth_getBlockByNumber` (no transaction bodies); `None` past the head.
    pub async fn block(&self, number: u64) -> Option<Value> {
        let block = self
            .rpc_ok(
                "eth_getBlockByNumber",
                json!([format!("{number:#x}"), false]),
            )
            .await;
        (!block.is_null()).then_some(block)
    }

    /// The hash of block `number`, `None` past the head.
    pub async fn block_hash(&self, number: u64) -> Option<B256> {
        self.block(number).await.map(|b| {
            b["hash"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("block hash")
        })
    }

    /// The timestamp of the latest block.
    pub async fn latest_timestamp(&self) -> u64 {
        let block = self
            .rpc_ok("eth_getBlockByNumber", json!(["latest", false]))
            .await;
        quantity(&block["timestamp"]).expect("block timestamp")
    }

    /// Polls until the head is at least `number` (panics after 60 s plus the expected block times).
    pub async fn wait_for_block(&self, number: u64) {
        let deadline = Instant::now()
            + Duration::from_secs(60)
            + Duration::from_secs(
                u64::from(self.block_time_secs) * number.saturating_sub(self.block_number().await),
            );
        while self.block_number().await < number {
            assert!(
                Instant::now() < deadline,
                "block {number} never came on {}",
                self.url
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `eth_getLogs` with a raw filter, e.g. `json!({"fromBlock": "0x0", "address": "0x…"})`.
    pub async fn get_logs(&self, filter: Value) -> Vec<Log> {
        let logs = self.rpc_ok("eth_getLogs", json!([filter])).await;
        logs.as_array()
            .expect("eth_getLogs returns an array")
            .iter()
            .map(Log::from_json)
            .collect()
    }

    /// Every log of `address` from block 0 to latest whose topic0 is `event`'s, decoded.
    pub async fn events(&self, address: Address, event: &str) -> Vec<(Log, Vec<DynSolValue>)> {
        let filter = json!({"fromBlock": "0x0", "toBlock": "latest", "address": hex_str(address),
            "topics": [hex_str(event_topic(event))]});
        self.get_logs(filter)
            .await
            .into_iter()
            .map(|log| {
                let values = log
                    .decode(event)
                    .unwrap_or_else(|| panic!("log does not decode as {event}: {log:?}"));
                (log, values)
            })
            .collect()
    }

    /// `eth_getStorageAt` at latest.
    pub async fn storage_at(&self, address: Address, slot: B256) -> B256 {
        let value = self
            .rpc_ok(
                "eth_getStorageAt",
                json!([hex_str(address), hex_str(slot), "latest"]),
            )
            .await;
        let value =
            hex::decode(value.as_str().expect("storage is a string")).expect("storage is hex");
        // ganache trims leading zero bytes: left-pad to 32.
        let mut word = [0u8; 32];
        word[32 - value.len()..].copy_from_slice(&value);
        B256::from(word)
    }
}

/// Selector + ABI-encoded arguments of a call to `signature` (outputs, if given, are ignored).
pub fn encode_call(signature: &str, args: &[DynSolValue]) -> Vec<u8> {
    parse_function(signature)
        .abi_encode_input(args)
        .unwrap_or_else(|e| panic!("encoding {signature}: {e}"))
}

/// Turns a JSON-RPC error (as [`DevChain::rpc`] formats it) into "revert: <reason>" when it carries
/// revert data; otherwise returns it unchanged.
fn revert_message(error: &str) -> String {
    let object: Option<Value> = error
        .split_once(": ")
        .and_then(|(_, json)| serde_json::from_str(json).ok());
    let Some(object) = object else {
        return error.to_owned();
    };
    // eth_call: data = "0x08c379a0…"; eth_estimateGas: data = {result: "0x…", reason}.
    let data = object["data"]
        .as_str()
        .or_else(|| object["data"]["result"].as_str());
    let reason = data
        .and_then(|d| hex::decode(d).ok())
        .and_then(|d| alloy_sol_types::decode_revert_reason(&d));
    match reason {
        Some(reason) => reason, // "revert: <reason>" (alloy's RevertReason)
        None => error.to_owned(),
    }
}

// ------------------------------------------------------------------------------------------------
// The protocol under watch

/// The contracts of [`deploy_protocol`].
#[derive(Clone, Debug)]
pub struct Protocol {
    /// Deployer; owner and DEFAULT_ADMIN_ROLE of the bridge, owner of token and feed, proxy admin
    /// (`accounts[0]`).
    pub owner: Address,
    /// `TestToken("Test USD", "TUSD")`, 6 decimals; owner and bridge hold [`OWNER_TOKENS`] / [`BRIDGE_TOKENS`].
    pub token: Address,
    /// `Bridge(token, owner)`, not paused.
    pub bridge: Address,
    /// `Feed("TUSD / USD", 1e8)`, 8 decimals, round 1.
    pub feed: Address,
    /// `UpgradeableProxy(implementation, owner)`.
    pub proxy: Address,
    /// `Implementation(1)`, behind the proxy.
    pub implementation: Address,
    /// `Implementation(2)`, deployed, for an `upgradeTo` test.
    pub next_implementation: Address,
    /// The block of the last set-up transaction.
    pub block: u64,
}

/// Deploys everything a chain-watching test needs, in three rounds of transactions (three blocks with
/// a block time): token, feed and both implementations; bridge and proxy; the two mints.
pub async fn deploy_protocol(chain: &DevChain) -> Protocol {
    let artifacts = Artifacts::get();
    let owner = chain.accounts[0];
    let (token_a, bridge_a, feed_a, proxy_a, impl_a) = (
        artifacts.artifact("TestToken"),
        artifacts.artifact("Bridge"),
        artifacts.artifact("Feed"),
        artifacts.artifact("UpgradeableProxy"),
        artifacts.artifact("Implementation"),
    );

    let round = [
        chain
            .deploy_no_wait(&token_a, &[string("Test USD"), string("TUSD")], owner)
            .await,
        chain
            .deploy_no_wait(&feed_a, &[string("TUSD / USD"), int(FEED_ANSWER)], owner)
            .await,
        chain.deploy_no_wait(&impl_a, &[uint(1u64)], owner).await,
        chain.deploy_no_wait(&impl_a, &[uint(2u64)], owner).await,
    ];
    let mut deployed = Vec::new();
    for tx in round {
        deployed.push(chain.wait_deployed(tx).await);
    }
    let [token, feed, implementation, next_implementation] = deployed[..] else {
        unreachable!()
    };

    let bridge_tx = chain
        .deploy_no_wait(&bridge_a, &[addr(token), addr(owner)], owner)
        .await;
    let proxy_tx = chain
        .deploy_no_wait(&proxy_a, &[addr(implementation), addr(owner)], owner)
        .await;
    let bridge = chain.wait_deployed(bridge_tx).await;
    let proxy = chain.wait_deployed(proxy_tx).await;

    let mints = [
        chain
            .send_no_wait(
                owner,
                token,
                "mint(address,uint256)",
                &[addr(bridge), uint(BRIDGE_TOKENS)],
            )
            .await,
        chain
            .send_no_wait(
                owner,
                token,
                "mint(address,uint256)",
                &[addr(owner), uint(OWNER_TOKENS)],
            )
            .await,
    ];
    let mut block = 0;
    for tx in mints {
        let receipt = chain.wait_receipt(tx).await;
        assert!(receipt.status, "mint failed: {receipt:?}");
        block = block.max(receipt.block_number);
    }
    Protocol {
        owner,
        token,
        bridge,
        feed,
        proxy,
        implementation,
        next_implementation,
        block,
    }
}
