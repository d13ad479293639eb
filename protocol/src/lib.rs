//! The embedded protocol core: a deterministic simulator of the protocol Vigil guards.
//!
//! [`sim::Core`] is a pure state machine — validators producing blocks every slot, the TRN token drifting
//! around its peg, pausable modules (bridge, escrow, auction, staking, registry) and fault scenarios — driven
//! only by its seed and the times it is advanced to, so the same seed gives the same chain. [`serve`] wraps it
//! in a running task and exposes it the way a real deployment is seen: an Ethereum JSON-RPC subset
//! ([`rpc`]) including contract reads and logs ([`evm`], [`logs`]), Prometheus text metrics ([`metrics`]) and a JSON price feed.

pub mod evm;
pub mod logs;
pub mod metrics;
pub mod rpc;
pub mod serve;
pub mod sim;

pub use evm::{ContractKind, CoreContract, FEED_DECIMALS, FEED_HEARTBEAT_SECS, TOKEN_DECIMALS};
pub use serve::{CoreHandle, router, spawn_driver};
pub use sim::{Core, CoreConfig, CoreError, CoreSnapshot, Scenario, ScenarioParams};

#[cfg(test)]
mod evm_tests;
