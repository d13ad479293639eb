//! The scrape engine: one task per target, each on its own schedule, bounded by a global concurrency
//! limit, feeding the [`SeriesStore`] and (without ever waiting on it) the detector.
//!
//! Design points:
//! * **Isolation.** Every target has its own task and its own timeout, so a slow or dead target costs
//!   only its own scrapes. The global semaphore ([`CollectorSettings::max_concurrent_scrapes`]) bounds
//!   sockets and memory in flight; a scrape holds a permit for at most its timeout.
//! * **Schedule.** Fixed rate, like Prometheus: the first scrape happens at a random point within
//!   `first_scrape_spread × interval` (targets configured together do not fire together), the following
//!   ones every `interval` after it plus a small random jitter. A scrape that overruns skips the missed
//!   slots instead of bursting to catch up.
//! * **Timeouts.** Requests get a timeout slightly shorter than the target's, so the scraper itself sees
//!   the timeout and can report it (a probe still records `probe_success 0`); the whole scrape is then
//!   cut at the target's timeout whatever the scraper does.
//! * **Labels.** Every series gets `target="<name>"` and the target's configured labels; a scraped label
//!   with one of those names is kept as `exported_<name>`, as Prometheus does.
//! * **Detector.** Every sample is also offered to the detector with `try_send`; when its channel is full
//!   the sample is dropped and counted (`collector_detector_samples_dropped_total`). Scraping never waits
//!   for the detector.
//! * **Own metrics.** Registered under the `collector` prefix by [`CollectorMetrics::register`]; labels are
//!   target kinds, outcomes and configured target names only, never scraped series.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use model::{Sample, SeriesKey, UnixMs};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use serde::Serialize;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{CollectorSettings, ConfigIssue, TargetConfig, TargetKind, validate_targets};
use crate::series::{Batch, SeriesLimits, SeriesStore};
use crate::targets::{self, ScrapeContext, ScrapeError, Scraper};

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("invalid targets: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidConfig(Vec<ConfigIssue>),
    #[error("cannot build the http client")]
    Client(#[source] reqwest::Error),
}

impl model::HasKind for EngineError {
    fn kind(&self) -> model::ErrorKind {
        match self {
            EngineError::InvalidConfig(_) => model::ErrorKind::InvalidInput,
            EngineError::Client(_) => model::ErrorKind::Internal,
        }
    }
}

/// The health of one target, as `GET /api/v1/targets` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetHealth {
    pub name: String,
    pub kind: TargetKind,
    /// The last scrape succeeded. False before the first scrape.
    pub up: bool,
    /// What the last scrape's failure was, with its causes; `None` after a success.
    pub last_error: Option<String>,
    /// When the last scrape started.
    pub last_scrape: Option<DateTime<Utc>>,
    /// How long the last scrape took.
    pub duration_ms: f64,
    /// Samples the last scrape produced.
    pub samples: usize,
    pub scrapes_total: u64,
    pub errors_total: u64,
}

/// The body of `GET /api/v1/targets`: `{"targets": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetsResponse {
    pub targets: Vec<TargetHealth>,
}

/// Label set of the engine's own metrics (`kind`, `outcome`, `target`): a few configured values only.
type MetricLabels = Vec<(String, String)>;
type HistogramFamily = Family<MetricLabels, Histogram, fn() -> Histogram>;

/// Vigil's own metrics about scraping. Cheap to clone (the metrics are shared).
#[derive(Debug, Clone)]
pub struct CollectorMetrics {
    scrapes: Family<Vec<(String, String)>, Counter>,
    scrape_duration: HistogramFamily,
    samples_ingested: Counter,
    series_dropped: Counter,
    samples_rejected: Counter,
    detector_samples_dropped: Counter,
    target_up: Family<Vec<(String, String)>, Gauge>,
}

