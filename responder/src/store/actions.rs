//! Storage for Responder II: the hash-chained pause audit log, health-check runs, and online backups.
//!
//! The methods are part of [`Store`](super::Store); their bodies are generated per backend by
//! [`impl_actions_store!`] inside `impl_store!`, so the SQL stays here, next to the row types.
//!
//! **Audit chain.** Each row's `hash` is `SHA-256(prev_hash || canonical row)` (hex), the first row's
//! `prev_hash` is [`GENESIS_HASH`]. The writer reads the last row and inserts `seq + 1` in one
//! transaction; a concurrent writer collides on the primary key and retries, so the chain never forks.
//!
//! **Backups.** SQLite: `VACUUM INTO` a new file (a consistent snapshot of the whole database).
//! PostgreSQL: a logical copy of the [`KEY_TABLES`] into a fresh SQLite file with the same (migrated)
//! schema. One format for both means the restore test is the same: open the file read-only and count.

use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::StoreError;

/// `prev_hash` of the first audit row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Tables a backup must contain and the restore test compares, parents before children.
pub const KEY_TABLES: [&str; 8] = [
    "incidents",
    "incident_timeline",
    "pages",
    "silences",
    "scenario_events",
    "pause_audit",
    "healthcheck_runs",
    "status_subscriptions",
];

/// An audit entry before it is chained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewAuditEntry {
    pub at_ms: i64,
    pub actor: String,
    /// The actor's role (`guardian`, `governor`, … or `system` for runbook steps).
    pub role: String,
    /// `pause`, `pause_refused`, `automatic_pause`, `automatic_pause_refused`, `unpause_approval`,
    /// `unpause_refused`, `unpause`, `pause_failed`, `unpause_failed`.
    pub action: String,
    pub module: String,
    pub reason: String,
    pub incident_id: Option<String>,
    /// What happened beyond the action: a tx hash, a refusal reason, the approvals counted.
    pub detail: String,
}

/// A chained audit row as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub module: String,
    pub reason: String,
    pub incident_id: Option<String>,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The fields a hash covers, in a fixed order (serde keeps declaration order), so the canonical form
/// does not depend on how a row was read.
#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    at_ms: i64,
    actor: &'a str,
    role: &'a str,
    action: &'a str,
    module: &'a str,
    reason: &'a str,
    incident_id: Option<&'a str>,
    detail: &'a str,
}

/// `hex(SHA-256(prev_hash || canonical JSON of the row))`.
pub fn chain_hash(prev_hash: &str, seq: i64, entry: &NewAuditEntry) -> String {
    let canonical = Canonical {
        seq,
        at_ms: entry.at_ms,
        actor: &entry.actor,
        role: &entry.role,
        action: &entry.action,
        module: &entry.module,
        reason: &entry.reason,
        incident_id: entry.incident_id.as_deref(),
        detail: &entry.detail,
    };
    let mut digest = Sha256::new();
    digest.update(prev_hash.as_bytes());
    digest.update(serde_json::to_vec(&canonical).unwrap_or_default());
    hex::encode(digest.finalize())
}

impl AuditEntry {
    fn unchained(&self) -> NewAuditEntry {
        NewAuditEntry {
            at_ms: self.at_ms,
            actor: self.actor.clone(),
            role: self.role.clone(),
            action: self.action.clone(),
            module: self.module.clone(),
            reason: self.reason.clone(),
            incident_id: self.incident_id.clone(),
            detail: self.detail.clone(),
        }
    }
}

/// Recomputes the chain over `entries` (oldest first): every row must follow the previous one in `seq`,
/// point at its hash, and hash to what it says. Returns the first broken row's `seq`, if any.
pub fn first_broken_link(entries: &[AuditEntry]) -> Option<i64> {
    let mut prev = GENESIS_HASH.to_owned();
    for (expected_seq, entry) in (1..).zip(entries) {
        if entry.seq != expected_seq
            || entry.prev_hash != prev
            || chain_hash(&prev, entry.seq, &entry.unchained()) != entry.hash
        {
            return Some(entry.seq);
        }
        prev.clone_from(&entry.hash);
    }
    None
}

