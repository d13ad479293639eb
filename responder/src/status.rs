//! Status-page subscriptions: readers follow components by email or webhook and receive the public
//! updates of incidents on them (opened, each public status update, resolved).
//!
//! How it is kept trustworthy:
//! - **Double opt-in.** A request creates a *pending* subscription and sends one confirmation message with
//!   a signed link; nothing else is sent until the link is followed. Asking again re-sends at most every
//!   [`SubscriptionsConfig::resend_after`], so the form cannot be used to flood someone's inbox.
//! - **Same outbox as pages.** A public update writes one *fan-out* row (channel [`FANOUT_CHANNEL`]) in
//!   the same transaction as the incident change. Its worker expands it into one outbox row per confirmed
//!   subscriber (channels [`EMAIL_CHANNEL`] and [`WEBHOOK_CHANNEL`]), keyed `<fan-out key>/<subscription>`,
//!   so a crash mid-expansion re-expands without sending anything twice, and delivery gets the pages'
//!   retries, backoff and dead-lettering.
//! - **Links need no stored secret.** Confirm and unsubscribe links are HMAC-signed with the responder's
//!   (persisted) signing key and domain-separated from acknowledge links. A confirm link carries the
//!   subscription's generation, so only the newest request's link works; unsubscribe links never expire.
//! - **Webhooks cannot reach inside.** A public form must not make Vigil call internal services: webhook
//!   URLs that are, or resolve to, loopback, private, link-local or otherwise non-public addresses are
//!   refused (unless `allow_private_webhooks`), and redirects are not followed.

use std::collections::BTreeSet;

use model::{HumanDuration, Level};
use serde::{Deserialize, Serialize};

use crate::error::{ResponderError, Result};
use crate::page::{Page, PageAction, SubscriberTarget};
use crate::service::{Responder, duration_ms, new_page, random_hex};
use crate::store::{
    Incident, NewPage, StoreError, Subscription, SubscriptionKind, SubscriptionState,
};
use crate::time::rfc3339;

/// The outbox channel of fan-out rows (one per public update).
pub const FANOUT_CHANNEL: &str = "status-fanout";
/// The outbox channel of subscriber emails.
pub const EMAIL_CHANNEL: &str = "status-email";
/// The outbox channel of subscriber webhooks.
pub const WEBHOOK_CHANNEL: &str = "status-webhook";
/// Channel names `[[channels]]` may not use.
pub const RESERVED_CHANNELS: [&str; 3] = [FANOUT_CHANNEL, EMAIL_CHANNEL, WEBHOOK_CHANNEL];
/// Incident categories that concern Vigil itself, not the protocol's users: never on the status page.
pub const INTERNAL_CATEGORIES: [&str; 2] = ["heartbeat", "oncall"];
/// The public status values, in their usual order.
pub const PUBLIC_STATUSES: [&str; 4] = ["investigating", "identified", "monitoring", "resolved"];

const MAX_EMAIL_LEN: usize = 254;
const MAX_URL_LEN: usize = 2048;
const MAX_COMPONENTS: usize = 64;

/// Whether an incident appears on the public status page (and so reaches subscribers).
pub fn is_public(incident: &Incident) -> bool {
    !INTERNAL_CATEGORIES.contains(&incident.category.as_str())
}

/// A component's display name: `api` → `API`, `peg` → `TRN peg`, otherwise capitalised.
pub fn component_name(id: &str) -> String {
    match id {
        "api" => "API".to_owned(),
        "peg" => "TRN peg".to_owned(),
        other => crate::page::upper_first(other),
    }
}

/// `[responder.subscriptions]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SubscriptionsConfig {
    /// Whether status-page readers can subscribe at all. Default true.
    pub enabled: bool,
    /// The `email` channel whose SMTP server and From address carry subscriber mail. Default: the first
    /// email channel; with none, email subscriptions are refused.
    pub email_channel: Option<String>,
    /// Whether webhook subscriptions are accepted. Default true.
    pub webhooks: bool,
    /// Accept webhook URLs on loopback and private networks. Default false: a public form must not make
    /// Vigil call internal services.
    pub allow_private_webhooks: bool,
    /// How long a confirm link works. Default 48h.
    pub confirm_link_ttl: HumanDuration,
    /// A confirmation is re-sent to the same address at most this often. Default 10m.
    pub resend_after: HumanDuration,
    /// Subscriber messages claimed and sent at once per round (they go to many different receivers).
    /// Default 64.
    pub concurrency: u32,
}

