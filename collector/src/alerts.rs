//! Alerts pushed to Vigil by Alertmanager (webhook receiver, payload version 4) and by Prometheus (the
//! Alertmanager API v2 `POST /api/v2/alerts` list), kept with Alertmanager's own semantics.
//!
//! * Identity is the fingerprint: the webhook's `fingerprint` when it carries one, otherwise the
//!   Alertmanager-compatible fingerprint of the label set ([`fingerprint`]), so the same alert arriving
//!   through both paths is one alert.
//! * An alert is resolved when a resolved notification arrives or when its `endsAt` passes. Prometheus
//!   sends `endsAt` a few evaluation intervals ahead and re-sends while the rule fires; an alert without
//!   `endsAt` gets `now + resolve_timeout` (Alertmanager's `resolve_timeout`, default 5m). Either way an
//!   alert that stops being re-sent resolves by itself.
//! * Webhook alerts that are firing carry Go's zero time as `endsAt`; they stay firing until Alertmanager
//!   sends the resolved notification (it re-notifies every `repeat_interval`, 4h by default, so expiring
//!   them early would resolve incidents that are still real).
//! * Memory is bounded: at most [`AlertStoreConfig::max_alerts`]; when full the oldest resolved alert is
//!   evicted first, and an alert that cannot be placed is rejected with an error rather than dropping a
//!   firing one. Resolved alerts are forgotten after [`AlertStoreConfig::resolved_retention`].
//!
//! Changes (an alert starts firing, an alert resolves) are published as [`AlertEvent`]s on a broadcast
//! channel ([`AlertStore::subscribe`]) and returned from each call, for the responder to open and resolve
//! incidents. [`AlertStore::sweep`] (or [`AlertStore::spawn_sweeper`]) turns passed `endsAt`s into events.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use model::Labels;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::is_valid_label_name;

/// Limits and timeouts of the [`AlertStore`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertStoreConfig {
    /// Most alerts kept (firing and resolved). Default 10 000.
    pub max_alerts: usize,
    /// How long an API v2 alert without `endsAt` stays firing unless re-sent. Default 5m, as Alertmanager.
    pub resolve_timeout: model::HumanDuration,
    /// How long resolved alerts stay listed. Default 24h.
    pub resolved_retention: model::HumanDuration,
}

impl Default for AlertStoreConfig {
    fn default() -> Self {
        Self {
            max_alerts: 10_000,
            resolve_timeout: model::HumanDuration::from_secs(5 * 60),
            resolved_retention: model::HumanDuration::from_secs(24 * 60 * 60),
        }
    }
}

/// Where an alert came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSource {
    /// An Alertmanager webhook notification (`POST /api/v1/alerts/alertmanager`).
    Alertmanager,
    /// The Alertmanager API v2 list (`POST /api/v2/alerts`), what Prometheus sends.
    Prometheus,
    /// A log (or a change of state) on a watched chain ([`crate::chain`]).
    Chain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

/// One alert as `GET /api/v1/alerts` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    pub fingerprint: String,
    pub source: AlertSource,
    pub status: AlertStatus,
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    /// When the alert resolved or will resolve unless re-sent; `None` for webhook alerts still firing.
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator_url: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A change the responder cares about.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", content = "alert", rename_all = "snake_case")]
pub enum AlertEvent {
    /// An alert started firing (new, or firing again after it had resolved).
    Firing(AlertView),
    /// A firing alert resolved (a resolved notification, or its `endsAt` passed).
    Resolved(AlertView),
}

impl AlertEvent {
    pub fn alert(&self) -> &AlertView {
        match self {
            AlertEvent::Firing(alert) | AlertEvent::Resolved(alert) => alert,
        }
    }
}

/// What one accepted payload did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestReport {
    /// Alerts stored or updated.
    pub accepted: usize,
    /// Status changes caused by this payload.
    pub events: Vec<AlertEvent>,
}