fn duration_histogram() -> Histogram {
    // 5 ms .. ~41 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

impl CollectorMetrics {
    /// Creates the metrics and registers them under the `collector` prefix of `registry`:
    /// `collector_scrapes_total{kind,outcome}`, `collector_scrape_duration_seconds{kind}`,
    /// `collector_samples_ingested_total`, `collector_series_dropped_total`,
    /// `collector_samples_rejected_total`, `collector_detector_samples_dropped_total`,
    /// `collector_target_up{target}`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::unregistered();
        let registry = registry.sub_registry_with_prefix("collector");
        registry.register(
            "scrapes",
            "Scrapes by target kind and outcome",
            metrics.scrapes.clone(),
        );
        registry.register_with_unit(
            "scrape_duration",
            "Duration of scrapes by target kind",
            Unit::Seconds,
            metrics.scrape_duration.clone(),
        );
        registry.register(
            "samples_ingested",
            "Samples stored in the series store",
            metrics.samples_ingested.clone(),
        );
        registry.register(
            "series_dropped",
            "Samples of new series refused because the series store was full",
            metrics.series_dropped.clone(),
        );
        registry.register(
            "samples_rejected",
            "Samples refused by the series store as out of order or invalid",
            metrics.samples_rejected.clone(),
        );
        registry.register(
            "detector_samples_dropped",
            "Samples not forwarded to the detector because its channel was full",
            metrics.detector_samples_dropped.clone(),
        );
        registry.register(
            "target_up",
            "Whether the last scrape of a target succeeded",
            metrics.target_up.clone(),
        );
        metrics
    }

    /// Metrics that are counted but exposed nowhere (tests, tools).
    pub fn unregistered() -> Self {
        Self {
            scrapes: Family::default(),
            scrape_duration: Family::new_with_constructor(duration_histogram as fn() -> Histogram),
            samples_ingested: Counter::default(),
            series_dropped: Counter::default(),
            samples_rejected: Counter::default(),
            detector_samples_dropped: Counter::default(),
            target_up: Family::default(),
        }
    }

    /// Samples refused by the store because it was full, so far.
    pub fn series_dropped(&self) -> u64 {
        self.series_dropped.get()
    }

    /// Samples the detector channel could not take, so far.
    pub fn detector_samples_dropped(&self) -> u64 {
        self.detector_samples_dropped.get()
    }
}

/// What the engine writes to, besides its own state.
pub struct EngineSinks {
    pub store: Arc<SeriesStore>,
    /// The detector's input. `None`: samples only go to the store.
    pub samples: Option<mpsc::Sender<Sample>>,
    pub metrics: CollectorMetrics,
    /// The HTTP client; `None` builds [`targets::http_client`]. Tests pass one trusting a test CA.
    pub client: Option<reqwest::Client>,
}

/// A handle on the running engine: target health. Cheap to clone.
#[derive(Clone)]
pub struct EngineHandle {
    slots: Arc<Vec<Arc<TargetSlot>>>,
    store: Arc<SeriesStore>,
}

impl EngineHandle {
    /// The health of every target, in configuration order.
    pub fn targets(&self) -> Vec<TargetHealth> {
        self.slots
            .iter()
            .map(|slot| {
                slot.health
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .clone()
            })
            .collect()
    }

    /// The `GET /api/v1/targets` body.
    pub fn targets_response(&self) -> TargetsResponse {
        TargetsResponse {
            targets: self.targets(),
        }
    }

    /// The health of one target by name.
    pub fn target(&self, name: &str) -> Option<TargetHealth> {
        self.targets()
            .into_iter()
            .find(|target| target.name == name)
    }

    pub fn store(&self) -> &Arc<SeriesStore> {
        &self.store
    }
}

impl CollectorSettings {
    /// The series store limits these settings ask for.
    pub fn series_limits(&self) -> SeriesLimits {
        SeriesLimits {
            max_series: self.max_series,
            points_per_series: self.max_points_per_series,
            ..SeriesLimits::default()
        }
    }
}

struct TargetSlot {
    health: Mutex<TargetHealth>,
}