impl Default for SubscriptionsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            email_channel: None,
            webhooks: true,
            allow_private_webhooks: false,
            confirm_link_ttl: HumanDuration::from_secs(48 * 3600),
            resend_after: HumanDuration::from_secs(600),
            concurrency: 64,
        }
    }
}

impl SubscriptionsConfig {
    pub(crate) fn validate(
        &self,
        path: &str,
        channels: &[crate::config::ChannelConfig],
        report: &mut impl FnMut(String, String),
    ) {
        if let Some(name) = &self.email_channel
            && !channels.iter().any(|channel| {
                channel.name() == name && matches!(channel, crate::config::ChannelConfig::Email(_))
            })
        {
            report(
                format!("{path}.email_channel"),
                format!("no email channel is named {name:?}"),
            );
        }
        if self.concurrency == 0 {
            report(
                format!("{path}.concurrency"),
                "must be at least 1".to_owned(),
            );
        }
        if self.confirm_link_ttl.get().is_zero() {
            report(
                format!("{path}.confirm_link_ttl"),
                "must be longer than 0s".to_owned(),
            );
        }
    }

    /// The email channel subscriber mail goes through, if any.
    pub fn email_channel_config<'a>(
        &self,
        channels: &'a [crate::config::ChannelConfig],
    ) -> Option<&'a crate::config::EmailChannelConfig> {
        channels.iter().find_map(|channel| match channel {
            crate::config::ChannelConfig::Email(email)
                if self
                    .email_channel
                    .as_ref()
                    .is_none_or(|name| *name == email.name) =>
            {
                Some(email)
            }
            _ => None,
        })
    }
}

/// `POST /api/v1/status/subscriptions` body: exactly one of `email` and `webhook`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub webhook: Option<String>,
    /// Component ids to follow; empty or absent: every component.
    #[serde(default)]
    pub components: Vec<String>,
}

/// A subscription as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscriptionView {
    pub id: String,
    pub kind: SubscriptionKind,
    pub address: String,
    /// Component ids followed; empty: every component.
    pub components: Vec<String>,
    pub state: SubscriptionState,
    pub created_at: String,
    pub confirmed_at: Option<String>,
    pub unsubscribed_at: Option<String>,
}

impl From<&Subscription> for SubscriptionView {
    fn from(subscription: &Subscription) -> Self {
        Self {
            id: subscription.id.clone(),
            kind: subscription.kind,
            address: subscription.address.clone(),
            components: subscription.components.clone(),
            state: subscription.state,
            created_at: rfc3339(subscription.created_at_ms),
            confirmed_at: subscription.confirmed_at_ms.map(rfc3339),
            unsubscribed_at: subscription.unsubscribed_at_ms.map(rfc3339),
        }
    }
}

/// What a subscribe request did. The answer is the same whether or not the address was known, so the
/// form does not tell strangers who subscribes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscribeOutcome {
    pub kind: SubscriptionKind,
    pub address: String,
    pub components: Vec<String>,
    /// Always `pending`: the confirmation link decides.
    pub state: &'static str,
    /// Whether a confirmation message was queued now (false while an earlier one is recent).
    pub confirmation_sent: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscriptionList {
    pub subscriptions: Vec<SubscriptionView>,
}

/// Normalises and checks an email address: trimmed, lower-cased, one plain `local@domain` address.
pub fn normalise_email(text: &str) -> Result<String> {
    let address = text.trim().to_lowercase();
    let invalid = |why: &str| {
        ResponderError::InvalidInput(format!("email {text:?} is not a valid address: {why}"))
    };
    if address.is_empty() {
        return Err(invalid("empty"));
    }
    if address.len() > MAX_EMAIL_LEN {
        return Err(invalid("longer than 254 bytes"));
    }
    let parsed: lettre::Address = address
        .parse()
        .map_err(|error: lettre::address::AddressError| invalid(&error.to_string()))?;
    if !parsed.domain().contains('.') && !parsed.domain().starts_with('[') {
        return Err(invalid("the domain has no dot"));
    }
    Ok(address)
}

