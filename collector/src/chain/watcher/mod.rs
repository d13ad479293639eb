//! The watch loop of one chain: follow the head, process each confirmed block once — its logs decoded into
//! alerts, its reads into series — and survive reorgs and restarts.
//!
//! Per round (every `poll`):
//! 1. every provider is asked for its head in parallel; the first healthy one in configuration order is
//!    used, the others are compared with it (`chain_rpc_disagreement`), and `chain_rpcs_up` counts the
//!    healthy ones (none is the policy's "lost view of the chain");
//! 2. the blocks from the last processed one up to `head - confirmations` are checked for continuity: the
//!    first new block's parent must be the last processed block. If not (or the head went backwards), the
//!    remembered recent blocks are compared with the chain to find the fork point, and every alert raised
//!    from a block that left the canonical chain is resolved as "removed by reorg";
//! 3. one batch carries `eth_getLogs` for every watched address over the range, the due `eth_call` reads at
//!    the range's last block, the chainlink-feed reads and the ERC-1967 implementation slots: one round
//!    trip per block in the steady state, plus the head request;
//! 4. alerts go to the [`ChainSink`] and only once it has stored them is the checkpoint (last block, its
//!    hash, the recent blocks and their alerts) saved, so after a crash the same range is processed again and
//!    the same fingerprints fold into what is already stored: each log is an alert exactly once.
//!
//! A read or log that fails to decode sets its contract's `last_error` and never stops the others
//! ([`effects`] turns a processed range into alerts, series and evidence).

mod effects;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256};
use async_trait::async_trait;
use model::{Labels, Sample, SeriesKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::effects::Planned;
use super::config::CompiledChain;
use super::presets;
use super::rpc::{Call, RpcError, RpcPool};
use super::wire::{Header, block_call, hex, parse_header, parse_logs};
use crate::series::SeriesStore;

/// Recent processed blocks remembered for reorg handling (and stored with the checkpoint).
const REMEMBERED_BLOCKS: usize = 128;

/// Where a chain's alerts and checkpoints go (the binary connects it to the alert list, the responder and
/// the database).
#[async_trait]
pub trait ChainSink: Send + Sync {
    /// Hands alert changes on. `Ok` only once they are stored for good.
    async fn deliver(&self, alerts: Vec<ChainAlert>) -> Result<(), String>;
    async fn load_checkpoint(&self, chain: &str) -> Result<Option<Checkpoint>, String>;
    async fn save_checkpoint(&self, chain: &str, checkpoint: &Checkpoint) -> Result<(), String>;
}

/// An alert from a log (or a change of state) on a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainAlert {
    /// Chain, transaction and log index: the same log is the same alert.
    pub fingerprint: String,
    pub firing: bool,
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub at_ms: i64,
    /// Evidence for an incident about the same component (outflows of a falling balance): folds into one
    /// but never opens one by itself.
    pub evidence: bool,
}

/// What is stored per chain after each processed range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub block: u64,
    pub hash: String,
    #[serde(default)]
    pub recent: Vec<RecentBlock>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentBlock {
    pub number: u64,
    pub hash: String,
    /// Alerts raised from this block's logs, to resolve if it leaves the chain.
    #[serde(default)]
    pub alerts: Vec<ChainAlert>,
}

/// One contract's state, for `GET /api/v1/contracts`.
#[derive(Debug, Clone, Serialize)]
pub struct ContractStatus {
    pub name: String,
    pub chain: String,
    pub address: String,
    pub last_block: Option<u64>,
    pub last_error: Option<String>,
    pub reads: BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implementation: Option<String>,
    pub checked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One provider, for `GET /api/v1/targets`.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderStatus {
    pub name: String,
    pub chain: String,
    pub url: String,
    pub up: bool,
    pub last_error: Option<String>,
    pub last_scrape: Option<chrono::DateTime<chrono::Utc>>,
    pub duration_ms: f64,
    pub head: Option<u64>,
}

/// The live state of a chain watch, shared with the HTTP API.
pub(crate) struct Shared {
    pub chain: String,
    pub pool: RpcPool,
    pub contracts: Mutex<Vec<ContractStatus>>,
    /// Sequential JSON-RPC round trips made (a batch sent as several HTTP requests at once counts once),
    /// for the benchmark.
    pub round_trips: std::sync::atomic::AtomicU64,
    pub blocks_processed: std::sync::atomic::AtomicU64,
}

impl Shared {
    fn with_contract(&self, name: &str, change: impl FnOnce(&mut ContractStatus)) {
        let mut contracts = self
            .contracts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(status) = contracts.iter_mut().find(|status| status.name == name) {
            change(status);
        }
    }