/// Shared by all target tasks.
struct Shared {
    client: reqwest::Client,
    store: Arc<SeriesStore>,
    samples: Option<mpsc::Sender<Sample>>,
    /// Set once the detector's receiver is gone, to stop offering samples to it.
    samples_closed: AtomicBool,
    metrics: CollectorMetrics,
    permits: Semaphore,
    jitter_fraction: f64,
    first_scrape_spread: f64,
}

/// Starts and owns the per-target scrape tasks.
pub struct Engine;

impl Engine {
    /// Validates `targets`, then spawns one task per target on `tracker`. The tasks stop when `cancel`
    /// fires; a scrape in flight is abandoned.
    pub fn start(
        targets: Vec<TargetConfig>,
        settings: &CollectorSettings,
        sinks: EngineSinks,
        cancel: CancellationToken,
        tracker: &TaskTracker,
    ) -> Result<EngineHandle, EngineError> {
        let mut issues = validate_targets(&targets, "targets");
        issues.extend(settings.validate("collector"));
        if !issues.is_empty() {
            return Err(EngineError::InvalidConfig(issues));
        }
        let client = match sinks.client {
            Some(client) => client,
            None => targets::http_client().map_err(EngineError::Client)?,
        };
        let mut scrapers = Vec::with_capacity(targets.len());
        for (index, target) in targets.iter().enumerate() {
            let scraper = targets::build_scraper(target, settings.max_series_per_target).map_err(
                |error| {
                    EngineError::InvalidConfig(vec![ConfigIssue {
                        path: format!("targets[{index}]"),
                        message: error.to_string(),
                    }])
                },
            )?;
            scrapers.push(scraper);
        }
        let shared = Arc::new(Shared {
            client,
            store: Arc::clone(&sinks.store),
            samples: sinks.samples,
            samples_closed: AtomicBool::new(false),
            metrics: sinks.metrics,
            permits: Semaphore::new(settings.max_concurrent_scrapes),
            jitter_fraction: settings.jitter_fraction,
            first_scrape_spread: settings.first_scrape_spread,
        });
        let mut slots = Vec::with_capacity(targets.len());
        for (target, scraper) in targets.into_iter().zip(scrapers) {
            let slot = Arc::new(TargetSlot {
                health: Mutex::new(TargetHealth {
                    name: target.name.clone(),
                    kind: target.kind,
                    up: false,
                    last_error: None,
                    last_scrape: None,
                    duration_ms: 0.0,
                    samples: 0,
                    scrapes_total: 0,
                    errors_total: 0,
                }),
            });
            slots.push(Arc::clone(&slot));
            let task = TargetTask::new(target, scraper, slot, Arc::clone(&shared));
            tracker.spawn(task.run(cancel.clone()));
        }
        tracker.spawn(evict_stale_series(Arc::clone(&sinks.store), cancel));
        tracing::info!(targets = slots.len(), "scrape engine started");
        Ok(EngineHandle {
            slots: Arc::new(slots),
            store: sinks.store,
        })
    }
}

/// One target's loop.
struct TargetTask {
    target: TargetConfig,
    scraper: Box<dyn Scraper>,
    slot: Arc<TargetSlot>,
    shared: Arc<Shared>,
    /// `target` plus the configured labels, added to every series.
    extra_labels: Vec<(String, String)>,
    up_key: Arc<SeriesKey>,
    duration_key: Arc<SeriesKey>,
    kind_label: Vec<(String, String)>,
    target_label: Vec<(String, String)>,
    batch: Batch,
}

impl TargetTask {
    fn new(
        target: TargetConfig,
        scraper: Box<dyn Scraper>,
        slot: Arc<TargetSlot>,
        shared: Arc<Shared>,
    ) -> Self {
        let mut extra_labels = vec![("target".to_owned(), target.name.clone())];
        extra_labels.extend(
            target
                .labels
                .iter()
                .map(|(name, value)| (name.clone(), value.clone())),
        );
        let key = |name: &str| {
            let mut key = SeriesKey::new(name);
            key.labels.extend(extra_labels.iter().cloned());
            Arc::new(key)
        };
        let up_key = key("up");
        let duration_key = key("scrape_duration_seconds");
        let kind_label = vec![("kind".to_owned(), target.kind.as_str().to_owned())];
        let target_label = vec![("target".to_owned(), target.name.clone())];
        Self {
            target,
            scraper,
            slot,
            shared,
            extra_labels,
            up_key,
            duration_key,
            kind_label,
            target_label,
            batch: Batch::new(),
        }
    }