/// A problem with one field of a pushed payload, e.g. `alerts[3].labels: missing`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a pushed payload was (wholly or partly) rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AlertError {
    /// The body is not JSON at all.
    #[error("body is not valid json: {0}")]
    NotJson(String),
    /// Some alerts were invalid. The valid ones of the same payload *were* stored (as Alertmanager does);
    /// `report` says what they did.
    #[error("{} invalid: {}", plural(errors.len(), "field"), join(errors))]
    Invalid {
        errors: Vec<FieldError>,
        report: IngestReport,
    },
}

impl model::HasKind for AlertError {
    fn kind(&self) -> model::ErrorKind {
        model::ErrorKind::InvalidInput
    }
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn join(errors: &[FieldError]) -> String {
    const SHOWN: usize = 5;
    let mut text = errors
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if errors.len() > SHOWN {
        text.push_str(&format!("; and {} more", errors.len() - SHOWN));
    }
    text
}

/// The Alertmanager-compatible fingerprint of a label set: FNV-1a 64 over the label names in sorted order,
/// each name and value followed by the separator byte 0xff, printed as 16 hex digits (Prometheus
/// `model.LabelSet.Fingerprint`).
pub fn fingerprint(labels: &Labels) -> String {
    const OFFSET: u64 = 14_695_981_039_346_656_037;
    const PRIME: u64 = 1_099_511_628_211;
    const SEPARATOR: u8 = 0xff;
    let mut hash = OFFSET;
    let mut add = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    // `Labels` is a BTreeMap, so iteration is already sorted by name, as the Go code sorts.
    for (name, value) in labels {
        add(name.as_bytes());
        add(&[SEPARATOR]);
        add(value.as_bytes());
        add(&[SEPARATOR]);
    }
    format!("{hash:016x}")
}

const MAX_LABELS: usize = 64;
const MAX_NAME_BYTES: usize = 256;
const MAX_LABEL_VALUE_BYTES: usize = 4 * 1024;
const MAX_ANNOTATION_VALUE_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone)]
struct Entry {
    view: AlertView,
    /// `ends_at` was filled in by us (no `endsAt` sent), so a later explicit one wins when merging.
    timeout: bool,
    /// What the last event said about this alert, so each transition is announced once.
    announced: AlertStatus,
}

/// The pushed alerts, bounded, with Alertmanager semantics. Share it as `Arc<AlertStore>`.
pub struct AlertStore {
    config: AlertStoreConfig,
    alerts: Mutex<HashMap<String, Entry>>,
    events: broadcast::Sender<AlertEvent>,
}

impl AlertStore {
    pub fn new(config: AlertStoreConfig) -> Self {
        let (events, _) = broadcast::channel(1024);
        Self {
            config,
            alerts: Mutex::new(HashMap::new()),
            events,
        }
    }

    /// Receives every [`AlertEvent`] from now on. A receiver that lags loses the oldest events
    /// (`RecvError::Lagged`), so it should compare with [`AlertStore::list`] then.
    pub fn subscribe(&self) -> broadcast::Receiver<AlertEvent> {
        self.events.subscribe()
    }

    /// Accepts an Alertmanager webhook notification body (version 4).
    pub fn ingest_webhook(&self, body: &[u8]) -> Result<IngestReport, AlertError> {
        self.ingest_webhook_at(body, Utc::now())
    }