/// Checks a webhook URL: http(s), a host, no credentials, not too long, and (unless `allow_private`) not a
/// literal non-public address or `localhost`. Names are checked again when they are resolved, at send time.
pub fn normalise_webhook(text: &str, allow_private: bool) -> Result<String> {
    let invalid = |why: String| {
        ResponderError::InvalidInput(format!("webhook {text:?} is not usable: {why}"))
    };
    let text_trimmed = text.trim();
    if text_trimmed.len() > MAX_URL_LEN {
        return Err(invalid("longer than 2048 bytes".to_owned()));
    }
    let url = reqwest::Url::parse(text_trimmed).map_err(|error| invalid(error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "credentials in the URL are not accepted".to_owned(),
        ));
    }
    let host = url
        .host_str()
        .filter(|host| !host.is_empty())
        .ok_or_else(|| invalid("it has no host".to_owned()))?;
    if !allow_private {
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        let blocked = match literal.parse::<std::net::IpAddr>() {
            Ok(ip) => !is_public_ip(ip),
            Err(_) => {
                let name = host.trim_end_matches('.');
                name == "localhost" || name.ends_with(".localhost") || name.ends_with(".local")
            }
        };
        if blocked {
            return Err(invalid(
                "it points at a loopback or private address (allow_private_webhooks is off)"
                    .to_owned(),
            ));
        }
    }
    Ok(url.to_string())
}

/// Whether `ip` is an ordinary public unicast address (not loopback, private, link-local, shared,
/// documentation, benchmarking, multicast, unspecified or reserved).
pub fn is_public_ip(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || (a == 198 && (b == 18 || b == 19))) // benchmarking
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_ip(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
        }
    }
}

/// Normalises requested components: trimmed, lower-case, each `[a-z0-9_-]{1,64}`, de-duplicated and
/// sorted. Whether they exist is for the caller (the status page knows its components).
pub fn normalise_components(components: &[String]) -> Result<Vec<String>> {
    if components.len() > MAX_COMPONENTS {
        return Err(ResponderError::InvalidInput(format!(
            "components: at most {MAX_COMPONENTS} may be named, got {}",
            components.len()
        )));
    }
    let mut set = BTreeSet::new();
    for (index, component) in components.iter().enumerate() {
        let id = component.trim().to_lowercase();
        let valid = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid {
            return Err(ResponderError::InvalidInput(format!(
                "components[{index}]: {component:?} is not a component id"
            )));
        }
        set.insert(id);
    }
    Ok(set.into_iter().collect())
}

impl Responder {
    fn subscriptions_config(&self) -> &SubscriptionsConfig {
        &self.inner.config.subscriptions
    }

    /// Which subscription kinds are accepted now: email needs an email channel to send through.
    pub fn subscription_kinds(&self) -> Vec<SubscriptionKind> {
        let config = self.subscriptions_config();
        let mut kinds = Vec::new();
        if !config.enabled {
            return kinds;
        }
        if self.inner.channels.contains_key(EMAIL_CHANNEL) {
            kinds.push(SubscriptionKind::Email);
        }
        if config.webhooks && self.inner.channels.contains_key(WEBHOOK_CHANNEL) {
            kinds.push(SubscriptionKind::Webhook);
        }
        kinds
    }