    async fn run(mut self, cancel: CancellationToken) {
        let interval = self.target.interval.get();
        let first = interval.mul_f64(self.shared.first_scrape_spread * rand::random::<f64>());
        let mut slot_start = Instant::now() + first;
        let mut next = slot_start;
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep_until(next) => {}
            }
            let shared = Arc::clone(&self.shared);
            let permit = tokio::select! {
                () = cancel.cancelled() => return,
                permit = shared.permits.acquire() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.scrape_once() => {}
            }
            drop(permit);

            // Fixed rate: the next slot follows the previous one, not the end of this scrape; slots that
            // already passed (a scrape longer than the interval) are skipped.
            let now = Instant::now();
            slot_start += interval;
            while slot_start <= now {
                slot_start += interval;
            }
            next =
                slot_start + interval.mul_f64(self.shared.jitter_fraction * rand::random::<f64>());
        }
    }

    #[tracing::instrument(skip_all, fields(target = %self.target.name, kind = %self.target.kind))]
    async fn scrape_once(&mut self) {
        let timeout = self.target.timeout.get();
        let request_timeout = request_timeout(timeout);
        let started_wall = Utc::now();
        let started = Instant::now();
        self.batch.clear();
        let cx = ScrapeContext {
            client: &self.shared.client,
            timeout: request_timeout,
        };
        let result =
            match tokio::time::timeout(timeout, self.scraper.scrape(&cx, &mut self.batch)).await {
                Ok(result) => result,
                Err(_) => Err(ScrapeError::Timeout(timeout)),
            };
        let elapsed = started.elapsed();
        let at_ms = started_wall.timestamp_millis();
        let up = result.is_ok();
        let sample_count = self.batch.len();
        self.ingest(at_ms, up, elapsed);

        let outcome = match &result {
            Ok(()) => "success",
            Err(error) => error.outcome(),
        };
        let metrics = &self.shared.metrics;
        let mut labels = self.kind_label.clone();
        labels.push(("outcome".to_owned(), outcome.to_owned()));
        metrics.scrapes.get_or_create(&labels).inc();
        metrics
            .scrape_duration
            .get_or_create(&self.kind_label)
            .observe(elapsed.as_secs_f64());
        metrics
            .target_up
            .get_or_create(&self.target_label)
            .set(i64::from(up));

        let last_error = result.as_ref().err().map(ScrapeError::chain);
        if let Some(error) = &last_error {
            tracing::debug!(error = %error, "scrape failed");
        }
        let mut health = self
            .slot
            .health
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        health.up = up;
        health.last_error = last_error;
        health.last_scrape = Some(started_wall);
        health.duration_ms = elapsed.as_secs_f64() * 1000.0;
        health.samples = sample_count;
        health.scrapes_total += 1;
        if !up {
            health.errors_total += 1;
        }
    }

    /// Stores the scrape's samples plus `up` and `scrape_duration_seconds`, and offers them to the detector.
    fn ingest(&mut self, at_ms: UnixMs, up: bool, elapsed: Duration) {
        let shared = &self.shared;
        let extra: Vec<(&str, &str)> = self
            .extra_labels
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let outcome = shared.store.ingest_batch(&self.batch, &extra, at_ms);
        let mut stored = outcome.appended + outcome.new_series;
        let mut series_dropped = outcome.dropped_series_limit;
        let mut rejected = outcome.dropped_out_of_order + outcome.dropped_invalid;
        for (key, value) in [
            (&self.up_key, if up { 1.0 } else { 0.0 }),
            (&self.duration_key, elapsed.as_secs_f64()),
        ] {
            match shared.store.ingest(key, at_ms, value) {
                crate::series::IngestOutcome::Appended
                | crate::series::IngestOutcome::NewSeries => stored += 1,
                crate::series::IngestOutcome::DroppedSeriesLimit => series_dropped += 1,
                _ => rejected += 1,
            }
        }
        shared.metrics.samples_ingested.inc_by(stored as u64);
        shared.metrics.series_dropped.inc_by(series_dropped as u64);
        shared.metrics.samples_rejected.inc_by(rejected as u64);

        let Some(sender) = &shared.samples else {
            return;
        };
        if shared.samples_closed.load(Ordering::Relaxed) {
            return;
        }
        let mut dropped = 0u64;
        let mut offer = |sample: Sample| match sender.try_send(sample) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                dropped += 1;
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        };
        let mut open = offer(Sample {
            key: Arc::clone(&self.up_key),
            at_ms,
            value: if up { 1.0 } else { 0.0 },
        });
        for (name, labels, own_at, value) in self.batch.iter() {
            if !open {
                break;
            }
            let key = Arc::new(labelled_key(name, labels, &self.extra_labels));
            open = offer(Sample {
                key,
                at_ms: own_at.unwrap_or(at_ms),
                value,
            });
        }
        if !open {
            shared.samples_closed.store(true, Ordering::Relaxed);
            tracing::info!("detector channel closed; samples now go to the store only");
        }
        shared.metrics.detector_samples_dropped.inc_by(dropped);
    }
}

