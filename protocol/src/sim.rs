//! The simulation model: chain, validators, token price, modules and fault scenarios.
//!
//! Everything is a function of the seed, the configuration and the times the core is advanced to: no wall
//! clock, no I/O. Events (slots and price ticks) are processed strictly in time order, so advancing in one
//! big step or many small ones gives the same chain.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::str::FromStr;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::evm::{Addresses, ChainLog, ChainState, FeedRound, address_hex, to_micro};

mod chain;

/// The modules every core has, in display order.
pub const MODULES: [&str; 5] = ["bridge", "escrow", "auction", "staking", "registry"];

/// How many recent blocks are kept for `eth_getBlockByNumber`; older ones answer `null`, as a pruned node does.
const BLOCK_HISTORY: usize = 8192;
/// How many recent blocks the per-module error ratio is computed over.
/// Thirty blocks: enough transactions that a small module (a few per block) does not cross a 5% error
/// ratio by chance, short enough that an error burst shows within a few blocks.
const ERROR_WINDOW_BLOCKS: usize = 30;
/// Blocks behind the head that a healthy chain finalizes.
const NORMAL_FINALITY_LAG: u64 = 2;
/// A catch-up after a long suspension (laptop sleep, debugger) processes at most this many slots.
const MAX_CATCH_UP_SLOTS: u64 = 10_000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CoreConfig {
    pub seed: u64,
    /// Target time between slots.
    pub slot_ms: u64,
    /// Each slot lands up to this much early or late (uniformly).
    pub slot_jitter_ms: u64,
    pub validators: usize,
    /// The TRN peg target in USD.
    pub peg_target: f64,
    pub chain_id: u64,
    /// How often the price oracle moves.
    pub price_tick_ms: u64,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            slot_ms: 6000,
            slot_jitter_ms: 500,
            validators: 5,
            peg_target: 1.0,
            chain_id: 0x5647, // "VG"
            price_tick_ms: 1000,
        }
    }
}

