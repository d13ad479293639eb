//! The [`Responder`] service: incidents from signals, alerts and people; noise control; escalation; the
//! views the HTTP routes return.
//!
//! Every incident change follows one pattern: read the incident, apply the change in memory (recording
//! timeline entries and outbox pages), write it back under its version. A lost race re-reads and
//! re-applies, so concurrent replicas and concurrent requests never lose a change or page twice.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use model::{HumanDuration, Labels, Level, Signal};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::channels::{Channel, build_channel};
use crate::clock::{Clock, SystemClock};
use crate::config::{EscalationConfig, ResponderConfig};
use crate::dedup;
use crate::error::{ResponderError, Result};
use crate::maintenance::{MaintenancePeriod, MaintenanceWindow};
use crate::matchers::{Matcher, all_match};
use crate::oncall::{OnCallView, Schedule};
use crate::page::{Page, PageAction};
use crate::signing::AckSigner;
use crate::store::{
    Incident, IncidentFilter, IncidentState, IncidentWrite, NewPage, NewSilence, NewTimelineEntry,
    PageRecord, Silence, Store, StoreError, TimelineEntry,
};
use crate::time::rfc3339;

/// How often a suppressed escalation step is looked at again (a silence may have expired).
const SUPPRESSION_RECHECK_MS: i64 = 60_000;
/// Folded signals beyond this many per incident are counted but no longer each get a timeline entry, so
/// a storm cannot bury the timeline.
const FOLD_TIMELINE_LIMIT: i64 = 25;
/// Attempts at an optimistic incident update before giving up.
const UPDATE_ATTEMPTS: usize = 8;

/// Maps an incident's labels to its runbook (a name or URL), e.g. from `runbooks/` front matter.
pub type RunbookResolver = Arc<dyn Fn(&Labels) -> Option<String> + Send + Sync>;

/// Looks up an environment variable by name (injected so tests never touch the process environment).
type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The responder service handle; cheap to clone.
#[derive(Clone)]
pub struct Responder {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: ResponderConfig,
    pub channels: BTreeMap<String, Arc<dyn Channel>>,
    policies: BTreeMap<Level, EscalationConfig>,
    pub(crate) signer: AckSigner,
    maintenance: Vec<MaintenanceWindow>,
    schedules: BTreeMap<String, Schedule>,
    runbooks: Option<RunbookResolver>,
    /// Woken when pages are queued, so delivery workers do not wait for their next poll.
    pub wake: Notify,
    pub started_at_ms: i64,
    /// Evidence that arrived before its incident opened.
    pub(crate) evidence: crate::evidence::EvidenceBuffer,
}

/// Builds a [`Responder`]: `Responder::builder(store, config)…build()`.
pub struct ResponderBuilder {
    store: Arc<dyn Store>,
    config: ResponderConfig,
    clock: Arc<dyn Clock>,
    env: EnvLookup,
    extra_channels: Vec<Arc<dyn Channel>>,
    runbooks: Option<RunbookResolver>,
    ack_secret: Option<Vec<u8>>,
}

impl ResponderBuilder {
    /// The clock for timestamps and due times (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Where secrets named by the config (`*_env`) are looked up. Default: no variables at all; the binary
    /// passes `|name| std::env::var(name).ok()`.
    pub fn env(mut self, env: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        self.env = Box::new(env);
        self
    }

    /// Uses `channel` instead of the configured channel of the same name (or in addition, if none).
    pub fn channel(mut self, channel: Arc<dyn Channel>) -> Self {
        self.extra_channels.push(channel);
        self
    }

    pub fn runbooks(mut self, resolver: RunbookResolver) -> Self {
        self.runbooks = Some(resolver);
        self
    }

    /// The ack-link secret, overriding `ack_secret_env`.
    pub fn ack_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.ack_secret = Some(secret.into());
        self
    }

    /// Validates the config and builds the channels. Call inside a Tokio runtime (the SMTP pool needs one).
    pub fn build(self) -> Result<Responder> {
        let problems = self.config.validate("");
        if !problems.is_empty() {
            return Err(ResponderError::Config(problems));
        }
        let mut channels = BTreeMap::new();
        for config in &self.config.channels {
            if self
                .extra_channels
                .iter()
                .any(|extra| extra.name() == config.name())
            {
                continue;
            }
            let channel =
                build_channel(config, &*self.env).map_err(|source| ResponderError::Channel {
                    name: config.name().to_owned(),
                    source,
                })?;
            channels.insert(config.name().to_owned(), channel);
        }
        let subscriber_channels =
            crate::channels::build_subscriber_channels(&self.config, &*self.env).map_err(
                |source| ResponderError::Channel {
                    name: "subscriptions".to_owned(),
                    source,
                },
            )?;
        for channel in subscriber_channels {
            channels.insert(channel.name().to_owned(), channel);
        }
        for channel in self.extra_channels {
            channels.insert(channel.name().to_owned(), channel);
        }
        let secret = match (self.ack_secret, &self.config.ack_secret_env) {
            (Some(secret), _) => secret,
            (None, Some(variable)) => match (self.env)(variable) {
                Some(secret) if !secret.is_empty() => secret.into_bytes(),
                _ => {
                    return Err(ResponderError::Config(vec![(
                        "ack_secret_env".to_owned(),
                        format!("environment variable {variable} is not set"),
                    )]));
                }
            },
            (None, None) => {
                tracing::warn!(
                    "no ack_secret_env configured: acknowledge links are signed with a random key and stop working at restart"
                );
                random_hex(32).into_bytes()
            }
        };
        let maintenance = self
            .config
            .maintenance
            .iter()
            .map(MaintenanceWindow::from_config)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|message| ResponderError::Config(vec![("maintenance".to_owned(), message)]))?;
        let schedules = self
            .config
            .oncall
            .iter()
            .map(|config| Schedule::from_config(config).map(|s| (config.name.clone(), s)))
            .collect::<std::result::Result<BTreeMap<_, _>, _>>()
            .map_err(|message| ResponderError::Config(vec![("oncall".to_owned(), message)]))?;
        let policies = self
            .config
            .policies()
            .into_iter()
            .map(|policy| (policy.level, policy))
            .collect();
        let started_at_ms = self.clock.now_ms();
        Ok(Responder {
            inner: Arc::new(Inner {
                store: self.store,
                clock: self.clock,
                config: self.config,
                channels,
                policies,
                signer: AckSigner::new(secret),
                maintenance,
                schedules,
                runbooks: self.runbooks,
                wake: Notify::new(),
                started_at_ms,
                evidence: crate::evidence::EvidenceBuffer::default(),
            }),
        })
    }
}

// ---- inputs ------------------------------------------------------------------------------------------

/// An Alertmanager alert as the collector hands it over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertInput {
    pub fingerprint: String,
    pub labels: Labels,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub status: AlertStatus,
    pub starts_at_ms: i64,
    #[serde(default)]
    pub ends_at_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

/// `POST /api/v1/incidents` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewIncidentInput {
    pub title: String,
    pub level: Level,
    pub component: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub runbook: Option<String>,
}

/// `POST /api/v1/incidents/{id}/level` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetLevel {
    pub level: Level,
    #[serde(default)]
    pub reason: String,
}

/// `POST /api/v1/incidents/{id}/assign` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    #[serde(default)]
    pub commander: Option<String>,
    #[serde(default)]
    pub assignees: Vec<String>,
}

/// `POST /api/v1/incidents/{id}/status` body: a public update for the status page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusUpdate {
    /// `investigating`, `identified`, `monitoring` or `resolved` (which also resolves the incident).
    pub status: String,
    pub message: String,
}

