//! The core's EVM face: contract and account addresses, the Solidity interfaces it answers, the contract
//! state kept with every block, the logs each block carries, and `eth_call` against that state.
//!
//! Vigil watches real chains by reading contract state with `eth_call` and decoding events from
//! `eth_getLogs`; the embedded core speaks the same interface so the default demo exercises the same
//! chain-watching code. The contracts are not executed bytecode: each known function is answered from
//! [`ChainState`], with selectors and ABI encoding from alloy's `sol!` interfaces below.
//!
//! Contracts (addresses from [`label_address`], independent of the seed so a watch configuration can name
//! them once):
//! - the TRN token (ERC-20 reads; a module's balance is its value locked, the exploiter's what was drained),
//! - one contract per module (OpenZeppelin `Pausable` + `Ownable` + `AccessControl` reads),
//! - the TRN/USD price feed (Chainlink `AggregatorV3Interface` reads).
//!
//! Balances are kept in whole micro-TRN (10^12 wei) so the `Transfer` logs of a block add up exactly to the
//! balance change between two blocks.

use alloy_primitives::aliases::U80;
use alloy_primitives::{Address, B256, I256, Log, U256, keccak256};
use alloy_sol_types::{Revert, SolCall, SolError, SolEvent, SolInterface, sol};
use serde::Serialize;

use crate::sim::MODULES;

/// TRN has 18 decimals, like most ERC-20 tokens.
pub const TOKEN_DECIMALS: u8 = 18;
/// The price feed answers in USD with 8 decimals, like Chainlink's USD feeds.
pub const FEED_DECIMALS: u8 = 8;
/// The longest the feed goes without a new round in normal operation. It publishes a round on every price
/// tick (1 s by default); if ticks are slower than this, a round repeating the current price is published
/// so `updatedAt` never ages past the heartbeat unless `oracle-stale` is active.
pub const FEED_HEARTBEAT_SECS: u64 = 60;
pub const TOKEN_SYMBOL: &str = "TRN";
pub const TOKEN_NAME: &str = "Vigil Test Token";
pub const FEED_NAME: &str = "trn-usd";
pub const FEED_DESCRIPTION: &str = "TRN / USD";
/// What the feed's `version()` answers (Chainlink OCR aggregators answer 4).
pub const FEED_VERSION: u64 = 4;
/// The fixed TRN supply, in whole tokens.
pub const TOTAL_SUPPLY_TRN: u64 = 1_000_000_000;
/// Wei per micro-TRN, the unit balances are kept in.
const WEI_PER_MICRO: u128 = 1_000_000_000_000;

sol! {
    /// The TRN token's ERC-20 reads and its transfer event.
    interface IToken {
        event Transfer(address indexed from, address indexed to, uint256 value);
        function balanceOf(address account) external view returns (uint256);
        function decimals() external view returns (uint8);
        function symbol() external view returns (string);
        function name() external view returns (string);
        function totalSupply() external view returns (uint256);
    }

    /// A module contract: pausable, owned, with role-based access control.
    interface IModule {
        event Paused(address account);
        event Unpaused(address account);
        event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
        event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender);
        event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender);
        function paused() external view returns (bool);
        function owner() external view returns (address);
        function hasRole(bytes32 role, address account) external view returns (bool);
        function getRoleAdmin(bytes32 role) external view returns (bytes32);
        function token() external view returns (address);
        function DEFAULT_ADMIN_ROLE() external view returns (bytes32);
        function PAUSER_ROLE() external view returns (bytes32);
    }

    /// The TRN/USD feed, shaped like Chainlink's AggregatorV3Interface (plus the legacy reads and event).
    interface IPriceFeed {
        event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
        function latestRoundData() external view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
        function getRoundData(uint80 _roundId) external view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
        function decimals() external view returns (uint8);
        function description() external view returns (string);
        function version() external view returns (uint256);
        function latestAnswer() external view returns (int256);
        function latestTimestamp() external view returns (uint256);
        function latestRound() external view returns (uint256);
    }
}

/// `DEFAULT_ADMIN_ROLE` of OpenZeppelin's AccessControl: all zeros.
pub const DEFAULT_ADMIN_ROLE: B256 = B256::ZERO;

/// `PAUSER_ROLE = keccak256("PAUSER_ROLE")`.
pub fn pauser_role() -> B256 {
    keccak256("PAUSER_ROLE")
}

/// A deterministic address for a label: the last 20 bytes of `keccak256("vigil-core/" + label)`.
pub fn label_address(label: &str) -> Address {
    Address::from_slice(&keccak256(format!("vigil-core/{label}"))[12..])
}