    /// `POST /api/v1/status/subscriptions`: records a pending subscription (or a change of components to
    /// an existing one) and queues its confirmation request. `components` must already be known to exist.
    pub async fn subscribe(&self, request: &SubscribeRequest) -> Result<SubscribeOutcome> {
        let config = self.subscriptions_config().clone();
        let (kind, address) = match (&request.email, &request.webhook) {
            (Some(email), None) => (SubscriptionKind::Email, normalise_email(email)?),
            (None, Some(url)) => (
                SubscriptionKind::Webhook,
                normalise_webhook(url, config.allow_private_webhooks)?,
            ),
            _ => {
                return Err(ResponderError::InvalidInput(
                    "give exactly one of email and webhook".to_owned(),
                ));
            }
        };
        if !self.subscription_kinds().contains(&kind) {
            return Err(ResponderError::SubscriptionsUnavailable(format!(
                "{} subscriptions are not offered here",
                kind.as_str()
            )));
        }
        let components = normalise_components(&request.components)?;
        for _ in 0..5 {
            let now = self.now();
            let existing = self
                .inner
                .store
                .subscription_by_address(kind, &address)
                .await?;
            let (mut subscription, is_new) = match existing {
                Some(subscription) => (subscription, false),
                None => (
                    Subscription {
                        id: format!("sub-{}", random_hex(16)),
                        kind,
                        address: address.clone(),
                        components: components.clone(),
                        requested_components: components.clone(),
                        state: SubscriptionState::Pending,
                        generation: 0,
                        created_at_ms: now,
                        confirm_sent_at_ms: 0,
                        confirmed_at_ms: None,
                        unsubscribed_at_ms: None,
                        version: 0,
                    },
                    true,
                ),
            };
            let unchanged_and_confirmed = subscription.state == SubscriptionState::Confirmed
                && subscription.components == components;
            let recently_sent = !is_new
                && now - subscription.confirm_sent_at_ms < duration_ms(config.resend_after)
                && subscription.requested_components == components;
            if unchanged_and_confirmed || recently_sent {
                return Ok(SubscribeOutcome {
                    kind,
                    address,
                    components,
                    state: "pending",
                    confirmation_sent: false,
                });
            }
            subscription.generation += 1;
            subscription.requested_components = components.clone();
            subscription.confirm_sent_at_ms = now;
            if subscription.state == SubscriptionState::Unsubscribed {
                subscription.state = SubscriptionState::Pending;
                subscription.unsubscribed_at_ms = None;
            }
            let confirmation = self.confirmation_page(&subscription, now);
            let written = if is_new {
                self.inner
                    .store
                    .create_subscription(&subscription, std::slice::from_ref(&confirmation))
                    .await
            } else {
                self.inner
                    .store
                    .update_subscription(&subscription, std::slice::from_ref(&confirmation))
                    .await
            };
            match written {
                Ok(()) => {
                    tracing::info!(subscription = %subscription.id, kind = kind.as_str(), "subscription requested; confirmation queued");
                    self.wake_delivery();
                    return Ok(SubscribeOutcome {
                        kind,
                        address,
                        components,
                        state: "pending",
                        confirmation_sent: true,
                    });
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ResponderError::Store(StoreError::Conflict(
            "too many concurrent requests for this subscription".to_owned(),
        )))
    }

    /// Follows a confirm link: the subscription becomes confirmed with the components it asked for.
    /// Following it again is harmless.
    pub async fn confirm_subscription(&self, token: &str) -> Result<SubscriptionView> {
        let (id, generation, expires_at_ms) = self.verify_confirm_token(token)?;
        if self.now() >= expires_at_ms {
            return Err(ResponderError::SubscriptionLink(
                "the confirm link has expired; subscribe again for a new one".to_owned(),
            ));
        }
        self.change_subscription(&id, |subscription, now| {
            if subscription.generation != generation {
                return Err(ResponderError::SubscriptionLink(
                    "a newer confirm link was sent; use that one".to_owned(),
                ));
            }
            if subscription.state == SubscriptionState::Unsubscribed {
                return Err(ResponderError::SubscriptionLink(
                    "this subscription was cancelled; subscribe again".to_owned(),
                ));
            }
            let changed = subscription.state != SubscriptionState::Confirmed
                || subscription.components != subscription.requested_components;
            subscription.state = SubscriptionState::Confirmed;
            subscription.components = subscription.requested_components.clone();
            subscription.confirmed_at_ms.get_or_insert(now);
            Ok(changed)
        })
        .await
    }

    /// Follows an unsubscribe link (or the one-click `List-Unsubscribe-Post`). Harmless when repeated.
    pub async fn unsubscribe(&self, token: &str) -> Result<SubscriptionView> {
        let id = self.verify_unsubscribe_token(token)?;
        self.end_subscription(&id).await
    }

    /// The subscription an unsubscribe link names, for the page that asks "unsubscribe?".
    pub async fn subscription_for_unsubscribe(&self, token: &str) -> Result<SubscriptionView> {
        let id = self.verify_unsubscribe_token(token)?;
        let subscription = self
            .inner
            .store
            .subscription(&id)
            .await?
            .ok_or(ResponderError::SubscriptionNotFound(id))?;
        Ok(SubscriptionView::from(&subscription))
    }

    /// Ends a subscription by id (operators removing a bouncing address).
    pub async fn cancel_subscription(&self, id: &str) -> Result<SubscriptionView> {
        self.end_subscription(id).await
    }

    async fn end_subscription(&self, id: &str) -> Result<SubscriptionView> {
        self.change_subscription(id, |subscription, now| {
            if subscription.state == SubscriptionState::Unsubscribed {
                return Ok(false);
            }
            subscription.state = SubscriptionState::Unsubscribed;
            subscription.unsubscribed_at_ms = Some(now);
            Ok(true)
        })
        .await
    }

    /// `GET /api/v1/subscriptions`: the newest subscriptions, any state.
    pub async fn list_subscriptions(&self) -> Result<SubscriptionList> {
        let subscriptions = self.inner.store.subscriptions(1000).await?;
        Ok(SubscriptionList {
            subscriptions: subscriptions.iter().map(SubscriptionView::from).collect(),
        })
    }

    async fn change_subscription<F>(&self, id: &str, mut apply: F) -> Result<SubscriptionView>
    where
        F: FnMut(&mut Subscription, i64) -> Result<bool>,
    {
        for _ in 0..5 {
            let now = self.now();
            let mut subscription = self
                .inner
                .store
                .subscription(id)
                .await?
                .ok_or_else(|| ResponderError::SubscriptionNotFound(id.to_owned()))?;
            if !apply(&mut subscription, now)? {
                return Ok(SubscriptionView::from(&subscription));
            }
            match self
                .inner
                .store
                .update_subscription(&subscription, &[])
                .await
            {
                Ok(()) => {
                    tracing::info!(subscription = %subscription.id, state = subscription.state.as_str(), "subscription changed");
                    return Ok(SubscriptionView::from(&subscription));
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(ResponderError::Store(StoreError::Conflict(format!(
            "too many concurrent changes to subscription {id}"
        ))))
    }

    // ---- links -----------------------------------------------------------------------------------------

    fn base_url(&self) -> &str {
        self.inner.config.base_url.trim_end_matches('/')
    }

    /// `<id>.<generation>.<expiry ms>.<hex hmac>`.
    fn confirm_token(&self, subscription: &Subscription, now: i64) -> String {
        let expires = now + duration_ms(self.subscriptions_config().confirm_link_ttl);
        let signed = format!("{}.{}.{expires}", subscription.id, subscription.generation);
        let signature = self
            .inner
            .signer
            .sign(&format!("confirm-subscription.{signed}"));
        format!("{signed}.{signature}")
    }

    fn verify_confirm_token(&self, token: &str) -> Result<(String, i64, i64)> {
        let malformed = || ResponderError::SubscriptionLink("the confirm link is malformed".into());
        let mut parts = token.trim().split('.');
        let (Some(id), Some(generation), Some(expires), Some(signature), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(malformed());
        };
        let generation: i64 = generation.parse().map_err(|_| malformed())?;
        let expires: i64 = expires.parse().map_err(|_| malformed())?;
        let signed = format!("{id}.{generation}.{expires}");
        if !self
            .inner
            .signer
            .check(&format!("confirm-subscription.{signed}"), signature)
        {
            return Err(ResponderError::SubscriptionLink(
                "the confirm link's signature does not match".to_owned(),
            ));
        }
        Ok((id.to_owned(), generation, expires))
    }

    /// `<id>.<hex hmac>`; never expires (an old message must still let its reader out).
    fn unsubscribe_token(&self, subscription_id: &str) -> String {
        let signature = self
            .inner
            .signer
            .sign(&format!("unsubscribe.{subscription_id}"));
        format!("{subscription_id}.{signature}")
    }

    fn verify_unsubscribe_token(&self, token: &str) -> Result<String> {
        let (id, signature) = token.trim().split_once('.').ok_or_else(|| {
            ResponderError::SubscriptionLink("the unsubscribe link is malformed".to_owned())
        })?;
        if !self
            .inner
            .signer
            .check(&format!("unsubscribe.{id}"), signature)
        {
            return Err(ResponderError::SubscriptionLink(
                "the unsubscribe link's signature does not match".to_owned(),
            ));
        }
        Ok(id.to_owned())
    }

    fn subscriber_target(
        &self,
        subscription: &Subscription,
        components: &[String],
    ) -> SubscriberTarget {
        SubscriberTarget {
            subscription_id: subscription.id.clone(),
            kind: subscription.kind,
            address: subscription.address.clone(),
            status_url: format!("{}/", self.base_url()),
            unsubscribe_url: format!(
                "{}/subscriptions/unsubscribe?token={}",
                self.base_url(),
                self.unsubscribe_token(&subscription.id)
            ),
            confirm_url: None,
            components: components.iter().map(|c| component_name(c)).collect(),
        }
    }

    fn confirmation_page(&self, subscription: &Subscription, now: i64) -> NewPage {
        let mut target = self.subscriber_target(subscription, &subscription.requested_components);
        target.confirm_url = Some(format!(
            "{}/subscriptions/confirm?token={}",
            self.base_url(),
            self.confirm_token(subscription, now)
        ));
        let page = Page {
            idempotency_key: format!("{}/confirm/{}", subscription.id, subscription.generation),
            action: PageAction::Confirm,
            incident_id: None,
            title: "Confirm your subscription to status updates".to_owned(),
            level: None,
            component: "status page".to_owned(),
            summary: String::new(),
            since: rfc3339(now),
            runbook: None,
            incident_url: None,
            ack_url: None,
            on_call: None,
            step: "confirm".to_owned(),
            subscriber: Some(target),
            affects: Vec::new(),
        };
        new_page(&page, channel_of(subscription.kind), now)
    }

    // ---- notices ---------------------------------------------------------------------------------------

    /// The fan-out row for a public update of `incident`, or `None` when subscribers are not told: the
    /// incident is internal, subscriptions are off, or it is an L4 notice nobody made public (opened by
    /// hand or given a public update). `key` names the update (`opened`, `resolved`, `v<version>`), so
    /// one update fans out once.
    pub(crate) fn status_notice(
        &self,
        incident: &Incident,
        key: &str,
        status: &str,
        message: &str,
        now: i64,
    ) -> Option<NewPage> {
        if !self.subscriptions_config().enabled || !is_public(incident) {
            return None;
        }
        let made_public = incident.source == "manual" || incident.public_status.is_some();
        if incident.level == Level::L4 && !made_public {
            return None;
        }
        let component = component_name(&incident.component);
        let page = Page {
            idempotency_key: format!("status/{}/{key}", incident.id),
            action: PageAction::Notice,
            incident_id: Some(incident.id.clone()),
            title: incident.title.clone(),
            level: Some(incident.level),
            component,
            summary: message.to_owned(),
            since: rfc3339(now),
            runbook: None,
            incident_url: Some(format!("{}/", self.base_url())),
            ack_url: None,
            on_call: None,
            step: status.to_owned(),
            subscriber: None,
            affects: vec![incident.component.clone()],
        };
        Some(new_page(&page, FANOUT_CHANNEL, now))
    }

    /// Queues the "investigating" notice of an incident's opening (once per incident, by its key).
    pub(crate) fn notice_opening(
        &self,
        incident: &Incident,
        write: &mut crate::store::IncidentWrite,
        now: i64,
    ) {
        let message = format!(
            "We are investigating a problem affecting {}.",
            component_name(&incident.component)
        );
        write
            .pages
            .extend(self.status_notice(incident, "opened", "investigating", &message, now));
    }

    /// Expands due fan-out rows into one outbox row per confirmed subscriber following the component.
    /// Returns how many fan-out rows it handled.
    pub(crate) async fn fan_out_due_once(&self) -> Result<usize> {
        let inner = &self.inner;
        let now = self.now();
        let token = random_hex(24);
        let rows = inner
            .store
            .claim_due_pages(
                FANOUT_CHANNEL,
                now,
                now + duration_ms(inner.config.delivery.lease),
                &token,
                inner.config.delivery.batch,
            )
            .await?;
        let handled = rows.len();
        if handled == 0 {
            return Ok(0);
        }
        let subscribers = inner
            .store
            .subscriptions_in_state(SubscriptionState::Confirmed)
            .await?;
        let kinds = self.subscription_kinds();
        for row in rows {
            let outcome = match serde_json::from_value::<Page>(row.payload.clone()) {
                Ok(notice) => {
                    let mut pages = Vec::new();
                    for subscription in &subscribers {
                        if !subscription.follows_any(&notice.affects)
                            || !kinds.contains(&subscription.kind)
                        {
                            continue;
                        }
                        let mut page = notice.clone();
                        page.idempotency_key =
                            format!("{}/{}", notice.idempotency_key, subscription.id);
                        page.subscriber =
                            Some(self.subscriber_target(subscription, &subscription.components));
                        // Linked to the incident for its delivery counts; the pages list and the
                        // timeline leave `status-*` rows out (one update may mean thousands).
                        pages.push(new_page(&page, channel_of(subscription.kind), now));
                    }
                    let queued = inner.store.enqueue_pages(&pages).await?;
                    tracing::info!(key = %row.idempotency_key, subscribers = pages.len(), queued, "status notice fanned out");
                    crate::store::PageOutcome::Sent { at_ms: now }
                }
                Err(error) => crate::store::PageOutcome::Failed {
                    error: format!("stored notice does not decode: {error}"),
                },
            };
            inner.store.complete_page(row.id, &token, &outcome).await?;
        }
        self.wake_delivery();
        Ok(handled)
    }
}

/// How long before a maintenance window its "scheduled" notice goes out.
const MAINTENANCE_NOTICE_AHEAD_MS: i64 = 24 * 3600 * 1000;
/// How long after a window its "completed" notice may still go out (after a restart, say).
const MAINTENANCE_COMPLETED_GRACE_MS: i64 = 3600 * 1000;

impl Responder {
    /// Tells subscribers about maintenance windows of the components they follow: `scheduled` up to a
    /// day ahead, `in_progress` when it starts, `completed` when it ends. Each notice has a key per window
    /// occurrence, so running this often (and on every replica) sends each once. Returns how many fan-out
    /// rows were new.
    pub async fn run_maintenance_notices_once(&self) -> Result<usize> {
        if !self.subscriptions_config().enabled {
            return Ok(0);
        }
        let now = self.now();
        let periods = self.maintenance_periods(
            now - MAINTENANCE_COMPLETED_GRACE_MS,
            now + MAINTENANCE_NOTICE_AHEAD_MS,
        );
        let mut notices = Vec::new();
        for period in periods {
            let (status, message) = if now < period.start_ms {
                (
                    "scheduled",
                    format!(
                        "Maintenance is scheduled from {} to {}.",
                        rfc3339(period.start_ms),
                        rfc3339(period.end_ms)
                    ),
                )
            } else if now < period.end_ms {
                (
                    "in_progress",
                    format!(
                        "Maintenance is in progress until {}.",
                        rfc3339(period.end_ms)
                    ),
                )
            } else if now < period.end_ms + MAINTENANCE_COMPLETED_GRACE_MS {
                ("completed", "The maintenance has completed.".to_owned())
            } else {
                continue;
            };
            let affected = if period.components.is_empty() {
                "all components".to_owned()
            } else {
                period
                    .components
                    .iter()
                    .map(|c| component_name(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let page = Page {
                idempotency_key: format!(
                    "maintenance/{}/{}/{status}",
                    period.name, period.start_ms
                ),
                action: PageAction::Notice,
                incident_id: None,
                title: format!("Maintenance: {}", period.name),
                level: None,
                component: affected,
                summary: message,
                since: rfc3339(now),
                runbook: None,
                incident_url: Some(format!("{}/", self.base_url())),
                ack_url: None,
                on_call: None,
                step: status.to_owned(),
                subscriber: None,
                affects: period.components.clone(),
            };
            notices.push(new_page(&page, FANOUT_CHANNEL, now));
        }
        if notices.is_empty() {
            return Ok(0);
        }
        let queued = self.inner.store.enqueue_pages(&notices).await?;
        if queued > 0 {
            self.wake_delivery();
        }
        Ok(usize::try_from(queued).unwrap_or(0))
    }
}

fn channel_of(kind: SubscriptionKind) -> &'static str {
    match kind {
        SubscriptionKind::Email => EMAIL_CHANNEL,
        SubscriptionKind::Webhook => WEBHOOK_CHANNEL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalise_email("  Reader@Example.ORG ").unwrap(),
            "reader@example.org"
        );
        for bad in [
            "",
            "no-at-sign",
            "a@b",
            "a@@b.org",
            "a b@c.org",
            "<a@b.org>",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert!(normalise_email(&long).is_err());
    }

    #[test]
    fn webhooks_must_be_public_http_urls() {
        assert_eq!(
            normalise_webhook("https://hooks.example.org/status", false).unwrap(),
            "https://hooks.example.org/status"
        );
        for bad in [
            "ftp://example.org/",
            "not a url",
            "https://user:pw@example.org/",
            "http://127.0.0.1:9000/",
            "http://localhost/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
            "http://100.64.0.1/",
        ] {
            assert!(normalise_webhook(bad, false).is_err(), "{bad:?} accepted");
        }
        assert!(normalise_webhook("http://127.0.0.1:9000/hook", true).is_ok());
    }

    #[test]
    fn components_are_normalised() {
        assert_eq!(
            normalise_components(&["Bridge".into(), " peg ".into(), "bridge".into()]).unwrap(),
            vec!["bridge".to_owned(), "peg".to_owned()]
        );
        assert!(normalise_components(&["../etc".into()]).is_err());
        assert!(normalise_components(&[String::new()]).is_err());
    }

    proptest::proptest! {
        /// Whatever a stranger types, normalising never panics, what it accepts is accepted again
        /// unchanged, and accepted values keep their promises.
        #[test]
        fn normalising_is_total_and_idempotent(text in "\\PC{0,80}", pick in 0_u8..4) {
            let candidate = match pick {
                0 => text.clone(),
                1 => format!("{text}@example.org"),
                2 => format!("https://{text}"),
                _ => format!("http://{text}/hook"),
            };
            if let Ok(email) = normalise_email(&candidate) {
                proptest::prop_assert!(email.len() <= MAX_EMAIL_LEN && email.contains('@'));
                proptest::prop_assert_eq!(normalise_email(&email).ok(), Some(email.clone()));
            }
            for allow_private in [false, true] {
                if let Ok(url) = normalise_webhook(&candidate, allow_private) {
                    proptest::prop_assert!(url.starts_with("http://") || url.starts_with("https://"));
                    proptest::prop_assert_eq!(
                        normalise_webhook(&url, allow_private).ok(),
                        Some(url.clone())
                    );
                    if !allow_private {
                        proptest::prop_assert!(!url.contains("://127.") && !url.contains("://localhost"));
                    }
                }
            }
            if let Ok(components) = normalise_components(std::slice::from_ref(&candidate)) {
                proptest::prop_assert_eq!(normalise_components(&components).ok(), Some(components.clone()));
            }
        }
    }

    #[test]
    fn public_ips() {
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public_ip(public.parse().unwrap()), "{public}");
        }
        for private in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.0.1",
            "224.0.0.1",
            "::1",
            "fe80::1",
        ] {
            assert!(!is_public_ip(private.parse().unwrap()), "{private}");
        }
    }
}