/// `POST /api/v1/silences` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSilenceInput {
    /// Label matchers, all of which must match: `component="bridge"`, `alertname=~"Chain.*"`.
    /// Incident labels include `component`, `category`, `level` and the signal's or alert's labels.
    pub matchers: Vec<String>,
    /// How long from now (or from `starts_at`) the silence lasts.
    pub duration: HumanDuration,
    /// RFC 3339; default now.
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default)]
    pub comment: String,
}

// ---- views -------------------------------------------------------------------------------------------

/// One incident in a listing (the contract's shape plus extra fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentSummary {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub state: IncidentState,
    pub component: String,
    pub opened_at: String,
    pub acked_at: Option<String>,
    pub resolved_at: Option<String>,
    pub runbook: Option<String>,
    pub category: String,
    pub summary: String,
    pub severity: &'static str,
    /// The level's response target, e.g. `5m`.
    pub response_target: String,
    pub acked_by: Option<String>,
    pub commander: Option<String>,
    pub assignees: Vec<String>,
    /// The latest public status update (`investigating` …).
    pub status: Option<String>,
    pub signal_count: i64,
    /// Why paging is held back right now, if it is.
    pub suppressed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentList {
    pub incidents: Vec<IncidentSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineView {
    pub at: String,
    pub kind: String,
    pub actor: String,
    pub text: String,
}

/// One incident with its timeline and pages (`GET /api/v1/incidents/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: IncidentSummary,
    pub timeline: Vec<TimelineView>,
    pub pages: Vec<PageView>,
    /// How the incident's public updates reached status-page subscribers.
    pub subscriber_messages: crate::store::DeliveryCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageView {
    pub id: i64,
    pub incident_id: Option<String>,
    pub channel: String,
    pub state: crate::store::PageState,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub action: String,
    pub step: String,
    pub idempotency_key: String,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub next_attempt_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageList {
    pub pages: Vec<PageView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SilenceView {
    pub id: i64,
    pub matchers: Vec<String>,
    pub comment: String,
    pub created_by: String,
    pub starts_at: String,
    pub ends_at: String,
    /// `pending` (not started), `active` or `expired`.
    pub state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SilenceList {
    pub silences: Vec<SilenceView>,
}

/// What ingesting a signal or alert did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngestOutcome {
    /// The incident it opened or folded into; `None` when a clear signal matched no open incident.
    pub incident_id: Option<String>,
    pub opened: bool,
    /// It folded into an open incident that had no runbook and raised its level: the runbooks are worth
    /// matching again (an L3 that became an L1 drain must still pause).
    pub escalated: bool,
}

impl From<&Incident> for IncidentSummary {
    fn from(incident: &Incident) -> Self {
        let target = incident.level.response_target();
        Self {
            id: incident.id.clone(),
            title: incident.title.clone(),
            level: incident.level,
            state: incident.state,
            component: incident.component.clone(),
            opened_at: rfc3339(incident.opened_at_ms),
            acked_at: incident.acked_at_ms.map(rfc3339),
            resolved_at: incident.resolved_at_ms.map(rfc3339),
            runbook: incident.runbook.clone(),
            category: incident.category.clone(),
            summary: incident.summary.clone(),
            severity: incident.level.severity(),
            response_target: HumanDuration(target).to_string(),
            acked_by: incident.acked_by.clone(),
            commander: incident.commander.clone(),
            assignees: incident.assignees.clone(),
            status: incident.public_status.clone(),
            signal_count: incident.signal_count,
            suppressed: incident.suppressed.clone(),
        }
    }
}

impl From<&TimelineEntry> for TimelineView {
    fn from(entry: &TimelineEntry) -> Self {
        Self {
            at: rfc3339(entry.at_ms),
            kind: entry.kind.clone(),
            actor: entry.actor.clone(),
            text: entry.text.clone(),
        }
    }
}

impl From<&PageRecord> for PageView {
    fn from(page: &PageRecord) -> Self {
        Self {
            id: page.id,
            incident_id: page.incident_id.clone(),
            channel: page.channel.clone(),
            state: page.state,
            attempts: page.attempts,
            last_error: page.last_error.clone(),
            action: page.action.clone(),
            step: page.step.clone(),
            idempotency_key: page.idempotency_key.clone(),
            created_at: rfc3339(page.created_at_ms),
            sent_at: page.sent_at_ms.map(rfc3339),
            next_attempt_at: rfc3339(page.next_attempt_at_ms),
        }
    }
}

fn silence_view(silence: &Silence, now_ms: i64) -> SilenceView {
    let state = if silence.is_active_at(now_ms) {
        "active"
    } else if now_ms < silence.starts_at_ms {
        "pending"
    } else {
        "expired"
    };
    SilenceView {
        id: silence.id,
        matchers: silence.matchers.clone(),
        comment: silence.comment.clone(),
        created_by: silence.created_by.clone(),
        starts_at: rfc3339(silence.starts_at_ms),
        ends_at: rfc3339(silence.ends_at_ms),
        state,
    }
}

// ---- internals ---------------------------------------------------------------------------------------

/// Something observed about a problem: a signal, an alert notification, a missed heartbeat.
pub(crate) struct Observation {
    pub dedup_key: String,
    /// Identifies the thing that is active or clear (signal id, alert fingerprint).
    pub source_key: String,
    pub active: bool,
    pub level: Level,
    pub title: String,
    pub summary: String,
    pub component: String,
    pub category: String,
    pub source: &'static str,
    pub labels: Labels,
    pub actor: &'static str,
    /// One line for the timeline.
    pub detail: String,
}

/// Why paging is held back.
#[derive(Debug, Clone)]
pub(crate) struct Suppression {
    /// `silenced`, `inhibited` or `maintenance_suppressed`.
    kind: &'static str,
    text: String,
}

/// A random lowercase hex string of `len` characters, seeded from the OS (std's `RandomState` keys) and
/// the time. Used for incident ids, claim tokens and the fallback ack secret.
pub(crate) fn random_hex(len: usize) -> String {
    use sha2::{Digest, Sha256};
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::new();
    while out.len() < len {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        let mut digest = Sha256::new();
        digest.update(hasher.finish().to_le_bytes());
        digest.update(
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
                .to_le_bytes(),
        );
        digest.update(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
                .to_le_bytes(),
        );
        out.push_str(&hex::encode(digest.finalize()));
    }
    out.truncate(len);
    out
}

fn level_from_alert(labels: &Labels) -> Level {
    if let Some(level) = labels.get("level").and_then(|text| text.parse().ok()) {
        return level;
    }
    match labels
        .get("severity")
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        Some("critical" | "page" | "emergency") => Level::L1,
        Some("error" | "high" | "major") => Level::L2,
        Some("warning" | "warn" | "medium" | "minor") => Level::L3,
        Some("info" | "low" | "none") => Level::L4,
        _ => Level::L3,
    }
}

impl Responder {
    pub fn builder(store: Arc<dyn Store>, config: ResponderConfig) -> ResponderBuilder {
        ResponderBuilder {
            store,
            config,
            clock: Arc::new(SystemClock),
            env: Box::new(|_| None),
            extra_channels: Vec::new(),
            runbooks: None,
            ack_secret: None,
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn config(&self) -> &ResponderConfig {
        &self.inner.config
    }

    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    pub(crate) fn wake_delivery(&self) {
        self.inner.wake.notify_waiters();
    }

    fn policy(&self, level: Level) -> EscalationConfig {
        self.inner
            .policies
            .get(&level)
            .cloned()
            .unwrap_or_else(|| EscalationConfig::default_for(level))
    }

    // ---- intake --------------------------------------------------------------------------------------

    /// Opens an incident for an active signal, or folds the signal into the open incident of its
    /// component and category; a signal that is no longer active clears its part of the incident.
    pub async fn ingest_signal(&self, signal: &Signal) -> Result<IngestOutcome> {
        let mut labels = signal.series.labels.clone();
        labels.insert("component".to_owned(), signal.component.clone());
        labels.insert("category".to_owned(), signal.category.as_str().to_owned());
        labels.insert("series".to_owned(), signal.series.name.clone());
        labels.insert("level".to_owned(), signal.level.as_str().to_owned());
        self.observe(Observation {
            dedup_key: dedup::signal_key(signal),
            source_key: format!("signal:{}", signal.id),
            active: signal.active,
            level: signal.level,
            title: format!(
                "{} anomaly on {}",
                signal.category.as_str(),
                signal.component
            ),
            summary: signal.reason.clone(),
            component: signal.component.clone(),
            category: signal.category.as_str().to_owned(),
            source: "signal",
            labels,
            actor: "detector",
            detail: format!(
                "{} {} since {} (score {:.2}, {}): {}",
                signal.series,
                if signal.active {
                    "anomalous"
                } else {
                    "back to normal"
                },
                rfc3339(signal.started_at_ms),
                signal.score,
                signal.level,
                signal.reason
            ),
        })
        .await
    }

    /// Opens or folds an incident for a firing Alertmanager alert; a resolved alert clears its part.
    /// Level: a `level` label (L1–L4), else `severity` (critical → L1, error → L2, warning → L3,
    /// info → L4), else L3.
    pub async fn ingest_alert(&self, alert: &AlertInput) -> Result<IngestOutcome> {
        // Alerts from chain watching (`source="chain"`) are about a contract: they carry their category and
        // fold with the detector's signals on the same component and category (a drained bridge's
        // `value_locked` signal and its outflow transfers are one incident). Evidence never opens one.
        let from_chain = alert.labels.get("source").map(String::as_str) == Some("chain");
        if from_chain && alert.labels.get("evidence").map(String::as_str) == Some("true") {
            return self.ingest_evidence(alert).await;
        }
        let level = level_from_alert(&alert.labels);
        let alertname = alert
            .labels
            .get("alertname")
            .cloned()
            .unwrap_or_else(|| "alert".to_owned());
        let component = ["component", "service", "job"]
            .iter()
            .find_map(|name| alert.labels.get(*name).cloned())
            .unwrap_or_else(|| "alertmanager".to_owned());
        let category = if from_chain {
            crate::evidence::chain_category(&alert.labels)
        } else {
            "alert".to_owned()
        };
        let mut labels = alert.labels.clone();
        labels
            .entry("component".to_owned())
            .or_insert_with(|| component.clone());
        labels.insert("level".to_owned(), level.as_str().to_owned());
        labels
            .entry("category".to_owned())
            .or_insert_with(|| category.clone());
        let title = alert
            .annotations
            .get("summary")
            .cloned()
            .unwrap_or_else(|| alertname.clone());
        let summary = alert
            .annotations
            .get("description")
            .or_else(|| alert.annotations.get("summary"))
            .cloned()
            .unwrap_or_else(|| alertname.clone());
        let active = alert.status == AlertStatus::Firing;
        let dedup_key = if from_chain {
            dedup::component_key(&component, &category)
        } else {
            dedup::alert_key(&alert.labels, &self.inner.config.alert_group_by)
        };
        self.observe(Observation {
            dedup_key,
            source_key: format!("alert:{}", alert.fingerprint),
            active,
            level,
            title,
            summary: summary.clone(),
            component,
            category,
            source: "alert",
            labels,
            actor: if from_chain { "chain" } else { "alertmanager" },
            detail: format!(
                "alert {alertname} ({}) {} since {}: {summary}",
                alert.fingerprint,
                if active { "firing" } else { "resolved" },
                rfc3339(if active {
                    alert.starts_at_ms
                } else {
                    alert.ends_at_ms.unwrap_or(alert.starts_at_ms)
                }),
            ),
        })
        .await
    }

    /// Opens an incident by hand. Never folded: every call opens a new incident.
    pub async fn create_incident(
        &self,
        input: &NewIncidentInput,
        actor: &str,
    ) -> Result<IncidentDetail> {
        if input.title.trim().is_empty() {
            return Err(ResponderError::InvalidInput(
                "title must not be empty".to_owned(),
            ));
        }
        if input.component.trim().is_empty() {
            return Err(ResponderError::InvalidInput(
                "component must not be empty".to_owned(),
            ));
        }
        let now = self.now();
        let mut labels = Labels::new();
        labels.insert("component".to_owned(), input.component.clone());
        labels.insert("category".to_owned(), "manual".to_owned());
        labels.insert("level".to_owned(), input.level.as_str().to_owned());
        let observation = Observation {
            dedup_key: String::new(),
            source_key: "manual".to_owned(),
            active: true,
            level: input.level,
            title: input.title.clone(),
            summary: if input.summary.is_empty() {
                input.title.clone()
            } else {
                input.summary.clone()
            },
            component: input.component.clone(),
            category: "manual".to_owned(),
            source: "manual",
            labels,
            actor: "vigil",
            detail: format!("opened by {actor}: {}", input.title),
        };
        let mut incident = self.new_incident(&observation, now);
        incident.dedup_key = format!("manual/{}", incident.id);
        if input.runbook.is_some() {
            incident.runbook = input.runbook.clone();
        }
        // A person opened it: it stays open until someone resolves it.
        incident.active_sources.insert("manual".to_owned());
        let suppression = self.suppression(&incident, now).await?;
        let mut write = IncidentWrite::default();
        self.record_opening(
            &mut incident,
            &mut write,
            &observation,
            now,
            actor,
            suppression.as_ref(),
        );
        self.inner.store.create_incident(&incident, &write).await?;
        self.wake_delivery();
        self.get_incident(&incident.id).await
    }

    fn new_incident(&self, observation: &Observation, now: i64) -> Incident {
        let runbook = self
            .inner
            .runbooks
            .as_ref()
            .and_then(|resolve| resolve(&observation.labels));
        Incident {
            id: format!("inc-{}", random_hex(12)),
            dedup_key: observation.dedup_key.clone(),
            title: observation.title.clone(),
            level: observation.level,
            state: IncidentState::Triggered,
            component: observation.component.clone(),
            category: observation.category.clone(),
            source: observation.source.to_owned(),
            summary: observation.summary.clone(),
            runbook,
            commander: None,
            assignees: Vec::new(),
            labels: observation.labels.clone(),
            public_status: None,
            opened_at_ms: now,
            acked_at_ms: None,
            acked_by: None,
            resolved_at_ms: None,
            last_signal_at_ms: now,
            clear_since_ms: None,
            active_sources: BTreeSet::from([observation.source_key.clone()]),
            signal_count: 1,
            esc_level: observation.level,
            esc_step: 0,
            esc_round: 0,
            next_escalation_at_ms: None,
            suppressed: None,
            paged_channels: BTreeSet::new(),
            version: 0,
        }
    }

    fn record_opening(
        &self,
        incident: &mut Incident,
        write: &mut IncidentWrite,
        observation: &Observation,
        now: i64,
        actor: &str,
        suppression: Option<&Suppression>,
    ) {
        write.timeline.push(NewTimelineEntry::new(
            now,
            "detected",
            actor,
            observation.detail.clone(),
        ));
        write.timeline.push(NewTimelineEntry::new(
            now,
            "classified",
            actor,
            format!(
                "{} ({}), respond within {}",
                incident.level,
                incident.level.severity(),
                HumanDuration(incident.level.response_target())
            ),
        ));
        self.start_escalation(incident, write, now, suppression);
        self.notice_opening(incident, write, now);
    }

    pub(crate) async fn observe(&self, observation: Observation) -> Result<IngestOutcome> {
        for _ in 0..UPDATE_ATTEMPTS {
            let now = self.now();
            let existing = self
                .inner
                .store
                .open_incident_by_key(&observation.dedup_key)
                .await?;
            let Some(mut incident) = existing else {
                if !observation.active {
                    return Ok(IngestOutcome {
                        incident_id: None,
                        opened: false,
                        escalated: false,
                    });
                }
                let mut incident = self.new_incident(&observation, now);
                let suppression = self.suppression(&incident, now).await?;
                let mut write = IncidentWrite::default();
                self.record_opening(
                    &mut incident,
                    &mut write,
                    &observation,
                    now,
                    observation.actor,
                    suppression.as_ref(),
                );
                match self.inner.store.create_incident(&incident, &write).await {
                    Ok(()) => {
                        tracing::info!(incident_id = %incident.id, level = %incident.level, component = %incident.component, "incident opened");
                        self.wake_delivery();
                        self.attach_evidence(&observation.dedup_key, &incident.id)
                            .await;
                        return Ok(IngestOutcome {
                            incident_id: Some(incident.id),
                            opened: true,
                            escalated: false,
                        });
                    }
                    // Another replica or request opened it first: fold into theirs.
                    Err(StoreError::Conflict(_)) => continue,
                    Err(error) => return Err(error.into()),
                }
            };

            let mut write = IncidentWrite::default();
            let new_source =
                observation.active && !incident.active_sources.contains(&observation.source_key);
            incident.signal_count += 1;
            incident.last_signal_at_ms = now;
            if observation.active {
                incident
                    .active_sources
                    .insert(observation.source_key.clone());
                if incident.clear_since_ms.take().is_some() {
                    write.timeline.push(NewTimelineEntry::new(
                        now,
                        "note",
                        observation.actor,
                        format!("active again: {}", observation.detail),
                    ));
                }
            } else {
                incident.active_sources.remove(&observation.source_key);
                if incident.active_sources.is_empty() && incident.clear_since_ms.is_none() {
                    incident.clear_since_ms = Some(now);
                    write.timeline.push(NewTimelineEntry::new(
                        now,
                        "note",
                        observation.actor,
                        format!(
                            "all signals clear ({}); resolves by itself after {} unless they return",
                            observation.detail,
                            self.inner.config.auto_resolve_after
                        ),
                    ));
                }
            }
            if new_source && incident.signal_count <= FOLD_TIMELINE_LIMIT {
                write.timeline.push(NewTimelineEntry::new(
                    now,
                    "folded",
                    observation.actor,
                    observation.detail.clone(),
                ));
            }
            let raised =
                observation.active && observation.level.is_more_severe_than(incident.level);
            if raised {
                let previous = incident.level;
                incident.level = observation.level;
                write.timeline.push(NewTimelineEntry::new(
                    now,
                    "reclassified",
                    observation.actor,
                    format!("{previous} → {}: {}", observation.level, observation.detail),
                ));
                if incident.state == IncidentState::Triggered {
                    let suppression = self.suppression(&incident, now).await?;
                    self.start_escalation(&mut incident, &mut write, now, suppression.as_ref());
                }
                // An L4 notice that grew into an outage is news to subscribers now.
                self.notice_opening(&incident, &mut write, now);
            }
            match self.inner.store.update_incident(&incident, &write).await {
                Ok(()) => {
                    if !write.pages.is_empty() {
                        self.wake_delivery();
                    }
                    let escalated = raised && incident.runbook.is_none();
                    return Ok(IngestOutcome {
                        incident_id: Some(incident.id),
                        opened: false,
                        escalated,
                    });
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ResponderError::Store(StoreError::Conflict(format!(
            "too many concurrent changes to the incident for {}",
            observation.dedup_key
        ))))
    }

    // ---- escalation ----------------------------------------------------------------------------------

    /// Starts the escalation policy of the incident's level from its first step.
    fn start_escalation(
        &self,
        incident: &mut Incident,
        write: &mut IncidentWrite,
        now: i64,
        suppression: Option<&Suppression>,
    ) {
        incident.esc_level = incident.level;
        incident.esc_step = 0;
        incident.esc_round = 0;
        let policy = self.policy(incident.level);
        let Some(first) = policy.steps.first() else {
            incident.next_escalation_at_ms = None;
            if incident.level == Level::L4 {
                write.timeline.push(NewTimelineEntry::new(
                    now,
                    "note",
                    "vigil",
                    format!(
                        "L4: no page; goes to the daily digest at {} {}",
                        self.inner.config.digest.at, self.inner.config.digest.time_zone
                    ),
                ));
            }
            return;
        };
        let first_after = duration_ms(first.after);
        incident.next_escalation_at_ms = Some(now + first_after);
        if first_after == 0 {
            self.fire_step(incident, write, now, suppression);
        }
    }

    /// Fires the incident's due escalation step (unless paging is suppressed) and schedules the next.
    fn fire_step(
        &self,
        incident: &mut Incident,
        write: &mut IncidentWrite,
        now: i64,
        suppression: Option<&Suppression>,
    ) {
        let policy = self.policy(incident.esc_level);
        if policy.steps.is_empty() {
            incident.next_escalation_at_ms = None;
            return;
        }
        if let Some(suppression) = suppression {
            if incident.suppressed.as_deref() != Some(suppression.text.as_str()) {
                write.timeline.push(NewTimelineEntry::new(
                    now,
                    suppression.kind,
                    "vigil",
                    suppression.text.clone(),
                ));
                incident.suppressed = Some(suppression.text.clone());
            }
            // Hold the step and look again later: the silence or window may end while this is open.
            incident.next_escalation_at_ms = Some(now + SUPPRESSION_RECHECK_MS);
            return;
        }
        if let Some(previous) = incident.suppressed.take() {
            write.timeline.push(NewTimelineEntry::new(
                now,
                "note",
                "vigil",
                format!("paging resumed; no longer applies: {previous}"),
            ));
        }
        let index = usize::try_from(incident.esc_step)
            .unwrap_or(0)
            .min(policy.steps.len() - 1);
        let step = &policy.steps[index];
        let on_call = policy
            .schedule
            .as_ref()
            .and_then(|name| self.inner.schedules.get(name))
            .and_then(|schedule| schedule.on_call_at(now));
        let step_label = format!("{}/{}/{}", incident.esc_level, index, incident.esc_round);
        let mut paged = Vec::new();
        for channel_name in &step.channels {
            let Some(channel) = self.inner.channels.get(channel_name) else {
                continue;
            };
            if !channel.accepts(PageAction::Trigger) {
                continue;
            }
            let key = format!("{}/{}/{}", incident.id, step_label, channel_name);
            let page = self.render_page(
                incident,
                PageAction::Trigger,
                key,
                step_label.clone(),
                on_call.clone(),
                now,
            );
            write.pages.push(new_page(&page, channel_name, now));
            incident.paged_channels.insert(channel_name.clone());
            paged.push(channel_name.as_str());
        }
        let first = index == 0 && incident.esc_round == 0;
        write.timeline.push(NewTimelineEntry::new(
            now,
            if first { "paged" } else { "escalated" },
            "vigil",
            format!(
                "{} {} via {} (step {} of {}{}{})",
                if first { "paged" } else { "escalated" },
                incident.esc_level,
                paged.join(", "),
                index + 1,
                policy.steps.len(),
                if incident.esc_round > 0 {
                    format!(", repeat {}", incident.esc_round)
                } else {
                    String::new()
                },
                on_call
                    .map(|person| format!(", on call: {person}"))
                    .unwrap_or_default(),
            ),
        ));
        if index + 1 < policy.steps.len() {
            incident.esc_step = i64::try_from(index + 1).unwrap_or(i64::MAX);
            let gap = duration_ms(policy.steps[index + 1].after) - duration_ms(step.after);
            incident.next_escalation_at_ms = Some(now + gap.max(0));
        } else if let Some(repeat) = policy.repeat {
            incident.esc_step = 0;
            incident.esc_round += 1;
            incident.next_escalation_at_ms = Some(now + duration_ms(repeat));
        } else {
            incident.next_escalation_at_ms = None;
        }
    }

    fn render_page(
        &self,
        incident: &Incident,
        action: PageAction,
        idempotency_key: String,
        step: String,
        on_call: Option<String>,
        now: i64,
    ) -> Page {
        let base = self.inner.config.base_url.trim_end_matches('/');
        let ack_url = (action == PageAction::Trigger).then(|| {
            let expires = now + duration_ms(self.inner.config.ack_link_ttl);
            format!(
                "{base}/ack/{}",
                self.inner.signer.token(&incident.id, expires)
            )
        });
        Page {
            idempotency_key,
            action,
            incident_id: Some(incident.id.clone()),
            title: incident.title.clone(),
            level: Some(incident.level),
            component: incident.component.clone(),
            summary: incident.summary.clone(),
            since: rfc3339(incident.opened_at_ms),
            runbook: incident.runbook.clone(),
            incident_url: Some(format!("{base}/incidents/{}", incident.id)),
            ack_url,
            on_call,
            step,
            subscriber: None,
            affects: Vec::new(),
        }
    }

    /// Why paging for `incident` is held back at `now`: a maintenance window on its component, a silence
    /// matching its labels, or an open incident that inhibits it.
    pub(crate) async fn suppression(
        &self,
        incident: &Incident,
        now: i64,
    ) -> Result<Option<Suppression>> {
        for window in &self.inner.maintenance {
            if window.covers(&incident.component)
                && let Some(period) = window.period_at(now)
            {
                return Ok(Some(Suppression {
                    kind: "maintenance_suppressed",
                    text: format!(
                        "paging muted: {} is in maintenance window {:?} until {}",
                        incident.component,
                        period.name,
                        rfc3339(period.end_ms)
                    ),
                }));
            }
        }
        for silence in self.inner.store.silences().await? {
            if !silence.is_active_at(now) {
                continue;
            }
            let matchers: Vec<Matcher> = silence
                .matchers
                .iter()
                .filter_map(|m| Matcher::parse(m).ok())
                .collect();
            if !matchers.is_empty() && all_match(&matchers, &incident.labels) {
                return Ok(Some(Suppression {
                    kind: "silenced",
                    text: format!(
                        "paging silenced by silence {} ({}) until {}",
                        silence.id,
                        if silence.comment.is_empty() {
                            silence.matchers.join(", ")
                        } else {
                            silence.comment.clone()
                        },
                        rfc3339(silence.ends_at_ms)
                    ),
                }));
            }
        }
        let rules: Vec<_> = self
            .inner
            .config
            .inhibit
            .iter()
            .filter(|rule| all_match(&rule.target, &incident.labels))
            .collect();
        if !rules.is_empty() {
            let open = self
                .inner
                .store
                .incidents(IncidentFilter::Open, 500)
                .await?;
            for rule in rules {
                let source = open.iter().find(|source| {
                    source.id != incident.id
                        && all_match(&rule.source, &source.labels)
                        && rule
                            .equal
                            .iter()
                            .all(|label| source.labels.get(label) == incident.labels.get(label))
                });
                if let Some(source) = source {
                    return Ok(Some(Suppression {
                        kind: "inhibited",
                        text: format!(
                            "folded, not paged: inhibited by rule {:?} while incident {} ({}) is open",
                            rule.name, source.id, source.title
                        ),
                    }));
                }
            }
        }
        Ok(None)
    }

    /// Fires due escalation steps and auto-resolves incidents that have been clear long enough. Returns
    /// how many incidents it changed. Run by the escalation worker every few seconds.
    pub async fn run_escalations_once(&self) -> Result<usize> {
        let now = self.now();
        let clear_before = now - duration_ms(self.inner.config.auto_resolve_after);
        let due = self.inner.store.incidents_due(now, clear_before).await?;
        let mut changed = 0;
        for incident in due {
            let auto_resolve = incident
                .clear_since_ms
                .is_some_and(|since| since <= clear_before);
            let result = if auto_resolve {
                let text = format!(
                    "auto-resolved: signals clear for {} (since {})",
                    self.inner.config.auto_resolve_after,
                    rfc3339(incident.clear_since_ms.unwrap_or(now))
                );
                self.resolve_with(&incident.id, "vigil", text)
                    .await
                    .map(|_| ())
            } else {
                self.mutate(
                    &incident.id,
                    true,
                    |responder, incident, write, now, suppression| {
                        let due = incident.state == IncidentState::Triggered
                            && incident.next_escalation_at_ms.is_some_and(|at| at <= now);
                        if due {
                            responder.fire_step(incident, write, now, suppression);
                        }
                        Ok(due)
                    },
                )
                .await
                .map(|_| ())
            };
            match result {
                Ok(()) => changed += 1,
                Err(error) => {
                    tracing::warn!(incident_id = %incident.id, error = ?error, "escalation step failed");
                }
            }
        }
        Ok(changed)
    }

    /// Reads the incident, applies `apply` (which returns whether it changed anything) and writes it back
    /// under its version, retrying on a lost race. `with_suppression` computes the current suppression
    /// first (for changes that may page).
    pub(crate) async fn mutate<F>(
        &self,
        id: &str,
        with_suppression: bool,
        mut apply: F,
    ) -> Result<Incident>
    where
        F: FnMut(
            &Self,
            &mut Incident,
            &mut IncidentWrite,
            i64,
            Option<&Suppression>,
        ) -> Result<bool>,
    {
        for _ in 0..UPDATE_ATTEMPTS {
            let now = self.now();
            let mut incident = self
                .inner
                .store
                .incident(id)
                .await?
                .ok_or_else(|| ResponderError::IncidentNotFound(id.to_owned()))?;
            let suppression = if with_suppression {
                self.suppression(&incident, now).await?
            } else {
                None
            };
            let mut write = IncidentWrite::default();
            if !apply(self, &mut incident, &mut write, now, suppression.as_ref())? {
                return Ok(incident);
            }
            match self.inner.store.update_incident(&incident, &write).await {
                Ok(()) => {
                    incident.version += 1;
                    if !write.pages.is_empty() {
                        self.wake_delivery();
                    }
                    return Ok(incident);
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ResponderError::Store(StoreError::Conflict(format!(
            "too many concurrent changes to incident {id}"
        ))))
    }

    // ---- incident routes -----------------------------------------------------------------------------

    /// `GET /api/v1/incidents?state=…`
    pub async fn list_incidents(&self, filter: IncidentFilter) -> Result<IncidentList> {
        let incidents = self.inner.store.incidents(filter, 500).await?;
        Ok(IncidentList {
            incidents: incidents.iter().map(IncidentSummary::from).collect(),
        })
    }

    /// `GET /api/v1/incidents/{id}`
    pub async fn get_incident(&self, id: &str) -> Result<IncidentDetail> {
        let incident = self
            .inner
            .store
            .incident(id)
            .await?
            .ok_or_else(|| ResponderError::IncidentNotFound(id.to_owned()))?;
        let timeline = self.inner.store.timeline(id).await?;
        let pages = self.inner.store.pages_of_incident(id).await?;
        let subscriber_messages = self.inner.store.subscriber_deliveries(id).await?;
        Ok(IncidentDetail {
            incident: IncidentSummary::from(&incident),
            timeline: timeline.iter().map(TimelineView::from).collect(),
            pages: pages.iter().map(PageView::from).collect(),
            subscriber_messages,
        })
    }

    /// `POST /api/v1/incidents/{id}/ack`. Stops escalation; incident trackers (PagerDuty) that were
    /// paged get an acknowledge event. Acknowledging twice is a no-op.
    pub async fn ack(&self, id: &str, actor: &str) -> Result<IncidentDetail> {
        self.mutate(
            id,
            false,
            |responder, incident, write, now, _| match incident.state {
                IncidentState::Resolved => Err(ResponderError::WrongState {
                    id: incident.id.clone(),
                    state: "resolved",
                    action: "acknowledge",
                }),
                IncidentState::Acknowledged => Ok(false),
                IncidentState::Triggered => {
                    incident.state = IncidentState::Acknowledged;
                    incident.acked_at_ms = Some(now);
                    incident.acked_by = Some(actor.to_owned());
                    incident.next_escalation_at_ms = None;
                    write.timeline.push(NewTimelineEntry::new(
                        now,
                        "acknowledged",
                        actor,
                        format!(
                            "acknowledged by {actor} after {}; escalation stopped",
                            HumanDuration::from_secs(
                                u64::try_from((now - incident.opened_at_ms) / 1000).unwrap_or(0)
                            )
                        ),
                    ));
                    responder.follow_up_pages(incident, write, PageAction::Acknowledge, now);
                    Ok(true)
                }
            },
        )
        .await?;
        self.get_incident(id).await
    }

    /// `GET /ack/{token}`: acknowledges the incident a signed link names, as actor `ack-link`.
    pub async fn ack_with_link(&self, token: &str) -> Result<IncidentDetail> {
        let id = self.verify_ack_link(token)?;
        self.ack(&id, "ack-link").await
    }

    /// Checks an acknowledge token; returns the incident id it names.
    pub fn verify_ack_link(&self, token: &str) -> Result<String> {
        Ok(self.inner.signer.verify(token, self.now())?)
    }

    /// A fresh signed acknowledge URL for an incident (for pages and the incident page).
    pub fn ack_url(&self, incident_id: &str) -> String {
        let expires = self.now() + duration_ms(self.inner.config.ack_link_ttl);
        format!(
            "{}/ack/{}",
            self.inner.config.base_url.trim_end_matches('/'),
            self.inner.signer.token(incident_id, expires)
        )
    }

    /// Queues `action` pages (acknowledge, resolve) to every channel that was paged and wants them. These
    /// are never suppressed: a receiver that got the trigger must learn the incident is over.
    fn follow_up_pages(
        &self,
        incident: &Incident,
        write: &mut IncidentWrite,
        action: PageAction,
        now: i64,
    ) {
        let label = match action {
            PageAction::Acknowledge => "ack",
            _ => "resolve",
        };
        for channel_name in &incident.paged_channels {
            let Some(channel) = self.inner.channels.get(channel_name) else {
                continue;
            };
            if !channel.accepts(action) {
                continue;
            }
            let key = format!("{}/{label}/{channel_name}", incident.id);
            let page = self.render_page(incident, action, key, label.to_owned(), None, now);
            write.pages.push(new_page(&page, channel_name, now));
        }
    }

    /// `POST /api/v1/incidents/{id}/resolve`. Resolving twice is a no-op.
    pub async fn resolve(&self, id: &str, actor: &str) -> Result<IncidentDetail> {
        self.resolve_with(id, actor, format!("resolved by {actor}"))
            .await?;
        self.get_incident(id).await
    }

    async fn resolve_with(&self, id: &str, actor: &str, text: String) -> Result<Incident> {
        self.mutate(id, false, |responder, incident, write, now, _| {
            if incident.state == IncidentState::Resolved {
                return Ok(false);
            }
            responder.apply_resolve(incident, write, now, actor, &text);
            Ok(true)
        })
        .await
    }

    fn apply_resolve(
        &self,
        incident: &mut Incident,
        write: &mut IncidentWrite,
        now: i64,
        actor: &str,
        text: &str,
    ) {
        incident.state = IncidentState::Resolved;
        incident.resolved_at_ms = Some(now);
        incident.next_escalation_at_ms = None;
        incident.active_sources.clear();
        write
            .timeline
            .push(NewTimelineEntry::new(now, "resolved", actor, text));
        self.follow_up_pages(incident, write, PageAction::Resolve, now);
        write.pages.extend(self.status_notice(
            incident,
            "resolved",
            "resolved",
            "This incident has been resolved.",
            now,
        ));
        tracing::info!(incident_id = %incident.id, actor, "incident resolved");
    }

    /// `POST /api/v1/incidents/{id}/notes {"text"}`
    pub async fn add_note(&self, id: &str, actor: &str, text: &str) -> Result<IncidentDetail> {
        let text = non_empty("text", text)?;
        self.append(id, "note", actor, text).await
    }

    /// Records something done about the incident (a module paused, a node restarted) in its timeline.
    pub async fn record_action(&self, id: &str, actor: &str, text: &str) -> Result<IncidentDetail> {
        let text = non_empty("text", text)?;
        self.append(id, "action", actor, text).await
    }

    /// Adds an `evidence` line to an incident's timeline.
    pub(crate) async fn append_evidence(&self, id: &str, actor: &str, text: &str) -> Result<()> {
        self.append(id, "evidence", actor, text.to_owned())
            .await
            .map(|_| ())
    }

    async fn append(
        &self,
        id: &str,
        kind: &'static str,
        actor: &str,
        text: String,
    ) -> Result<IncidentDetail> {
        self.mutate(id, false, |_, _, write, now, _| {
            write
                .timeline
                .push(NewTimelineEntry::new(now, kind, actor, text.clone()));
            Ok(true)
        })
        .await?;
        self.get_incident(id).await
    }

    /// `POST /api/v1/incidents/{id}/level {"level", "reason"}`. Raising the level of an unacknowledged
    /// incident pages the new level's first step at once; lowering it continues with the new level's
    /// later steps (the first was paged already).
    pub async fn set_level(
        &self,
        id: &str,
        actor: &str,
        input: &SetLevel,
    ) -> Result<IncidentDetail> {
        self.mutate(id, true, |responder, incident, write, now, suppression| {
            if incident.level == input.level {
                return Ok(false);
            }
            if incident.state == IncidentState::Resolved {
                return Err(ResponderError::WrongState {
                    id: incident.id.clone(),
                    state: "resolved",
                    action: "reclassify",
                });
            }
            let previous = incident.level;
            incident.level = input.level;
            incident
                .labels
                .insert("level".to_owned(), input.level.as_str().to_owned());
            write.timeline.push(NewTimelineEntry::new(
                now,
                "reclassified",
                actor,
                format!(
                    "{previous} → {}{}",
                    input.level,
                    if input.reason.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", input.reason)
                    }
                ),
            ));
            responder.notice_opening(incident, write, now);
            if incident.state == IncidentState::Triggered {
                if input.level.is_more_severe_than(previous) {
                    responder.start_escalation(incident, write, now, suppression);
                } else {
                    let policy = responder.policy(input.level);
                    incident.esc_level = input.level;
                    incident.esc_round = 0;
                    incident.esc_step = 1;
                    incident.next_escalation_at_ms =
                        match (policy.steps.first(), policy.steps.get(1)) {
                            (Some(first), Some(second)) => Some(
                                now + (duration_ms(second.after) - duration_ms(first.after)).max(0),
                            ),
                            _ => None,
                        };
                }
            }
            Ok(true)
        })
        .await?;
        self.get_incident(id).await
    }

    /// `POST /api/v1/incidents/{id}/assign {"commander", "assignees"}`
    pub async fn assign(&self, id: &str, actor: &str, input: &Assign) -> Result<IncidentDetail> {
        self.mutate(id, false, |_, incident, write, now, _| {
            incident.commander = input.commander.clone().filter(|c| !c.trim().is_empty());
            incident.assignees = input.assignees.clone();
            write.timeline.push(NewTimelineEntry::new(
                now,
                "assigned",
                actor,
                format!(
                    "commander: {}; assignees: {}",
                    incident.commander.as_deref().unwrap_or("none"),
                    if incident.assignees.is_empty() {
                        "none".to_owned()
                    } else {
                        incident.assignees.join(", ")
                    }
                ),
            ));
            Ok(true)
        })
        .await?;
        self.get_incident(id).await
    }

    /// `POST /api/v1/incidents/{id}/status {"status", "message"}`: a public update for the status page.
    /// `resolved` also resolves the incident.
    pub async fn status_update(
        &self,
        id: &str,
        actor: &str,
        input: &StatusUpdate,
    ) -> Result<IncidentDetail> {
        const STATUSES: [&str; 4] = ["investigating", "identified", "monitoring", "resolved"];
        if !STATUSES.contains(&input.status.as_str()) {
            return Err(ResponderError::InvalidInput(format!(
                "status {:?} is not one of investigating, identified, monitoring, resolved",
                input.status
            )));
        }
        let message = non_empty("message", &input.message)?;
        self.mutate(id, false, |responder, incident, write, now, _| {
            incident.public_status = Some(input.status.clone());
            write.timeline.push(NewTimelineEntry::new(
                now,
                "status_update",
                actor,
                format!("{}: {message}", input.status),
            ));
            // A "resolved" update is the resolution notice (same key as the automatic one, so
            // subscribers hear it once, in the words of the person who posted it).
            let key = if input.status == "resolved" {
                "resolved".to_owned()
            } else {
                format!("v{}", incident.version)
            };
            write.pages.extend(responder.status_notice(
                incident,
                &key,
                &input.status,
                &message,
                now,
            ));
            if input.status == "resolved" && incident.state != IncidentState::Resolved {
                responder.apply_resolve(
                    incident,
                    write,
                    now,
                    actor,
                    &format!("resolved by {actor} (status update)"),
                );
            }
            Ok(true)
        })
        .await?;
        self.get_incident(id).await
    }

    /// Links (or unlinks, with `None`) the runbook being followed.
    pub async fn set_runbook(
        &self,
        id: &str,
        actor: &str,
        runbook: Option<&str>,
    ) -> Result<IncidentDetail> {
        self.mutate(id, false, |_, incident, write, now, _| {
            incident.runbook = runbook.map(str::to_owned).filter(|r| !r.trim().is_empty());
            write.timeline.push(NewTimelineEntry::new(
                now,
                "note",
                actor,
                format!("runbook: {}", incident.runbook.as_deref().unwrap_or("none")),
            ));
            Ok(true)
        })
        .await?;
        self.get_incident(id).await
    }

    /// `GET /api/v1/incidents/{id}/postmortem`: a Markdown draft.
    pub async fn postmortem(&self, id: &str) -> Result<String> {
        let incident = self
            .inner
            .store
            .incident(id)
            .await?
            .ok_or_else(|| ResponderError::IncidentNotFound(id.to_owned()))?;
        let timeline = self.inner.store.timeline(id).await?;
        let pages = self.inner.store.pages_of_incident(id).await?;
        Ok(crate::postmortem::draft(
            &incident,
            &timeline,
            &pages,
            self.now(),
        ))
    }

    /// `GET /api/v1/pages`
    pub async fn list_pages(&self) -> Result<PageList> {
        let pages = self.inner.store.pages(500).await?;
        Ok(PageList {
            pages: pages.iter().map(PageView::from).collect(),
        })
    }

    // ---- noise control -------------------------------------------------------------------------------

    /// `POST /api/v1/silences`
    pub async fn create_silence(
        &self,
        input: &NewSilenceInput,
        actor: &str,
    ) -> Result<SilenceView> {
        if input.matchers.is_empty() {
            return Err(ResponderError::InvalidInput(
                "a silence needs at least one matcher".to_owned(),
            ));
        }
        let mut matchers = Vec::new();
        for text in &input.matchers {
            let matcher = Matcher::parse(text).map_err(ResponderError::InvalidInput)?;
            matchers.push(matcher.to_string());
        }
        let now = self.now();
        let starts_at_ms = match &input.starts_at {
            Some(text) => chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|_| {
                    ResponderError::InvalidInput(format!(
                        "starts_at {text:?} is not an RFC 3339 time"
                    ))
                })?
                .timestamp_millis(),
            None => now,
        };
        if input.duration.get().is_zero() {
            return Err(ResponderError::InvalidInput(
                "duration must be longer than 0s".to_owned(),
            ));
        }
        let silence = self
            .inner
            .store
            .create_silence(&NewSilence {
                matchers,
                comment: input.comment.clone(),
                created_by: actor.to_owned(),
                starts_at_ms,
                ends_at_ms: starts_at_ms + duration_ms(input.duration),
                created_at_ms: now,
            })
            .await?;
        Ok(silence_view(&silence, now))
    }

    /// `GET /api/v1/silences`: every silence, expired ones marked so.
    pub async fn list_silences(&self) -> Result<SilenceList> {
        let now = self.now();
        let silences = self.inner.store.silences().await?;
        Ok(SilenceList {
            silences: silences
                .iter()
                .map(|silence| silence_view(silence, now))
                .collect(),
        })
    }

    /// `DELETE /api/v1/silences/{id}`: ends the silence now.
    pub async fn expire_silence(&self, id: i64) -> Result<SilenceView> {
        let now = self.now();
        let silence = self
            .inner
            .store
            .expire_silence(id, now)
            .await?
            .ok_or(ResponderError::SilenceNotFound(id))?;
        Ok(silence_view(&silence, now))
    }

    /// Whether `component` is in a maintenance window at `at_ms` (block automatic pauses, show a notice).
    pub fn is_under_maintenance(&self, component: &str, at_ms: i64) -> bool {
        self.inner
            .maintenance
            .iter()
            .any(|window| window.covers(component) && window.period_at(at_ms).is_some())
    }

    /// Maintenance periods overlapping `[from_ms, to_ms)`, for the status page and for detectors to leave
    /// out of baselines.
    pub fn maintenance_periods(&self, from_ms: i64, to_ms: i64) -> Vec<MaintenancePeriod> {
        let mut periods: Vec<MaintenancePeriod> = self
            .inner
            .maintenance
            .iter()
            .flat_map(|window| window.periods_between(from_ms, to_ms))
            .collect();
        periods.sort_by_key(|period| period.start_ms);
        periods
    }

    // ---- on-call and heartbeats ----------------------------------------------------------------------

    /// `GET /api/v1/oncall`: every schedule, who is on call now, the next hand-off and coverage gaps.
    pub fn on_call(&self) -> Vec<OnCallView> {
        let now = self.now();
        self.inner
            .schedules
            .values()
            .map(|schedule| schedule.view_at(now))
            .collect()
    }

    /// Who is on call in `schedule` at `at_ms` (`None` during a gap).
    pub fn on_call_at(&self, schedule: &str, at_ms: i64) -> Result<Option<String>> {
        self.inner
            .schedules
            .get(schedule)
            .map(|schedule| schedule.on_call_at(at_ms))
            .ok_or_else(|| ResponderError::UnknownSchedule(schedule.to_owned()))
    }

    /// Opens (or keeps open) an incident per schedule with a coverage gap in the next 24 hours; clears it
    /// when the gap is fixed. Run hourly.
    pub async fn run_coverage_check_once(&self) -> Result<usize> {
        let now = self.now();
        let mut reported = 0;
        for schedule in self.inner.schedules.values() {
            let gaps = schedule.gaps_between(now, now + 86_400_000);
            let mut labels = Labels::new();
            labels.insert("component".to_owned(), "oncall".to_owned());
            labels.insert("category".to_owned(), "oncall".to_owned());
            labels.insert("schedule".to_owned(), schedule.name().to_owned());
            let detail = match gaps.first() {
                Some((start, end)) => format!(
                    "nobody is on call in schedule {} from {} to {}{}",
                    schedule.name(),
                    rfc3339(*start),
                    rfc3339(*end),
                    if gaps.len() > 1 {
                        format!(" (and {} more gaps)", gaps.len() - 1)
                    } else {
                        String::new()
                    }
                ),
                None => format!("schedule {} is fully covered", schedule.name()),
            };
            if !gaps.is_empty() {
                reported += 1;
            }
            self.observe(Observation {
                dedup_key: dedup::oncall_gap_key(schedule.name()),
                source_key: format!("oncall-gap:{}", schedule.name()),
                active: !gaps.is_empty(),
                level: Level::L3,
                title: format!("on-call coverage gap in {}", schedule.name()),
                summary: detail.clone(),
                component: "oncall".to_owned(),
                category: "oncall".to_owned(),
                source: "vigil",
                labels,
                actor: "vigil",
                detail,
            })
            .await?;
        }
        Ok(reported)
    }

    /// `POST /api/v1/heartbeats/{name}`: a job checking in. Clears the incident its silence opened.
    pub async fn heartbeat(&self, name: &str) -> Result<()> {
        let config = self
            .inner
            .config
            .heartbeats
            .iter()
            .find(|heartbeat| heartbeat.name == name)
            .ok_or_else(|| ResponderError::UnknownHeartbeat(name.to_owned()))?;
        let now = self.now();
        self.inner.store.record_heartbeat(name, now).await?;
        if self
            .inner
            .store
            .open_incident_by_key(&dedup::heartbeat_key(name))
            .await?
            .is_some()
        {
            self.observe(self.heartbeat_observation(config, false, now))
                .await?;
        }
        Ok(())
    }

    fn heartbeat_observation(
        &self,
        config: &crate::config::HeartbeatConfig,
        missing: bool,
        last_seen_ms: i64,
    ) -> Observation {
        let mut labels = Labels::new();
        labels.insert("component".to_owned(), config.name.clone());
        labels.insert("category".to_owned(), "heartbeat".to_owned());
        labels.insert("heartbeat".to_owned(), config.name.clone());
        let detail = if missing {
            format!(
                "no check-in from {} since {} (expected every {}, grace {})",
                config.name,
                rfc3339(last_seen_ms),
                config.interval,
                config.grace
            )
        } else {
            format!("{} checked in at {}", config.name, rfc3339(last_seen_ms))
        };
        Observation {
            dedup_key: dedup::heartbeat_key(&config.name),
            source_key: format!("heartbeat:{}", config.name),
            active: missing,
            level: config.level,
            title: format!("{} stopped checking in", config.name),
            summary: detail.clone(),
            component: config.name.clone(),
            category: "heartbeat".to_owned(),
            source: "vigil",
            labels,
            actor: "vigil",
            detail,
        }
    }

    /// Opens an incident for every configured heartbeat that has gone silent (counting from Vigil's start
    /// for jobs never seen). Returns how many are silent.
    pub async fn run_heartbeat_checks_once(&self) -> Result<usize> {
        let now = self.now();
        let seen: BTreeMap<String, i64> = self
            .inner
            .store
            .heartbeats()
            .await?
            .into_iter()
            .map(|record| (record.name, record.last_seen_ms))
            .collect();
        let mut silent = 0;
        for config in &self.inner.config.heartbeats {
            let last_seen = seen
                .get(&config.name)
                .copied()
                .unwrap_or(self.inner.started_at_ms);
            let deadline = last_seen + duration_ms(config.interval) + duration_ms(config.grace);
            if now > deadline {
                silent += 1;
                self.observe(self.heartbeat_observation(config, true, last_seen))
                    .await?;
            }
        }
        Ok(silent)
    }

    /// Queues the daily digest of L4 incidents once the configured time of day has passed. Idempotent per
    /// day and channel. Returns how many digest pages it queued.
    pub async fn run_digest_once(&self) -> Result<usize> {
        let digest = &self.inner.config.digest;
        let (Ok(tz), Ok(at)) = (
            crate::time::parse_tz(&digest.time_zone),
            crate::time::parse_hh_mm(&digest.at),
        ) else {
            return Ok(0);
        };
        let now = self.now();
        let today = crate::time::utc_ms_to_local(tz, now).date();
        let due_at = crate::time::local_to_utc_ms(tz, today.and_time(at));
        if now < due_at {
            return Ok(0);
        }
        let previous =
            crate::time::local_to_utc_ms(tz, (today - chrono::Duration::days(1)).and_time(at));
        let incidents: Vec<Incident> = self
            .inner
            .store
            .incidents_opened_between(previous, due_at)
            .await?
            .into_iter()
            .filter(|incident| incident.level == Level::L4)
            .collect();
        if incidents.is_empty() {
            return Ok(0);
        }
        let lines: Vec<String> = incidents
            .iter()
            .map(|incident| {
                format!(
                    "- {} {} ({}, {}, opened {})",
                    incident.id,
                    incident.title,
                    incident.component,
                    incident.state.as_str(),
                    rfc3339(incident.opened_at_ms)
                )
            })
            .collect();
        let base = self.inner.config.base_url.trim_end_matches('/');
        let channels = self.inner.config.digest_channels();
        let mut pages = Vec::new();
        for channel in &channels {
            let page = Page {
                idempotency_key: format!("digest/{today}/{channel}"),
                action: PageAction::Digest,
                incident_id: None,
                title: format!(
                    "{} low-severity incident(s) in the last day",
                    incidents.len()
                ),
                level: None,
                component: "digest".to_owned(),
                summary: lines.join("\n"),
                since: rfc3339(previous),
                runbook: None,
                incident_url: Some(format!("{base}/incidents")),
                ack_url: None,
                on_call: None,
                step: "digest".to_owned(),
                subscriber: None,
                affects: Vec::new(),
            };
            pages.push(new_page(&page, channel, now));
        }
        let queued = self.inner.store.enqueue_pages(&pages).await?;
        if queued > 0 {
            for incident in &incidents {
                self.inner
                    .store
                    .append_timeline(
                        &incident.id,
                        &[NewTimelineEntry::new(
                            now,
                            "paged",
                            "vigil",
                            format!("included in the daily digest via {}", channels.join(", ")),
                        )],
                    )
                    .await?;
            }
            self.wake_delivery();
        }
        Ok(usize::try_from(queued).unwrap_or(0))
    }
}

pub(crate) fn new_page(page: &Page, channel: &str, now: i64) -> NewPage {
    NewPage {
        idempotency_key: page.idempotency_key.clone(),
        incident_id: page.incident_id.clone(),
        channel: channel.to_owned(),
        action: page.action.as_str().to_owned(),
        step: page.step.clone(),
        payload: serde_json::to_value(page).unwrap_or_default(),
        due_at_ms: now,
        created_at_ms: now,
    }
}

pub(crate) fn duration_ms(duration: HumanDuration) -> i64 {
    i64::try_from(duration.get().as_millis()).unwrap_or(i64::MAX)
}

fn non_empty(field: &str, text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ResponderError::InvalidInput(format!(
            "{field} must not be empty"
        )));
    }
    if text.len() > 10_000 {
        return Err(ResponderError::InvalidInput(format!(
            "{field} is longer than 10000 bytes"
        )));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests;
