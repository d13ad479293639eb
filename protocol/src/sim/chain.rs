//! The chain as an EVM node shows it: contract state and logs sealed into every produced block, the feed's
//! rounds, and the block replacement of the `reorg` scenario.
//!
//! Each produced block records the contract state as of its production ([`ChainState`]) and the logs that
//! explain the change from its parent (see [`crate::evm::transition`]), so `eth_call` at block N agrees with
//! the logs up to block N. Nothing here draws from the slot or price RNG: existing chains (hashes, prices)
//! are unchanged by this bookkeeping.
//!
//! ## Scenario behaviour on the EVM side
//! - `admin-takeover` (module, default bridge): the next produced block logs
//!   `RoleGranted(DEFAULT_ADMIN_ROLE, unknown, unknown)` on the module and `hasRole(0x00.., unknown)` is true
//!   from that block. Stopping it logs `RoleRevoked(DEFAULT_ADMIN_ROLE, unknown, owner)` in the next produced
//!   block and the role is gone from that block. A start and stop between two blocks logs nothing.
//! - `oracle-stale`: no feed rounds are published while it is active (`latestRoundData` keeps its round id,
//!   answer and `updatedAt`; no `AnswerUpdated`); the market price (`/core/price`) keeps moving. Stopping it
//!   resumes rounds at the next price tick.
//! - `reorg` (module, default bridge): the next produced block N logs `RoleGranted(DEFAULT_ADMIN_ROLE,
//!   unknown, unknown)` on the module and `hasRole` turns true. Right after block N+2 is produced, blocks
//!   N..=N+2 are replaced by blocks at the same heights with new hashes (N's parent is still N-1, each next
//!   one links to the new previous), the same timestamps, transactions and logs except that grant, and the
//!   grant's `hasRole` effect undone in their state; the scenario then ends by itself. The old hashes are
//!   forgotten: `eth_getBlockByHash` answers `null` and `eth_getLogs` by such a `blockHash` errors with
//!   "unknown block". While the replacement is pending, finality stays below N. Stopping the scenario before
//!   N+2 replaces the blocks from N to the head at once; stopping it before N is produced logs nothing.

use super::*;
use crate::evm::{BlockInputs, CoreContract, transition, with_tx_indexes};

/// The `reorg` scenario's grant, waiting to be retracted.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ReorgGrant {
    /// The block carrying the grant (N).
    pub block: u64,
    /// Index of the grant among that block's logs.
    pub log_index: usize,
    pub module: usize,
}

impl Core {
    /// The core's contracts: the modules (in [`MODULES`] order), the TRN token and the TRN/USD feed.
    pub fn contracts(&self) -> Vec<CoreContract> {
        self.addresses.contracts()
    }

    /// The accounts allowed to hold admin and pauser roles: the owner/admin and the guardian/pauser.
    pub fn trusted_accounts(&self) -> Vec<String> {
        vec![
            address_hex(&self.addresses.owner),
            address_hex(&self.addresses.guardian),
        ]
    }

    /// Every address the core uses, including the exploiter and the unknown account.
    pub fn addresses(&self) -> &Addresses {
        &self.addresses
    }

    /// The feed's newest round (it may be newer than the head block's).
    pub fn feed_round(&self) -> FeedRound {
        self.feed
    }

    /// The kept block with this hash, if any (replaced blocks are not kept).
    pub fn block_by_hash(&self, hash: &[u8; 32]) -> Option<&Block> {
        if self.genesis.hash == *hash {
            return Some(&self.genesis);
        }
        self.blocks.iter().rev().find(|block| block.hash == *hash)
    }

    /// The oldest block number whose state and logs are kept: 0 until history is pruned.
    pub fn oldest_kept(&self) -> u64 {
        match self.blocks.front() {
            Some(block) if block.number > 1 => block.number,
            _ => 0,
        }
    }

    /// Publishes a feed round at the current price, unless the oracle is stale.
    pub(super) fn publish_feed_round(&mut self) {
        if !self.scenarios.contains_key(&Scenario::OracleStale) {
            self.feed = self.feed.next(self.price, (self.now_ms / 1000) as u64);
        }
    }

    /// Keeps the feed within its heartbeat even when price ticks are slower than it.
    pub(super) fn feed_heartbeat(&mut self) {
        let now_secs = (self.now_ms / 1000) as u64;
        if now_secs >= self.feed.updated_at + crate::evm::FEED_HEARTBEAT_SECS {
            self.publish_feed_round();
        }
    }

    fn scenario_module(&self, scenario: Scenario) -> Option<usize> {
        let module = self.scenarios.get(&scenario)?.params.module.as_deref()?;
        self.module_index(module).ok()
    }

    /// Fills in the block's state and logs, appends it, and completes a pending reorg once it is due.
    pub(super) fn seal_block(&mut self, mut block: Block) {
        let drained = std::mem::replace(&mut self.pending_drain, vec![0; self.modules.len()]);
        let reorg_grant = if self.reorg_grant.is_none() {
            self.scenario_module(Scenario::Reorg)
        } else {
            None
        };
        let inputs = BlockInputs {
            number: block.number,
            tx_count: block.tx_count,
            balances_micro: self
                .modules
                .iter()
                .map(|module| to_micro(module.value_locked))
                .collect(),
            drained_micro: drained,
            paused: self.modules.iter().map(|module| module.paused).collect(),
            takeover: self.scenario_module(Scenario::AdminTakeover),
            reorg_grant,
            feed: self.feed,
        };
        let (state, logs, reorg_log) = transition(&self.addresses, &self.head().state, &inputs);
        if let (Some(module), Some(log_index)) = (reorg_grant, reorg_log) {
            self.reorg_grant = Some(ReorgGrant {
                block: block.number,
                log_index,
                module,
            });
        }
        block.state = state;
        block.logs = logs;
        if self.blocks.len() == BLOCK_HISTORY {
            self.blocks.pop_front();
        }
        self.blocks.push_back(block);
        if self
            .reorg_grant
            .as_ref()
            .is_some_and(|grant| self.height >= grant.block + 2)
        {
            self.replace_reorged_blocks();
        }
    }

    /// Replaces the blocks from the reorg's grant block to the head with copies lacking the grant, under
    /// new hashes, and ends the scenario.
    pub(super) fn replace_reorged_blocks(&mut self) {
        self.scenarios.remove(&Scenario::Reorg);
        let Some(grant) = self.reorg_grant.take() else {
            return;
        };
        let Some(oldest) = self.blocks.front().map(|block| block.number) else {
            return;
        };
        let mut parent = self.block(grant.block.saturating_sub(1)).map(|b| b.hash);
        for number in grant.block.max(oldest)..=self.height {
            let block = &mut self.blocks[(number - oldest) as usize];
            let mut logs: Vec<_> = std::mem::take(&mut block.logs)
                .into_iter()
                .map(|log| log.log)
                .collect();
            if number == grant.block && grant.log_index < logs.len() {
                logs.remove(grant.log_index);
            }
            block.logs = with_tx_indexes(logs, block.tx_count);
            block.state.modules[grant.module].reorg_admin = false;
            block.parent_hash = parent.unwrap_or(block.parent_hash);
            block.hash = digest(&[
                b"reorg-block",
                &self.config.seed.to_be_bytes(),
                &number.to_be_bytes(),
                &block.parent_hash,
                &block.slot.to_be_bytes(),
            ]);
            parent = Some(block.hash);
        }
    }
}