    /// As [`AlertStore::ingest_webhook`], at a given time (for tests and replays).
    pub fn ingest_webhook_at(
        &self,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<IngestReport, AlertError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|error| AlertError::NotJson(error.to_string()))?;
        let mut errors = Vec::new();
        let incoming = parse_webhook(&value, now, &mut errors).unwrap_or_default();
        self.apply(incoming, errors, now)
    }

    /// Accepts an Alertmanager API v2 alert list (`[{"labels", "annotations", "startsAt", "endsAt",
    /// "generatorURL"}]`), as Prometheus posts it.
    pub fn ingest_v2(&self, body: &[u8]) -> Result<IngestReport, AlertError> {
        self.ingest_v2_at(body, Utc::now())
    }

    /// As [`AlertStore::ingest_v2`], at a given time.
    pub fn ingest_v2_at(
        &self,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<IngestReport, AlertError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|error| AlertError::NotJson(error.to_string()))?;
        let mut errors = Vec::new();
        let Some(items) = value.as_array() else {
            errors.push(FieldError {
                path: "$".to_owned(),
                message: "expected a json array of alerts".to_owned(),
            });
            return self.apply(Vec::new(), errors, now);
        };
        let resolve_timeout = chrono_duration(self.config.resolve_timeout.get());
        let mut incoming = Vec::new();
        for (index, item) in items.iter().enumerate() {
            // Named like the webhook's list so messages read the same for both paths.
            let path = format!("alerts[{index}]");
            if let Some(alert) = parse_v2_alert(item, &path, now, resolve_timeout, &mut errors) {
                incoming.push(alert);
            }
        }
        self.apply(incoming, errors, now)
    }

    /// Alerts from chain watching. A firing one stays firing until it is retracted (its log left the chain
    /// in a reorg): a chain event is a fact, not a condition that clears by itself.
    pub fn ingest_chain(
        &self,
        alerts: &[crate::chain::ChainAlert],
        now: DateTime<Utc>,
    ) -> Result<IngestReport, AlertError> {
        let incoming = alerts
            .iter()
            .map(|alert| {
                let starts_at = DateTime::<Utc>::from_timestamp_millis(alert.at_ms).unwrap_or(now);
                (
                    format!("chain alert {}", alert.fingerprint),
                    Incoming {
                        view: AlertView {
                            fingerprint: alert.fingerprint.clone(),
                            source: AlertSource::Chain,
                            status: if alert.firing {
                                AlertStatus::Firing
                            } else {
                                AlertStatus::Resolved
                            },
                            labels: alert.labels.clone(),
                            annotations: alert.annotations.clone(),
                            starts_at,
                            ends_at: (!alert.firing).then_some(now),
                            generator_url: None,
                            updated_at: now,
                        },
                        timeout: false,
                    },
                )
            })
            .collect();
        self.apply(incoming, Vec::new(), now)
    }

    /// Every alert kept, firing first, then by start time (newest first). Statuses are as of now.
    pub fn list(&self) -> Vec<AlertView> {
        self.list_at(Utc::now())
    }

    /// As [`AlertStore::list`], with statuses as of `now`.
    pub fn list_at(&self, now: DateTime<Utc>) -> Vec<AlertView> {
        let alerts = self
            .alerts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut views: Vec<AlertView> = alerts
            .values()
            .map(|entry| {
                let mut view = entry.view.clone();
                view.status = status_at(&view, now);
                view
            })
            .collect();
        views.sort_by(|a, b| {
            (
                a.status == AlertStatus::Resolved,
                std::cmp::Reverse(a.starts_at),
                &a.fingerprint,
            )
                .cmp(&(
                    b.status == AlertStatus::Resolved,
                    std::cmp::Reverse(b.starts_at),
                    &b.fingerprint,
                ))
        });
        views
    }

    /// How many alerts are firing as of now.
    pub fn firing_count(&self) -> usize {
        self.list()
            .iter()
            .filter(|alert| alert.status == AlertStatus::Firing)
            .count()
    }

    /// Resolves alerts whose `endsAt` has passed (announcing each once) and forgets resolved alerts older
    /// than the retention. Returns the events it published.
    pub fn sweep(&self, now: DateTime<Utc>) -> Vec<AlertEvent> {
        let retention = chrono_duration(self.config.resolved_retention.get());
        let mut alerts = self
            .alerts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut events = Vec::new();
        for entry in alerts.values_mut() {
            if let Some(event) = transition(entry, now) {
                events.push(event);
            }
        }
        alerts.retain(|_, entry| {
            !(entry.announced == AlertStatus::Resolved
                && entry.view.ends_at.is_some_and(|end| end + retention < now))
        });
        drop(alerts);
        self.publish(&events);
        events
    }

    /// Runs [`AlertStore::sweep`] every `every` until `cancel` fires.
    pub fn spawn_sweeper(
        self: &Arc<Self>,
        every: Duration,
        cancel: CancellationToken,
        tracker: &TaskTracker,
    ) {
        let store = Arc::clone(self);
        tracker.spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    _ = ticker.tick() => { store.sweep(Utc::now()); }
                }
            }
        });
    }

    fn publish(&self, events: &[AlertEvent]) {
        for event in events {
            // No subscriber is fine: the events are also returned to the caller.
            let _ = self.events.send(event.clone());
        }
    }

    fn apply(
        &self,
        incoming: Vec<(String, Incoming)>,
        mut errors: Vec<FieldError>,
        now: DateTime<Utc>,
    ) -> Result<IngestReport, AlertError> {
        let mut alerts = self
            .alerts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut report = IngestReport {
            accepted: 0,
            events: Vec::new(),
        };
        for (path, alert) in incoming {
            let fingerprint = alert.view.fingerprint.clone();
            if !alerts.contains_key(&fingerprint) && alerts.len() >= self.config.max_alerts {
                let oldest_resolved = alerts
                    .iter()
                    .filter(|(_, entry)| status_at(&entry.view, now) == AlertStatus::Resolved)
                    .min_by_key(|(_, entry)| entry.view.ends_at)
                    .map(|(key, _)| key.clone());
                match oldest_resolved {
                    Some(key) => {
                        alerts.remove(&key);
                    }
                    None => {
                        errors.push(FieldError {
                            path,
                            message: format!(
                                "not stored: {} alerts are firing, the most kept (max_alerts)",
                                self.config.max_alerts
                            ),
                        });
                        continue;
                    }
                }
            }
            let entry = match alerts.remove(&fingerprint) {
                Some(old) => merge(old, alert),
                None => Entry {
                    view: alert.view,
                    timeout: alert.timeout,
                    announced: AlertStatus::Resolved,
                },
            };
            let mut entry = entry;
            if let Some(event) = transition(&mut entry, now) {
                report.events.push(event);
            }
            alerts.insert(fingerprint, entry);
            report.accepted += 1;
        }
        drop(alerts);
        self.publish(&report.events);
        if errors.is_empty() {
            Ok(report)
        } else {
            Err(AlertError::Invalid { errors, report })
        }
    }
}