impl CoreConfig {
    /// Checks the ranges the simulation relies on; each problem names its field.
    pub fn validate(&self) -> Result<(), CoreError> {
        let mut problems = Vec::new();
        if self.slot_ms < 100 {
            problems.push(format!(
                "slot_ms: {} is below the minimum of 100",
                self.slot_ms
            ));
        }
        if self.slot_jitter_ms * 2 >= self.slot_ms.max(1) {
            problems.push(format!(
                "slot_jitter_ms: {} must be less than half of slot_ms ({})",
                self.slot_jitter_ms, self.slot_ms
            ));
        }
        if !(1..=100).contains(&self.validators) {
            problems.push(format!(
                "validators: {} is outside 1..=100",
                self.validators
            ));
        }
        if !(self.peg_target.is_finite() && self.peg_target > 0.0) {
            problems.push(format!(
                "peg_target: {} must be a positive number",
                self.peg_target
            ));
        }
        if self.price_tick_ms < 10 {
            problems.push(format!(
                "price_tick_ms: {} is below the minimum of 10",
                self.price_tick_ms
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CoreError::InvalidConfig(problems.join("; ")))
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CoreError {
    #[error(
        "unknown scenario {0:?}; known scenarios: validator-outage, block-stall, depeg, exploit-drain, latency-spike, error-burst, admin-takeover, oracle-stale, reorg"
    )]
    UnknownScenario(String),
    #[error("unknown module {0:?}; known modules: bridge, escrow, auction, staking, registry")]
    UnknownModule(String),
    #[error("unknown validator {0:?}; validators are v1..v{1}")]
    UnknownValidator(String, usize),
    #[error("invalid core config: {0}")]
    InvalidConfig(String),
}

impl model::HasKind for CoreError {
    fn kind(&self) -> model::ErrorKind {
        match self {
            CoreError::UnknownScenario(_)
            | CoreError::UnknownModule(_)
            | CoreError::UnknownValidator(..) => model::ErrorKind::NotFound,
            CoreError::InvalidConfig(_) => model::ErrorKind::InvalidInput,
        }
    }
}

/// Faults that can be injected into the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// One validator goes offline: its slots are missed and the node loses peers.
    ValidatorOutage,
    /// No block is produced at all.
    BlockStall,
    /// TRN loses its peg: the price moves ~5% below target and stays there.
    Depeg,
    /// Abnormal outflow from a module's value locked (the bridge by default) until it is paused.
    ExploitDrain,
    /// RPC and price-feed replies are delayed by about 1.5 s.
    LatencySpike,
    /// Module transactions fail at ~30% instead of ~0.5%.
    ErrorBurst,
    /// An unknown account grants itself `DEFAULT_ADMIN_ROLE` on a module (the bridge by default) in the next
    /// block; stopping it logs the owner revoking the role.
    AdminTakeover,
    /// The TRN/USD feed stops publishing rounds (its answer and `updatedAt` freeze) until stopped.
    OracleStale,
    /// The next block carries a rogue `RoleGranted` on a module (the bridge by default); two blocks later
    /// those three blocks are replaced without it, and the scenario ends by itself (details in the
    /// `sim::chain` module docs).
    Reorg,
}

impl Scenario {
    pub const ALL: [Scenario; 9] = [
        Scenario::ValidatorOutage,
        Scenario::BlockStall,
        Scenario::Depeg,
        Scenario::ExploitDrain,
        Scenario::LatencySpike,
        Scenario::ErrorBurst,
        Scenario::AdminTakeover,
        Scenario::OracleStale,
        Scenario::Reorg,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::ValidatorOutage => "validator-outage",
            Scenario::BlockStall => "block-stall",
            Scenario::Depeg => "depeg",
            Scenario::ExploitDrain => "exploit-drain",
            Scenario::LatencySpike => "latency-spike",
            Scenario::ErrorBurst => "error-burst",
            Scenario::AdminTakeover => "admin-takeover",
            Scenario::OracleStale => "oracle-stale",
            Scenario::Reorg => "reorg",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scenario {
    type Err = CoreError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|scenario| scenario.as_str() == text)
            .ok_or_else(|| CoreError::UnknownScenario(text.to_owned()))
    }
}

/// Optional targets of a scenario; defaults are the bridge module and the last validator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScenarioParams {
    pub module: Option<String>,
    pub validator: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Block {
    pub number: u64,
    pub hash: [u8; 32],
    pub parent_hash: [u8; 32],
    /// Unix seconds.
    pub timestamp: u64,
    pub slot: u64,
    pub proposer: usize,
    pub tx_count: u32,
    pub gas_used: u64,
    /// Contract state as of the end of this block, what `eth_call` at this block answers from.
    #[serde(skip)]
    pub state: ChainState,
    /// The block's logs; a log's index in the block is its position here.
    #[serde(skip)]
    pub logs: Vec<ChainLog>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validator {
    pub id: String,
    pub address: String,
    pub online: bool,
    pub missed_slots: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Module {
    pub name: &'static str,
    pub paused: bool,
    pub value_locked: f64,
    pub tx_total: u64,
    pub errors_total: u64,
    pub rejected_total: u64,
    pub outflow_total: f64,
    /// Mean transactions per block; also the scale of its value locked.
    base_tx_rate: f64,
    initial_value: f64,
    recent: VecDeque<(u32, u32)>,
}

impl Module {
    fn new(name: &'static str, base_tx_rate: f64, initial_value: f64) -> Self {
        Self {
            name,
            paused: false,
            value_locked: initial_value,
            tx_total: 0,
            errors_total: 0,
            rejected_total: 0,
            outflow_total: 0.0,
            base_tx_rate,
            initial_value,
            recent: VecDeque::with_capacity(ERROR_WINDOW_BLOCKS),
        }
    }

    /// Errors over transactions across the recent blocks.
    pub fn error_ratio(&self) -> f64 {
        let (txs, errors) = self.recent.iter().fold((0u64, 0u64), |(t, e), (tx, err)| {
            (t + *tx as u64, e + *err as u64)
        });
        if txs == 0 {
            0.0
        } else {
            errors as f64 / txs as f64
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct ActiveScenario {
    since_ms: i64,
    params: ScenarioParams,
}

/// The simulated protocol.
#[derive(Debug, Clone)]
pub struct Core {
    config: CoreConfig,
    slot_rng: ChaCha8Rng,
    price_rng: ChaCha8Rng,
    genesis_ms: i64,
    now_ms: i64,
    slot: u64,
    next_slot_at_ms: i64,
    next_price_tick_ms: i64,
    height: u64,
    finalized: u64,
    blocks: VecDeque<Block>,
    genesis: Block,
    validators: Vec<Validator>,
    price: f64,
    modules: Vec<Module>,
    peers: u32,
    scenarios: BTreeMap<Scenario, ActiveScenario>,
    skipped_slots: u64,
    addresses: Addresses,
    /// The feed's newest round; blocks record it as of their production.
    feed: FeedRound,
    /// Drained from each module since the last produced block (micro-TRN), logged in the next block.
    pending_drain: Vec<u128>,
    /// Where `reorg` placed its retractable grant, while the replacement is pending.
    reorg_grant: Option<chain::ReorgGrant>,
}

/// What `/api/v1/core` shows: the contract shape plus a few extra fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoreSnapshot {
    pub height: u64,
    pub finalized: u64,
    pub slot: u64,
    pub slot_ms: u64,
    pub chain_id: u64,
    pub peg_target: f64,
    pub price: f64,
    pub peers: u32,
    pub validators: Vec<ValidatorView>,
    pub modules: Vec<ModuleView>,
    pub scenarios: Vec<ScenarioView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidatorView {
    pub id: String,
    pub online: bool,
    pub missed_slots: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModuleView {
    pub name: String,
    /// The module contract's address (`0x` + 40 lowercase hex digits).
    pub address: String,
    pub paused: bool,
    pub value_locked: f64,
    pub tx_total: u64,
    pub rejected_total: u64,
    pub errors_total: u64,
    pub outflow_total: f64,
    pub error_ratio: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioView {
    pub name: String,
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validator: Option<String>,
}

impl Core {
    /// Creates a core whose genesis is at `genesis_ms` (Unix ms).
    pub fn new(config: CoreConfig, genesis_ms: i64) -> Result<Self, CoreError> {
        config.validate()?;
        let seed = config.seed;
        let mut slot_rng = ChaCha8Rng::seed_from_u64(seed);
        let price_rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
        let validators = (1..=config.validators)
            .map(|index| Validator {
                id: format!("v{index}"),
                address: format!(
                    "0x{}",
                    hex::encode(
                        &digest(&[
                            b"validator",
                            &seed.to_be_bytes(),
                            &(index as u64).to_be_bytes()
                        ])[..20]
                    )
                ),
                online: true,
                missed_slots: 0,
            })
            .collect();
        let modules = vec![
            Module::new("bridge", 40.0, 25_000_000.0),
            Module::new("escrow", 15.0, 4_000_000.0),
            Module::new("auction", 10.0, 1_500_000.0),
            Module::new("staking", 25.0, 60_000_000.0),
            Module::new("registry", 5.0, 250_000.0),
        ];
        let genesis_hash = digest(&[
            b"genesis",
            &seed.to_be_bytes(),
            &config.chain_id.to_be_bytes(),
        ]);
        let feed = FeedRound::first(config.peg_target, (genesis_ms / 1000) as u64);
        let balances: Vec<u128> = modules
            .iter()
            .map(|module| to_micro(module.value_locked))
            .collect();
        let genesis = Block {
            number: 0,
            hash: genesis_hash,
            parent_hash: [0; 32],
            timestamp: (genesis_ms / 1000) as u64,
            slot: 0,
            proposer: 0,
            tx_count: 0,
            gas_used: 0,
            state: ChainState::genesis(&balances, feed),
            logs: Vec::new(),
        };
        let first_slot_at = genesis_ms + jittered_slot(&mut slot_rng, &config);
        Ok(Self {
            price: config.peg_target,
            next_price_tick_ms: genesis_ms + config.price_tick_ms as i64,
            config,
            slot_rng,
            price_rng,
            genesis_ms,
            now_ms: genesis_ms,
            slot: 0,
            next_slot_at_ms: first_slot_at,
            height: 0,
            finalized: 0,
            blocks: VecDeque::with_capacity(BLOCK_HISTORY),
            genesis,
            validators,
            modules,
            peers: 0,
            scenarios: BTreeMap::new(),
            skipped_slots: 0,
            addresses: Addresses::default(),
            feed,
            pending_drain: vec![0; MODULES.len()],
            reorg_grant: None,
        }
        .with_initial_peers())
    }

    fn with_initial_peers(mut self) -> Self {
        self.peers = self.compute_peers();
        self
    }

    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// When the next slot or price tick is due (Unix ms).
    pub fn next_event_ms(&self) -> i64 {
        self.next_slot_at_ms.min(self.next_price_tick_ms)
    }

    /// Processes every slot and price tick due up to `now_ms`, in time order.
    pub fn advance_to(&mut self, now_ms: i64) {
        if now_ms <= self.now_ms {
            return;
        }
        // After a long suspension, skip ahead instead of replaying days of slots at once.
        let max_span = MAX_CATCH_UP_SLOTS as i64 * self.config.slot_ms as i64;
        if now_ms - self.next_slot_at_ms > max_span {
            let skip =
                ((now_ms - self.next_slot_at_ms - max_span) / self.config.slot_ms as i64) as u64;
            self.slot += skip;
            self.skipped_slots += skip;
            self.next_slot_at_ms += skip as i64 * self.config.slot_ms as i64;
            let ticks = (now_ms - self.next_price_tick_ms) / self.config.price_tick_ms as i64;
            self.next_price_tick_ms += ticks.max(0) * self.config.price_tick_ms as i64;
        }
        loop {
            let next = self.next_event_ms();
            if next > now_ms {
                break;
            }
            // Slots win ties so a block and a price tick at the same instant always apply in the same order.
            if self.next_slot_at_ms <= self.next_price_tick_ms {
                self.now_ms = self.next_slot_at_ms;
                self.run_slot();
                self.next_slot_at_ms += jittered_slot(&mut self.slot_rng, &self.config);
            } else {
                self.now_ms = self.next_price_tick_ms;
                self.tick_price();
                self.next_price_tick_ms += self.config.price_tick_ms as i64;
            }
        }
        self.now_ms = now_ms;
    }

    fn run_slot(&mut self) {
        self.slot += 1;
        let validator_count = self.validators.len();
        let proposer = (self.slot as usize - 1) % validator_count;
        // Random draws happen in the same order whatever the outcome, so a scenario changes only what it must.
        let tx_noise: Vec<f64> = (0..self.modules.len())
            .map(|_| standard_normal(&mut self.slot_rng))
            .collect();
        let error_draws: Vec<f64> = (0..self.modules.len())
            .map(|_| uniform(&mut self.slot_rng))
            .collect();
        let value_noise: Vec<f64> = (0..self.modules.len())
            .map(|_| standard_normal(&mut self.slot_rng))
            .collect();
        let peer_noise = uniform(&mut self.slot_rng);

        let stalled = self.scenarios.contains_key(&Scenario::BlockStall);
        let proposer_online = self.validators[proposer].online;
        if !stalled && !proposer_online {
            self.validators[proposer].missed_slots += 1;
        }
        let produce = !stalled && proposer_online;

        let error_burst = self
            .scenarios
            .get(&Scenario::ErrorBurst)
            .map(|active| active.params.module.clone());
        let drain_module = self.scenarios.get(&Scenario::ExploitDrain).map(|active| {
            active
                .params
                .module
                .clone()
                .unwrap_or_else(|| "bridge".to_owned())
        });

        // The value's random walk has the same volatility per second whatever the slot, so a fast test core
        // moves like a real one minute for minute (0.1% per block at the default 6 s slot).
        let volatility = 0.001 * (self.config.slot_ms as f64 / 6000.0).sqrt();
        let mut block_txs = 0u32;
        let pending_drain = &mut self.pending_drain;
        for (index, module) in self.modules.iter_mut().enumerate() {
            // Transactions only happen inside blocks.
            let wanted = if produce {
                (module.base_tx_rate + tx_noise[index] * module.base_tx_rate.sqrt())
                    .round()
                    .max(0.0) as u32
            } else {
                0
            };
            if module.paused {
                module.rejected_total += wanted as u64;
                push_recent(&mut module.recent, (0, 0));
                continue;
            }
            let bursting = match &error_burst {
                Some(Some(target)) => target == module.name,
                Some(None) => true,
                None => false,
            };
            let error_rate = if bursting {
                0.30 + 0.1 * error_draws[index]
            } else {
                0.005
            };
            let errors = ((wanted as f64) * error_rate + error_draws[index] - 0.5)
                .round()
                .clamp(0.0, wanted as f64) as u32;
            module.tx_total += wanted as u64;
            module.errors_total += errors as u64;
            block_txs += wanted;
            push_recent(&mut module.recent, (wanted, errors));
            if produce {
                // A small random walk pulled back towards the module's usual size.
                let drift = 0.02 * (module.initial_value - module.value_locked);
                module.value_locked = (module.value_locked
                    + drift
                    + value_noise[index] * volatility * module.value_locked)
                    .max(0.0);
            }
            if drain_module.as_deref() == Some(module.name) {
                // The exploit drains on its own schedule, block or no block.
                let outflow = module.value_locked * 0.03;
                let before = to_micro(module.value_locked);
                module.value_locked -= outflow;
                module.outflow_total += outflow;
                // Logged as a transfer to the exploiter in the next produced block.
                pending_drain[index] += before - to_micro(module.value_locked);
            }
        }

        if produce {
            let parent = self
                .blocks
                .back()
                .map_or(self.genesis.hash, |block| block.hash);
            self.height += 1;
            let base_transfers = 20 + (peer_noise * 10.0) as u32;
            let tx_count = block_txs + base_transfers;
            let gas_used = tx_count as u64 * 52_000 + (peer_noise * 100_000.0) as u64;
            let hash = digest(&[
                b"block",
                &self.config.seed.to_be_bytes(),
                &self.height.to_be_bytes(),
                &parent,
                &self.slot.to_be_bytes(),
            ]);
            self.feed_heartbeat();
            self.seal_block(Block {
                number: self.height,
                hash,
                parent_hash: parent,
                timestamp: (self.now_ms / 1000) as u64,
                slot: self.slot,
                proposer,
                tx_count,
                gas_used,
                state: ChainState::default(),
                logs: Vec::new(),
            });
        }
        // Finality needs a two-thirds supermajority online and a chain that moves.
        let online = self
            .validators
            .iter()
            .filter(|validator| validator.online)
            .count();
        if !stalled && online * 3 > validator_count * 2 {
            self.finalized = self.height.saturating_sub(NORMAL_FINALITY_LAG);
        }
        if let Some(grant) = &self.reorg_grant {
            // Blocks about to be reorganized are never reported final.
            self.finalized = self.finalized.min(grant.block.saturating_sub(1));
        }
        self.peers = self.compute_peers_with(peer_noise);
    }

    fn compute_peers(&self) -> u32 {
        self.compute_peers_with(0.5)
    }

    fn compute_peers_with(&self, noise: f64) -> u32 {
        let online = self
            .validators
            .iter()
            .filter(|validator| validator.online)
            .count() as u32;
        // Other validators plus a handful of observer nodes.
        online.saturating_sub(1) * 2 + 14 + (noise * 4.0) as u32
    }

    fn tick_price(&mut self) {
        let target = self.config.peg_target;
        let noise = standard_normal(&mut self.price_rng);
        let depegged = self.scenarios.contains_key(&Scenario::Depeg);
        let mean = if depegged { target * 0.95 } else { target };
        self.price += 0.1 * (mean - self.price) + 0.0009 * target * noise;
        if !depegged {
            // The peg mechanism keeps the price inside ±1% in normal operation.
            self.price = self.price.clamp(target * 0.9905, target * 1.0095);
        }
        self.publish_feed_round();
    }

    /// Starts a scenario now. Starting one that is already active changes nothing and returns `false`.
    pub fn start_scenario(
        &mut self,
        scenario: Scenario,
        params: ScenarioParams,
    ) -> Result<bool, CoreError> {
        let params = self.resolve_params(scenario, params)?;
        if self.scenarios.contains_key(&scenario) {
            return Ok(false);
        }
        match scenario {
            Scenario::ValidatorOutage => {
                let index =
                    self.validator_index(params.validator.as_deref().unwrap_or_default())?;
                self.validators[index].online = false;
                self.peers = self.compute_peers();
            }
            Scenario::Depeg => {
                // A depeg is a shock, not a slow drift: the price gaps down at once.
                self.price = self.config.peg_target * 0.965;
            }
            _ => {}
        }
        self.scenarios.insert(
            scenario,
            ActiveScenario {
                since_ms: self.now_ms,
                params,
            },
        );
        Ok(true)
    }

    /// Validates a start without applying it; returns whether starting would change anything and the
    /// targets it would use (defaults filled in).
    pub fn check_start(
        &self,
        scenario: Scenario,
        params: ScenarioParams,
    ) -> Result<(bool, ScenarioParams), CoreError> {
        let resolved = self.resolve_params(scenario, params)?;
        Ok((!self.scenarios.contains_key(&scenario), resolved))
    }

    /// Stops a scenario. Stopping one that is not active returns `false`.
    pub fn stop_scenario(&mut self, scenario: Scenario) -> bool {
        let Some(active) = self.scenarios.remove(&scenario) else {
            return false;
        };
        if scenario == Scenario::Reorg {
            // Stopping early finishes the reorg at once over the blocks it has so far.
            self.replace_reorged_blocks();
        }
        if scenario == Scenario::ValidatorOutage {
            if let Some(index) = active
                .params
                .validator
                .and_then(|name| self.validator_index(&name).ok())
            {
                self.validators[index].online = true;
            }
            self.peers = self.compute_peers();
        }
        true
    }

    fn resolve_params(
        &self,
        scenario: Scenario,
        params: ScenarioParams,
    ) -> Result<ScenarioParams, CoreError> {
        if let Some(module) = &params.module {
            self.module_index(module)?;
        }
        if let Some(validator) = &params.validator {
            self.validator_index(validator)?;
        }
        Ok(match scenario {
            Scenario::ValidatorOutage => ScenarioParams {
                validator: Some(
                    params
                        .validator
                        .unwrap_or_else(|| format!("v{}", self.validators.len())),
                ),
                module: None,
            },
            Scenario::ExploitDrain | Scenario::AdminTakeover | Scenario::Reorg => ScenarioParams {
                module: Some(params.module.unwrap_or_else(|| "bridge".into())),
                validator: None,
            },
            Scenario::ErrorBurst => ScenarioParams {
                module: params.module,
                validator: None,
            },
            _ => ScenarioParams::default(),
        })
    }

    pub fn is_active(&self, scenario: Scenario) -> bool {
        self.scenarios.contains_key(&scenario)
    }

    /// Pauses a module: its transactions are rejected and its value stops moving. Returns whether it changed.
    pub fn pause(&mut self, module: &str) -> Result<bool, CoreError> {
        let index = self.module_index(module)?;
        Ok(!std::mem::replace(&mut self.modules[index].paused, true))
    }

    /// Unpauses a module. Returns whether it changed.
    pub fn unpause(&mut self, module: &str) -> Result<bool, CoreError> {
        let index = self.module_index(module)?;
        Ok(std::mem::replace(&mut self.modules[index].paused, false))
    }

    fn module_index(&self, name: &str) -> Result<usize, CoreError> {
        self.modules
            .iter()
            .position(|module| module.name == name)
            .ok_or_else(|| CoreError::UnknownModule(name.to_owned()))
    }

    fn validator_index(&self, id: &str) -> Result<usize, CoreError> {
        self.validators
            .iter()
            .position(|validator| validator.id == id)
            .ok_or_else(|| CoreError::UnknownValidator(id.to_owned(), self.validators.len()))
    }

    pub fn height(&self) -> u64 {
        self.height
    }

    pub fn finalized(&self) -> u64 {
        self.finalized
    }

    pub fn slot(&self) -> u64 {
        self.slot
    }

    pub fn price(&self) -> f64 {
        self.price
    }

    pub fn peers(&self) -> u32 {
        self.peers
    }

    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    pub fn genesis_ms(&self) -> i64 {
        self.genesis_ms
    }

    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// The block at `number`, if it exists and is still kept.
    pub fn block(&self, number: u64) -> Option<&Block> {
        if number == 0 {
            return Some(&self.genesis);
        }
        let oldest = self.blocks.front()?.number;
        if number < oldest {
            return None;
        }
        self.blocks.get((number - oldest) as usize)
    }

    pub fn head(&self) -> &Block {
        self.blocks.back().unwrap_or(&self.genesis)
    }

    pub fn snapshot(&self) -> CoreSnapshot {
        CoreSnapshot {
            height: self.height,
            finalized: self.finalized,
            slot: self.slot,
            slot_ms: self.config.slot_ms,
            chain_id: self.config.chain_id,
            peg_target: self.config.peg_target,
            price: self.price,
            peers: self.peers,
            validators: self
                .validators
                .iter()
                .map(|validator| ValidatorView {
                    id: validator.id.clone(),
                    online: validator.online,
                    missed_slots: validator.missed_slots,
                })
                .collect(),
            modules: self
                .modules
                .iter()
                .zip(&self.addresses.modules)
                .map(|(module, address)| ModuleView {
                    name: module.name.to_owned(),
                    address: address_hex(address),
                    paused: module.paused,
                    value_locked: module.value_locked,
                    tx_total: module.tx_total,
                    rejected_total: module.rejected_total,
                    errors_total: module.errors_total,
                    outflow_total: module.outflow_total,
                    error_ratio: module.error_ratio(),
                })
                .collect(),
            scenarios: Scenario::ALL
                .iter()
                .map(|scenario| {
                    let active = self.scenarios.get(scenario);
                    ScenarioView {
                        name: scenario.as_str().to_owned(),
                        active: active.is_some(),
                        since: active
                            .and_then(|active| {
                                chrono::DateTime::from_timestamp_millis(active.since_ms)
                            })
                            .map(|at| at.to_rfc3339()),
                        module: active.and_then(|active| active.params.module.clone()),
                        validator: active.and_then(|active| active.params.validator.clone()),
                    }
                })
                .collect(),
        }
    }

    /// Slots skipped by catch-up after a long suspension (normally 0).
    pub fn skipped_slots(&self) -> u64 {
        self.skipped_slots
    }
}

fn push_recent(recent: &mut VecDeque<(u32, u32)>, entry: (u32, u32)) {
    if recent.len() == ERROR_WINDOW_BLOCKS {
        recent.pop_front();
    }
    recent.push_back(entry);
}

fn jittered_slot(rng: &mut ChaCha8Rng, config: &CoreConfig) -> i64 {
    let jitter = config.slot_jitter_ms as f64;
    (config.slot_ms as f64 + (uniform(rng) * 2.0 - 1.0) * jitter).round() as i64
}

/// A uniform draw in [0, 1) from the top 53 bits, so results do not depend on any rand version's sampling.
fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw (Box–Muller).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = uniform(rng).max(f64::MIN_POSITIVE);
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

pub(crate) fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENESIS: i64 = 1_700_000_000_000;

    fn fast_core(seed: u64) -> Core {
        Core::new(
            CoreConfig {
                seed,
                slot_ms: 100,
                slot_jitter_ms: 8,
                ..CoreConfig::default()
            },
            GENESIS,
        )
        .unwrap()
    }

    fn chain_trace(core: &Core) -> Vec<(u64, String, u64, u32)> {
        (0..=core.height())
            .filter_map(|n| core.block(n))
            .map(|b| (b.number, hex::encode(b.hash), b.timestamp, b.tx_count))
            .collect()
    }

    #[test]
    fn same_seed_gives_the_same_chain_whatever_the_step_size() {
        let mut one_step = fast_core(42);
        one_step.advance_to(GENESIS + 60_000);
        let mut many_steps = fast_core(42);
        for t in (0..=60_000).step_by(37) {
            many_steps.advance_to(GENESIS + t);
        }
        many_steps.advance_to(GENESIS + 60_000);
        assert!(one_step.height() > 500, "height {}", one_step.height());
        assert_eq!(chain_trace(&one_step), chain_trace(&many_steps));
        assert_eq!(one_step.price(), many_steps.price());
        assert_eq!(one_step.snapshot(), many_steps.snapshot());
    }

    #[test]
    fn different_seeds_give_different_chains() {
        let mut a = fast_core(1);
        let mut b = fast_core(2);
        a.advance_to(GENESIS + 5_000);
        b.advance_to(GENESIS + 5_000);
        assert_ne!(a.head().hash, b.head().hash);
    }

    #[test]
    fn blocks_link_to_their_parents_and_land_about_one_slot_apart() {
        let mut core = Core::new(CoreConfig::default(), GENESIS).unwrap();
        core.advance_to(GENESIS + 600_000);
        assert!(
            (95..=105).contains(&core.height()),
            "height {}",
            core.height()
        );
        for number in 1..=core.height() {
            let block = core.block(number).unwrap();
            assert_eq!(block.parent_hash, core.block(number - 1).unwrap().hash);
        }
        assert_eq!(core.finalized(), core.height() - NORMAL_FINALITY_LAG);
    }

    #[test]
    fn price_stays_within_one_percent_of_the_peg_in_normal_operation() {
        let mut core = fast_core(7);
        let mut worst: f64 = 0.0;
        for second in 0..7200 {
            core.advance_to(GENESIS + second * 1000);
            worst = worst.max((core.price() - 1.0).abs());
        }
        assert!(worst < 0.01, "worst deviation {worst}");
        assert!(
            worst > 0.001,
            "the price should move, worst deviation {worst}"
        );
    }

    #[test]
    fn depeg_moves_the_price_more_than_two_percent_at_once() {
        let mut core = fast_core(3);
        core.advance_to(GENESIS + 10_000);
        core.start_scenario(Scenario::Depeg, ScenarioParams::default())
            .unwrap();
        core.advance_to(GENESIS + 11_000);
        assert!(core.price() < 0.975, "price {}", core.price());
        core.advance_to(GENESIS + 120_000);
        assert!(
            (0.93..0.97).contains(&core.price()),
            "price {}",
            core.price()
        );
        core.stop_scenario(Scenario::Depeg);
        core.advance_to(GENESIS + 240_000);
        assert!((core.price() - 1.0).abs() < 0.01, "price {}", core.price());
    }

    #[test]
    fn exploit_drain_empties_the_bridge_until_it_is_paused() {
        let mut core = fast_core(5);
        core.advance_to(GENESIS + 2_000);
        let before = core.modules()[0].value_locked;
        core.start_scenario(Scenario::ExploitDrain, ScenarioParams::default())
            .unwrap();
        core.advance_to(GENESIS + 4_000);
        let during = core.modules()[0].value_locked;
        assert!(during < before * 0.7, "before {before} during {during}");
        assert!(core.modules()[0].outflow_total > 0.0);

        assert!(core.pause("bridge").unwrap());
        let paused_at = core.modules()[0].value_locked;
        let tx_at_pause = core.modules()[0].tx_total;
        core.advance_to(GENESIS + 8_000);
        let bridge = &core.modules()[0];
        assert_eq!(
            bridge.value_locked, paused_at,
            "a paused module's value must not move"
        );
        assert_eq!(
            bridge.tx_total, tx_at_pause,
            "a paused module takes no transactions"
        );
        assert!(
            bridge.rejected_total > 0,
            "its transactions are rejected and counted"
        );
        // Other modules carry on.
        assert!(core.modules()[1].tx_total > 0);
    }

    #[test]
    fn stopping_the_drain_stops_the_outflow() {
        let mut core = fast_core(5);
        core.start_scenario(
            Scenario::ExploitDrain,
            ScenarioParams {
                module: Some("escrow".into()),
                validator: None,
            },
        )
        .unwrap();
        core.advance_to(GENESIS + 2_000);
        assert!(core.modules()[1].outflow_total > 0.0);
        assert_eq!(core.modules()[0].outflow_total, 0.0);
        core.stop_scenario(Scenario::ExploitDrain);
        let outflow = core.modules()[1].outflow_total;
        core.advance_to(GENESIS + 4_000);
        assert_eq!(core.modules()[1].outflow_total, outflow);
    }

    #[test]
    fn block_stall_stops_the_head_and_finality() {
        let mut core = fast_core(9);
        core.advance_to(GENESIS + 2_000);
        core.start_scenario(Scenario::BlockStall, ScenarioParams::default())
            .unwrap();
        let height = core.height();
        core.advance_to(GENESIS + 5_000);
        assert_eq!(core.height(), height);
        assert!(core.slot() > height);
        core.stop_scenario(Scenario::BlockStall);
        core.advance_to(GENESIS + 6_000);
        assert!(core.height() > height);
    }

    #[test]
    fn validator_outage_misses_that_validators_slots_only() {
        let mut core = fast_core(11);
        let peers_before = core.peers();
        core.start_scenario(
            Scenario::ValidatorOutage,
            ScenarioParams {
                validator: Some("v2".into()),
                module: None,
            },
        )
        .unwrap();
        core.advance_to(GENESIS + 10_000);
        let validators = core.validators();
        assert!(!validators[1].online);
        assert!(
            validators[1].missed_slots >= 15,
            "missed {}",
            validators[1].missed_slots
        );
        assert!(
            validators
                .iter()
                .enumerate()
                .all(|(i, v)| i == 1 || v.missed_slots == 0)
        );
        assert!(core.peers() < peers_before);
        assert!(core.height() < core.slot());
    }

    #[test]
    fn error_burst_raises_the_error_ratio() {
        let mut core = fast_core(13);
        core.advance_to(GENESIS + 3_000);
        assert!(
            core.modules().iter().all(|m| m.error_ratio() < 0.03),
            "{:?}",
            core.modules()
                .iter()
                .map(Module::error_ratio)
                .collect::<Vec<_>>()
        );
        core.start_scenario(Scenario::ErrorBurst, ScenarioParams::default())
            .unwrap();
        core.advance_to(GENESIS + 6_000);
        assert!(core.modules().iter().all(|m| m.error_ratio() > 0.2));
    }

    #[test]
    fn unknown_names_are_refused_and_change_nothing() {
        let mut core = fast_core(1);
        let before = core.snapshot();
        assert_eq!(
            "rug-pull".parse::<Scenario>().unwrap_err(),
            CoreError::UnknownScenario("rug-pull".into())
        );
        assert!(
            core.start_scenario(
                Scenario::ExploitDrain,
                ScenarioParams {
                    module: Some("vault".into()),
                    validator: None
                }
            )
            .is_err()
        );
        assert!(
            core.start_scenario(
                Scenario::ValidatorOutage,
                ScenarioParams {
                    validator: Some("v9".into()),
                    module: None
                }
            )
            .is_err()
        );
        assert!(core.pause("vault").is_err());
        assert_eq!(core.snapshot(), before);
    }

    #[test]
    fn config_validation_names_the_field() {
        let error = CoreConfig {
            slot_ms: 10,
            ..CoreConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(error.to_string().contains("slot_ms"), "{error}");
    }
}