/// `0x` + 40 lowercase hex digits.
pub fn address_hex(address: &Address) -> String {
    format!("0x{}", hex::encode(address))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContractKind {
    Module,
    Token,
    PriceFeed,
}

/// A contract the core answers `eth_call`, `eth_getCode` and `eth_getLogs` for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoreContract {
    /// The module name, `TRN` for the token or `trn-usd` for the feed.
    pub name: String,
    /// `0x` + 40 lowercase hex digits.
    pub address: String,
    pub kind: ContractKind,
}

/// Every address the core uses, derived once.
#[derive(Debug, Clone, PartialEq)]
pub struct Addresses {
    /// In [`MODULES`] order.
    pub modules: Vec<Address>,
    pub token: Address,
    pub feed: Address,
    /// Owner of every module and holder of `DEFAULT_ADMIN_ROLE` (trusted).
    pub owner: Address,
    /// Holder of `PAUSER_ROLE`, the account Vigil pauses with (trusted).
    pub guardian: Address,
    /// Receives what `exploit-drain` takes.
    pub exploiter: Address,
    /// The account `admin-takeover` and `reorg` grant `DEFAULT_ADMIN_ROLE` to.
    pub unknown: Address,
    /// Per module, what the users moving funds in and out of it derive from.
    user_bases: Vec<Address>,
}

impl Default for Addresses {
    fn default() -> Self {
        Self {
            modules: MODULES
                .iter()
                .map(|name| label_address(&format!("module/{name}")))
                .collect(),
            token: label_address("token/TRN"),
            feed: label_address("feed/trn-usd"),
            owner: label_address("account/owner"),
            guardian: label_address("account/guardian"),
            exploiter: label_address("account/exploiter"),
            unknown: label_address("account/unknown"),
            user_bases: MODULES
                .iter()
                .map(|name| label_address(&format!("users/{name}")))
                .collect(),
        }
    }
}

impl Addresses {
    pub fn contracts(&self) -> Vec<CoreContract> {
        let mut contracts: Vec<CoreContract> = MODULES
            .iter()
            .zip(&self.modules)
            .map(|(name, address)| CoreContract {
                name: (*name).to_owned(),
                address: address_hex(address),
                kind: ContractKind::Module,
            })
            .collect();
        contracts.push(CoreContract {
            name: TOKEN_SYMBOL.to_owned(),
            address: address_hex(&self.token),
            kind: ContractKind::Token,
        });
        contracts.push(CoreContract {
            name: FEED_NAME.to_owned(),
            address: address_hex(&self.feed),
            kind: ContractKind::PriceFeed,
        });
        contracts
    }

    /// Whether `address` holds code (one of the core's contracts).
    pub fn is_contract(&self, address: &Address) -> bool {
        *address == self.token || *address == self.feed || self.modules.contains(address)
    }

    /// The user a module's ordinary net flow of a block is attributed to (no state is kept for users): the
    /// module's user base address with the block number in its last 8 bytes. No hashing, because this runs
    /// for every module in every block.
    fn user(&self, module: usize, block: u64) -> Address {
        let mut user = self.user_bases[module];
        for (byte, number) in user.0[12..].iter_mut().zip(block.to_be_bytes()) {
            *byte ^= number;
        }
        user
    }
}

/// Stand-in runtime code for `eth_getCode`: a fixed prologue plus a per-address tail, so each contract has
/// a distinct, non-empty code hash.
pub fn contract_code(address: &Address) -> Vec<u8> {
    let mut code = vec![0x60, 0x80, 0x60, 0x40, 0x52];
    code.extend_from_slice(keccak256(address).as_slice());
    code
}

/// Whole TRN to micro-TRN, rounded; negative and non-finite values count as zero.
pub fn to_micro(value: f64) -> u128 {
    if value.is_finite() && value > 0.0 {
        (value * 1e6).round() as u128
    } else {
        0
    }
}

fn wei(micro: u128) -> U256 {
    U256::from(micro) * U256::from(WEI_PER_MICRO)
}

/// One module contract's state at a block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModuleState {
    /// Its TRN balance (its value locked) in micro-TRN.
    pub balance_micro: u128,
    pub paused: bool,
    /// Whether the owner and roles are set up; false only at genesis (the setup is logged in block 1).
    pub deployed: bool,
    /// The unknown account holds `DEFAULT_ADMIN_ROLE` through `admin-takeover`.
    pub takeover_admin: bool,
    /// The unknown account holds `DEFAULT_ADMIN_ROLE` through `reorg`'s retractable grant. Kept apart from
    /// `takeover_admin` so the reorg undoes only its own grant.
    pub reorg_admin: bool,
}