/// Announces the alert's status at `now` if it differs from what was last announced.
fn transition(entry: &mut Entry, now: DateTime<Utc>) -> Option<AlertEvent> {
    let status = status_at(&entry.view, now);
    entry.view.status = status;
    if status == entry.announced {
        return None;
    }
    entry.announced = status;
    Some(match status {
        AlertStatus::Firing => AlertEvent::Firing(entry.view.clone()),
        AlertStatus::Resolved => AlertEvent::Resolved(entry.view.clone()),
    })
}

fn status_at(view: &AlertView, now: DateTime<Utc>) -> AlertStatus {
    match view.ends_at {
        Some(end) if end <= now => AlertStatus::Resolved,
        _ => AlertStatus::Firing,
    }
}

/// Alertmanager's rule (`provider/mem` `Put` and `types.Alert.Merge`): a new alert whose activity overlaps
/// the stored one is merged (earliest start; the later explicit end wins); one that starts after the stored
/// one ended is a new occurrence and replaces it.
fn merge(old: Entry, new: Incoming) -> Entry {
    let old_end = old.view.ends_at;
    let overlaps = match old_end {
        None => true,
        Some(old_end) => {
            let new_end = new.view.ends_at.unwrap_or(DateTime::<Utc>::MAX_UTC);
            (new_end > old.view.starts_at && new_end <= old_end)
                || (new.view.starts_at >= old.view.starts_at && new.view.starts_at <= old_end)
                || (new.view.starts_at <= old.view.starts_at && new_end >= old_end)
        }
    };
    if !overlaps {
        return Entry {
            view: new.view,
            timeout: new.timeout,
            announced: old.announced,
        };
    }
    let mut view = new.view;
    view.starts_at = view.starts_at.min(old.view.starts_at);
    let mut timeout = new.timeout;
    let new_has_explicit_end = view.ends_at.is_some() && !new.timeout;
    if !new_has_explicit_end
        && let (Some(old_end), Some(new_end)) = (old_end, view.ends_at)
        && old_end > new_end
        && !old.timeout
    {
        // A non-timeout end time from before stays when the new one is only our resolve_timeout guess.
        view.ends_at = Some(old_end);
        timeout = false;
    }
    Entry {
        view,
        timeout,
        announced: old.announced,
    }
}