/// A finished health-check suite run, before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewHealthcheckRun {
    pub suite: String,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub ok: bool,
    /// The check results as JSON (an array).
    pub results: serde_json::Value,
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthcheckRun {
    pub id: i64,
    pub suite: String,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub ok: bool,
    pub results: serde_json::Value,
    pub digest: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct HealthcheckRunRow {
    id: i64,
    suite: String,
    started_at_ms: i64,
    finished_at_ms: i64,
    ok: bool,
    results: String,
    digest: String,
}

impl TryFrom<HealthcheckRunRow> for HealthcheckRun {
    type Error = StoreError;

    fn try_from(row: HealthcheckRunRow) -> Result<Self, StoreError> {
        let results = serde_json::from_str(&row.results).map_err(|error| {
            StoreError::Corrupt(format!(
                "healthcheck_runs.results of row {}: {error}",
                row.id
            ))
        })?;
        Ok(HealthcheckRun {
            id: row.id,
            suite: row.suite,
            started_at_ms: row.started_at_ms,
            finished_at_ms: row.finished_at_ms,
            ok: row.ok,
            results,
            digest: row.digest,
        })
    }
}

pub(crate) const SELECT_LAST_AUDIT: &str =
    "select seq, hash from pause_audit order by seq desc limit 1";
pub(crate) const INSERT_AUDIT: &str = "insert into pause_audit \
     (seq, at_ms, actor, role, action, module, reason, incident_id, detail, prev_hash, hash) \
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
pub(crate) const SELECT_AUDIT: &str = "select seq, at_ms, actor, role, action, module, reason, incident_id, detail, prev_hash, hash \
     from pause_audit order by seq";
pub(crate) const INSERT_HEALTHCHECK_RUN: &str = "insert into healthcheck_runs \
     (suite, started_at_ms, finished_at_ms, ok, results, digest) values ($1, $2, $3, $4, $5, $6) \
     returning id, suite, started_at_ms, finished_at_ms, ok, results, digest";
pub(crate) const SELECT_HEALTHCHECK_RUNS: &str = "select id, suite, started_at_ms, finished_at_ms, ok, results, digest \
     from healthcheck_runs order by id desc limit $1";

/// Attempts at appending an audit row when a concurrent writer took the next `seq`.
pub(crate) const AUDIT_ATTEMPTS: usize = 8;

/// Whether an append failed only because another writer was faster (retry with the new last row).
pub(crate) fn is_append_race(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(database) => {
            database.is_unique_violation()
                // SQLite refuses to upgrade a read transaction when another connection wrote meanwhile.
                || database.message().contains("database is locked")
                || database.message().contains("database table is locked")
        }
        _ => false,
    }
}

