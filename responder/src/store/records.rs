//! The records the store keeps for incidents, their timeline, the paging outbox, silences and heartbeats,
//! and the row shapes both backends decode them from.

use std::collections::BTreeSet;

use model::{Labels, Level, UnixMs};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// Where an incident is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    Triggered,
    Acknowledged,
    Resolved,
}

impl IncidentState {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Triggered => "triggered",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Resolved => "resolved",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "triggered" => Ok(IncidentState::Triggered),
            "acknowledged" => Ok(IncidentState::Acknowledged),
            "resolved" => Ok(IncidentState::Resolved),
            other => Err(StoreError::Corrupt(format!(
                "incidents.state {other:?} is not a known state"
            ))),
        }
    }
}

/// Which incidents a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentFilter {
    /// Not resolved (triggered or acknowledged).
    #[default]
    Open,
    Acknowledged,
    Resolved,
    All,
}

/// One incident as stored. The service changes it in memory and writes it back whole, guarded by
/// `version` (optimistic concurrency: several replicas may work on the same incident).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub id: String,
    /// One open incident per key; see [`crate::dedup`] for how keys are formed.
    pub dedup_key: String,
    pub title: String,
    pub level: Level,
    pub state: IncidentState,
    pub component: String,
    /// `chain`, `peg`, `security`, `infra`, `ux`, `alert`, `heartbeat`, `oncall` or `manual`.
    pub category: String,
    /// `signal`, `alert`, `manual` or `vigil` (heartbeats, coverage gaps).
    pub source: String,
    pub summary: String,
    pub runbook: Option<String>,
    pub commander: Option<String>,
    pub assignees: Vec<String>,
    /// What silences and inhibition rules match against.
    pub labels: Labels,
    /// The latest public status (`investigating`, `identified`, `monitoring`, `resolved`).
    pub public_status: Option<String>,
    pub opened_at_ms: UnixMs,
    pub acked_at_ms: Option<UnixMs>,
    pub acked_by: Option<String>,
    pub resolved_at_ms: Option<UnixMs>,
    pub last_signal_at_ms: UnixMs,
    /// Since when no folded signal or alert has been active; `None` while one is.
    pub clear_since_ms: Option<UnixMs>,
    /// Signal ids and alert fingerprints that are currently active.
    pub active_sources: BTreeSet<String>,
    /// Signals and alert notifications folded into this incident, the first included.
    pub signal_count: i64,
    /// The level whose escalation policy is being followed.
    pub esc_level: Level,
    /// The next escalation step to fire (index into the policy's steps).
    pub esc_step: i64,
    /// How many times the policy has repeated.
    pub esc_round: i64,
    /// When the next step is due; `None` once acknowledged, resolved or out of steps.
    pub next_escalation_at_ms: Option<UnixMs>,
    /// Why paging is currently held back (a silence, maintenance, inhibition), if it is.
    pub suppressed: Option<String>,
    /// Channels that were sent a trigger, so acknowledge and resolve events reach them too.
    pub paged_channels: BTreeSet<String>,
    pub version: i64,
}

/// A timeline entry to append.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewTimelineEntry {
    pub at_ms: UnixMs,
    /// detected, folded, classified, reclassified, paged, escalated, acknowledged, action, note,
    /// status_update, assigned, resolved, reopened, silenced, inhibited, maintenance_suppressed, page_failed.
    pub kind: String,
    pub actor: String,
    pub text: String,
}