struct Incoming {
    view: AlertView,
    timeout: bool,
}

fn parse_webhook(
    value: &Value,
    now: DateTime<Utc>,
    errors: &mut Vec<FieldError>,
) -> Option<Vec<(String, Incoming)>> {
    let Some(object) = value.as_object() else {
        errors.push(FieldError {
            path: "$".to_owned(),
            message: "expected a json object".to_owned(),
        });
        return None;
    };
    match object.get("version") {
        Some(Value::String(version)) if version == "4" => {}
        Some(other) => {
            errors.push(FieldError {
                path: "version".to_owned(),
                message: format!("unsupported webhook version {other}, expected \"4\""),
            });
            return None;
        }
        None => {
            errors.push(FieldError {
                path: "version".to_owned(),
                message: "missing".to_owned(),
            });
            return None;
        }
    }
    let Some(items) = object.get("alerts") else {
        errors.push(FieldError {
            path: "alerts".to_owned(),
            message: "missing".to_owned(),
        });
        return None;
    };
    let Some(items) = items.as_array() else {
        errors.push(FieldError {
            path: "alerts".to_owned(),
            message: "expected an array".to_owned(),
        });
        return None;
    };
    let mut alerts = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let path = format!("alerts[{index}]");
        let errors_before = errors.len();
        let Some(fields) = item.as_object() else {
            errors.push(FieldError {
                path,
                message: "expected an object".to_owned(),
            });
            continue;
        };
        let status = match fields.get("status").and_then(Value::as_str) {
            Some("firing") => Some(AlertStatus::Firing),
            Some("resolved") => Some(AlertStatus::Resolved),
            Some(other) => {
                errors.push(field(
                    &path,
                    "status",
                    format!("{other:?} is neither \"firing\" nor \"resolved\""),
                ));
                None
            }
            None => {
                errors.push(field(
                    &path,
                    "status",
                    missing_or_type(fields.get("status"), "a string"),
                ));
                None
            }
        };
        let labels = parse_string_map(fields.get("labels"), &path, "labels", true, errors);
        let annotations = parse_string_map(
            fields.get("annotations"),
            &path,
            "annotations",
            false,
            errors,
        );
        let starts_at = match fields.get("startsAt") {
            Some(value) => parse_time(value, &path, "startsAt", errors),
            None => {
                errors.push(field(&path, "startsAt", "missing".to_owned()));
                None
            }
        };
        let ends_at = fields
            .get("endsAt")
            .and_then(|value| parse_time(value, &path, "endsAt", errors));
        let given_fingerprint = match fields.get("fingerprint") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if !text.is_empty() => {
                if text.len() > 64 || !text.chars().all(|c| c.is_ascii_hexdigit()) {
                    errors.push(field(
                        &path,
                        "fingerprint",
                        format!("{text:?} is not a hex fingerprint"),
                    ));
                }
                Some(text.to_ascii_lowercase())
            }
            Some(Value::String(_)) => None,
            Some(_) => {
                errors.push(field(&path, "fingerprint", "expected a string".to_owned()));
                None
            }
        };
        let generator_url =
            optional_string(fields.get("generatorURL"), &path, "generatorURL", errors);
        if errors.len() > errors_before {
            continue;
        }
        let (Some(status), Some(labels), Some(starts_at)) = (status, labels, starts_at) else {
            continue;
        };
        let ends_at = match (status, ends_at) {
            // A resolved notification resolves now even if its endsAt is odd (zero or in the future).
            (AlertStatus::Resolved, Some(end)) if end <= now => Some(end),
            (AlertStatus::Resolved, _) => Some(now),
            (AlertStatus::Firing, Some(end)) if end > now => Some(end),
            // A firing notification whose endsAt already passed is stale information: keep it firing until
            // Alertmanager says resolved; its endsAt is then only Alertmanager's own timeout guess.
            (AlertStatus::Firing, _) => None,
        };
        let fingerprint = given_fingerprint.unwrap_or_else(|| fingerprint(&labels));
        alerts.push((
            path,
            Incoming {
                view: AlertView {
                    fingerprint,
                    source: AlertSource::Alertmanager,
                    status,
                    labels,
                    annotations: annotations.unwrap_or_default(),
                    starts_at,
                    ends_at,
                    generator_url,
                    updated_at: now,
                },
                timeout: false,
            },
        ));
    }
    Some(alerts)
}