impl ModuleState {
    pub fn owner(&self, addresses: &Addresses) -> Address {
        if self.deployed {
            addresses.owner
        } else {
            Address::ZERO
        }
    }

    pub fn has_role(&self, addresses: &Addresses, role: B256, account: Address) -> bool {
        if role == DEFAULT_ADMIN_ROLE {
            (self.deployed && account == addresses.owner)
                || ((self.takeover_admin || self.reorg_admin) && account == addresses.unknown)
        } else if role == pauser_role() {
            self.deployed && account == addresses.guardian
        } else {
            false
        }
    }
}

/// One round of the price feed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedRound {
    pub round_id: u64,
    /// Price × 10^[`FEED_DECIMALS`].
    pub answer: i128,
    /// Unix seconds.
    pub started_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

impl FeedRound {
    pub fn first(price: f64, at_secs: u64) -> Self {
        Self {
            round_id: 1,
            answer: feed_answer(price),
            started_at: at_secs,
            updated_at: at_secs,
        }
    }

    pub fn next(&self, price: f64, at_secs: u64) -> Self {
        Self {
            round_id: self.round_id + 1,
            answer: feed_answer(price),
            started_at: at_secs,
            updated_at: at_secs,
        }
    }
}

fn feed_answer(price: f64) -> i128 {
    (price * 10f64.powi(FEED_DECIMALS as i32)).round() as i128
}

/// The contract state as of the end of one block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChainState {
    /// In [`MODULES`] order.
    pub modules: Vec<ModuleState>,
    pub feed: FeedRound,
    /// Everything drained so far, in micro-TRN: the exploiter's balance.
    pub exploiter_micro: u128,
}

impl ChainState {
    pub fn genesis(balances_micro: &[u128], feed: FeedRound) -> Self {
        Self {
            modules: balances_micro
                .iter()
                .map(|&balance_micro| ModuleState {
                    balance_micro,
                    paused: false,
                    // Deployed and set up before the history the core keeps: no setup events to alarm a
                    // watcher that starts with the chain.
                    deployed: true,
                    takeover_admin: false,
                    reorg_admin: false,
                })
                .collect(),
            feed,
            exploiter_micro: 0,
        }
    }
}

/// A log as a block keeps it; its log index is its position in the block.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainLog {
    pub log: Log,
    /// Index of the block transaction that emitted it (its hash is the block's transaction hash at that index).
    pub tx_index: u32,
}

/// What changed in the simulation since the previous block, as the next block's state transition sees it.
pub(crate) struct BlockInputs {
    pub number: u64,
    pub tx_count: u32,
    /// Live module balances (micro-TRN), in [`MODULES`] order.
    pub balances_micro: Vec<u128>,
    /// Drained since the previous block (micro-TRN), per module; part of the balance change.
    pub drained_micro: Vec<u128>,
    pub paused: Vec<bool>,
    /// The module `admin-takeover` is active on.
    pub takeover: Option<usize>,
    /// The module `reorg` grants its retractable role on in this block.
    pub reorg_grant: Option<usize>,
    pub feed: FeedRound,
}

