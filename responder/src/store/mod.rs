//! Vigil's storage: one [`Store`] trait, implemented for SQLite and PostgreSQL through sqlx.
//!
//! Both backends run the same logical schema (two migration trees, `migrations/sqlite` and
//! `migrations/postgres`) and the same SQL text where the dialects agree (`$N` placeholders work on both).
//! Times are stored as Unix milliseconds (BIGINT) so both backends compare and sort them the same way.
//! The shared [`testsuite`] runs against each backend.
//!
//! Incident changes are written whole, guarded by a version column (optimistic concurrency), together with
//! their timeline entries and outbox pages in one transaction: a page exists exactly when the change that
//! caused it was committed. Outbox pages carry a unique idempotency key, so enqueueing twice is harmless.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

pub mod actions;
pub mod cluster;
mod postgres;
mod records;
mod sqlite;
pub mod subscriptions;
#[doc(hidden)]
pub mod testsuite;

pub use actions::{AuditEntry, HealthcheckRun, NewAuditEntry, NewHealthcheckRun};
pub use cluster::{ClusterMember, Lease};
pub use postgres::PgStore;
pub use records::{
    HeartbeatRecord, Incident, IncidentFilter, IncidentState, IncidentWrite, NewPage, NewSilence,
    NewTimelineEntry, PageOutcome, PageRecord, PageState, Silence, TimelineEntry,
};
pub use sqlite::SqliteStore;
pub use subscriptions::{Subscription, SubscriptionKind, SubscriptionState};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {url}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database query failed")]
    Query(#[from] sqlx::Error),
    #[error("invalid database url {0:?}: expected sqlite:… or postgres://…")]
    InvalidUrl(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// A concurrent change won (version mismatch), or a unique key is taken (an open incident with the
    /// same dedup key).
    #[error("conflicting change: {0}")]
    Conflict(String),
}

impl model::HasKind for StoreError {
    fn kind(&self) -> model::ErrorKind {
        match self {
            StoreError::InvalidUrl(_) => model::ErrorKind::InvalidInput,
            StoreError::Connect { .. } | StoreError::Query(_) => model::ErrorKind::Unavailable,
            StoreError::Migrate(_) | StoreError::Corrupt(_) => model::ErrorKind::Internal,
            StoreError::Conflict(_) => model::ErrorKind::Conflict,
        }
    }
}

/// Outbox rows by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct DeliveryCounts {
    pub sent: i64,
    pub pending: i64,
    pub failed: i64,
}

/// The outbox at a glance, for metrics and alerts on stuck delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct OutboxBacklog {
    /// Pages not yet delivered (including ones waiting for a retry).
    pub pending: i64,
    /// When the oldest pending page was queued (Unix ms).
    pub oldest_pending_ms: Option<i64>,
    /// Pages dead-lettered after their retry budget or a permanent error.
    pub failed: i64,
}

/// A start or stop of a fault scenario in the embedded core, as requested through the API or the CLI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewScenarioEvent {
    pub scenario: String,
    /// `start` or `stop`.
    pub action: String,
    /// Who asked (token name, or `local` without tokens).
    pub actor: String,
    /// Whether the core's state changed (starting an active scenario changes nothing).
    pub changed: bool,
    /// Extra parameters, e.g. `{"module":"escrow"}`.
    pub params: serde_json::Value,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioEvent {
    pub id: i64,
    pub scenario: String,
    pub action: String,
    pub actor: String,
    pub changed: bool,
    pub params: serde_json::Value,
    pub at_ms: i64,
}

