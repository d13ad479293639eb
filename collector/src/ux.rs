//! Real-user monitoring beacons (`POST /api/v1/ux`): what users' browsers measured.
//!
//! A body is one beacon `{"page", "latency_ms", "error", "region", "at"?}` or a batch
//! `{"beacons": [...]}` of at most [`MAX_BATCH`]. Each beacon is validated on its own; good ones are kept
//! and bad ones are reported by index and field, so one broken client cannot make a whole batch vanish.
//!
//! Series (each labelled `page` and `region`): `ux_latency_ms` (one point per beacon) and
//! `ux_errors_total` (a running count of beacons with `error: true`, emitted with every beacon so the
//! series stays fresh). Pages and regions come from clients, so the number of (page, region) pairs is
//! bounded ([`UxLimits::max_pairs`]); beacons for new pairs beyond it are rejected.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use model::{Sample, SeriesKey, UnixMs};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::series::SeriesStore;

/// Most beacons in one request.
pub const MAX_BATCH: usize = 1000;
/// Longest accepted latency: ten minutes. Anything longer is a client bug or a tab left asleep.
pub const MAX_LATENCY_MS: f64 = 600_000.0;

/// Bounds of the receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UxLimits {
    /// Longest page name, in bytes. Default 256.
    pub max_page_bytes: usize,
    /// Longest region name, in bytes. Default 64.
    pub max_region_bytes: usize,
    /// Most distinct (page, region) pairs tracked. Default 10 000.
    pub max_pairs: usize,
    /// How far in the past an explicit `at` may be. Default 1 hour.
    pub max_age_ms: i64,
    /// How far in the future an explicit `at` may be (client clocks drift). Default 5 minutes.
    pub max_skew_ms: i64,
}

impl Default for UxLimits {
    fn default() -> Self {
        Self {
            max_page_bytes: 256,
            max_region_bytes: 64,
            max_pairs: 10_000,
            max_age_ms: 60 * 60 * 1000,
            max_skew_ms: 5 * 60 * 1000,
        }
    }
}

/// The result of one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UxReport {
    pub accepted: usize,
    pub rejected: usize,
    pub errors: Vec<BeaconError>,
}

/// Why one beacon was rejected, e.g. `{"index": 3, "field": "latency_ms", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BeaconError {
    pub index: usize,
    pub field: String,
    pub message: String,
}

/// A request that cannot be processed at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UxError {
    #[error("body is not valid json: {0}")]
    NotJson(String),
    #[error("expected a beacon object or {{\"beacons\": [...]}}")]
    NotABeacon,
    #[error("beacons: {count} beacons, at most {MAX_BATCH} are allowed per request")]
    TooMany { count: usize },
}

impl model::HasKind for UxError {
    fn kind(&self) -> model::ErrorKind {
        model::ErrorKind::InvalidInput
    }
}

#[derive(Debug, Default)]
struct PairState {
    errors_total: u64,
    last_ms: UnixMs,
    latency_key: Option<Arc<SeriesKey>>,
    errors_key: Option<Arc<SeriesKey>>,
}

/// Receives beacons into the series store and the detector channel. Share it as `Arc<UxReceiver>`.
pub struct UxReceiver {
    store: Arc<SeriesStore>,
    samples: Option<mpsc::Sender<Sample>>,
    limits: UxLimits,
    pairs: Mutex<HashMap<(String, String), PairState>>,
    dropped_samples: std::sync::atomic::AtomicU64,
}

struct Beacon {
    page: String,
    region: String,
    latency_ms: f64,
    error: bool,
    at_ms: Option<UnixMs>,
}

