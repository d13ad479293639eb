//! Several Vigils on one PostgreSQL database: membership and leader election through the database itself.
//!
//! Every member upserts a heartbeat row every [`ClusterConfig::heartbeat`] and tries to take (or renew)
//! the `leader` lease for [`ClusterConfig::lease`]. Exactly one member holds the lease at a time (see
//! [`crate::store::cluster`]); singleton work — the scheduled health-check rounds with their backups —
//! runs on the leader only. Everything else is safe on every member already: outbox pages are claimed
//! under leases, incidents are written under versions and opened under a unique dedup key, and
//! escalation steps are idempotent.
//!
//! A leader that stops cleanly releases the lease, so another member takes over within one heartbeat; one
//! that crashes is replaced when its lease lapses. A member that cannot reach the database stops
//! considering itself leader as soon as its own lease would have lapsed, so two leaders never act at once
//! for longer than the clock skew between them.
//!
//! With SQLite (one process) the single member is always the leader.

use model::HumanDuration;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::service::duration_ms;
use crate::store::{ClusterMember, Store, StoreError};
use crate::time::rfc3339;

const LEADER_LEASE: &str = "leader";

/// `[cluster]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// This member's id. Default: `<hostname>-<random>`, new at each start.
    pub node_id: Option<String>,
    /// The address other members and people reach this member at. Default: the listen address.
    pub advertise_addr: Option<String>,
    /// How often a member reports itself and renews or tries the lease. Default 2s.
    pub heartbeat: HumanDuration,
    /// How long a lease lasts without renewal: how long a crashed leader's work waits. Default 10s.
    pub lease: HumanDuration,
    /// Members silent this long are no longer listed. Default 30s.
    pub member_ttl: HumanDuration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            node_id: None,
            advertise_addr: None,
            heartbeat: HumanDuration::from_secs(2),
            lease: HumanDuration::from_secs(10),
            member_ttl: HumanDuration::from_secs(30),
        }
    }
}

impl ClusterConfig {
    /// Problems as `(path, message)`.
    pub fn validate(&self, path: &str) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.heartbeat.get().is_zero() {
            problems.push((
                format!("{path}.heartbeat"),
                "must be longer than 0s".to_owned(),
            ));
        }
        if self.lease.get() < self.heartbeat.get() * 2 {
            problems.push((
                format!("{path}.lease"),
                "must be at least twice the heartbeat, or a busy leader loses its lease between renewals"
                    .to_owned(),
            ));
        }
        if self.member_ttl.get() < self.heartbeat.get() * 2 {
            problems.push((
                format!("{path}.member_ttl"),
                "must be at least twice the heartbeat".to_owned(),
            ));
        }
        if let Some(id) = &self.node_id
            && (id.trim().is_empty() || id.len() > 128)
        {
            problems.push((
                format!("{path}.node_id"),
                "must be 1 to 128 characters".to_owned(),
            ));
        }
        problems
    }
}

/// `GET /api/v1/cluster`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterView {
    #[serde(rename = "self")]
    pub self_id: String,
    /// The member holding an unexpired lease, if any.
    pub leader: Option<String>,
    pub leader_since: Option<String>,
    pub members: Vec<MemberView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberView {
    pub id: String,
    pub addr: String,
    pub started_at: String,
    pub last_heartbeat: String,
    pub targets: u32,
    pub leader: bool,
}

/// This member's view of the cluster; cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: ClusterConfig,
    id: String,
    addr: String,
    started_at_ms: i64,
    targets: AtomicU32,
    leader: AtomicBool,
    /// Until when this member's lease runs, as far as it knows (0: not held).
    lease_until_ms: AtomicI64,
}