    fn set_error(&self, name: &str, error: Option<String>) {
        self.with_contract(name, |status| status.last_error = error);
    }
}

/// Balance tracking of a `balanceOf` read, for drain evidence.
#[derive(Default)]
struct Holding {
    last: Option<f64>,
    streak_start: Option<f64>,
    last_fall_ms: i64,
    /// Outflow `Transfer`s seen since the last read: (tx, block, amount in units).
    outflows: Vec<(B256, u64, f64)>,
}

pub(crate) struct Watcher {
    chain: CompiledChain,
    shared: Arc<Shared>,
    sink: Arc<dyn ChainSink>,
    store: Arc<SeriesStore>,
    samples: Option<mpsc::Sender<Sample>>,
    last: Option<(u64, B256)>,
    recent: VecDeque<RecentBlock>,
    checkpoint_loaded: bool,
    feed_decimals: HashMap<String, u32>,
    implementations: HashMap<String, Address>,
    holdings: HashMap<(String, String), Holding>,
    reads_done: HashMap<(String, String), u64>,
    topics: Vec<B256>,
    addresses: Vec<Address>,
}

impl Watcher {
    pub(crate) fn new(
        chain: CompiledChain,
        shared: Arc<Shared>,
        sink: Arc<dyn ChainSink>,
        store: Arc<SeriesStore>,
        samples: Option<mpsc::Sender<Sample>>,
    ) -> Self {
        let mut topics: Vec<B256> = chain
            .contracts
            .iter()
            .flat_map(|contract| contract.events.iter().map(|event| event.spec.topic0()))
            .collect();
        if chain
            .contracts
            .iter()
            .any(|contract| contract.reads.iter().any(|read| read.holder.is_some()))
        {
            topics.push(transfer_topic());
        }
        topics.sort();
        topics.dedup();
        let addresses = chain.watched_addresses();
        Self {
            chain,
            shared,
            sink,
            store,
            samples,
            last: None,
            recent: VecDeque::new(),
            checkpoint_loaded: false,
            feed_decimals: HashMap::new(),
            implementations: HashMap::new(),
            holdings: HashMap::new(),
            reads_done: HashMap::new(),
            topics,
            addresses,
        }
    }