impl NewTimelineEntry {
    pub fn new(at_ms: UnixMs, kind: &str, actor: &str, text: impl Into<String>) -> Self {
        Self {
            at_ms,
            kind: kind.to_owned(),
            actor: actor.to_owned(),
            text: text.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TimelineEntry {
    pub id: i64,
    pub incident_id: String,
    pub at_ms: i64,
    pub kind: String,
    pub actor: String,
    pub text: String,
}

/// Everything an incident change writes besides the incident row, committed in the same transaction.
#[derive(Debug, Clone, Default)]
pub struct IncidentWrite {
    pub timeline: Vec<NewTimelineEntry>,
    pub pages: Vec<NewPage>,
}

/// A page to put in the outbox. `idempotency_key` is unique: enqueueing the same key twice keeps the first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewPage {
    pub idempotency_key: String,
    pub incident_id: Option<String>,
    pub channel: String,
    /// trigger, acknowledge, resolve or digest.
    pub action: String,
    /// Which escalation step this is (`L1/0/0`), `ack`, `resolve`, `fallback` or `digest`.
    pub step: String,
    /// The rendered [`crate::Page`], frozen at enqueue time so retries send the same content.
    pub payload: serde_json::Value,
    pub due_at_ms: UnixMs,
    pub created_at_ms: UnixMs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageState {
    Pending,
    Sent,
    /// Dead-lettered: the retry budget ran out or the error was permanent.
    Failed,
}

impl PageState {
    pub fn as_str(self) -> &'static str {
        match self {
            PageState::Pending => "pending",
            PageState::Sent => "sent",
            PageState::Failed => "failed",
        }
    }
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageRecord {
    pub id: i64,
    pub idempotency_key: String,
    pub incident_id: Option<String>,
    pub channel: String,
    pub action: String,
    pub step: String,
    pub payload: serde_json::Value,
    pub state: PageState,
    /// Delivery attempts started (counted when claimed, so a crash mid-send counts too).
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at_ms: UnixMs,
    pub created_at_ms: UnixMs,
    pub sent_at_ms: Option<UnixMs>,
    /// Set while claimed; completing a page needs it, so a worker whose lease expired cannot overwrite.
    pub claim_token: Option<String>,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum PageOutcome {
    Sent {
        at_ms: UnixMs,
    },
    Retry {
        error: String,
        next_attempt_at_ms: UnixMs,
    },
    Failed {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewSilence {
    /// Label matchers in text form (`component="bridge"`, `alertname=~"Chain.*"`), all must match.
    pub matchers: Vec<String>,
    pub comment: String,
    pub created_by: String,
    pub starts_at_ms: UnixMs,
    pub ends_at_ms: UnixMs,
    pub created_at_ms: UnixMs,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Silence {
    pub id: i64,
    pub matchers: Vec<String>,
    pub comment: String,
    pub created_by: String,
    pub starts_at_ms: UnixMs,
    pub ends_at_ms: UnixMs,
    pub created_at_ms: UnixMs,
}

impl Silence {
    /// Whether the silence applies at `at_ms`.
    pub fn is_active_at(&self, at_ms: UnixMs) -> bool {
        self.starts_at_ms <= at_ms && at_ms < self.ends_at_ms
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct HeartbeatRecord {
    pub name: String,
    pub last_seen_ms: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct IncidentRow {
    id: String,
    dedup_key: String,
    title: String,
    level: String,
    state: String,
    component: String,
    category: String,
    source: String,
    summary: String,
    runbook: Option<String>,
    commander: Option<String>,
    assignees: String,
    labels: String,
    public_status: Option<String>,
    opened_at_ms: i64,
    acked_at_ms: Option<i64>,
    acked_by: Option<String>,
    resolved_at_ms: Option<i64>,
    last_signal_at_ms: i64,
    clear_since_ms: Option<i64>,
    active_sources: String,
    signal_count: i64,
    esc_level: String,
    esc_step: i64,
    esc_round: i64,
    next_escalation_at_ms: Option<i64>,
    suppressed: Option<String>,
    paged_channels: String,
    version: i64,
}

fn json_column<T: serde::de::DeserializeOwned>(
    table: &str,
    column: &str,
    id: &str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|error| StoreError::Corrupt(format!("{table}.{column} of row {id}: {error}")))
}

fn level_column(column: &str, id: &str, text: &str) -> Result<Level, StoreError> {
    text.parse()
        .map_err(|error| StoreError::Corrupt(format!("incidents.{column} of row {id}: {error}")))
}

impl TryFrom<IncidentRow> for Incident {
    type Error = StoreError;

    fn try_from(row: IncidentRow) -> Result<Self, Self::Error> {
        let id = row.id;
        Ok(Incident {
            assignees: json_column("incidents", "assignees", &id, &row.assignees)?,
            labels: json_column("incidents", "labels", &id, &row.labels)?,
            active_sources: json_column("incidents", "active_sources", &id, &row.active_sources)?,
            paged_channels: json_column("incidents", "paged_channels", &id, &row.paged_channels)?,
            level: level_column("level", &id, &row.level)?,
            esc_level: level_column("esc_level", &id, &row.esc_level)?,
            state: IncidentState::parse(&row.state)?,
            dedup_key: row.dedup_key,
            title: row.title,
            component: row.component,
            category: row.category,
            source: row.source,
            summary: row.summary,
            runbook: row.runbook,
            commander: row.commander,
            public_status: row.public_status,
            opened_at_ms: row.opened_at_ms,
            acked_at_ms: row.acked_at_ms,
            acked_by: row.acked_by,
            resolved_at_ms: row.resolved_at_ms,
            last_signal_at_ms: row.last_signal_at_ms,
            clear_since_ms: row.clear_since_ms,
            signal_count: row.signal_count,
            esc_step: row.esc_step,
            esc_round: row.esc_round,
            next_escalation_at_ms: row.next_escalation_at_ms,
            suppressed: row.suppressed,
            version: row.version,
            id,
        })
    }
}

/// The JSON columns of an incident, encoded once for binding.
pub(crate) struct IncidentJson {
    pub assignees: String,
    pub labels: String,
    pub active_sources: String,
    pub paged_channels: String,
}

impl IncidentJson {
    pub fn of(incident: &Incident) -> Self {
        Self {
            assignees: to_json(&incident.assignees),
            labels: to_json(&incident.labels),
            active_sources: to_json(&incident.active_sources),
            paged_channels: to_json(&incident.paged_channels),
        }
    }
}

/// Encodes a value for a JSON text column. Strings, string sets and string maps always serialise.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

#[derive(sqlx::FromRow)]
pub(crate) struct PageRow {
    id: i64,
    idempotency_key: String,
    incident_id: Option<String>,
    channel: String,
    action: String,
    step: String,
    payload: String,
    state: String,
    attempts: i64,
    last_error: Option<String>,
    next_attempt_at_ms: i64,
    created_at_ms: i64,
    sent_at_ms: Option<i64>,
    claim_token: Option<String>,
}

impl TryFrom<PageRow> for PageRecord {
    type Error = StoreError;

    fn try_from(row: PageRow) -> Result<Self, Self::Error> {
        let id = row.id.to_string();
        let state = match row.state.as_str() {
            "pending" => PageState::Pending,
            "sent" => PageState::Sent,
            "failed" => PageState::Failed,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "pages.state {other:?} of row {id} is not a known state"
                )));
            }
        };
        Ok(PageRecord {
            payload: json_column("pages", "payload", &id, &row.payload)?,
            id: row.id,
            idempotency_key: row.idempotency_key,
            incident_id: row.incident_id,
            channel: row.channel,
            action: row.action,
            step: row.step,
            state,
            attempts: row.attempts,
            last_error: row.last_error,
            next_attempt_at_ms: row.next_attempt_at_ms,
            created_at_ms: row.created_at_ms,
            sent_at_ms: row.sent_at_ms,
            claim_token: row.claim_token,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SilenceRow {
    id: i64,
    matchers: String,
    comment: String,
    created_by: String,
    starts_at_ms: i64,
    ends_at_ms: i64,
    created_at_ms: i64,
}

impl TryFrom<SilenceRow> for Silence {
    type Error = StoreError;

    fn try_from(row: SilenceRow) -> Result<Self, Self::Error> {
        Ok(Silence {
            matchers: json_column("silences", "matchers", &row.id.to_string(), &row.matchers)?,
            id: row.id,
            comment: row.comment,
            created_by: row.created_by,
            starts_at_ms: row.starts_at_ms,
            ends_at_ms: row.ends_at_ms,
            created_at_ms: row.created_at_ms,
        })
    }
}

#[cfg(test)]
const INCIDENT_COLUMNS: &str = "id, dedup_key, title, level, state, component, category, source, summary, runbook, \
     commander, assignees, labels, public_status, opened_at_ms, acked_at_ms, acked_by, resolved_at_ms, \
     last_signal_at_ms, clear_since_ms, active_sources, signal_count, esc_level, esc_step, esc_round, \
     next_escalation_at_ms, suppressed, paged_channels, version";

// SQL text shared by both backends. Literals must stay `&'static str` (sqlx 0.9 `SqlSafeStr`), so the
// column list is repeated rather than `format!`ed in.
pub(crate) const INSERT_INCIDENT: &str = "insert into incidents (id, dedup_key, title, level, state, component, \
     category, source, summary, runbook, commander, assignees, labels, public_status, opened_at_ms, acked_at_ms, \
     acked_by, resolved_at_ms, last_signal_at_ms, clear_since_ms, active_sources, signal_count, esc_level, \
     esc_step, esc_round, next_escalation_at_ms, suppressed, paged_channels, version) values ($1, $2, $3, $4, \
     $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, \
     $27, $28, $29)";
pub(crate) const UPDATE_INCIDENT: &str = "update incidents set dedup_key = $2, title = $3, level = $4, state = $5, \
     component = $6, category = $7, source = $8, summary = $9, runbook = $10, commander = $11, assignees = $12, \
     labels = $13, public_status = $14, opened_at_ms = $15, acked_at_ms = $16, acked_by = $17, \
     resolved_at_ms = $18, last_signal_at_ms = $19, clear_since_ms = $20, active_sources = $21, \
     signal_count = $22, esc_level = $23, esc_step = $24, esc_round = $25, next_escalation_at_ms = $26, \
     suppressed = $27, paged_channels = $28, version = $29 + 1 where id = $1 and version = $29";
pub(crate) const SELECT_INCIDENT: &str = "select id, dedup_key, title, level, state, component, category, source, \
     summary, runbook, commander, assignees, labels, public_status, opened_at_ms, acked_at_ms, acked_by, \
     resolved_at_ms, last_signal_at_ms, clear_since_ms, active_sources, signal_count, esc_level, esc_step, \
     esc_round, next_escalation_at_ms, suppressed, paged_channels, version from incidents where id = $1";
pub(crate) const SELECT_OPEN_INCIDENT_BY_KEY: &str = "select id, dedup_key, title, level, state, component, \
     category, source, summary, runbook, commander, assignees, labels, public_status, opened_at_ms, acked_at_ms, \
     acked_by, resolved_at_ms, last_signal_at_ms, clear_since_ms, active_sources, signal_count, esc_level, \
     esc_step, esc_round, next_escalation_at_ms, suppressed, paged_channels, version from incidents \
     where dedup_key = $1 and state <> 'resolved'";
/// `$1`/`$2` are the states to include (the same state twice for a single one), `$3` the limit.
pub(crate) const SELECT_INCIDENTS_IN_STATES: &str = "select id, dedup_key, title, level, state, component, \
     category, source, summary, runbook, commander, assignees, labels, public_status, opened_at_ms, acked_at_ms, \
     acked_by, resolved_at_ms, last_signal_at_ms, clear_since_ms, active_sources, signal_count, esc_level, \
     esc_step, esc_round, next_escalation_at_ms, suppressed, paged_channels, version from incidents \
     where state in ($1, $2, $3) order by opened_at_ms desc, id limit $4";
pub(crate) const SELECT_INCIDENTS_OPENED_SINCE: &str = "select id, dedup_key, title, level, state, component, \
     category, source, summary, runbook, commander, assignees, labels, public_status, opened_at_ms, acked_at_ms, \
     acked_by, resolved_at_ms, last_signal_at_ms, clear_since_ms, active_sources, signal_count, esc_level, \
     esc_step, esc_round, next_escalation_at_ms, suppressed, paged_channels, version from incidents \
     where opened_at_ms >= $1 and opened_at_ms < $2 order by opened_at_ms, id";
/// Incidents whose escalation step is due (`$1` = now) or whose signals have been clear since before `$2`.
pub(crate) const SELECT_INCIDENTS_DUE: &str = "select id, dedup_key, title, level, state, component, category, \
     source, summary, runbook, commander, assignees, labels, public_status, opened_at_ms, acked_at_ms, acked_by, \
     resolved_at_ms, last_signal_at_ms, clear_since_ms, active_sources, signal_count, esc_level, esc_step, \
     esc_round, next_escalation_at_ms, suppressed, paged_channels, version from incidents \
     where state <> 'resolved' and ((state = 'triggered' and next_escalation_at_ms <= $1) \
     or (clear_since_ms is not null and clear_since_ms <= $2)) order by opened_at_ms, id";

pub(crate) const INSERT_TIMELINE: &str = "insert into incident_timeline (incident_id, at_ms, kind, actor, text) values ($1, $2, $3, $4, $5)";
pub(crate) const SELECT_TIMELINE: &str = "select id, incident_id, at_ms, kind, actor, text from incident_timeline \
     where incident_id = $1 order by at_ms, id";

pub(crate) const INSERT_PAGE: &str = "insert into pages (idempotency_key, incident_id, channel, action, step, \
     payload, state, attempts, next_attempt_at_ms, created_at_ms) values ($1, $2, $3, $4, $5, $6, 'pending', 0, \
     $7, $8) on conflict (idempotency_key) do nothing";
#[cfg(test)]
const PAGE_COLUMNS_DOC: &str = "id, idempotency_key, incident_id, channel, action, step, payload, state, \
     attempts, last_error, next_attempt_at_ms, created_at_ms, sent_at_ms, claim_token";
pub(crate) const SELECT_PAGES: &str = "select id, idempotency_key, incident_id, channel, action, step, payload, \
     state, attempts, last_error, next_attempt_at_ms, created_at_ms, sent_at_ms, claim_token from pages \
     where channel not like 'status-%' order by id desc limit $1";
pub(crate) const SELECT_PAGES_OF_INCIDENT: &str = "select id, idempotency_key, incident_id, channel, action, \
     step, payload, state, attempts, last_error, next_attempt_at_ms, created_at_ms, sent_at_ms, claim_token \
     from pages where incident_id = $1 and channel not like 'status-%' order by id";
/// Claims due pages of one channel. `$1` lease end, `$2` claim token, `$3` channel, `$4` now, `$5` limit.
/// SQLite has one writer, so the single statement is already exclusive; PostgreSQL adds
/// `for update skip locked` so concurrent claimers pass over each other's rows instead of waiting.
pub(crate) const CLAIM_PAGES_SQLITE: &str = "update pages set lease_until_ms = $1, claim_token = $2, \
     attempts = attempts + 1 where id in (select id from pages where channel = $3 and state = 'pending' \
     and next_attempt_at_ms <= $4 and (lease_until_ms is null or lease_until_ms <= $4) \
     order by next_attempt_at_ms, id limit $5) \
     returning id, idempotency_key, incident_id, channel, action, step, payload, state, attempts, last_error, \
     next_attempt_at_ms, created_at_ms, sent_at_ms, claim_token";
pub(crate) const CLAIM_PAGES_POSTGRES: &str = "update pages set lease_until_ms = $1, claim_token = $2, \
     attempts = attempts + 1 where id in (select id from pages where channel = $3 and state = 'pending' \
     and next_attempt_at_ms <= $4 and (lease_until_ms is null or lease_until_ms <= $4) \
     order by next_attempt_at_ms, id limit $5 for update skip locked) \
     returning id, idempotency_key, incident_id, channel, action, step, payload, state, attempts, last_error, \
     next_attempt_at_ms, created_at_ms, sent_at_ms, claim_token";
/// `$1` state, `$2` last error, `$3` next attempt (null keeps it), `$4` sent at, `$5` id, `$6` claim token.
pub(crate) const COMPLETE_PAGE: &str = "update pages set state = $1, last_error = $2, \
     next_attempt_at_ms = coalesce($3, next_attempt_at_ms), \
     sent_at_ms = $4, lease_until_ms = null, claim_token = null where id = $5 and claim_token = $6";
/// Pages that may need their channel's fallback: dead-lettered, or still pending since before `$1`.
pub(crate) const SELECT_PAGES_FOR_FALLBACK: &str = "select id, idempotency_key, incident_id, channel, action, \
     step, payload, state, attempts, last_error, next_attempt_at_ms, created_at_ms, sent_at_ms, claim_token \
     from pages where fallback_done = false and action = 'trigger' \
     and (state = 'failed' or (state = 'pending' and created_at_ms <= $1)) order by id limit 100";
pub(crate) const MARK_FALLBACK_DONE: &str =
    "update pages set fallback_done = true where id = $1 and fallback_done = false";

pub(crate) const INSERT_SILENCE: &str = "insert into silences (matchers, comment, created_by, starts_at_ms, \
     ends_at_ms, created_at_ms) values ($1, $2, $3, $4, $5, $6) \
     returning id, matchers, comment, created_by, starts_at_ms, ends_at_ms, created_at_ms";
pub(crate) const SELECT_SILENCES: &str = "select id, matchers, comment, created_by, starts_at_ms, ends_at_ms, \
     created_at_ms from silences order by id desc";
pub(crate) const EXPIRE_SILENCE: &str =
    "update silences set ends_at_ms = $2 where id = $1 and ends_at_ms > $2";
pub(crate) const SELECT_SILENCE: &str = "select id, matchers, comment, created_by, starts_at_ms, ends_at_ms, \
     created_at_ms from silences where id = $1";

pub(crate) const UPSERT_HEARTBEAT: &str = "insert into heartbeats (name, last_seen_ms) values ($1, $2) \
     on conflict (name) do update set last_seen_ms = excluded.last_seen_ms";
pub(crate) const SELECT_HEARTBEATS: &str =
    "select name, last_seen_ms from heartbeats order by name";

#[cfg(test)]
mod tests {
    #[test]
    fn column_lists_agree() {
        // The select statements spell the columns out; a column added to one must be added to all.
        let incident_columns: Vec<&str> = super::INCIDENT_COLUMNS.split(", ").collect();
        for sql in [
            super::SELECT_INCIDENT,
            super::SELECT_OPEN_INCIDENT_BY_KEY,
            super::SELECT_INCIDENTS_IN_STATES,
            super::SELECT_INCIDENTS_DUE,
            super::SELECT_INCIDENTS_OPENED_SINCE,
        ] {
            let selected = sql
                .trim_start_matches("select ")
                .split(" from ")
                .next()
                .unwrap();
            let selected: Vec<&str> = selected.split(", ").collect();
            assert_eq!(selected, incident_columns, "{sql}");
        }
        let page_columns: Vec<&str> = super::PAGE_COLUMNS_DOC.split(", ").collect();
        for sql in [super::SELECT_PAGES, super::SELECT_PAGES_OF_INCIDENT] {
            let selected = sql
                .trim_start_matches("select ")
                .split(" from ")
                .next()
                .unwrap();
            assert_eq!(
                selected.split(", ").collect::<Vec<_>>(),
                page_columns,
                "{sql}"
            );
        }
    }
}
