//! HTTP channels: Slack incoming webhooks, PagerDuty Events API v2 and a generic HMAC-signed webhook.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use super::{Channel, ChannelError, Delivery};
use crate::page::{Page, PageAction};
use crate::signing::webhook_signature;

/// A reqwest client with rustls on ring (see [`client_builder`]).
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, ChannelError> {
    client_builder(timeout)
        .build()
        .map_err(ChannelError::Transport)
}

/// Vigil's client settings (timeout, user agent), for callers that add their own. Installs the ring
/// provider first (once per process): reqwest is built without a default provider and would panic
/// otherwise.
fn client_builder(timeout: Duration) -> reqwest::ClientBuilder {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        // Another part of the process may have installed one already; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
}

fn check_url(url: &str) -> Result<reqwest::Url, ChannelError> {
    reqwest::Url::parse(url)
        .map_err(|error| ChannelError::Misconfigured(format!("invalid url {url:?}: {error}")))
}

async fn post(request: reqwest::RequestBuilder) -> Result<Delivery, ChannelError> {
    let response = request.send().await.map_err(ChannelError::Transport)?;
    let status = response.status();
    if status.is_success() {
        return Ok(Delivery {
            detail: format!("http {}", status.as_u16()),
        });
    }
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, chrono::Utc::now()));
    let mut body = response.text().await.unwrap_or_default();
    body.truncate(300);
    Err(ChannelError::Status {
        status: status.as_u16(),
        body,
        retry_after,
    })
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3), relative to `now`; a date in the
/// past means "now". Unparseable values are ignored (the usual backoff applies).
pub fn parse_retry_after(
    value: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<std::time::Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(std::time::Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or_default(),
    )
}

const TIMEOUT: Duration = Duration::from_secs(10);

/// Slack incoming webhook.
pub struct SlackChannel {
    name: String,
    url: reqwest::Url,
    client: reqwest::Client,
}

impl SlackChannel {
    pub fn new(name: &str, url: &str) -> Result<Self, ChannelError> {
        Ok(Self {
            name: name.to_owned(),
            url: check_url(url)?,
            client: http_client(TIMEOUT)?,
        })
    }

    /// The message body: a fallback text plus one attachment coloured by level, as Alertmanager sends.
    pub fn body(page: &Page) -> serde_json::Value {
        let color = match (page.action, page.level) {
            (PageAction::Resolve, _) => "good",
            (_, Some(model::Level::L1 | model::Level::L2)) => "danger",
            _ => "warning",
        };
        let mut text = page.text();
        if let Some(url) = &page.ack_url {
            text.push_str(&format!("\n<{url}|Acknowledge>"));
        }
        json!({
            "username": "Vigil",
            "text": page.subject(),
            "attachments": [{
                "title": page.subject(),
                "title_link": page.incident_url,
                "text": text,
                "fallback": page.subject(),
                "color": color,
                "mrkdwn_in": ["text"],
            }],
        })
    }
}

#[async_trait]
impl Channel for SlackChannel {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "slack"
    }

    async fn send(&self, page: &Page) -> Result<Delivery, ChannelError> {
        post(self.client.post(self.url.clone()).json(&Self::body(page))).await
    }
}

/// PagerDuty Events API v2. The incident id is the `dedup_key`, so triggers for every escalation step
/// land on one PagerDuty incident, and acknowledge/resolve close it.
pub struct PagerDutyChannel {
    name: String,
    url: reqwest::Url,
    routing_key: String,
    client: reqwest::Client,
}

impl PagerDutyChannel {
    pub fn new(name: &str, url: &str, routing_key: &str) -> Result<Self, ChannelError> {
        if routing_key.trim().is_empty() {
            return Err(ChannelError::Misconfigured(format!(
                "channel {name}: empty routing key"
            )));
        }
        Ok(Self {
            name: name.to_owned(),
            url: check_url(url)?,
            routing_key: routing_key.to_owned(),
            client: http_client(TIMEOUT)?,
        })
    }

