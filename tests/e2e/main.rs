//! End-to-end tests: they start the whole program (in process, or the real binary) and talk to it over HTTP
//! as its users and peers do. One test binary, one module per area.

mod actions;
mod chain;
mod cli;
mod cluster;
mod core_api;
mod evm;
mod evm_harness;
mod incidents;
mod live;
mod paging;
mod peers;
mod quiet;
mod subscriptions;
mod support;
