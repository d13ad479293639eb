//! The store tests every backend must pass, expanded per backend by [`crate::store_test_suite!`].

use std::str::FromStr;
use std::sync::Arc;

use sqlx::postgres::PgConnectOptions;

use super::{NewScenarioEvent, PgStore, SqliteStore, Store};

/// A store under test plus what reopening it needs.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    reopen: Reopen,
}

enum Reopen {
    Sqlite {
        url: String,
        _dir: Arc<TempDir>,
    },
    Postgres {
        options: Box<PgConnectOptions>,
        url: String,
    },
}

/// A temporary directory removed on drop (kept dependency-free: this module also builds outside tests).
pub struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestStore {
    async fn reopen(&self) -> Arc<dyn Store> {
        let store: Arc<dyn Store> = match &self.reopen {
            Reopen::Sqlite { url, .. } => Arc::new(SqliteStore::connect(url).await.unwrap()),
            Reopen::Postgres { options, url } => Arc::new(
                PgStore::connect_with((**options).clone(), url)
                    .await
                    .unwrap(),
            ),
        };
        store.migrate().await.unwrap();
        store
    }
}

pub async fn open_sqlite() -> Option<TestStore> {
    let dir = std::env::temp_dir().join(format!("vigil-store-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/vigil.db", dir.display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url).await.unwrap());
    store.migrate().await.unwrap();
    Some(TestStore {
        store,
        reopen: Reopen::Sqlite {
            url,
            _dir: Arc::new(TempDir(dir)),
        },
    })
}

/// Opens PostgreSQL from the URL in `variable`, in a fresh schema so tests never see each other's rows.
pub async fn open_postgres_from_env(variable: &str) -> Option<TestStore> {
    let url = std::env::var(variable).ok().filter(|url| !url.is_empty())?;
    let schema = format!("vigil_test_{}_{}", std::process::id(), unique());
    let admin = PgStore::connect(&url)
        .await
        .unwrap_or_else(|error| panic!("{variable}={url} is set but unreachable: {error:?}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("create schema {schema}")))
        .execute(&admin.pool_for_tests())
        .await
        .unwrap();
    admin.close().await;
    let options = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let store: Arc<dyn Store> =
        Arc::new(PgStore::connect_with(options.clone(), &url).await.unwrap());
    store.migrate().await.unwrap();
    Some(TestStore {
        store,
        reopen: Reopen::Postgres {
            options: Box::new(options),
            url,
        },
    })
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos() as u64;
    nanos * 1000 + NEXT.fetch_add(1, Ordering::Relaxed)
}

fn event(scenario: &str, action: &str, at_ms: i64) -> NewScenarioEvent {
    NewScenarioEvent {
        scenario: scenario.into(),
        action: action.into(),
        actor: "tester".into(),
        changed: true,
        params: serde_json::json!({}),
        at_ms,
    }
}

pub async fn migrations_are_idempotent(test: TestStore) {
    test.store
        .migrate()
        .await
        .expect("a second migration run is a no-op");
    test.store.ping().await.unwrap();
}

pub async fn scenario_events_round_trip_newest_first(test: TestStore) {
    let store = &test.store;
    let first = store
        .record_scenario_event(&event("depeg", "start", 1_000))
        .await
        .unwrap();
    let second = store
        .record_scenario_event(&event("depeg", "stop", 2_000))
        .await
        .unwrap();
    assert!(second.id > first.id);
    let listed = store.scenario_events(10).await.unwrap();
    assert_eq!(listed, vec![second.clone(), first]);
    assert_eq!(store.scenario_events(1).await.unwrap(), vec![second]);
}

pub async fn scenario_event_params_keep_their_json(test: TestStore) {
    let mut new = event("exploit-drain", "start", 5);
    new.params = serde_json::json!({"module": "escrow", "note": "drill \"quoted\""});
    new.changed = false;
    let stored = test.store.record_scenario_event(&new).await.unwrap();
    assert_eq!(stored.params, new.params);
    assert!(!stored.changed);
    assert_eq!(test.store.scenario_events(5).await.unwrap()[0], stored);
}

pub async fn events_survive_reopening(test: TestStore) {
    let stored = test
        .store
        .record_scenario_event(&event("block-stall", "start", 42))
        .await
        .unwrap();
    test.store.close().await;
    let reopened = test.reopen().await;
    assert_eq!(reopened.scenario_events(10).await.unwrap(), vec![stored]);
    reopened.close().await;
}