fn parse_v2_alert(
    item: &Value,
    path: &str,
    now: DateTime<Utc>,
    resolve_timeout: chrono::Duration,
    errors: &mut Vec<FieldError>,
) -> Option<(String, Incoming)> {
    let errors_before = errors.len();
    let Some(fields) = item.as_object() else {
        errors.push(FieldError {
            path: path.to_owned(),
            message: "expected an object".to_owned(),
        });
        return None;
    };
    let labels = parse_string_map(fields.get("labels"), path, "labels", true, errors);
    let annotations = parse_string_map(
        fields.get("annotations"),
        path,
        "annotations",
        false,
        errors,
    );
    let starts_at = fields
        .get("startsAt")
        .and_then(|value| parse_time(value, path, "startsAt", errors));
    let ends_at = fields
        .get("endsAt")
        .and_then(|value| parse_time(value, path, "endsAt", errors));
    let generator_url = optional_string(fields.get("generatorURL"), path, "generatorURL", errors);
    if errors.len() > errors_before {
        return None;
    }
    let labels = labels?;
    // Alertmanager `api/v2` `postAlertsHandler`: fill the start, then a timeout end.
    let starts_at = starts_at.unwrap_or_else(|| ends_at.unwrap_or(now).min(now));
    let (ends_at, timeout) = match ends_at {
        Some(end) => (end, false),
        None => (now + resolve_timeout, true),
    };
    if ends_at < starts_at {
        errors.push(field(
            path,
            "endsAt",
            format!(
                "{} is before startsAt {}",
                ends_at.to_rfc3339(),
                starts_at.to_rfc3339()
            ),
        ));
        return None;
    }
    let status = if ends_at <= now {
        AlertStatus::Resolved
    } else {
        AlertStatus::Firing
    };
    Some((
        path.to_owned(),
        Incoming {
            view: AlertView {
                fingerprint: fingerprint(&labels),
                source: AlertSource::Prometheus,
                status,
                labels,
                annotations: annotations.unwrap_or_default(),
                starts_at,
                ends_at: Some(ends_at),
                generator_url,
                updated_at: now,
            },
            timeout,
        },
    ))
}

fn field(path: &str, name: &str, message: String) -> FieldError {
    FieldError {
        path: format!("{path}.{name}"),
        message,
    }
}

fn missing_or_type(value: Option<&Value>, expected: &str) -> String {
    match value {
        None => "missing".to_owned(),
        Some(other) => format!(
            "expected {expected}, found {}",
            crate::targets::json_type(other)
        ),
    }
}

fn optional_string(
    value: Option<&Value>,
    path: &str,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.is_empty() => None,
        Some(Value::String(text)) => Some(text.chars().take(MAX_ANNOTATION_VALUE_BYTES).collect()),
        Some(other) => {
            errors.push(field(
                path,
                name,
                format!(
                    "expected a string, found {}",
                    crate::targets::json_type(other)
                ),
            ));
            None
        }
    }
}

