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
    /// A public status-page update for a subscriber (see [`crate::status`]).
    Notice,
    /// A request to a new subscriber to confirm their subscription.
    Confirm,
}

impl PageAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PageAction::Trigger => "trigger",
            PageAction::Acknowledge => "acknowledge",
            PageAction::Resolve => "resolve",
            PageAction::Digest => "digest",
            PageAction::Notice => "notice",
            PageAction::Confirm => "confirm",
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
    /// Which escalation step (`L1/0/0`), `ack`, `resolve`, `fallback` or `digest`; for notices, the
    /// public status (`investigating` … `resolved`); `confirm` for confirmation requests.
    pub step: String,
    /// Set on the messages to status-page subscribers: who receives it and how they opt out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscriber: Option<SubscriberTarget>,
    /// On status notices: the component ids it is about (empty: every component).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affects: Vec<String>,
}

/// Where a status-page message goes, and the links it carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriberTarget {
    pub subscription_id: String,
    pub kind: crate::store::SubscriptionKind,
    /// The email address or webhook URL.
    pub address: String,
    /// The public status page.
    pub status_url: String,
    pub unsubscribe_url: String,
    /// Only on confirmation requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_url: Option<String>,
    /// The components followed, by display name (empty: all).
    #[serde(default)]
    pub components: Vec<String>,
}

impl Page {
    /// A one-line subject, e.g. `[L1 critical] chain head stalled (chain)`.
    pub fn subject(&self) -> String {
        let prefix = match (self.action, self.level) {
            (PageAction::Confirm, _) => return self.title.clone(),
            (PageAction::Notice, _) => format!("[{}]", capitalised(&self.step)),
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
        if let Some(subscriber) = &self.subscriber {
            return self.subscriber_text(subscriber);
        }
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

impl Page {
    /// What a status-page subscriber reads: public words only (no runbook, no internal links).
    fn subscriber_text(&self, subscriber: &SubscriberTarget) -> String {
        let following = if subscriber.components.is_empty() {
            "every component".to_owned()
        } else {
            subscriber.components.join(", ")
        };
        let mut lines = Vec::new();
        if self.action == PageAction::Confirm {
            lines.push(format!(
                "Someone (we hope you) asked to receive status updates about {following}."
            ));
            lines.push(String::new());
            lines.push("Confirm the subscription by opening this link:".to_owned());
            lines.push(subscriber.confirm_url.clone().unwrap_or_default());
            lines.push(String::new());
            lines.push(
                "If you did not ask for this, ignore this message: nothing more will be sent."
                    .to_owned(),
            );
        } else {
            lines.push(self.title.clone());
            lines.push(format!(
                "{} — {} at {}",
                self.component,
                capitalised(&self.step),
                self.since
            ));
            lines.push(String::new());
            lines.push(self.summary.clone());
            lines.push(String::new());
            lines.push(format!("Current status: {}", subscriber.status_url));
        }
        lines.push(String::new());
        lines.push(format!(
            "You receive this because of a subscription to {following}. Unsubscribe: {}",
            subscriber.unsubscribe_url
        ));
        lines.join("\n")
    }
}

/// `in_progress` → `In progress`.
fn capitalised(text: &str) -> String {
    upper_first(&text.replace('_', " "))
}

/// The text with its first letter upper-cased.
pub(crate) fn upper_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().collect::<String>() + chars.as_str()
    })
}

fn humantime_short(duration: std::time::Duration) -> String {
    let minutes = duration.as_secs() / 60;
    if minutes >= 60 && minutes.is_multiple_of(60) {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    }
}