/// The state after a block and the logs that explain the change, in emission order. Also returns the log
/// index of the reorg grant, if one was emitted.
pub(crate) fn transition(
    addresses: &Addresses,
    previous: &ChainState,
    inputs: &BlockInputs,
) -> (ChainState, Vec<ChainLog>, Option<usize>) {
    let mut state = previous.clone();
    let mut logs: Vec<Log> = Vec::new();
    let mut reorg_log = None;
    let grant = |role: B256, account: Address, sender: Address| IModule::RoleGranted {
        role,
        account,
        sender,
    };
    for (index, module) in state.modules.iter_mut().enumerate() {
        let contract = addresses.modules[index];
        if !module.deployed {
            // Deployment-time setup, logged once so a watcher can learn the role holders from events.
            module.deployed = true;
            logs.push(event(
                contract,
                &IModule::OwnershipTransferred {
                    previousOwner: Address::ZERO,
                    newOwner: addresses.owner,
                },
            ));
            logs.push(event(
                contract,
                &grant(DEFAULT_ADMIN_ROLE, addresses.owner, addresses.owner),
            ));
            logs.push(event(
                contract,
                &grant(pauser_role(), addresses.guardian, addresses.owner),
            ));
        }
        // The block's net flow is split into the drain (to the exploiter) and ordinary user flow, so the
        // logged transfers sum exactly to the balance change.
        let drained = inputs.drained_micro[index];
        let after = inputs.balances_micro[index];
        let user_flow = after as i128 - module.balance_micro as i128 + drained as i128;
        let user = addresses.user(index, inputs.number);
        if user_flow != 0 {
            let (from, to) = if user_flow > 0 {
                (user, contract)
            } else {
                (contract, user)
            };
            logs.push(event(
                addresses.token,
                &IToken::Transfer {
                    from,
                    to,
                    value: wei(user_flow.unsigned_abs()),
                },
            ));
        }
        if drained > 0 {
            logs.push(event(
                addresses.token,
                &IToken::Transfer {
                    from: contract,
                    to: addresses.exploiter,
                    value: wei(drained),
                },
            ));
            state.exploiter_micro += drained;
        }
        module.balance_micro = after;
        if module.paused != inputs.paused[index] {
            module.paused = inputs.paused[index];
            let account = addresses.guardian;
            logs.push(if module.paused {
                event(contract, &IModule::Paused { account })
            } else {
                event(contract, &IModule::Unpaused { account })
            });
        }
        let takeover = inputs.takeover == Some(index);
        if module.takeover_admin != takeover {
            module.takeover_admin = takeover;
            logs.push(if takeover {
                // The unknown account grants itself the role: the signature of a leaked admin key.
                event(
                    contract,
                    &grant(DEFAULT_ADMIN_ROLE, addresses.unknown, addresses.unknown),
                )
            } else {
                // Ending the scenario models the owner revoking the rogue admin.
                event(
                    contract,
                    &IModule::RoleRevoked {
                        role: DEFAULT_ADMIN_ROLE,
                        account: addresses.unknown,
                        sender: addresses.owner,
                    },
                )
            });
        }
        if inputs.reorg_grant == Some(index) {
            module.reorg_admin = true;
            reorg_log = Some(logs.len());
            logs.push(event(
                contract,
                &grant(DEFAULT_ADMIN_ROLE, addresses.unknown, addresses.unknown),
            ));
        }
    }
    if inputs.feed != state.feed {
        state.feed = inputs.feed;
        logs.push(event(
            addresses.feed,
            &IPriceFeed::AnswerUpdated {
                current: I256::try_from(inputs.feed.answer).unwrap_or(I256::ZERO),
                roundId: U256::from(inputs.feed.round_id),
                updatedAt: U256::from(inputs.feed.updated_at),
            },
        ));
    }
    (state, with_tx_indexes(logs, inputs.tx_count), reorg_log)
}

/// Spreads logs over the block's transactions: one transaction per log while there are enough, the rest
/// in the last one.
pub(crate) fn with_tx_indexes(logs: Vec<Log>, tx_count: u32) -> Vec<ChainLog> {
    let last = tx_count.saturating_sub(1);
    logs.into_iter()
        .enumerate()
        .map(|(index, log)| ChainLog {
            log,
            tx_index: (index as u32).min(last),
        })
        .collect()
}

fn event<E: SolEvent>(address: Address, event: &E) -> Log {
    Log {
        address,
        data: event.encode_log_data(),
    }
}

/// How an `eth_call` ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// Returned data (`0x` for an address without code).
    Return(Vec<u8>),
    /// Reverted with this data (`0x` for a bare revert).
    Revert(Vec<u8>),
}

/// Runs a read-only call against the state of one block.
pub fn call(addresses: &Addresses, state: &ChainState, to: &Address, data: &[u8]) -> CallOutcome {
    let outcome = if *to == addresses.token {
        token_call(addresses, state, data)
    } else if *to == addresses.feed {
        feed_call(state, data)
    } else if let Some(index) = addresses.modules.iter().position(|m| m == to) {
        module_call(addresses, &state.modules[index], data)
    } else {
        // Calling an account without code succeeds and returns nothing.
        return CallOutcome::Return(Vec::new());
    };
    // No fallback function: an unknown selector or malformed arguments revert without data.
    outcome.unwrap_or_else(|| CallOutcome::Revert(Vec::new()))
}