/// Everything Vigil keeps, shaped around its uses rather than its tables.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Answers when the database is reachable.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Records a scenario start or stop; returns it once committed.
    async fn record_scenario_event(
        &self,
        event: &NewScenarioEvent,
    ) -> Result<ScenarioEvent, StoreError>;
    /// The most recent scenario events, newest first.
    async fn scenario_events(&self, limit: u32) -> Result<Vec<ScenarioEvent>, StoreError>;
    /// Waits for in-flight work and closes the connections.
    async fn close(&self);

    /// Inserts a new incident with its first timeline entries and pages, in one transaction.
    /// Fails with [`StoreError::Conflict`] when an open incident already has the same dedup key.
    async fn create_incident(
        &self,
        incident: &Incident,
        write: &IncidentWrite,
    ) -> Result<(), StoreError>;
    /// Writes `incident` back if its stored version still equals `incident.version` (then bumps it), with
    /// the timeline entries and pages of the change, in one transaction. [`StoreError::Conflict`] otherwise.
    async fn update_incident(
        &self,
        incident: &Incident,
        write: &IncidentWrite,
    ) -> Result<(), StoreError>;
    async fn incident(&self, id: &str) -> Result<Option<Incident>, StoreError>;
    /// The incident with `dedup_key` that is not resolved, if any (there is at most one).
    async fn open_incident_by_key(&self, dedup_key: &str) -> Result<Option<Incident>, StoreError>;
    /// Incidents in the filter's states, newest first.
    async fn incidents(
        &self,
        filter: IncidentFilter,
        limit: u32,
    ) -> Result<Vec<Incident>, StoreError>;
    /// Incidents opened in `[from_ms, to_ms)`, oldest first.
    async fn incidents_opened_between(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Incident>, StoreError>;
    /// Unresolved incidents whose escalation step is due at `now_ms`, or that have been clear since
    /// `clear_before_ms` or earlier.
    async fn incidents_due(
        &self,
        now_ms: i64,
        clear_before_ms: i64,
    ) -> Result<Vec<Incident>, StoreError>;
    /// The incident's timeline, oldest first.
    async fn timeline(&self, incident_id: &str) -> Result<Vec<TimelineEntry>, StoreError>;
    /// Appends timeline entries outside an incident change (delivery outcomes).
    async fn append_timeline(
        &self,
        incident_id: &str,
        entries: &[NewTimelineEntry],
    ) -> Result<(), StoreError>;

    /// Puts pages in the outbox; a page whose idempotency key exists already is skipped. Returns how many
    /// were new.
    async fn enqueue_pages(&self, pages: &[NewPage]) -> Result<u64, StoreError>;
    /// Claims up to `limit` pages of `channel` that are due at `now_ms` and not leased, leasing them until
    /// `lease_until_ms` under `claim_token` and counting an attempt. Two claimers never get the same page;
    /// a page whose lease ran out (its worker crashed) is claimable again.
    async fn claim_due_pages(
        &self,
        channel: &str,
        now_ms: i64,
        lease_until_ms: i64,
        claim_token: &str,
        limit: u32,
    ) -> Result<Vec<PageRecord>, StoreError>;
    /// Records how a claimed delivery ended. Returns false when the claim was lost (the lease expired and
    /// another worker claimed the page), in which case nothing changes.
    async fn complete_page(
        &self,
        page_id: i64,
        claim_token: &str,
        outcome: &PageOutcome,
    ) -> Result<bool, StoreError>;
    /// The most recent pages to responders, newest first. Status-page subscriber traffic (channels
    /// `status-*`) is left out: one public update can mean thousands of rows.
    async fn pages(&self, limit: u32) -> Result<Vec<PageRecord>, StoreError>;
    /// The incident's pages to responders (no `status-*` rows), oldest first.
    async fn pages_of_incident(&self, incident_id: &str) -> Result<Vec<PageRecord>, StoreError>;
    /// Trigger pages without a fallback yet that are dead-lettered or pending since `pending_before_ms`.
    async fn pages_for_fallback(
        &self,
        pending_before_ms: i64,
    ) -> Result<Vec<PageRecord>, StoreError>;
    /// Marks a page's fallback as handled; true only for the caller that changed it.
    async fn mark_fallback_done(&self, page_id: i64) -> Result<bool, StoreError>;
    /// Unresolved incidents counted by `(level, state)` (for metrics: no rows are read).
    async fn open_incident_counts(&self) -> Result<Vec<(String, String, i64)>, StoreError>;
    /// The messages to status-page subscribers about one incident, by state.
    async fn subscriber_deliveries(&self, incident_id: &str) -> Result<DeliveryCounts, StoreError>;
    /// How many pages wait in the outbox, since when, and how many were dead-lettered.
    async fn outbox_backlog(&self) -> Result<OutboxBacklog, StoreError>;

    async fn create_silence(&self, silence: &NewSilence) -> Result<Silence, StoreError>;
    /// Every silence, newest first, expired ones included.
    async fn silences(&self) -> Result<Vec<Silence>, StoreError>;
    /// Ends a silence at `at_ms` (no-op if it ended earlier); `None` if there is no such silence.
    async fn expire_silence(&self, id: i64, at_ms: i64) -> Result<Option<Silence>, StoreError>;

    async fn record_heartbeat(&self, name: &str, at_ms: i64) -> Result<(), StoreError>;
    async fn heartbeats(&self) -> Result<Vec<HeartbeatRecord>, StoreError>;

    // ---- status-page subscriptions (see [`subscriptions`]) ----
    /// Inserts a new subscription with the outbox rows of its request, in one transaction.
    /// [`StoreError::Conflict`] when the address has a subscription already (a concurrent request won).
    async fn create_subscription(
        &self,
        subscription: &Subscription,
        pages: &[NewPage],
    ) -> Result<(), StoreError>;
    /// Writes `subscription` back if its stored version still equals `subscription.version`, with the
    /// outbox rows of the change, in one transaction; [`StoreError::Conflict`] otherwise.
    async fn update_subscription(
        &self,
        subscription: &Subscription,
        pages: &[NewPage],
    ) -> Result<(), StoreError>;
    async fn subscription(&self, id: &str) -> Result<Option<Subscription>, StoreError>;
    async fn subscription_by_address(
        &self,
        kind: SubscriptionKind,
        address: &str,
    ) -> Result<Option<Subscription>, StoreError>;
    /// Subscriptions in `state`, oldest first.
    async fn subscriptions_in_state(
        &self,
        state: SubscriptionState,
    ) -> Result<Vec<Subscription>, StoreError>;
    /// The most recent subscriptions in any state, newest first.
    async fn subscriptions(&self, limit: u32) -> Result<Vec<Subscription>, StoreError>;

    // ---- several replicas (see [`cluster`]) ----
    /// Records that `member` is alive (inserting or refreshing it).
    async fn heartbeat_member(&self, member: &ClusterMember) -> Result<(), StoreError>;
    /// Members whose last heartbeat is at or after `seen_since_ms`, oldest first.
    async fn cluster_members(&self, seen_since_ms: i64) -> Result<Vec<ClusterMember>, StoreError>;
    /// Removes a member (it is shutting down), and forgets every member silent since `silent_before_ms`.
    async fn remove_member(&self, id: &str, silent_before_ms: i64) -> Result<(), StoreError>;
    /// Takes or renews the lease `name` for `holder` until `lease_until_ms` if it is free, lapsed at
    /// `now_ms`, or already `holder`'s; returns whether `holder` holds it now.
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Gives the lease up at once if `holder` has it (a clean shutdown hands over without waiting).
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
    async fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError>;
    /// The secret `name`, storing `candidate` first if there is none yet: every replica gets the same
    /// value, whoever asked first.
    async fn shared_secret(
        &self,
        name: &str,
        candidate: &str,
        now_ms: i64,
    ) -> Result<String, StoreError>;

    // ---- chain watching ----
    /// Stores the checkpoint of chain `chain`: its last processed block, that block's hash and the
    /// watcher's state (JSON), replacing the previous one.
    async fn save_chain_checkpoint(
        &self,
        chain: &str,
        block: i64,
        hash: &str,
        state: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    /// The stored state of chain `chain`, if any.
    async fn chain_checkpoint(&self, chain: &str) -> Result<Option<String>, StoreError>;

    // ---- Responder II (see [`actions`]): pause audit log, health-check runs, backups ----
    /// Appends `entry` to the hash-chained pause audit log; returns the row with its `seq` and hashes.
    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry, StoreError>;
    /// The whole audit log, oldest first.
    async fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError>;
    async fn record_healthcheck_run(
        &self,
        run: &NewHealthcheckRun,
    ) -> Result<HealthcheckRun, StoreError>;
    /// The most recent health-check runs, newest first.
    async fn healthcheck_runs(&self, limit: u32) -> Result<Vec<HealthcheckRun>, StoreError>;
    /// Row counts of [`actions::KEY_TABLES`], in that order.
    async fn key_table_counts(&self) -> Result<Vec<(String, i64)>, StoreError>;
    /// Writes an online backup to the SQLite file `path` (which must not exist yet).
    async fn backup_to(&self, path: &std::path::Path) -> Result<(), StoreError>;
    /// Runs one raw statement (tests tamper with rows through it); never called by Vigil itself.
    #[doc(hidden)]
    async fn execute_for_tests(&self, sql: &str) -> Result<u64, StoreError>;
}

/// Opens (creating if needed) and migrates the database named by `url`: `sqlite:PATH`/`sqlite://PATH` or
/// `postgres://…`/`postgresql://…`.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> =
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Arc::new(PgStore::connect(url).await?)
        } else if url.starts_with("sqlite:") {
            Arc::new(SqliteStore::connect(url).await?)
        } else {
            return Err(StoreError::InvalidUrl(url.to_owned()));
        };
    store.migrate().await?;
    Ok(store)
}