    /// PagerDuty severity of a level: L1 critical, L2 error, L3 warning, L4 info.
    pub fn severity(level: Option<model::Level>) -> &'static str {
        match level {
            Some(model::Level::L1) => "critical",
            Some(model::Level::L2) => "error",
            Some(model::Level::L3) => "warning",
            Some(model::Level::L4) | None => "info",
        }
    }

    pub fn body(&self, page: &Page) -> serde_json::Value {
        let dedup_key = page
            .incident_id
            .clone()
            .unwrap_or_else(|| page.idempotency_key.clone());
        let event_action = match page.action {
            PageAction::Trigger | PageAction::Digest | PageAction::Notice | PageAction::Confirm => {
                "trigger"
            }
            PageAction::Acknowledge => "acknowledge",
            PageAction::Resolve => "resolve",
        };
        if event_action != "trigger" {
            return json!({
                "routing_key": self.routing_key,
                "dedup_key": dedup_key,
                "event_action": event_action,
            });
        }
        let mut links = Vec::new();
        if let Some(url) = &page.incident_url {
            links.push(json!({"href": url, "text": "Incident in Vigil"}));
        }
        if let Some(url) = &page.ack_url {
            links.push(json!({"href": url, "text": "Acknowledge"}));
        }
        if let Some(runbook) = page.runbook.as_deref().filter(|r| r.starts_with("http")) {
            links.push(json!({"href": runbook, "text": "Runbook"}));
        }
        json!({
            "routing_key": self.routing_key,
            "dedup_key": dedup_key,
            "event_action": "trigger",
            "payload": {
                "summary": page.subject().chars().take(1024).collect::<String>(),
                "source": "vigil",
                "severity": Self::severity(page.level),
                "component": page.component,
                "custom_details": {
                    "what_broke": page.summary,
                    "since": page.since,
                    "runbook": page.runbook,
                    "on_call": page.on_call,
                    "step": page.step,
                },
            },
            "client": "Vigil",
            "client_url": page.incident_url,
            "links": links,
        })
    }
}

#[async_trait]
impl Channel for PagerDutyChannel {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "pagerduty"
    }

    fn accepts(&self, _action: PageAction) -> bool {
        true
    }

    async fn send(&self, page: &Page) -> Result<Delivery, ChannelError> {
        post(self.client.post(self.url.clone()).json(&self.body(page))).await
    }
}

/// Generic JSON webhook: the page as JSON, signed with `X-Vigil-Signature` when a secret is configured.
pub struct WebhookChannel {
    name: String,
    url: reqwest::Url,
    secret: Option<String>,
    client: reqwest::Client,
}

impl WebhookChannel {
    pub fn new(name: &str, url: &str, secret: Option<String>) -> Result<Self, ChannelError> {
        Ok(Self {
            name: name.to_owned(),
            url: check_url(url)?,
            secret,
            client: http_client(TIMEOUT)?,
        })
    }
}

#[async_trait]
impl Channel for WebhookChannel {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, page: &Page) -> Result<Delivery, ChannelError> {
        let body = serde_json::to_vec(page).map_err(|error| {
            ChannelError::Misconfigured(format!("page does not serialise: {error}"))
        })?;
        let timestamp = chrono::Utc::now().timestamp();
        let mut request = self
            .client
            .post(self.url.clone())
            .header("content-type", "application/json")
            .header("idempotency-key", &page.idempotency_key)
            .header("x-vigil-timestamp", timestamp.to_string());
        if let Some(secret) = &self.secret {
            request = request.header(
                "x-vigil-signature",
                webhook_signature(secret.as_bytes(), timestamp, &body),
            );
        }
        post(request.body(body)).await
    }
}

/// Resolves names with the system resolver and drops every non-public address, so a subscriber's
/// webhook name cannot be pointed at loopback or an internal network after it was accepted.
struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| crate::status::is_public_ip(address.ip()))
                .collect();
            if addresses.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

/// Status-page subscriber webhooks ([`crate::status::WEBHOOK_CHANNEL`]): each page is POSTed to its
/// subscriber's URL as JSON. Redirects are not followed and, unless `allow_private`, only public
/// addresses are connected to.
pub struct SubscriberWebhookChannel {
    allow_private: bool,
    client: reqwest::Client,
}

impl SubscriberWebhookChannel {
    pub fn new(allow_private: bool) -> Result<Self, ChannelError> {
        let mut builder = client_builder(TIMEOUT).redirect(reqwest::redirect::Policy::none());
        if !allow_private {
            builder = builder.dns_resolver(std::sync::Arc::new(PublicOnlyResolver));
        }
        Ok(Self {
            allow_private,
            client: builder.build().map_err(ChannelError::Transport)?,
        })
    }

    /// The JSON a subscriber receives: what happened, in public words, and the links.
    pub fn body(page: &Page) -> Result<serde_json::Value, ChannelError> {
        let subscriber = page
            .subscriber
            .as_ref()
            .ok_or_else(|| ChannelError::Misconfigured("page has no subscriber".to_owned()))?;
        let mut body = json!({
            "type": if page.action == PageAction::Confirm { "subscription.confirm" } else { "incident.update" },
            "subscription": {
                "id": subscriber.subscription_id,
                "components": subscriber.components,
                "unsubscribe_url": subscriber.unsubscribe_url,
            },
            "page": {"url": subscriber.status_url},
            "sent_at": page.since,
        });
        if let Some(confirm_url) = &subscriber.confirm_url {
            body["subscription"]["confirm_url"] = json!(confirm_url);
        }
        if page.action == PageAction::Notice && page.incident_id.is_none() {
            body["type"] = json!("maintenance.update");
            body["maintenance"] = json!({
                "name": page.title.trim_start_matches("Maintenance: "),
                "status": page.step,
                "components": page.affects,
                "update": {"status": page.step, "body": page.summary, "at": page.since},
            });
        } else if page.action == PageAction::Notice {
            body["incident"] = json!({
                "id": page.incident_id,
                "name": page.title,
                "component": page.component,
                "impact": page.level.map(|level| match level {
                    model::Level::L1 => "critical",
                    model::Level::L2 => "major",
                    model::Level::L3 => "minor",
                    model::Level::L4 => "none",
                }),
                "status": page.step,
                "update": {"status": page.step, "body": page.summary, "at": page.since},
            });
        }
        Ok(body)
    }
}

