//! Chain watching: contract state by `eth_call` and events by `eth_getLogs` on EVM chains, decoded against
//! their ABI, reorg-safe and checkpointed — what protocol teams' monitors do, in the collector.
//!
//! * [`config`]: `[[chains]]` and `[[contracts]]`, validated and resolved by [`config::compile`].
//! * [`abi`]: function and event signatures, ABI files, encoding and decoding (alloy).
//! * [`filter`]: the `where` conditions on decoded event arguments.
//! * presets: the reads and events of Pausable, Ownable, AccessControl, ERC-1967 and Chainlink feeds.
//! * rpc: batched JSON-RPC over several providers.
//! * watcher: the per-chain loop (head, reorgs, logs, reads, checkpoints); wire: the node's JSON shapes.
//!
//! Reads become series (`contract_read{chain,contract,read}`, and for feeds `peg_price`,
//! `peg_deviation_percent`, `oracle_age_seconds`, `oracle_staleness_ratio`, each labelled `chain` and
//! `contract`) in the series store and the detector's input, so the policy sees them like any other series.
//! Matching logs become [`ChainAlert`]s handed to a [`ChainSink`].

pub mod abi;
pub mod config;
pub mod filter;
mod presets;
mod rpc;
mod watcher;
mod wire;

use std::sync::Arc;

use model::Sample;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{ChainConfig, CompiledChain, ContractConfig, EventConfig, Preset, ReadConfig};
pub use rpc::EndpointHealth;
pub use watcher::{ChainAlert, ChainSink, Checkpoint, ContractStatus, ProviderStatus, RecentBlock};

use crate::series::SeriesStore;

/// Handles on the running chain watches, for the HTTP API. Cheap to clone.
#[derive(Clone, Default)]
pub struct ChainWatch {
    chains: Arc<Vec<Arc<watcher::Shared>>>,
}

impl ChainWatch {
    /// Starts one watch loop per chain on `tasks`; they stop when `cancel` fires.
    pub fn start(
        chains: Vec<CompiledChain>,
        client: reqwest::Client,
        store: Arc<SeriesStore>,
        samples: Option<mpsc::Sender<Sample>>,
        sink: Arc<dyn ChainSink>,
        cancel: CancellationToken,
        tasks: &TaskTracker,
    ) -> Self {
        let mut shared_all = Vec::new();
        for chain in chains {
            let shared = Arc::new(watcher::Shared {
                chain: chain.config.name.clone(),
                pool: rpc::RpcPool::new(
                    &chain.config.rpc,
                    client.clone(),
                    chain.config.timeout.get(),
                ),
                contracts: std::sync::Mutex::new(
                    chain
                        .contracts
                        .iter()
                        .map(|contract| ContractStatus {
                            name: contract.name.clone(),
                            chain: chain.config.name.clone(),
                            address: format!("{:#x}", contract.address),
                            last_block: None,
                            last_error: None,
                            reads: Default::default(),
                            implementation: None,
                            checked_at: None,
                        })
                        .collect(),
                ),
                round_trips: Default::default(),
                blocks_processed: Default::default(),
            });
            let watcher = watcher::Watcher::new(
                chain,
                Arc::clone(&shared),
                Arc::clone(&sink),
                Arc::clone(&store),
                samples.clone(),
            );
            tasks.spawn(watcher.run(cancel.clone()));
            shared_all.push(shared);
        }
        Self {
            chains: Arc::new(shared_all),
        }
    }

    /// Every watched contract's state.
    pub fn contracts(&self) -> Vec<ContractStatus> {
        self.chains
            .iter()
            .flat_map(|shared| {
                shared
                    .contracts
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .clone()
            })
            .collect()
    }

    /// Every provider of every chain, named `<chain>-rpc-<n>` (n from 1, in configuration order).
    pub fn providers(&self) -> Vec<ProviderStatus> {
        self.chains
            .iter()
            .flat_map(|shared| {
                (0..shared.pool.len()).map(move |index| {
                    let health = shared.pool.health(index);
                    ProviderStatus {
                        name: format!("{}-rpc-{}", shared.chain, index + 1),
                        chain: shared.chain.clone(),
                        url: shared.pool.url(index).to_owned(),
                        up: health.up,
                        last_error: health.last_error,
                        last_scrape: health.last_scrape,
                        duration_ms: health.duration_ms,
                        head: health.head,
                    }
                })
            })
            .collect()
    }

    /// (round trips, blocks processed) so far, over all chains.
    pub fn counters(&self) -> (u64, u64) {
        self.chains.iter().fold((0, 0), |(trips, blocks), shared| {
            (
                trips
                    + shared
                        .round_trips
                        .load(std::sync::atomic::Ordering::Relaxed),
                blocks
                    + shared
                        .blocks_processed
                        .load(std::sync::atomic::Ordering::Relaxed),
            )
        })
    }
}