/// Appends one chained audit row (see the module docs), retrying when a concurrent writer took the
/// next `seq`. Generic over the backend's database.
pub(crate) async fn append_audit<DB>(
    pool: &sqlx::Pool<DB>,
    entry: &NewAuditEntry,
) -> Result<AuditEntry, StoreError>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::ColumnIndex<DB::Row>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let mut attempt: u64 = 0;
    loop {
        attempt += 1;
        let result: Result<AuditEntry, sqlx::Error> = async {
            let mut tx = pool.begin().await?;
            let last: Option<(i64, String)> = sqlx::query_as(SELECT_LAST_AUDIT)
                .fetch_optional(&mut *tx)
                .await?;
            let (seq, prev_hash) = match last {
                Some((seq, hash)) => (seq + 1, hash),
                None => (1, GENESIS_HASH.to_owned()),
            };
            let hash = chain_hash(&prev_hash, seq, entry);
            sqlx::query(INSERT_AUDIT)
                .bind(seq)
                .bind(entry.at_ms)
                .bind(entry.actor.clone())
                .bind(entry.role.clone())
                .bind(entry.action.clone())
                .bind(entry.module.clone())
                .bind(entry.reason.clone())
                .bind(entry.incident_id.clone())
                .bind(entry.detail.clone())
                .bind(prev_hash.clone())
                .bind(hash.clone())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(AuditEntry {
                seq,
                at_ms: entry.at_ms,
                actor: entry.actor.clone(),
                role: entry.role.clone(),
                action: entry.action.clone(),
                module: entry.module.clone(),
                reason: entry.reason.clone(),
                incident_id: entry.incident_id.clone(),
                detail: entry.detail.clone(),
                prev_hash,
                hash,
            })
        }
        .await;
        match result {
            Ok(stored) => return Ok(stored),
            Err(error) if attempt < AUDIT_ATTEMPTS as u64 && is_append_race(&error) => {
                tokio::time::sleep(std::time::Duration::from_millis(5 * attempt)).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// The two things a backup needs from a pool, per backend.
#[async_trait::async_trait]
pub(crate) trait BackupPool {
    async fn backup_into(&self, path: &Path) -> Result<(), StoreError>;
}

#[async_trait::async_trait]
impl BackupPool for sqlx::SqlitePool {
    async fn backup_into(&self, path: &Path) -> Result<(), StoreError> {
        // VACUUM INTO writes a consistent snapshot while other connections keep working (online backup).
        sqlx::query("vacuum into $1")
            .bind(path.display().to_string())
            .execute(self)
            .await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl BackupPool for sqlx::PgPool {
    async fn backup_into(&self, path: &Path) -> Result<(), StoreError> {
        let target = open_sqlite_file(path, false).await?;
        // The same schema as a SQLite deployment, so a backup can also be opened as one.
        let migrated = sqlx::migrate!("./migrations/sqlite")
            .run(&target)
            .await
            .map_err(StoreError::from);
        let result = match migrated {
            Ok(()) => copy_tables_into(self, &target).await,
            Err(error) => Err(error),
        };
        target.close().await;
        result
    }
}

/// Opens a SQLite file (created unless `read_only`) with one connection.
async fn open_sqlite_file(path: &Path, read_only: bool) -> Result<sqlx::SqlitePool, StoreError> {
    use sqlx::sqlite::SqliteConnectOptions;
    let url = format!("sqlite://{}", path.display());
    let connect_error = |source| StoreError::Connect {
        url: url.clone(),
        source,
    };
    let options = <SqliteConnectOptions as std::str::FromStr>::from_str(&url)
        .map_err(connect_error)?
        .create_if_missing(!read_only)
        .read_only(read_only);
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(connect_error)
}

/// Copies every [`KEY_TABLES`] row from PostgreSQL into the (empty, migrated) SQLite file, column by
/// column through JSON, so the copy needs no per-table code.
async fn copy_tables_into(
    source: &sqlx::PgPool,
    target: &sqlx::SqlitePool,
) -> Result<(), StoreError> {
    // One repeatable-read transaction: the copy is a snapshot even while incidents keep changing.
    let mut snapshot = source.begin().await?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *snapshot)
        .await?;
    for table in KEY_TABLES {
        let rows: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select coalesce(json_agg(t)::text, '[]') from {table} t"
        )))
        .fetch_one(&mut *snapshot)
        .await?;
        import_json_rows(target, table, &rows).await?;
    }
    snapshot.commit().await?;
    Ok(())
}

/// Inserts rows given as a JSON array of objects (column -> value) into `table`, taking the columns the
/// SQLite table has.
async fn import_json_rows(
    target: &sqlx::SqlitePool,
    table: &str,
    rows: &str,
) -> Result<(), StoreError> {
    let columns: Vec<String> =
        sqlx::query_scalar("select name from pragma_table_info($1) order by cid")
            .bind(table)
            .fetch_all(target)
            .await?;
    if columns.is_empty() {
        return Err(StoreError::Corrupt(format!(
            "backup target has no table {table}"
        )));
    }
    let names = columns.join(", ");
    let values = columns
        .iter()
        .map(|column| format!("json_extract(value, '$.{column}')"))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "insert into {table} ({names}) select {values} from json_each($1)"
    )))
    .bind(rows)
    .execute(target)
    .await?;
    Ok(())
}