    pub(crate) async fn run(mut self, cancel: CancellationToken) {
        let poll: Duration = self.chain.config.poll.get();
        let mut ticker = tokio::time::interval(poll);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = ticker.tick() => {
                    let outcome = self.round().await;
                    self.show_round(outcome);
                }
            }
        }
    }

    /// A failed round (no provider, junk from the node, the sink refusing) is every contract's
    /// `last_error` until a round succeeds: the watch is stalled, and that must be visible.
    fn show_round(&self, outcome: Result<(), String>) {
        let prefix = format!("chain {}: ", self.chain.config.name);
        match outcome {
            Err(error) => {
                tracing::warn!(chain = %self.chain.config.name, %error, "chain round failed");
                for contract in &self.chain.contracts {
                    self.shared
                        .set_error(&contract.name, Some(format!("{prefix}{error}")));
                }
            }
            Ok(()) => {
                for contract in &self.chain.contracts {
                    self.shared.with_contract(&contract.name, |status| {
                        if status
                            .last_error
                            .as_deref()
                            .is_some_and(|error| error.starts_with(&prefix))
                        {
                            status.last_error = None;
                        }
                    });
                }
            }
        }
    }

    fn now_ms() -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    /// Stores one sample of this chain's series and offers it to the detector.
    fn emit(&self, name: &str, labels: &[(&str, &str)], value: f64) {
        let mut key = SeriesKey::new(name).with_label("chain", self.chain.config.name.clone());
        for (label, label_value) in labels {
            key = key.with_label(*label, *label_value);
        }
        let at_ms = Self::now_ms();
        self.store.ingest(&key, at_ms, value);
        if let Some(sender) = &self.samples {
            // A full detector queue drops the sample (and the collector counts drops); never block here.
            let _ = sender.try_send(Sample {
                key: Arc::new(key),
                at_ms,
                value,
            });
        }
    }

    async fn call(
        &self,
        provider: usize,
        calls: &[Call],
    ) -> Result<Vec<Result<Value, RpcError>>, RpcError> {
        // One round trip of latency however many batches the calls are split into (sent at once).
        self.shared
            .round_trips
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.shared.pool.batch(provider, calls).await
    }

    /// The headers of `numbers` (`None` where the provider has no such block), in one batch.
    async fn fetch_headers(
        &self,
        provider: usize,
        numbers: &[u64],
    ) -> Result<Vec<(u64, Option<Header>)>, String> {
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        let calls: Vec<Call> = numbers.iter().map(|number| block_call(*number)).collect();
        let replies = self
            .call(provider, &calls)
            .await
            .map_err(|error| error.to_string())?;
        numbers
            .iter()
            .zip(replies)
            .map(|(number, reply)| match reply {
                Ok(Value::Null) => Ok((*number, None)),
                Ok(value) => parse_header(&value)
                    .map(|header| (*number, Some(header)))
                    .map_err(|error| format!("block {number}: {error}")),
                Err(error) => Err(error.to_string()),
            })
            .collect()
    }

    /// Asks every provider for its head; returns the provider to use and its head.
    async fn heads(&self) -> Option<(usize, Header)> {
        let pool = &self.shared.pool;
        let asks = (0..pool.len()).map(|index| async move {
            let started = Instant::now();
            let header = self.fetch_headers_latest(index).await;
            pool.record(
                index,
                header
                    .as_ref()
                    .map(|header| header.number)
                    .map_err(Clone::clone),
                started.elapsed(),
            );
            header.ok()
        });
        let heads: Vec<Option<Header>> = futures::future::join_all(asks).await;
        let healthy = heads.iter().flatten().count();
        self.emit("chain_rpcs_up", &[], healthy as f64);
        let (primary, head) = heads
            .iter()
            .enumerate()
            .find_map(|(index, head)| head.map(|head| (index, head)))?;
        // Providers disagree when one lags by more than the tolerance, or has another block at the same
        // height or at a height this watcher already processed.
        let tolerance = self.chain.config.max_head_lag;
        let disagree = heads.iter().flatten().any(|other| {
            other.number.abs_diff(head.number) > tolerance
                || (other.number == head.number && other.hash != head.hash)
        });
        self.emit(
            "chain_rpc_disagreement",
            &[],
            if disagree { 1.0 } else { 0.0 },
        );
        Some((primary, head))
    }

    async fn fetch_headers_latest(&self, provider: usize) -> Result<Header, String> {
        let mut replies = self
            .call(
                provider,
                &[Call::new("eth_getBlockByNumber", json!(["latest", false]))],
            )
            .await
            .map_err(|error| error.to_string())?;
        match replies.pop() {
            Some(Ok(value)) => parse_header(&value)
                .map_err(|error| format!("eth_getBlockByNumber(latest): {error}")),
            Some(Err(error)) => Err(error.to_string()),
            None => Err("no reply".to_owned()),
        }
    }

    async fn load_checkpoint(&mut self) -> Result<(), String> {
        if self.checkpoint_loaded {
            return Ok(());
        }
        let name = self.chain.config.name.clone();
        if let Some(checkpoint) = self.sink.load_checkpoint(&name).await? {
            let hash: B256 = checkpoint.hash.parse().map_err(|_| {
                format!(
                    "stored checkpoint of {name}: bad hash {:?}",
                    checkpoint.hash
                )
            })?;
            self.last = Some((checkpoint.block, hash));
            self.recent = checkpoint.recent.into_iter().collect();
        }
        self.checkpoint_loaded = true;
        Ok(())
    }

    /// One poll: head, reorg check, then the new confirmed blocks in ranges.
    pub(crate) async fn round(&mut self) -> Result<(), String> {
        self.load_checkpoint().await?;
        let Some((provider, head)) = self.heads().await else {
            return Err("no provider answered".to_owned());
        };
        let target = head.number.saturating_sub(self.chain.config.confirmations);
        let Some((last_number, last_hash)) = self.last else {
            // First run: start at the current confirmed block; history before it is not replayed.
            let header = if target == head.number {
                head
            } else {
                match self.fetch_headers(provider, &[target]).await?.pop() {
                    Some((_, Some(header))) => header,
                    _ => return Err(format!("block {target} is not known to the provider")),
                }
            };
            return self
                .process(provider, header.number, header.number, &[header], head)
                .await;
        };
        // The head went back below what we processed, or replaced it: a reorg.
        if target < last_number
            || (target == last_number && head.number == target && head.hash != last_hash)
        {
            return self.reorg(provider).await;
        }
        if target == last_number {
            return Ok(());
        }
        let mut start = last_number + 1;
        let catch_up = self.chain.config.max_catch_up_blocks;
        if target - last_number > catch_up {
            let skipped_to = target - catch_up + 1;
            let message = format!(
                "skipped blocks {start}..{} (more than max_catch_up_blocks = {catch_up} behind)",
                skipped_to - 1
            );
            tracing::warn!(chain = %self.chain.config.name, %message);
            for contract in &self.chain.contracts {
                self.shared.set_error(&contract.name, Some(message.clone()));
            }
            start = skipped_to;
            self.recent.clear();
            self.last = None;
        }
        let range = self.chain.config.max_logs_range;
        while start <= target {
            let end = target.min(start + range - 1);
            let headers = self.headers(provider, start, end, head).await?;
            if let (Some((_, last_hash)), Some(first)) = (self.last, headers.first())
                && first.number == start
                && first.parent != last_hash
            {
                return self.reorg(provider).await;
            }
            self.process(provider, start, end, &headers, head).await?;
            start = end + 1;
        }
        Ok(())
    }

    /// Headers of the first block and of the last `REMEMBERED_BLOCKS` blocks of `start..=end` (the head's
    /// own header is reused, not fetched again).
    async fn headers(
        &self,
        provider: usize,
        start: u64,
        end: u64,
        head: Header,
    ) -> Result<Vec<Header>, String> {
        let remembered_from = end.saturating_sub(REMEMBERED_BLOCKS as u64 - 1).max(start);
        let mut numbers: Vec<u64> = std::iter::once(start)
            .chain(remembered_from..=end)
            .collect();
        numbers.dedup();
        let wanted: Vec<u64> = numbers
            .iter()
            .copied()
            .filter(|number| *number != head.number)
            .collect();
        let mut fetched = HashMap::new();
        for (number, header) in self.fetch_headers(provider, &wanted).await? {
            let header = header
                .ok_or_else(|| format!("block {number} is not known to the provider (yet)"))?;
            fetched.insert(number, header);
        }
        Ok(numbers
            .into_iter()
            .filter_map(|number| {
                if number == head.number {
                    Some(head)
                } else {
                    fetched.get(&number).copied()
                }
            })
            .collect())
    }

    /// Finds where the chain forked from what was processed and retracts everything after it.
    async fn reorg(&mut self, provider: usize) -> Result<(), String> {
        let numbers: Vec<u64> = self.recent.iter().map(|block| block.number).collect();
        let canonical: HashMap<u64, String> = self
            .fetch_headers(provider, &numbers)
            .await?
            .into_iter()
            .filter_map(|(number, header)| {
                header.map(|header| (number, format!("{:#x}", header.hash)))
            })
            .collect();
        let fork = self
            .recent
            .iter()
            .rev()
            .find(|block| canonical.get(&block.number) == Some(&block.hash))
            .map(|block| (block.number, block.hash.clone()));
        let mut retractions = Vec::new();
        let now = Self::now_ms();
        while let Some(block) = self.recent.back() {
            if fork
                .as_ref()
                .is_some_and(|(number, _)| block.number <= *number)
            {
                break;
            }
            let block = self.recent.pop_back().expect("checked above");
            for alert in block.alerts {
                let mut retracted = alert.clone();
                retracted.firing = false;
                retracted.at_ms = now;
                retracted.annotations.insert(
                    "description".to_owned(),
                    format!(
                        "removed by reorg: block {} ({}) left the canonical chain; {}",
                        block.number,
                        block.hash,
                        alert
                            .annotations
                            .get("description")
                            .cloned()
                            .unwrap_or_default()
                    ),
                );
                retractions.push(retracted);
            }
        }
        let chain = self.chain.config.name.clone();
        match fork {
            Some((number, hash)) => {
                tracing::warn!(%chain, fork = number, retracted = retractions.len(), "reorg: blocks after the fork point left the chain");
                self.last = Some((
                    number,
                    hash.parse().map_err(|_| "bad stored hash".to_owned())?,
                ));
            }
            None => {
                tracing::error!(%chain, "reorg deeper than the remembered blocks: continuing from the new head");
                for contract in &self.chain.contracts {
                    self.shared.set_error(
                        &contract.name,
                        Some(format!("reorg deeper than {REMEMBERED_BLOCKS} blocks: alerts from before it were not re-checked")),
                    );
                }
                self.last = None;
            }
        }
        if !retractions.is_empty() {
            self.sink.deliver(retractions).await?;
        }
        self.save_checkpoint().await
    }

    async fn save_checkpoint(&self) -> Result<(), String> {
        let Some((block, hash)) = self.last else {
            return Ok(());
        };
        let checkpoint = Checkpoint {
            block,
            hash: format!("{hash:#x}"),
            recent: self.recent.iter().cloned().collect(),
        };
        self.sink
            .save_checkpoint(&self.chain.config.name, &checkpoint)
            .await
    }

    /// Processes `start..=end` in one batch: logs, reads at `end`, feeds and implementation slots.
    async fn process(
        &mut self,
        provider: usize,
        start: u64,
        end: u64,
        headers: &[Header],
        head: Header,
    ) -> Result<(), String> {
        let at_block = format!("{end:#x}");
        let mut calls = Vec::new();
        let with_logs = !(self.addresses.is_empty() || self.topics.is_empty());
        if with_logs {
            calls.push(Call::new(
                "eth_getLogs",
                json!([{
                    "fromBlock": format!("{start:#x}"),
                    "toBlock": at_block,
                    "address": self.addresses.iter().map(|address| format!("{address:#x}")).collect::<Vec<_>>(),
                    "topics": [self.topics.iter().map(|topic| format!("{topic:#x}")).collect::<Vec<_>>()],
                }]),
            ));
        }
        let planned = self.plan(end, &at_block, &mut calls);
        let mut replies = self
            .call(provider, &calls)
            .await
            .map_err(|error| error.to_string())?;
        let mut alerts: Vec<(u64, ChainAlert)> = Vec::new();
        let header_hash: HashMap<u64, B256> = headers
            .iter()
            .map(|header| (header.number, header.hash))
            .collect();
        if with_logs {
            let reply = std::mem::replace(&mut replies[0], Ok(Value::Null));
            let logs = match reply {
                Ok(value) => parse_logs(&value)?,
                Err(error) if error.is_range_too_large() && end > start => {
                    // Split the range and try again, smaller.
                    let middle = start + (end - start) / 2;
                    let first: Vec<Header> = headers
                        .iter()
                        .copied()
                        .filter(|header| header.number <= middle)
                        .collect();
                    Box::pin(self.process(provider, start, middle, &first, head)).await?;
                    let second: Vec<Header> = headers
                        .iter()
                        .copied()
                        .filter(|header| header.number > middle)
                        .collect();
                    return Box::pin(self.process(provider, middle + 1, end, &second, head)).await;
                }
                Err(error) => return Err(format!("eth_getLogs {start}..{end}: {error}")),
            };
            for log in &logs {
                // A log from a block other than the one we checked: the chain moved under us; try again.
                if let Some(expected) = header_hash.get(&log.block)
                    && *expected != log.block_hash
                {
                    return Err(format!(
                        "log of block {} has hash {:#x}, the block is {expected:#x}: chain changed mid-round",
                        log.block, log.block_hash
                    ));
                }
                self.match_log(log, &mut alerts);
            }
        }
        let timestamp = headers
            .iter()
            .find(|header| header.number == end)
            .map_or(head.timestamp, |header| header.timestamp);
        for ((index, what), reply) in planned
            .into_iter()
            .zip(replies.into_iter().skip(usize::from(with_logs)))
        {
            self.apply(index, what, reply, end, timestamp, &mut alerts);
        }
        for contract in &self.chain.contracts {
            self.shared.with_contract(&contract.name, |status| {
                status.last_block = Some(end);
                status.checked_at = Some(chrono::Utc::now());
            });
        }
        let fired: Vec<ChainAlert> = alerts.iter().map(|(_, alert)| alert.clone()).collect();
        if !fired.is_empty() {
            self.sink.deliver(fired).await?;
        }
        // Remember the processed blocks (with the alerts they raised) for reorgs.
        for header in headers
            .iter()
            .filter(|header| header.number >= start && header.number <= end)
        {
            let block_alerts = alerts
                .iter()
                .filter(|(block, alert)| *block == header.number && !alert.evidence)
                .map(|(_, alert)| alert.clone())
                .collect();
            self.recent.push_back(RecentBlock {
                number: header.number,
                hash: format!("{:#x}", header.hash),
                alerts: block_alerts,
            });
        }
        while self.recent.len() > REMEMBERED_BLOCKS {
            self.recent.pop_front();
        }
        let end_hash = header_hash.get(&end).copied().unwrap_or(head.hash);
        self.last = Some((end, end_hash));
        self.shared
            .blocks_processed
            .fetch_add(end - start + 1, std::sync::atomic::Ordering::Relaxed);
        self.save_checkpoint().await
    }

    /// Adds the calls due at block `end` to `calls`; returns what each one is for, in order.
    fn plan(&self, end: u64, at_block: &str, calls: &mut Vec<Call>) -> Vec<(usize, Planned)> {
        let call_at = |to: Address, data: &[u8]| {
            Call::new(
                "eth_call",
                json!([{"to": format!("{to:#x}"), "data": format!("0x{}", hex(data))}, at_block]),
            )
        };
        let mut planned = Vec::new();
        for (index, contract) in self.chain.contracts.iter().enumerate() {
            for (read_index, read) in contract.reads.iter().enumerate() {
                let key = (contract.name.clone(), read.name.clone());
                let due = self
                    .reads_done
                    .get(&key)
                    .is_none_or(|done| end >= done + read.every);
                if due {
                    calls.push(call_at(read.to, &read.calldata));
                    planned.push((index, Planned::Read(read_index)));
                }
            }
            if let Some(feed) = &contract.feed {
                if !self.feed_decimals.contains_key(&contract.name) {
                    calls.push(call_at(contract.address, &feed.decimals_call.selector()));
                    planned.push((index, Planned::FeedDecimals));
                }
                calls.push(call_at(contract.address, &feed.latest_round.selector()));
                planned.push((index, Planned::FeedRound));
            }
            if contract.implementation_slot {
                calls.push(Call::new(
                    "eth_getStorageAt",
                    json!([
                        format!("{:#x}", contract.address),
                        presets::IMPLEMENTATION_SLOT,
                        at_block
                    ]),
                ));
                planned.push((index, Planned::Slot));
            }
        }
        planned
    }
}

pub(crate) fn log_fingerprint(chain: &str, tx: B256, log_index: u64) -> String {
    format!("chain/{chain}/{tx:#x}/{log_index}")
}

fn transfer_topic() -> B256 {
    alloy_primitives::keccak256("Transfer(address,address,uint256)")
}
