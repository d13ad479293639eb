//! Storage for running several Vigils on one database (see [`crate::cluster`]): member heartbeats, the
//! leader lease, and secrets every replica must share.
//!
//! The lease is taken with one conditional statement (`holder = me or lease_until_ms < now`), which
//! both backends execute atomically (PostgreSQL re-checks the condition under the row lock), so two
//! members never both hold it. Times are the members' wall clocks: the lease must be much longer than
//! the clock skew between them.

use serde::Serialize;

/// A running Vigil, as it last reported itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ClusterMember {
    pub id: String,
    /// Where it serves HTTP.
    pub addr: String,
    pub started_at_ms: i64,
    pub last_heartbeat_ms: i64,
    /// How many targets it scrapes.
    pub targets: i64,
}

/// Who holds the leader lease, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Lease {
    pub holder: String,
    pub lease_until_ms: i64,
    pub acquired_at_ms: i64,
}

pub(crate) const UPSERT_MEMBER: &str = "insert into cluster_members (id, addr, started_at_ms, last_heartbeat_ms, targets) \
     values ($1, $2, $3, $4, $5) on conflict (id) do update set addr = excluded.addr, \
     last_heartbeat_ms = excluded.last_heartbeat_ms, targets = excluded.targets";
pub(crate) const SELECT_MEMBERS: &str = "select id, addr, started_at_ms, last_heartbeat_ms, targets from cluster_members \
     where last_heartbeat_ms >= $1 order by started_at_ms, id";
pub(crate) const DELETE_MEMBER: &str = "delete from cluster_members where id = $1";
/// Forgets members silent since `$1` (crashed replicas), so the table does not grow with restarts.
pub(crate) const DELETE_SILENT_MEMBERS: &str =
    "delete from cluster_members where last_heartbeat_ms < $1";
pub(crate) const INSERT_LEASE: &str = "insert into cluster_leases (name, holder, lease_until_ms, acquired_at_ms) \
     values ($1, $2, $4, $3) on conflict (name) do nothing";
/// `$1` name, `$2` candidate, `$3` now, `$4` new lease end.
pub(crate) const TAKE_LEASE: &str = "update cluster_leases set \
     acquired_at_ms = case when holder = $2 then acquired_at_ms else $3 end, \
     holder = $2, lease_until_ms = $4 \
     where name = $1 and (holder = $2 or lease_until_ms < $3)";
pub(crate) const RELEASE_LEASE: &str =
    "update cluster_leases set lease_until_ms = 0 where name = $1 and holder = $2";
pub(crate) const SELECT_LEASE: &str =
    "select holder, lease_until_ms, acquired_at_ms from cluster_leases where name = $1";
pub(crate) const INSERT_SECRET: &str = "insert into shared_secrets (name, value, created_at_ms) values ($1, $2, $3) \
     on conflict (name) do nothing";
pub(crate) const SELECT_SECRET: &str = "select value from shared_secrets where name = $1";

/// `$1` chain, `$2` block, `$3` hash, `$4` state (JSON), `$5` now.
pub(crate) const UPSERT_CHECKPOINT: &str = "insert into chain_checkpoints (chain, block, hash, state, updated_at_ms) \
     values ($1, $2, $3, $4, $5) on conflict (chain) do update set block = excluded.block, \
     hash = excluded.hash, state = excluded.state, updated_at_ms = excluded.updated_at_ms";
pub(crate) const SELECT_CHECKPOINT: &str = "select state from chain_checkpoints where chain = $1";