fn token_call(addresses: &Addresses, state: &ChainState, data: &[u8]) -> Option<CallOutcome> {
    use IToken::ITokenCalls as Calls;
    let returned = match Calls::abi_decode(data).ok()? {
        Calls::balanceOf(call) => {
            let micro =
                if let Some(index) = addresses.modules.iter().position(|m| *m == call.account) {
                    state.modules[index].balance_micro
                } else if call.account == addresses.exploiter {
                    state.exploiter_micro
                } else {
                    0
                };
            IToken::balanceOfCall::abi_encode_returns(&wei(micro))
        }
        Calls::decimals(_) => IToken::decimalsCall::abi_encode_returns(&TOKEN_DECIMALS),
        Calls::symbol(_) => IToken::symbolCall::abi_encode_returns(&TOKEN_SYMBOL.to_owned()),
        Calls::name(_) => IToken::nameCall::abi_encode_returns(&TOKEN_NAME.to_owned()),
        Calls::totalSupply(_) => IToken::totalSupplyCall::abi_encode_returns(
            &(U256::from(TOTAL_SUPPLY_TRN) * U256::from(10u64).pow(U256::from(TOKEN_DECIMALS))),
        ),
    };
    Some(CallOutcome::Return(returned))
}

fn module_call(addresses: &Addresses, module: &ModuleState, data: &[u8]) -> Option<CallOutcome> {
    use IModule::IModuleCalls as Calls;
    let returned = match Calls::abi_decode(data).ok()? {
        Calls::paused(_) => IModule::pausedCall::abi_encode_returns(&module.paused),
        Calls::owner(_) => IModule::ownerCall::abi_encode_returns(&module.owner(addresses)),
        Calls::hasRole(call) => IModule::hasRoleCall::abi_encode_returns(&module.has_role(
            addresses,
            call.role,
            call.account,
        )),
        // Every role is administered by DEFAULT_ADMIN_ROLE, AccessControl's default.
        Calls::getRoleAdmin(_) => {
            IModule::getRoleAdminCall::abi_encode_returns(&DEFAULT_ADMIN_ROLE)
        }
        Calls::token(_) => IModule::tokenCall::abi_encode_returns(&addresses.token),
        Calls::DEFAULT_ADMIN_ROLE(_) => {
            IModule::DEFAULT_ADMIN_ROLECall::abi_encode_returns(&DEFAULT_ADMIN_ROLE)
        }
        Calls::PAUSER_ROLE(_) => IModule::PAUSER_ROLECall::abi_encode_returns(&pauser_role()),
    };
    Some(CallOutcome::Return(returned))
}

fn feed_call(state: &ChainState, data: &[u8]) -> Option<CallOutcome> {
    use IPriceFeed::IPriceFeedCalls as Calls;
    let round = &state.feed;
    let answer = I256::try_from(round.answer).unwrap_or(I256::ZERO);
    let round_data = || IPriceFeed::latestRoundDataReturn {
        roundId: U80::from(round.round_id),
        answer,
        startedAt: U256::from(round.started_at),
        updatedAt: U256::from(round.updated_at),
        answeredInRound: U80::from(round.round_id),
    };
    let returned = match Calls::abi_decode(data).ok()? {
        Calls::latestRoundData(_) => {
            IPriceFeed::latestRoundDataCall::abi_encode_returns(&round_data())
        }
        Calls::getRoundData(call) => {
            // Only the newest round is kept per block; older rounds revert like an unknown round does.
            if call._roundId != U80::from(round.round_id) {
                return Some(CallOutcome::Revert(
                    Revert::from("No data present").abi_encode(),
                ));
            }
            let data = round_data();
            IPriceFeed::getRoundDataCall::abi_encode_returns(&IPriceFeed::getRoundDataReturn {
                roundId: data.roundId,
                answer: data.answer,
                startedAt: data.startedAt,
                updatedAt: data.updatedAt,
                answeredInRound: data.answeredInRound,
            })
        }
        Calls::decimals(_) => IPriceFeed::decimalsCall::abi_encode_returns(&FEED_DECIMALS),
        Calls::description(_) => {
            IPriceFeed::descriptionCall::abi_encode_returns(&FEED_DESCRIPTION.to_owned())
        }
        Calls::version(_) => IPriceFeed::versionCall::abi_encode_returns(&U256::from(FEED_VERSION)),
        Calls::latestAnswer(_) => IPriceFeed::latestAnswerCall::abi_encode_returns(&answer),
        Calls::latestTimestamp(_) => {
            IPriceFeed::latestTimestampCall::abi_encode_returns(&U256::from(round.updated_at))
        }
        Calls::latestRound(_) => {
            IPriceFeed::latestRoundCall::abi_encode_returns(&U256::from(round.round_id))
        }
    };
    Some(CallOutcome::Return(returned))
}

/// Bytes as `0x`-prefixed lowercase hex.
pub(crate) fn hex_data(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}