/// Row shape shared by both backends.
#[derive(sqlx::FromRow)]
struct ScenarioEventRow {
    id: i64,
    scenario: String,
    action: String,
    actor: String,
    changed: bool,
    params: String,
    at_ms: i64,
}

impl TryFrom<ScenarioEventRow> for ScenarioEvent {
    type Error = StoreError;

    fn try_from(row: ScenarioEventRow) -> Result<Self, Self::Error> {
        let params = serde_json::from_str(&row.params).map_err(|error| {
            StoreError::Corrupt(format!("scenario_events.params of row {}: {error}", row.id))
        })?;
        Ok(ScenarioEvent {
            id: row.id,
            scenario: row.scenario,
            action: row.action,
            actor: row.actor,
            changed: row.changed,
            params,
            at_ms: row.at_ms,
        })
    }
}

const INSERT_SCENARIO_EVENT: &str = "insert into scenario_events (scenario, action, actor, changed, params, at_ms) \
     values ($1, $2, $3, $4, $5, $6) returning id, scenario, action, actor, changed, params, at_ms";
const SELECT_SCENARIO_EVENTS: &str = "select id, scenario, action, actor, changed, params, at_ms from scenario_events order by id desc limit $1";

/// Implements [`Store`] for a backend type with a `pool` field. The SQL is the same on both backends, so only
/// the name and the migration tree differ.
macro_rules! impl_store {
    ($store:ty, $backend:literal, $migrations:literal, $claim_sql:expr) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn migrate(&self) -> Result<(), $crate::store::StoreError> {
                sqlx::migrate!($migrations).run(&self.pool).await?;
                Ok(())
            }

            async fn ping(&self) -> Result<(), $crate::store::StoreError> {
                sqlx::query("select 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn record_scenario_event(
                &self,
                event: &$crate::store::NewScenarioEvent,
            ) -> Result<$crate::store::ScenarioEvent, $crate::store::StoreError> {
                let row: $crate::store::ScenarioEventRow =
                    sqlx::query_as($crate::store::INSERT_SCENARIO_EVENT)
                        .bind(&event.scenario)
                        .bind(&event.action)
                        .bind(&event.actor)
                        .bind(event.changed)
                        .bind(event.params.to_string())
                        .bind(event.at_ms)
                        .fetch_one(&self.pool)
                        .await?;
                row.try_into()
            }

            async fn scenario_events(
                &self,
                limit: u32,
            ) -> Result<Vec<$crate::store::ScenarioEvent>, $crate::store::StoreError> {
                let rows: Vec<$crate::store::ScenarioEventRow> =
                    sqlx::query_as($crate::store::SELECT_SCENARIO_EVENTS)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn close(&self) {
                self.pool.close().await;
            }

            async fn create_incident(
                &self,
                incident: &$crate::store::Incident,
                write: &$crate::store::IncidentWrite,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.pool.begin().await?;
                let inserted = $crate::store::bind_incident(
                    sqlx::query($crate::store::records::INSERT_INCIDENT),
                    incident,
                    incident.version,
                )
                .execute(&mut *tx)
                .await;
                if let Err(error) = inserted {
                    return Err($crate::store::conflict_on_unique(
                        error,
                        format!(
                            "an open incident with dedup key {:?} exists",
                            incident.dedup_key
                        ),
                    ));
                }
                $crate::store::write_rest!(tx, &incident.id, write);
                tx.commit().await?;
                Ok(())
            }

            async fn update_incident(
                &self,
                incident: &$crate::store::Incident,
                write: &$crate::store::IncidentWrite,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.pool.begin().await?;
                let updated = $crate::store::bind_incident(
                    sqlx::query($crate::store::records::UPDATE_INCIDENT),
                    incident,
                    incident.version,
                )
                .execute(&mut *tx)
                .await
                .map_err(|error| {
                    $crate::store::conflict_on_unique(
                        error,
                        format!(
                            "an open incident with dedup key {:?} exists",
                            incident.dedup_key
                        ),
                    )
                })?;
                if updated.rows_affected() == 0 {
                    return Err($crate::store::StoreError::Conflict(format!(
                        "incident {} changed concurrently (expected version {})",
                        incident.id, incident.version
                    )));
                }
                $crate::store::write_rest!(tx, &incident.id, write);
                tx.commit().await?;
                Ok(())
            }

            async fn incident(
                &self,
                id: &str,
            ) -> Result<Option<$crate::store::Incident>, $crate::store::StoreError> {
                sqlx::query_as::<_, $crate::store::records::IncidentRow>(
                    $crate::store::records::SELECT_INCIDENT,
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn open_incident_by_key(
                &self,
                dedup_key: &str,
            ) -> Result<Option<$crate::store::Incident>, $crate::store::StoreError> {
                sqlx::query_as::<_, $crate::store::records::IncidentRow>(
                    $crate::store::records::SELECT_OPEN_INCIDENT_BY_KEY,
                )
                .bind(dedup_key)
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn incidents(
                &self,
                filter: $crate::store::IncidentFilter,
                limit: u32,
            ) -> Result<Vec<$crate::store::Incident>, $crate::store::StoreError> {
                let [a, b, c] = $crate::store::filter_states(filter);
                let rows = sqlx::query_as::<_, $crate::store::records::IncidentRow>(
                    $crate::store::records::SELECT_INCIDENTS_IN_STATES,
                )
                .bind(a)
                .bind(b)
                .bind(c)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn incidents_opened_between(
                &self,
                from_ms: i64,
                to_ms: i64,
            ) -> Result<Vec<$crate::store::Incident>, $crate::store::StoreError> {
                let rows = sqlx::query_as::<_, $crate::store::records::IncidentRow>(
                    $crate::store::records::SELECT_INCIDENTS_OPENED_SINCE,
                )
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn incidents_due(
                &self,
                now_ms: i64,
                clear_before_ms: i64,
            ) -> Result<Vec<$crate::store::Incident>, $crate::store::StoreError> {
                let rows = sqlx::query_as::<_, $crate::store::records::IncidentRow>(
                    $crate::store::records::SELECT_INCIDENTS_DUE,
                )
                .bind(now_ms)
                .bind(clear_before_ms)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn timeline(
                &self,
                incident_id: &str,
            ) -> Result<Vec<$crate::store::TimelineEntry>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<_, $crate::store::TimelineEntry>(
                    $crate::store::records::SELECT_TIMELINE,
                )
                .bind(incident_id)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn append_timeline(
                &self,
                incident_id: &str,
                entries: &[$crate::store::NewTimelineEntry],
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.pool.begin().await?;
                let write = $crate::store::IncidentWrite {
                    timeline: entries.to_vec(),
                    pages: Vec::new(),
                };
                $crate::store::write_rest!(tx, incident_id, &write);
                tx.commit().await?;
                Ok(())
            }

            async fn enqueue_pages(
                &self,
                pages: &[$crate::store::NewPage],
            ) -> Result<u64, $crate::store::StoreError> {
                let mut tx = self.pool.begin().await?;
                let mut inserted = 0;
                for page in pages {
                    inserted += $crate::store::bind_page(
                        sqlx::query($crate::store::records::INSERT_PAGE),
                        page,
                    )
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
                Ok(inserted)
            }

            async fn claim_due_pages(
                &self,
                channel: &str,
                now_ms: i64,
                lease_until_ms: i64,
                claim_token: &str,
                limit: u32,
            ) -> Result<Vec<$crate::store::PageRecord>, $crate::store::StoreError> {
                let rows = sqlx::query_as::<_, $crate::store::records::PageRow>($claim_sql)
                    .bind(lease_until_ms)
                    .bind(claim_token)
                    .bind(channel)
                    .bind(now_ms)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                let mut pages = rows
                    .into_iter()
                    .map(TryInto::try_into)
                    .collect::<Result<Vec<$crate::store::PageRecord>, _>>()?;
                // RETURNING does not keep the subquery's order.
                pages.sort_by_key(|page| (page.next_attempt_at_ms, page.id));
                Ok(pages)
            }

            async fn complete_page(
                &self,
                page_id: i64,
                claim_token: &str,
                outcome: &$crate::store::PageOutcome,
            ) -> Result<bool, $crate::store::StoreError> {
                use $crate::store::PageOutcome;
                let (state, error, next_attempt, sent_at): (
                    &str,
                    Option<&str>,
                    Option<i64>,
                    Option<i64>,
                ) = match outcome {
                    PageOutcome::Sent { at_ms } => ("sent", None, None, Some(*at_ms)),
                    PageOutcome::Retry {
                        error,
                        next_attempt_at_ms,
                    } => (
                        "pending",
                        Some(error.as_str()),
                        Some(*next_attempt_at_ms),
                        None,
                    ),
                    PageOutcome::Failed { error } => ("failed", Some(error.as_str()), None, None),
                };
                let result = sqlx::query($crate::store::records::COMPLETE_PAGE)
                    .bind(state)
                    .bind(error)
                    .bind(next_attempt)
                    .bind(sent_at)
                    .bind(page_id)
                    .bind(claim_token)
                    .execute(&self.pool)
                    .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn pages(
                &self,
                limit: u32,
            ) -> Result<Vec<$crate::store::PageRecord>, $crate::store::StoreError> {
                let rows = sqlx::query_as::<_, $crate::store::records::PageRow>(
                    $crate::store::records::SELECT_PAGES,
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn pages_of_incident(
                &self,
                incident_id: &str,
            ) -> Result<Vec<$crate::store::PageRecord>, $crate::store::StoreError> {
                let rows = sqlx::query_as::<_, $crate::store::records::PageRow>(
                    $crate::store::records::SELECT_PAGES_OF_INCIDENT,
                )
                .bind(incident_id)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn pages_for_fallback(
                &self,
                pending_before_ms: i64,
            ) -> Result<Vec<$crate::store::PageRecord>, $crate::store::StoreError> {
                let rows = sqlx::query_as::<_, $crate::store::records::PageRow>(
                    $crate::store::records::SELECT_PAGES_FOR_FALLBACK,
                )
                .bind(pending_before_ms)
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn mark_fallback_done(
                &self,
                page_id: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                let result = sqlx::query($crate::store::records::MARK_FALLBACK_DONE)
                    .bind(page_id)
                    .execute(&self.pool)
                    .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn open_incident_counts(
                &self,
            ) -> Result<Vec<(String, String, i64)>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<_, (String, String, i64)>(
                    "select level, state, count(*) from incidents where state <> 'resolved' \
                     group by level, state",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            async fn subscriber_deliveries(
                &self,
                incident_id: &str,
            ) -> Result<$crate::store::DeliveryCounts, $crate::store::StoreError> {
                let rows = sqlx::query_as::<_, (String, i64)>(
                    "select state, count(*) from pages where incident_id = $1 \
                     and channel in ('status-email', 'status-webhook') group by state",
                )
                .bind(incident_id)
                .fetch_all(&self.pool)
                .await?;
                let mut counts = $crate::store::DeliveryCounts::default();
                for (state, count) in rows {
                    match state.as_str() {
                        "sent" => counts.sent = count,
                        "failed" => counts.failed = count,
                        _ => counts.pending += count,
                    }
                }
                Ok(counts)
            }

            async fn outbox_backlog(
                &self,
            ) -> Result<$crate::store::OutboxBacklog, $crate::store::StoreError> {
                let (pending, oldest_pending_ms) = sqlx::query_as::<_, (i64, Option<i64>)>(
                    "select count(*), min(created_at_ms) from pages where state = 'pending'",
                )
                .fetch_one(&self.pool)
                .await?;
                let failed: i64 =
                    sqlx::query_scalar("select count(*) from pages where state = 'failed'")
                        .fetch_one(&self.pool)
                        .await?;
                Ok($crate::store::OutboxBacklog {
                    pending,
                    oldest_pending_ms,
                    failed,
                })
            }

            async fn heartbeat_member(
                &self,
                member: &$crate::store::ClusterMember,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::cluster::UPSERT_MEMBER)
                    .bind(&member.id)
                    .bind(&member.addr)
                    .bind(member.started_at_ms)
                    .bind(member.last_heartbeat_ms)
                    .bind(member.targets)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn cluster_members(
                &self,
                seen_since_ms: i64,
            ) -> Result<Vec<$crate::store::ClusterMember>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<_, $crate::store::ClusterMember>(
                    $crate::store::cluster::SELECT_MEMBERS,
                )
                .bind(seen_since_ms)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn remove_member(
                &self,
                id: &str,
                silent_before_ms: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::cluster::DELETE_MEMBER)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                sqlx::query($crate::store::cluster::DELETE_SILENT_MEMBERS)
                    .bind(silent_before_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn take_lease(
                &self,
                name: &str,
                holder: &str,
                now_ms: i64,
                lease_until_ms: i64,
            ) -> Result<bool, $crate::store::StoreError> {
                let inserted = sqlx::query($crate::store::cluster::INSERT_LEASE)
                    .bind(name)
                    .bind(holder)
                    .bind(now_ms)
                    .bind(lease_until_ms)
                    .execute(&self.pool)
                    .await?;
                if inserted.rows_affected() == 1 {
                    return Ok(true);
                }
                let taken = sqlx::query($crate::store::cluster::TAKE_LEASE)
                    .bind(name)
                    .bind(holder)
                    .bind(now_ms)
                    .bind(lease_until_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(taken.rows_affected() == 1)
            }

            async fn release_lease(
                &self,
                name: &str,
                holder: &str,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::cluster::RELEASE_LEASE)
                    .bind(name)
                    .bind(holder)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn lease(
                &self,
                name: &str,
            ) -> Result<Option<$crate::store::Lease>, $crate::store::StoreError> {
                Ok(
                    sqlx::query_as::<_, $crate::store::Lease>($crate::store::cluster::SELECT_LEASE)
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await?,
                )
            }

            async fn shared_secret(
                &self,
                name: &str,
                candidate: &str,
                now_ms: i64,
            ) -> Result<String, $crate::store::StoreError> {
                sqlx::query($crate::store::cluster::INSERT_SECRET)
                    .bind(name)
                    .bind(candidate)
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(sqlx::query_scalar($crate::store::cluster::SELECT_SECRET)
                    .bind(name)
                    .fetch_one(&self.pool)
                    .await?)
            }

            async fn save_chain_checkpoint(
                &self,
                chain: &str,
                block: i64,
                hash: &str,
                state: &str,
                now_ms: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::cluster::UPSERT_CHECKPOINT)
                    .bind(chain)
                    .bind(block)
                    .bind(hash)
                    .bind(state)
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn chain_checkpoint(
                &self,
                chain: &str,
            ) -> Result<Option<String>, $crate::store::StoreError> {
                Ok(
                    sqlx::query_scalar($crate::store::cluster::SELECT_CHECKPOINT)
                        .bind(chain)
                        .fetch_optional(&self.pool)
                        .await?,
                )
            }

            async fn create_subscription(
                &self,
                subscription: &$crate::store::Subscription,
                pages: &[$crate::store::NewPage],
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::subscriptions as sql;
                let mut tx = self.pool.begin().await?;
                let inserted =
                    sql::bind_subscription(sqlx::query(sql::INSERT_SUBSCRIPTION), subscription)
                        .execute(&mut *tx)
                        .await;
                if let Err(error) = inserted {
                    return Err($crate::store::conflict_on_unique(
                        error,
                        format!(
                            "{} {} has a subscription already",
                            subscription.kind.as_str(),
                            subscription.address
                        ),
                    ));
                }
                $crate::store::insert_pages!(tx, pages);
                tx.commit().await?;
                Ok(())
            }

            async fn update_subscription(
                &self,
                subscription: &$crate::store::Subscription,
                pages: &[$crate::store::NewPage],
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::subscriptions as sql;
                let mut tx = self.pool.begin().await?;
                let updated =
                    sql::bind_subscription(sqlx::query(sql::UPDATE_SUBSCRIPTION), subscription)
                        .execute(&mut *tx)
                        .await?;
                if updated.rows_affected() == 0 {
                    return Err($crate::store::StoreError::Conflict(format!(
                        "subscription {} changed concurrently (expected version {})",
                        subscription.id, subscription.version
                    )));
                }
                $crate::store::insert_pages!(tx, pages);
                tx.commit().await?;
                Ok(())
            }

            async fn subscription(
                &self,
                id: &str,
            ) -> Result<Option<$crate::store::Subscription>, $crate::store::StoreError> {
                use $crate::store::subscriptions as sql;
                sqlx::query_as::<_, sql::SubscriptionRow>(sql::SELECT_SUBSCRIPTION)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn subscription_by_address(
                &self,
                kind: $crate::store::SubscriptionKind,
                address: &str,
            ) -> Result<Option<$crate::store::Subscription>, $crate::store::StoreError> {
                use $crate::store::subscriptions as sql;
                sqlx::query_as::<_, sql::SubscriptionRow>(sql::SELECT_SUBSCRIPTION_BY_ADDRESS)
                    .bind(kind.as_str())
                    .bind(address)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryInto::try_into)
                    .transpose()
            }

            async fn subscriptions_in_state(
                &self,
                state: $crate::store::SubscriptionState,
            ) -> Result<Vec<$crate::store::Subscription>, $crate::store::StoreError> {
                use $crate::store::subscriptions as sql;
                let rows =
                    sqlx::query_as::<_, sql::SubscriptionRow>(sql::SELECT_SUBSCRIPTIONS_IN_STATE)
                        .bind(state.as_str())
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn subscriptions(
                &self,
                limit: u32,
            ) -> Result<Vec<$crate::store::Subscription>, $crate::store::StoreError> {
                use $crate::store::subscriptions as sql;
                let rows = sqlx::query_as::<_, sql::SubscriptionRow>(sql::SELECT_SUBSCRIPTIONS)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn create_silence(
                &self,
                silence: &$crate::store::NewSilence,
            ) -> Result<$crate::store::Silence, $crate::store::StoreError> {
                let row = sqlx::query_as::<_, $crate::store::records::SilenceRow>(
                    $crate::store::records::INSERT_SILENCE,
                )
                .bind($crate::store::records::to_json(&silence.matchers))
                .bind(&silence.comment)
                .bind(&silence.created_by)
                .bind(silence.starts_at_ms)
                .bind(silence.ends_at_ms)
                .bind(silence.created_at_ms)
                .fetch_one(&self.pool)
                .await?;
                row.try_into()
            }

            async fn silences(
                &self,
            ) -> Result<Vec<$crate::store::Silence>, $crate::store::StoreError> {
                let rows = sqlx::query_as::<_, $crate::store::records::SilenceRow>(
                    $crate::store::records::SELECT_SILENCES,
                )
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn expire_silence(
                &self,
                id: i64,
                at_ms: i64,
            ) -> Result<Option<$crate::store::Silence>, $crate::store::StoreError> {
                sqlx::query($crate::store::records::EXPIRE_SILENCE)
                    .bind(id)
                    .bind(at_ms)
                    .execute(&self.pool)
                    .await?;
                sqlx::query_as::<_, $crate::store::records::SilenceRow>(
                    $crate::store::records::SELECT_SILENCE,
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(TryInto::try_into)
                .transpose()
            }

            async fn record_heartbeat(
                &self,
                name: &str,
                at_ms: i64,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query($crate::store::records::UPSERT_HEARTBEAT)
                    .bind(name)
                    .bind(at_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn heartbeats(
                &self,
            ) -> Result<Vec<$crate::store::HeartbeatRecord>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<_, $crate::store::HeartbeatRecord>(
                    $crate::store::records::SELECT_HEARTBEATS,
                )
                .fetch_all(&self.pool)
                .await?)
            }

            $crate::store::actions::impl_actions_store!();
        }
    };
}
pub(crate) use impl_store;

/// Writes the timeline entries and pages of an incident change inside the open transaction `$tx`.
macro_rules! write_rest {
    ($tx:ident, $incident_id:expr, $write:expr) => {
        for entry in &$write.timeline {
            sqlx::query($crate::store::records::INSERT_TIMELINE)
                .bind($incident_id)
                .bind(entry.at_ms)
                .bind(&entry.kind)
                .bind(&entry.actor)
                .bind(&entry.text)
                .execute(&mut *$tx)
                .await?;
        }
        $crate::store::insert_pages!($tx, &$write.pages);
    };
}
pub(crate) use write_rest;

/// Inserts outbox pages inside the open transaction `$tx` (existing idempotency keys are skipped).
macro_rules! insert_pages {
    ($tx:ident, $pages:expr) => {
        for page in $pages {
            $crate::store::bind_page(sqlx::query($crate::store::records::INSERT_PAGE), page)
                .execute(&mut *$tx)
                .await?;
        }
    };
}
pub(crate) use insert_pages;

/// Binds every incident column in the order of `INSERT_INCIDENT` and `UPDATE_INCIDENT` (`$29` = version).
pub(crate) fn bind_incident<'q, DB>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>,
    incident: &Incident,
    version: i64,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let json = records::IncidentJson::of(incident);
    query
        .bind(incident.id.clone())
        .bind(incident.dedup_key.clone())
        .bind(incident.title.clone())
        .bind(incident.level.as_str().to_owned())
        .bind(incident.state.as_str().to_owned())
        .bind(incident.component.clone())
        .bind(incident.category.clone())
        .bind(incident.source.clone())
        .bind(incident.summary.clone())
        .bind(incident.runbook.clone())
        .bind(incident.commander.clone())
        .bind(json.assignees)
        .bind(json.labels)
        .bind(incident.public_status.clone())
        .bind(incident.opened_at_ms)
        .bind(incident.acked_at_ms)
        .bind(incident.acked_by.clone())
        .bind(incident.resolved_at_ms)
        .bind(incident.last_signal_at_ms)
        .bind(incident.clear_since_ms)
        .bind(json.active_sources)
        .bind(incident.signal_count)
        .bind(incident.esc_level.as_str().to_owned())
        .bind(incident.esc_step)
        .bind(incident.esc_round)
        .bind(incident.next_escalation_at_ms)
        .bind(incident.suppressed.clone())
        .bind(json.paged_channels)
        .bind(version)
}

/// Binds a page in the order of `INSERT_PAGE`.
pub(crate) fn bind_page<'q, DB>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>,
    page: &NewPage,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    query
        .bind(page.idempotency_key.clone())
        .bind(page.incident_id.clone())
        .bind(page.channel.clone())
        .bind(page.action.clone())
        .bind(page.step.clone())
        .bind(records::to_json(&page.payload))
        .bind(page.due_at_ms)
        .bind(page.created_at_ms)
}

/// Turns a unique-constraint violation into [`StoreError::Conflict`]; other errors pass through.
pub(crate) fn conflict_on_unique(error: sqlx::Error, message: String) -> StoreError {
    match &error {
        sqlx::Error::Database(database) if database.is_unique_violation() => {
            StoreError::Conflict(message)
        }
        _ => StoreError::Query(error),
    }
}

/// The three states bound to `SELECT_INCIDENTS_IN_STATES` for a filter (repeats stand for fewer).
pub(crate) fn filter_states(filter: IncidentFilter) -> [&'static str; 3] {
    match filter {
        IncidentFilter::Open => ["triggered", "acknowledged", "acknowledged"],
        IncidentFilter::Acknowledged => ["acknowledged", "acknowledged", "acknowledged"],
        IncidentFilter::Resolved => ["resolved", "resolved", "resolved"],
        IncidentFilter::All => ["triggered", "acknowledged", "resolved"],
    }
}

/// Expands every shared store test for one backend. `$open` yields `Option<Arc<dyn Store>>`; `None` means the
/// backend is not configured here, and the test says it was skipped.
#[macro_export]
macro_rules! store_test_suite {
    ($backend:ident, $open:expr) => {
        mod $backend {
            $crate::store_test_suite!(@each $open;
                migrations_are_idempotent,
                scenario_events_round_trip_newest_first,
                scenario_event_params_keep_their_json,
                events_survive_reopening,
                incident_lifecycle_round_trips_with_its_timeline,
                one_open_incident_per_dedup_key,
                stale_incident_versions_are_refused,
                incident_listing_filters_by_state,
                due_incidents_are_found_by_escalation_time_and_clear_time,
                idempotency_key_prevents_duplicate_pages,
                pages_are_committed_with_the_incident_change,
                two_concurrent_claimers_never_get_the_same_page,
                expired_lease_makes_a_page_claimable_again,
                retried_pages_wait_for_their_next_attempt,
                lost_claims_cannot_overwrite_the_outcome,
                fallback_candidates_are_marked_once,
                silences_expire,
                heartbeats_upsert,
                subscriptions_round_trip_with_their_confirmation_page,
                outbox_backlog_counts_pending_pages_and_the_oldest,
                one_member_holds_the_lease_until_it_lapses_or_is_released,
                members_heartbeat_and_silent_ones_are_forgotten,
                the_first_shared_secret_wins,
                chain_checkpoints_replace_the_previous_one,
            );
        }
    };
    (@each $open:expr; $($test:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                let Some(handle) = $open.await else {
                    eprintln!("skipped {}: backend not configured (set VIGIL_TEST_POSTGRES_URL)", stringify!($test));
                    return;
                };
                $crate::store::testsuite::$test(handle).await;
            }
        )+
    };
}

#[cfg(test)]
mod tests {
    crate::store_test_suite!(sqlite, crate::store::testsuite::open_sqlite());
    crate::store_test_suite!(
        postgres,
        crate::store::testsuite::open_postgres_from_env("VIGIL_TEST_POSTGRES_URL")
    );

    #[tokio::test]
    async fn unknown_url_schemes_are_refused() {
        let error = crate::store::connect("mysql://localhost/vigil")
            .await
            .err()
            .expect("refused");
        assert!(
            error.to_string().contains("mysql://localhost/vigil"),
            "{error}"
        );
    }
}