/// Series a target stopped exposing (or a removed target's) are dropped once stale, so queries and memory
/// reflect what is still scraped; the store would otherwise only do this when it is full.
async fn evict_stale_series(store: Arc<SeriesStore>, cancel: CancellationToken) {
    let mut ticker = tokio::time::interval(STALE_SWEEP_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticker.tick() => {
                let evicted = store.evict_stale(model::now_ms());
                if evicted > 0 {
                    tracing::debug!(evicted, "stale series evicted");
                }
            }
        }
    }
}

const STALE_SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Builds the full key of a scraped sample the way the store labels it: extra labels win, and a scraped
/// label of the same name is kept as `exported_<name>`.
fn labelled_key<'a>(
    name: &str,
    labels: impl Iterator<Item = (&'a str, &'a str)>,
    extra: &[(String, String)],
) -> SeriesKey {
    let mut key = SeriesKey::new(name);
    for (label, value) in labels {
        if extra.iter().any(|(extra_name, _)| extra_name == label) {
            key.labels
                .insert(format!("exported_{label}"), value.to_owned());
        } else {
            key.labels.insert(label.to_owned(), value.to_owned());
        }
    }
    key.labels.extend(extra.iter().cloned());
    key
}

/// Per-request timeout: a little under the scrape timeout, so the scraper sees a request time out (and can
/// record it) before the engine cuts the whole scrape.
fn request_timeout(scrape_timeout: Duration) -> Duration {
    let margin = (scrape_timeout / 20).clamp(Duration::from_millis(10), Duration::from_millis(250));
    scrape_timeout
        .saturating_sub(margin)
        .max(scrape_timeout / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scraped_labels_that_clash_are_exported() {
        let extra = vec![
            ("target".to_owned(), "node".to_owned()),
            ("env".to_owned(), "prod".to_owned()),
        ];
        let key = labelled_key(
            "up",
            [("target", "inner"), ("job", "x")].into_iter(),
            &extra,
        );
        assert_eq!(
            key.to_string(),
            r#"up{env="prod",exported_target="inner",job="x",target="node"}"#
        );
    }

    #[test]
    fn request_timeout_leaves_a_margin() {
        assert_eq!(
            request_timeout(Duration::from_secs(5)),
            Duration::from_millis(4750)
        );
        assert_eq!(
            request_timeout(Duration::from_millis(200)),
            Duration::from_millis(190)
        );
        assert!(request_timeout(Duration::from_millis(100)) >= Duration::from_millis(50));
    }
}