/// Labels are required and non-empty; annotations are optional. Both are string-to-string maps with
/// bounded sizes.
fn parse_string_map(
    value: Option<&Value>,
    path: &str,
    name: &str,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> Option<BTreeMap<String, String>> {
    let object: &Map<String, Value> = match value {
        None | Some(Value::Null) if required => {
            errors.push(field(path, name, "missing".to_owned()));
            return None;
        }
        None | Some(Value::Null) => return Some(BTreeMap::new()),
        Some(Value::Object(object)) => object,
        Some(other) => {
            errors.push(field(
                path,
                name,
                format!(
                    "expected an object, found {}",
                    crate::targets::json_type(other)
                ),
            ));
            return None;
        }
    };
    if required && object.is_empty() {
        errors.push(field(path, name, "must have at least one label".to_owned()));
        return None;
    }
    if object.len() > MAX_LABELS {
        errors.push(field(
            path,
            name,
            format!("{} entries, at most {MAX_LABELS} are allowed", object.len()),
        ));
        return None;
    }
    let max_value = if required {
        MAX_LABEL_VALUE_BYTES
    } else {
        MAX_ANNOTATION_VALUE_BYTES
    };
    let mut map = BTreeMap::new();
    let mut ok = true;
    for (key, value) in object {
        let entry_path = format!("{name}.{key}");
        if key.len() > MAX_NAME_BYTES || (required && !is_valid_label_name(key)) {
            errors.push(field(
                path,
                &entry_path,
                "is not a valid label name".to_owned(),
            ));
            ok = false;
            continue;
        }
        match value {
            Value::String(text) if text.len() <= max_value => {
                map.insert(key.clone(), text.clone());
            }
            Value::String(text) => {
                errors.push(field(
                    path,
                    &entry_path,
                    format!("value is {} bytes, at most {max_value}", text.len()),
                ));
                ok = false;
            }
            other => {
                errors.push(field(
                    path,
                    &entry_path,
                    format!(
                        "expected a string, found {}",
                        crate::targets::json_type(other)
                    ),
                ));
                ok = false;
            }
        }
    }
    ok.then_some(map)
}

/// RFC 3339; Go's zero time (`0001-01-01T00:00:00Z`, what Alertmanager sends for "no end") is `None`.
fn parse_time(
    value: &Value,
    path: &str,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    match value {
        Value::Null => None,
        Value::String(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(time) => {
                let time = time.with_timezone(&Utc);
                (time.timestamp() > GO_ZERO_TIME_CUTOFF).then_some(time)
            }
            Err(error) => {
                errors.push(field(
                    path,
                    name,
                    format!("{text:?} is not an RFC 3339 time ({error})"),
                ));
                None
            }
        },
        other => {
            errors.push(field(
                path,
                name,
                format!(
                    "expected an RFC 3339 string, found {}",
                    crate::targets::json_type(other)
                ),
            ));
            None
        }
    }
}

/// Anything before 1970 is a zero/unset time in practice.
const GO_ZERO_TIME_CUTOFF: i64 = 0;

fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fingerprint_matches_alertmanager() {
        // From alertmanager-webhook.json: Alertmanager 0.25 computed these for these label sets.
        let web1 = labels(&[
            ("alertname", "HighErrorRate"),
            ("instance", "web-1"),
            ("service", "checkout"),
            ("severity", "page"),
        ]);
        assert_eq!(fingerprint(&web1), "474dfdb8c6c08e60");
        let demo = labels(&[
            ("alertname", "DemoAlwaysFiring"),
            ("instance", "127.0.0.1:19100"),
            ("job", "demo"),
            ("service", "demo"),
            ("severity", "warning"),
        ]);
        assert_eq!(fingerprint(&demo), "7679ea5bb394037b");
        // The empty set is FNV's offset basis, as in Prometheus.
        assert_eq!(fingerprint(&Labels::new()), "cbf29ce484222325");
    }

    #[test]
    fn field_paths_name_the_alert() {
        let store = AlertStore::new(AlertStoreConfig::default());
        let body = br#"[{"labels":{"alertname":"A"}},{"annotations":{}},{"labels":{"a":1},"startsAt":"yesterday"}]"#;
        let error = store.ingest_v2(body).unwrap_err();
        let AlertError::Invalid { errors, report } = &error else {
            panic!("{error}")
        };
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "alerts[1].labels",
                "alerts[2].labels.a",
                "alerts[2].startsAt"
            ],
            "{error}"
        );
        assert_eq!(errors[0].message, "missing");
        assert_eq!(report.accepted, 1, "the valid alert of the payload is kept");
    }
}