impl UxReceiver {
    pub fn new(
        store: Arc<SeriesStore>,
        samples: Option<mpsc::Sender<Sample>>,
        limits: UxLimits,
    ) -> Self {
        Self {
            store,
            samples,
            limits,
            pairs: Mutex::new(HashMap::new()),
            dropped_samples: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Samples that could not be forwarded to the detector because its channel was full.
    pub fn dropped_samples(&self) -> u64 {
        self.dropped_samples
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Validates and ingests a request body.
    pub fn ingest(&self, body: &[u8]) -> Result<UxReport, UxError> {
        self.ingest_at(body, Utc::now())
    }

    /// As [`UxReceiver::ingest`], at a given time.
    pub fn ingest_at(&self, body: &[u8], now: DateTime<Utc>) -> Result<UxReport, UxError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|error| UxError::NotJson(error.to_string()))?;
        let items: Vec<Value> = match value {
            Value::Object(mut object) if object.contains_key("beacons") => {
                match object.remove("beacons") {
                    Some(Value::Array(items)) => items,
                    _ => return Err(UxError::NotABeacon),
                }
            }
            Value::Object(object) => vec![Value::Object(object)],
            _ => return Err(UxError::NotABeacon),
        };
        if items.len() > MAX_BATCH {
            return Err(UxError::TooMany { count: items.len() });
        }
        let now_ms = now.timestamp_millis();
        let mut report = UxReport {
            accepted: 0,
            rejected: 0,
            errors: Vec::new(),
        };
        let mut pairs = self
            .pairs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (index, item) in items.iter().enumerate() {
            let result = self
                .validate(item, now_ms)
                .and_then(|beacon| self.record(&mut pairs, beacon, now_ms));
            match result {
                Ok(()) => report.accepted += 1,
                Err((field, message)) => {
                    report.rejected += 1;
                    report.errors.push(BeaconError {
                        index,
                        field: field.to_owned(),
                        message,
                    });
                }
            }
        }
        Ok(report)
    }

    fn validate(&self, item: &Value, now_ms: UnixMs) -> Result<Beacon, (&'static str, String)> {
        let Some(fields) = item.as_object() else {
            return Err(("", "expected an object".to_owned()));
        };
        let text = |name: &'static str, max: usize| -> Result<String, (&'static str, String)> {
            match fields.get(name) {
                Some(Value::String(text)) if text.trim().is_empty() => {
                    Err((name, "must not be empty".to_owned()))
                }
                Some(Value::String(text)) if text.len() > max => Err((
                    name,
                    format!("is {} bytes long, at most {max} are allowed", text.len()),
                )),
                Some(Value::String(text)) if text.chars().any(char::is_control) => {
                    Err((name, "must not contain control characters".to_owned()))
                }
                Some(Value::String(text)) => Ok(text.clone()),
                Some(_) => Err((name, "expected a string".to_owned())),
                None => Err((name, "missing".to_owned())),
            }
        };
        let page = text("page", self.limits.max_page_bytes)?;
        let region = text("region", self.limits.max_region_bytes)?;
        let latency_ms = match fields.get("latency_ms") {
            Some(Value::Number(number)) => number.as_f64().unwrap_or(f64::NAN),
            Some(_) => return Err(("latency_ms", "expected a number".to_owned())),
            None => return Err(("latency_ms", "missing".to_owned())),
        };
        if !(0.0..=MAX_LATENCY_MS).contains(&latency_ms) {
            return Err((
                "latency_ms",
                format!("{latency_ms} is outside 0..={MAX_LATENCY_MS} (10 minutes)"),
            ));
        }
        let error = match fields.get("error") {
            Some(Value::Bool(flag)) => *flag,
            None => false,
            Some(_) => return Err(("error", "expected true or false".to_owned())),
        };
        let at_ms = match fields.get("at") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => match DateTime::parse_from_rfc3339(text) {
                Ok(at) => Some(at.timestamp_millis()),
                Err(error) => {
                    return Err(("at", format!("{text:?} is not an RFC 3339 time ({error})")));
                }
            },
            Some(Value::Number(number)) => match number.as_i64() {
                Some(ms) => Some(ms),
                None => return Err(("at", "expected unix milliseconds as an integer".to_owned())),
            },
            Some(_) => {
                return Err((
                    "at",
                    "expected an RFC 3339 string or unix milliseconds".to_owned(),
                ));
            }
        };
        if let Some(at) = at_ms {
            if at < now_ms - self.limits.max_age_ms {
                return Err((
                    "at",
                    format!(
                        "is more than {} s in the past",
                        self.limits.max_age_ms / 1000
                    ),
                ));
            }
            if at > now_ms + self.limits.max_skew_ms {
                return Err((
                    "at",
                    format!(
                        "is more than {} s in the future",
                        self.limits.max_skew_ms / 1000
                    ),
                ));
            }
        }
        Ok(Beacon {
            page,
            region,
            latency_ms,
            error,
            at_ms,
        })
    }

    fn record(
        &self,
        pairs: &mut HashMap<(String, String), PairState>,
        beacon: Beacon,
        now_ms: UnixMs,
    ) -> Result<(), (&'static str, String)> {
        let pair_key = (beacon.page, beacon.region);
        if !pairs.contains_key(&pair_key) && pairs.len() >= self.limits.max_pairs {
            return Err((
                "page",
                format!(
                    "too many distinct page/region pairs (at most {}); not tracked",
                    self.limits.max_pairs
                ),
            ));
        }
        let state = pairs.entry(pair_key.clone()).or_default();
        // Points of one series must be strictly newer than the last; beacons without `at` that arrive in
        // the same millisecond are spread by 1 ms rather than lost.
        let at_ms = match beacon.at_ms {
            Some(at) if at <= state.last_ms => {
                return Err((
                    "at",
                    "is not newer than the last beacon of this page and region".to_owned(),
                ));
            }
            Some(at) => at,
            None => now_ms.max(state.last_ms + 1),
        };
        state.last_ms = at_ms;
        if beacon.error {
            state.errors_total += 1;
        }
        let (page, region) = (&pair_key.0, &pair_key.1);
        let latency_key = state
            .latency_key
            .get_or_insert_with(|| {
                Arc::new(
                    SeriesKey::new("ux_latency_ms")
                        .with_label("page", page)
                        .with_label("region", region),
                )
            })
            .clone();
        let errors_key = state
            .errors_key
            .get_or_insert_with(|| {
                Arc::new(
                    SeriesKey::new("ux_errors_total")
                        .with_label("page", page)
                        .with_label("region", region),
                )
            })
            .clone();
        let errors_total = state.errors_total as f64;
        for (key, value) in [(latency_key, beacon.latency_ms), (errors_key, errors_total)] {
            self.store.ingest(&key, at_ms, value);
            if let Some(samples) = &self.samples
                && samples.try_send(Sample { key, at_ms, value }).is_err()
            {
                self.dropped_samples
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        Ok(())
    }
}
