//! `spawn_app`: the real application on port 0 with a temporary SQLite file and a fast core.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use vigil::app::Application;
use vigil::config::Settings;

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    /// The embedded core, unless the test turned it off.
    pub core: Option<protocol::CoreHandle>,
    pub responder: responder::Responder,
    pub data_dir: tempfile::TempDir,
    shutdown: CancellationToken,
    stopped: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Settings for tests: loopback port 0, a temp data dir, 100 ms slots.
pub fn test_settings(data_dir: &std::path::Path) -> Settings {
    let mut settings = Settings::default();
    settings.server.listen = "127.0.0.1:0".parse().unwrap();
    settings.storage.data_dir = data_dir.to_path_buf();
    settings.core.slot_ms = 100;
    settings.core.price_tick = model::HumanDuration::from_millis(100);
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}, HashMap::new()).await
}

pub async fn spawn_app_with(
    customize: impl FnOnce(&mut Settings),
    env: HashMap<String, String>,
) -> TestApp {
    spawn_app_in(tempfile::tempdir().unwrap(), customize, env).await
}

/// As [`spawn_app_with`], on an existing data directory (a restart).
pub async fn spawn_app_in(
    data_dir: tempfile::TempDir,
    customize: impl FnOnce(&mut Settings),
    env: HashMap<String, String>,
) -> TestApp {
    vigil::telemetry::init("warn");
    vigil::telemetry::ensure_crypto_provider();
    let mut settings = test_settings(data_dir.path());
    customize(&mut settings);
    let app = Application::build(settings, &env, &())
        .await
        .expect("the application builds");
    let addr = app.local_addr();
    let core = app.core();
    let responder = app.responder();
    let shutdown = CancellationToken::new();
    let stopped = tokio::spawn(app.run_until_stopped(shutdown.clone().cancelled_owned()));
    TestApp {
        addr,
        http: reqwest::Client::new(),
        core,
        responder,
        data_dir,
        shutdown,
        stopped,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.http.get(self.url(path)).send().await.unwrap();
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_raw(&self, path: &str, body: &'static str) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Stops the app and waits until it has shut down cleanly.
    pub async fn stop(self) -> tempfile::TempDir {
        self.shutdown.cancel();
        self.stopped.await.unwrap().expect("a clean shutdown");
        self.data_dir
    }
}

/// Polls `check` until it returns `Some`, failing after `patience`.
pub async fn eventually<T, F, Fut>(patience: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {patience:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn module<'a>(core: &'a Value, name: &str) -> &'a Value {
    core["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|module| module["name"] == name)
        .unwrap_or_else(|| panic!("module {name} in {core}"))
}

/// A PostgreSQL database of its own (from `VIGIL_TEST_POSTGRES_URL`), so a test starts from an empty
/// schema and may share it between several Vigils; dropped by [`ScratchDatabase::drop_now`].
pub struct ScratchDatabase {
    pub url: String,
    name: String,
    admin: sqlx::PgPool,
}

impl ScratchDatabase {
    /// `None` (and a "skipped" line) without `VIGIL_TEST_POSTGRES_URL`.
    pub async fn create(prefix: &str) -> Option<Self> {
        let Ok(url) = std::env::var("VIGIL_TEST_POSTGRES_URL") else {
            eprintln!("skipped: set VIGIL_TEST_POSTGRES_URL to run against PostgreSQL");
            return None;
        };
        let name = format!("{prefix}_{}", std::process::id());
        let admin = sqlx::PgPool::connect(&url)
            .await
            .expect("postgres reachable");
        for statement in [
            format!("drop database if exists {name} with (force)"),
            format!("create database {name}"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&admin)
                .await
                .unwrap();
        }
        let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
        Some(Self {
            url: format!("{base}/{name}"),
            name,
            admin,
        })
    }

    pub async fn drop_now(self) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "drop database if exists {} with (force)",
            self.name
        )))
        .execute(&self.admin)
        .await
        .unwrap();
    }
}
