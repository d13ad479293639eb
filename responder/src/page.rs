//! What a page says. A [`Page`] is rendered when it is queued and stored with its outbox row, so every
//! retry sends the same content (and the same acknowledge link).

use model::Level;
use serde::{Deserialize, Serialize};

/// What a page asks the receiver to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageAction {
    /// Something broke: act.
    Trigger,
    /// Someone acknowledged: receivers that track incidents (PagerDuty) stop alerting.
    Acknowledge,
    /// The incident is over.
    Resolve,
    /// The daily digest of low-severity (L4) incidents.
    Digest,
}

impl PageAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PageAction::Trigger => "trigger",
            PageAction::Acknowledge => "acknowledge",
            PageAction::Resolve => "resolve",
            PageAction::Digest => "digest",
        }
    }
}

/// One notification to one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// Unique per (incident, escalation step, channel); receivers deduplicate on it.
    pub idempotency_key: String,
    pub action: PageAction,
    /// `None` only for digests.
    pub incident_id: Option<String>,
    pub title: String,
    /// `None` only for digests.
    pub level: Option<Level>,
    pub component: String,
    /// What broke, in a sentence or a few lines.
    pub summary: String,
    /// When the incident opened (RFC 3339 UTC).
    pub since: String,
    pub runbook: Option<String>,
    pub incident_url: Option<String>,
    /// One-click acknowledge link, signed and expiring.
    pub ack_url: Option<String>,
    /// Who is on call now, when the level's policy names a schedule.
    pub on_call: Option<String>,
    /// Which escalation step (`L1/0/0`), `ack`, `resolve`, `fallback` or `digest`.
    pub step: String,
}

impl Page {
    /// A one-line subject, e.g. `[L1 critical] chain head stalled (chain)`.
    pub fn subject(&self) -> String {
        let prefix = match (self.action, self.level) {
            (PageAction::Digest, _) => "[digest]".to_owned(),
            (PageAction::Trigger, Some(level)) => format!("[{level} {}]", level.severity()),
            (PageAction::Acknowledge, Some(level)) => format!("[{level} acknowledged]"),
            (PageAction::Resolve, Some(level)) => format!("[{level} resolved]"),
            (_, None) => format!("[{}]", self.action.as_str()),
        };
        format!("{prefix} {} ({})", self.title, self.component)
    }

    /// The plain-text body every channel can use.
    pub fn text(&self) -> String {
        let mut lines = vec![self.subject(), String::new()];
        if let Some(level) = self.level {
            lines.push(format!(
                "Level: {level} ({}), respond within {}",
                level.severity(),
                humantime_short(level.response_target())
            ));
        }
        if let Some(id) = &self.incident_id {
            lines.push(format!("Incident: {id}"));
        }
        lines.push(format!("Component: {}", self.component));
        lines.push(format!("Since: {}", self.since));
        lines.push(format!("What broke: {}", self.summary));
        lines.push(format!(
            "Runbook: {}",
            self.runbook.as_deref().unwrap_or("none linked")
        ));
        if let Some(on_call) = &self.on_call {
            lines.push(format!("On call: {on_call}"));
        }
        if let Some(url) = &self.incident_url {
            lines.push(format!("Details: {url}"));
        }
        if let Some(url) = &self.ack_url {
            lines.push(format!("Acknowledge: {url}"));
        }
        lines.join("\n")
    }
}

fn humantime_short(duration: std::time::Duration) -> String {
    let minutes = duration.as_secs() / 60;
    if minutes >= 60 && minutes.is_multiple_of(60) {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    }
}