#[async_trait]
impl Channel for SubscriberWebhookChannel {
    fn name(&self) -> &str {
        crate::status::WEBHOOK_CHANNEL
    }

    fn kind(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, page: &Page) -> Result<Delivery, ChannelError> {
        let body = Self::body(page)?;
        let Some(subscriber) = &page.subscriber else {
            return Err(ChannelError::Misconfigured(
                "page has no subscriber".to_owned(),
            ));
        };
        // Checked again at send time: the address was accepted under the config of that day.
        let url = crate::status::normalise_webhook(&subscriber.address, self.allow_private)
            .map_err(|error| ChannelError::Misconfigured(error.to_string()))?;
        let request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("idempotency-key", &page.idempotency_key)
            .json(&body);
        post(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_as_seconds_or_an_http_date() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(std::time::Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(std::time::Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(std::time::Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    fn page(action: PageAction, level: model::Level) -> Page {
        Page {
            idempotency_key: "inc-1/L1/0/0/pd".to_owned(),
            action,
            incident_id: Some("inc-1".to_owned()),
            title: "chain anomaly on chain".to_owned(),
            level: Some(level),
            component: "chain".to_owned(),
            summary: "no new head for 25 s".to_owned(),
            since: "2026-03-02T10:00:00Z".to_owned(),
            runbook: Some("https://runbooks.example.test/chain-halt".to_owned()),
            incident_url: Some("https://vigil.example.test/incidents/inc-1".to_owned()),
            ack_url: Some("https://vigil.example.test/ack/t".to_owned()),
            on_call: None,
            step: "L1/0/0".to_owned(),
            subscriber: None,
            affects: Vec::new(),
        }
    }

    #[tokio::test]
    async fn pagerduty_events_use_the_incident_as_dedup_key_and_map_levels_to_severities() {
        let channel =
            PagerDutyChannel::new("pd", "https://events.pagerduty.com/v2/enqueue", "R0UTING")
                .unwrap();
        let trigger = channel.body(&page(PageAction::Trigger, model::Level::L1));
        // The shape Alertmanager sends (shared sample), with our fields.
        assert_eq!(trigger["routing_key"], "R0UTING");
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(trigger["dedup_key"], "inc-1");
        assert_eq!(trigger["payload"]["severity"], "critical");
        assert_eq!(trigger["payload"]["source"], "vigil");
        assert!(
            trigger["payload"]["summary"]
                .as_str()
                .unwrap()
                .contains("chain anomaly")
        );
        assert_eq!(trigger["links"].as_array().unwrap().len(), 3);
        let severities: Vec<&str> = [
            model::Level::L1,
            model::Level::L2,
            model::Level::L3,
            model::Level::L4,
        ]
        .into_iter()
        .map(|level| PagerDutyChannel::severity(Some(level)))
        .collect();
        assert_eq!(severities, ["critical", "error", "warning", "info"]);
        let resolve = channel.body(&page(PageAction::Resolve, model::Level::L1));
        assert_eq!(
            resolve,
            json!({"routing_key": "R0UTING", "dedup_key": "inc-1", "event_action": "resolve"})
        );
        assert_eq!(
            channel.body(&page(PageAction::Acknowledge, model::Level::L1))["event_action"],
            "acknowledge"
        );
        assert!(channel.accepts(PageAction::Acknowledge));
    }

    #[tokio::test]
    async fn slack_messages_carry_the_subject_and_the_ack_link() {
        let body = SlackChannel::body(&page(PageAction::Trigger, model::Level::L2));
        assert_eq!(body["attachments"][0]["color"], "danger");
        assert_eq!(
            body["attachments"][0]["title_link"],
            "https://vigil.example.test/incidents/inc-1"
        );
        let text = body["attachments"][0]["text"].as_str().unwrap();
        assert!(
            text.contains("<https://vigil.example.test/ack/t|Acknowledge>"),
            "{text}"
        );
        assert!(body["text"].as_str().unwrap().starts_with("[L2 high]"));
    }
}
