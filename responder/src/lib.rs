//! The responder: what Vigil does about problems — incidents and their timeline, paging, actions — and the
//! store they live in.
//!
//! For now it holds the store ([`store`]): one [`store::Store`] trait with SQLite (the default) and PostgreSQL
//! backends behind it, migrated at start-up.

pub mod store;

pub use store::{NewScenarioEvent, ScenarioEvent, Store, StoreError, connect};
