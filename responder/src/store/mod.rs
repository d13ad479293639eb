//! Vigil's storage: one [`Store`] trait, implemented for SQLite and PostgreSQL through sqlx.
//!
//! Both backends run the same logical schema (two migration trees, `migrations/sqlite` and
//! `migrations/postgres`) and the same SQL text where the dialects agree (`$N` placeholders work on both).
//! Times are stored as Unix milliseconds (BIGINT) so both backends compare and sort them the same way.
//! The shared [`testsuite`] runs against each backend.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

mod postgres;
mod sqlite;
#[doc(hidden)]
pub mod testsuite;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

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
}

impl model::HasKind for StoreError {
    fn kind(&self) -> model::ErrorKind {
        match self {
            StoreError::InvalidUrl(_) => model::ErrorKind::InvalidInput,
            StoreError::Connect { .. } | StoreError::Query(_) => model::ErrorKind::Unavailable,
            StoreError::Migrate(_) | StoreError::Corrupt(_) => model::ErrorKind::Internal,
        }
    }
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
    ($store:ty, $backend:literal, $migrations:literal) => {
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
        }
    };
}
pub(crate) use impl_store;

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
