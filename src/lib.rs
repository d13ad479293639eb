//! The `vigil` binary's library: configuration, the CLI, the HTTP API and the wiring of the workspace crates.
//!
//! Only this crate knows the concrete parts; `protocol`, `collector`, `detector` and `responder` know only
//! `model`.

pub mod actions;
pub mod api;
pub mod app;
pub mod auth;
pub mod chain;
pub mod cli;
pub mod config;
pub mod metrics;
pub mod pages;
pub mod pipeline;
pub mod telemetry;