impl Cluster {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: ClusterConfig,
        addr: &str,
    ) -> Self {
        let id = config
            .node_id
            .clone()
            .unwrap_or_else(|| format!("{}-{}", hostname(), crate::service::random_hex(6)));
        let addr = config
            .advertise_addr
            .clone()
            .unwrap_or_else(|| addr.to_owned());
        let started_at_ms = clock.now_ms();
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                config,
                id,
                addr,
                started_at_ms,
                targets: AtomicU32::new(0),
                leader: AtomicBool::new(false),
                lease_until_ms: AtomicI64::new(0),
            }),
        }
    }

    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// Whether this member holds the leader lease now (and the lease has not lapsed since it was renewed).
    pub fn is_leader(&self) -> bool {
        self.inner.leader.load(Ordering::SeqCst)
            && self.inner.clock.now_ms() < self.inner.lease_until_ms.load(Ordering::SeqCst)
    }

    /// How many targets this member scrapes (shown in the member list).
    pub fn set_targets(&self, targets: u32) {
        self.inner.targets.store(targets, Ordering::Relaxed);
    }

    /// One heartbeat: report this member, then take or renew the lease. Returns whether it leads.
    pub async fn tick(&self) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let now = inner.clock.now_ms();
        inner
            .store
            .heartbeat_member(&ClusterMember {
                id: inner.id.clone(),
                addr: inner.addr.clone(),
                started_at_ms: inner.started_at_ms,
                last_heartbeat_ms: now,
                targets: i64::from(inner.targets.load(Ordering::Relaxed)),
            })
            .await?;
        let until = now + duration_ms(inner.config.lease);
        let leads = inner
            .store
            .take_lease(LEADER_LEASE, &inner.id, now, until)
            .await?;
        inner
            .lease_until_ms
            .store(if leads { until } else { 0 }, Ordering::SeqCst);
        let was = inner.leader.swap(leads, Ordering::SeqCst);
        if leads != was {
            if leads {
                tracing::info!(member = %inner.id, "this member is now the leader");
            } else {
                tracing::warn!(member = %inner.id, "this member is no longer the leader");
            }
        }
        Ok(leads)
    }

    /// Runs heartbeats until `shutdown`, then releases the lease and leaves the member list.
    pub fn spawn(&self, tasks: &TaskTracker, shutdown: CancellationToken) {
        let cluster = self.clone();
        tasks.spawn(async move {
            let mut ticker = tokio::time::interval(cluster.inner.config.heartbeat.get());
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => break,
                    _ = ticker.tick() => {}
                }
                if let Err(error) = cluster.tick().await {
                    tracing::warn!(error = %error, "cluster heartbeat failed");
                }
            }
            cluster.leave().await;
        });
    }

    /// Hands the lease over and leaves the member list (a clean shutdown).
    pub async fn leave(&self) {
        let inner = &self.inner;
        inner.leader.store(false, Ordering::SeqCst);
        inner.lease_until_ms.store(0, Ordering::SeqCst);
        let silent_before = inner.clock.now_ms() - duration_ms(inner.config.member_ttl) * 10;
        if let Err(error) = inner.store.release_lease(LEADER_LEASE, &inner.id).await {
            tracing::warn!(error = %error, "could not release the leader lease");
        }
        if let Err(error) = inner.store.remove_member(&inner.id, silent_before).await {
            tracing::warn!(error = %error, "could not leave the member list");
        }
    }

    /// The members seen within `member_ttl` and the current leader.
    pub async fn view(&self) -> Result<ClusterView, StoreError> {
        let inner = &self.inner;
        let now = inner.clock.now_ms();
        let lease = inner
            .store
            .lease(LEADER_LEASE)
            .await?
            .filter(|lease| lease.lease_until_ms > now);
        let members = inner
            .store
            .cluster_members(now - duration_ms(inner.config.member_ttl))
            .await?;
        let leader = lease.as_ref().map(|lease| lease.holder.clone());
        Ok(ClusterView {
            self_id: inner.id.clone(),
            leader_since: lease.as_ref().map(|lease| rfc3339(lease.acquired_at_ms)),
            members: members
                .into_iter()
                .map(|member| MemberView {
                    leader: leader.as_deref() == Some(member.id.as_str()),
                    id: member.id,
                    addr: member.addr,
                    started_at: rfc3339(member.started_at_ms),
                    last_heartbeat: rfc3339(member.last_heartbeat_ms),
                    targets: u32::try_from(member.targets).unwrap_or(0),
                })
                .collect(),
            leader,
        })
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "vigil".to_owned())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::ManualClock;
    use crate::store::testsuite::open_sqlite;

    fn member(store: &Arc<dyn Store>, clock: &ManualClock, id: &str) -> Cluster {
        Cluster::new(
            store.clone(),
            Arc::new(clock.clone()),
            ClusterConfig {
                node_id: Some(id.to_owned()),
                ..ClusterConfig::default()
            },
            &format!("{id}:8080"),
        )
    }

    #[tokio::test]
    async fn one_member_leads_and_another_takes_over_when_it_stops_or_goes_silent() {
        let test = open_sqlite().await.unwrap();
        let clock = ManualClock::new(1_000_000);
        let (a, b) = (
            member(&test.store, &clock, "a"),
            member(&test.store, &clock, "b"),
        );
        assert!(a.tick().await.unwrap());
        assert!(!b.tick().await.unwrap());
        assert!(a.is_leader() && !b.is_leader());
        let view = b.view().await.unwrap();
        assert_eq!(view.self_id, "b");
        assert_eq!(view.leader.as_deref(), Some("a"));
        assert_eq!(view.members.len(), 2);
        assert!(view.members.iter().any(|m| m.id == "a" && m.leader));

        // a goes silent: its own view lapses with its lease, and b takes over after it.
        clock.advance(Duration::from_secs(5));
        assert!(!b.tick().await.unwrap());
        clock.advance(Duration::from_secs(6));
        assert!(
            !a.is_leader(),
            "a's lease lapsed; it must not act as leader"
        );
        assert!(b.tick().await.unwrap());
        assert!(!a.tick().await.unwrap());

        // b stops cleanly: a takes over at its next heartbeat, not a lease later.
        b.leave().await;
        assert!(a.tick().await.unwrap());
        let view = a.view().await.unwrap();
        assert_eq!(view.leader.as_deref(), Some("a"));
        assert_eq!(
            view.members
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>(),
            ["a"]
        );
    }

    #[test]
    fn config_problems_are_named() {
        let config = ClusterConfig {
            heartbeat: HumanDuration::from_secs(5),
            lease: HumanDuration::from_secs(6),
            member_ttl: HumanDuration::from_secs(6),
            node_id: Some(String::new()),
            ..ClusterConfig::default()
        };
        let paths: Vec<String> = config
            .validate("cluster")
            .into_iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(
            paths,
            ["cluster.lease", "cluster.member_ttl", "cluster.node_id"]
        );
    }
}