/// Generates the Responder II methods of [`Store`](super::Store) inside `impl_store!` (so `self.pool`
/// is in reach).
macro_rules! impl_actions_store {
    () => {
        // `#[async_trait]` does not look inside macro invocations, so these are written in the form it
        // expands trait methods to: boxed `Send` futures with its lifetime names.
        fn append_audit<'life0, 'life1, 'async_trait>(
            &'life0 self,
            entry: &'life1 $crate::store::NewAuditEntry,
        ) -> ::std::pin::Pin<
            Box<
                dyn ::std::future::Future<
                        Output = Result<$crate::store::AuditEntry, $crate::store::StoreError>,
                    > + Send
                    + 'async_trait,
            >,
        >
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin($crate::store::actions::append_audit(&self.pool, entry))
        }

        fn audit_entries<'life0, 'async_trait>(
            &'life0 self,
        ) -> ::std::pin::Pin<
            Box<
                dyn ::std::future::Future<
                        Output = Result<Vec<$crate::store::AuditEntry>, $crate::store::StoreError>,
                    > + Send
                    + 'async_trait,
            >,
        >
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move {
                Ok(sqlx::query_as::<_, $crate::store::AuditEntry>(
                    $crate::store::actions::SELECT_AUDIT,
                )
                .fetch_all(&self.pool)
                .await?)
            })
        }

        fn record_healthcheck_run<'life0, 'life1, 'async_trait>(
            &'life0 self,
            run: &'life1 $crate::store::NewHealthcheckRun,
        ) -> ::std::pin::Pin<
            Box<
                dyn ::std::future::Future<
                        Output = Result<$crate::store::HealthcheckRun, $crate::store::StoreError>,
                    > + Send
                    + 'async_trait,
            >,
        >
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move {
                let row = sqlx::query_as::<_, $crate::store::actions::HealthcheckRunRow>(
                    $crate::store::actions::INSERT_HEALTHCHECK_RUN,
                )
                .bind(&run.suite)
                .bind(run.started_at_ms)
                .bind(run.finished_at_ms)
                .bind(run.ok)
                .bind(run.results.to_string())
                .bind(&run.digest)
                .fetch_one(&self.pool)
                .await?;
                row.try_into()
            })
        }

        fn healthcheck_runs<'life0, 'async_trait>(
            &'life0 self,
            limit: u32,
        ) -> ::std::pin::Pin<
            Box<
                dyn ::std::future::Future<
                        Output = Result<
                            Vec<$crate::store::HealthcheckRun>,
                            $crate::store::StoreError,
                        >,
                    > + Send
                    + 'async_trait,
            >,
        >
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move {
                let rows = sqlx::query_as::<_, $crate::store::actions::HealthcheckRunRow>(
                    $crate::store::actions::SELECT_HEALTHCHECK_RUNS,
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            })
        }

        fn key_table_counts<'life0, 'async_trait>(
            &'life0 self,
        ) -> ::std::pin::Pin<
            Box<
                dyn ::std::future::Future<
                        Output = Result<Vec<(String, i64)>, $crate::store::StoreError>,
                    > + Send
                    + 'async_trait,
            >,
        >
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move {
                let mut counts = Vec::new();
                for table in $crate::store::actions::KEY_TABLES {
                    let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "select count(*) from {table}"
                    )))
                    .fetch_one(&self.pool)
                    .await?;
                    counts.push((table.to_owned(), count));
                }
                Ok(counts)
            })
        }

        fn backup_to<'life0, 'life1, 'async_trait>(
            &'life0 self,
            path: &'life1 ::std::path::Path,
        ) -> ::std::pin::Pin<
            Box<
                dyn ::std::future::Future<Output = Result<(), $crate::store::StoreError>>
                    + Send
                    + 'async_trait,
            >,
        >
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            Self: 'async_trait,
        {
            $crate::store::actions::BackupPool::backup_into(&self.pool, path)
        }

        fn execute_for_tests<'life0, 'life1, 'async_trait>(
            &'life0 self,
            sql: &'life1 str,
        ) -> ::std::pin::Pin<
            Box<
                dyn ::std::future::Future<Output = Result<u64, $crate::store::StoreError>>
                    + Send
                    + 'async_trait,
            >,
        >
        where
            'life0: 'async_trait,
            'life1: 'async_trait,
            Self: 'async_trait,
        {
            Box::pin(async move {
                Ok(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            })
        }
    };
}
pub(crate) use impl_actions_store;

/// Opens a backup file read-only and counts the rows of [`KEY_TABLES`] (the restore test).
pub async fn count_rows_in_backup(path: &Path) -> Result<Vec<(String, i64)>, StoreError> {
    if !path.exists() {
        return Err(StoreError::Corrupt(format!(
            "backup {} does not exist",
            path.display()
        )));
    }
    let pool = open_sqlite_file(path, true).await?;
    let mut counts = Vec::new();
    let mut failure = None;
    for table in KEY_TABLES {
        let count: Result<i64, sqlx::Error> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
                .fetch_one(&pool)
                .await;
        match count {
            Ok(count) => counts.push((table.to_owned(), count)),
            Err(error) => {
                failure = Some(StoreError::Query(error));
                break;
            }
        }
    }
    pool.close().await;
    match failure {
        Some(error) => Err(error),
        None => Ok(counts),
    }
}
