//! Helpers shared by the collector's integration tests: local HTTP servers on 127.0.0.1:0, an engine
//! started with test settings, and polling.

#![allow(dead_code)] // each test binary uses a different subset

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use collector::config::{CollectorSettings, TargetConfig, TargetKind};
use collector::engine::{CollectorMetrics, Engine, EngineHandle, EngineSinks, TargetHealth};
use collector::series::{Selector, SeriesLimits, SeriesStore};
use model::Sample;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Serves `router` on an ephemeral loopback port until the test's runtime ends.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("test server");
    });
    address
}

/// A target with a short interval, scraped at once (see [`fast_settings`]).
pub fn target(name: &str, kind: TargetKind, url: String) -> TargetConfig {
    TargetConfig::new(name, kind, url)
        .with_interval(Duration::from_millis(200), Duration::from_millis(150))
}

/// Settings for tests: first scrape immediately, no jitter.
pub fn fast_settings() -> CollectorSettings {
    CollectorSettings {
        first_scrape_spread: 0.0,
        jitter_fraction: 0.0,
        ..CollectorSettings::default()
    }
}

/// A running engine and what it writes to. Cancels the engine when dropped.
pub struct Running {
    pub handle: EngineHandle,
    pub store: Arc<SeriesStore>,
    pub metrics: CollectorMetrics,
    pub samples: mpsc::Receiver<Sample>,
    pub cancel: CancellationToken,
    pub tracker: TaskTracker,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

pub struct Start {
    pub settings: CollectorSettings,
    pub limits: SeriesLimits,
    pub channel_capacity: usize,
    pub client: Option<reqwest::Client>,
    pub registry: Option<prometheus_client::registry::Registry>,
}

impl Default for Start {
    fn default() -> Self {
        Self {
            settings: fast_settings(),
            limits: SeriesLimits::default(),
            channel_capacity: 100_000,
            client: None,
            registry: None,
        }
    }
}

pub fn start(targets: Vec<TargetConfig>) -> Running {
    start_with(targets, &mut Start::default())
}

pub fn start_with(targets: Vec<TargetConfig>, options: &mut Start) -> Running {
    let store = Arc::new(SeriesStore::new(options.limits.clone()));
    let metrics = match &mut options.registry {
        Some(registry) => CollectorMetrics::register(registry),
        None => CollectorMetrics::unregistered(),
    };
    let (sender, samples) = mpsc::channel(options.channel_capacity);
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let sinks = EngineSinks {
        store: Arc::clone(&store),
        samples: Some(sender),
        metrics: metrics.clone(),
        client: options.client.take(),
    };
    let handle = Engine::start(targets, &options.settings, sinks, cancel.clone(), &tracker)
        .expect("engine starts");
    Running {
        handle,
        store,
        metrics,
        samples,
        cancel,
        tracker,
    }
}

impl Running {
    pub fn health(&self, name: &str) -> TargetHealth {
        self.handle
            .target(name)
            .unwrap_or_else(|| panic!("no target {name}"))
    }

    /// Waits until `name` has completed at least `count` scrapes; returns its health then.
    pub async fn scrapes(&self, name: &str, count: u64) -> TargetHealth {
        wait_for(Duration::from_secs(10), || {
            let health = self.health(name);
            (health.scrapes_total >= count).then_some(health)
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "{name} did not complete {count} scrapes: {:?}",
                self.health(name)
            )
        })
    }

    /// Waits for the scrape after the current one to complete.
    pub async fn next_scrape(&self, name: &str) -> TargetHealth {
        let done = self.health(name).scrapes_total;
        self.scrapes(name, done + 1).await
    }

    /// The newest value of the one series `selector` selects.
    pub fn value(&self, selector: &str) -> f64 {
        let selector = Selector::parse(selector).expect("selector");
        let latest = self.store.latest(&selector);
        assert_eq!(
            latest.len(),
            1,
            "expected one series for {selector:?}, got {latest:?}"
        );
        latest[0].value
    }

    pub fn values(&self, selector: &str) -> Vec<f64> {
        let selector = Selector::parse(selector).expect("selector");
        self.store
            .latest(&selector)
            .into_iter()
            .map(|point| point.value)
            .collect()
    }
}

/// Polls `check` every 20 ms until it returns `Some` or `limit` passes.
pub async fn wait_for<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `future` with a limit so a hung test fails instead of stalling CI.
pub async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .expect("test step timed out")
}

pub fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|error| panic!("tests/data/{name}: {error}"))
}
