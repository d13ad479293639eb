//! Storage for status-page subscriptions (see [`crate::status`] for what they do).
//!
//! A subscription is written whole under a version check, like incidents, together with the outbox rows
//! its change sends (the confirmation request), so a confirmation mail exists exactly when the request
//! that asked for it was committed.

use serde::Serialize;

use super::StoreError;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionKind {
    Email,
    Webhook,
}

impl SubscriptionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionKind::Email => "email",
            SubscriptionKind::Webhook => "webhook",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "email" => Some(SubscriptionKind::Email),
            "webhook" => Some(SubscriptionKind::Webhook),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionState {
    /// Asked for; waits for its confirm link to be followed. Receives nothing else.
    Pending,
    Confirmed,
    Unsubscribed,
}

impl SubscriptionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionState::Pending => "pending",
            SubscriptionState::Confirmed => "confirmed",
            SubscriptionState::Unsubscribed => "unsubscribed",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(SubscriptionState::Pending),
            "confirmed" => Some(SubscriptionState::Confirmed),
            "unsubscribed" => Some(SubscriptionState::Unsubscribed),
            _ => None,
        }
    }
}

/// One subscriber: an email address or a webhook URL, and the components it follows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subscription {
    /// `sub-<hex>`.
    pub id: String,
    pub kind: SubscriptionKind,
    /// The email address or webhook URL, as validated.
    pub address: String,
    /// Component ids followed; empty means every component.
    pub components: Vec<String>,
    /// The components of the latest request, applied when it is confirmed.
    pub requested_components: Vec<String>,
    pub state: SubscriptionState,
    /// Counts confirmation requests; only the newest confirm link works.
    pub generation: i64,
    pub created_at_ms: i64,
    pub confirm_sent_at_ms: i64,
    pub confirmed_at_ms: Option<i64>,
    pub unsubscribed_at_ms: Option<i64>,
    pub version: i64,
}

impl Subscription {
    /// Whether notices about `component` go to this subscriber.
    pub fn follows(&self, component: &str) -> bool {
        self.follows_any(std::slice::from_ref(&component.to_owned()))
    }

    /// Whether a notice about `components` goes to this subscriber; an empty list (maintenance of
    /// everything) concerns every confirmed subscriber.
    pub fn follows_any(&self, components: &[String]) -> bool {
        self.state == SubscriptionState::Confirmed
            && (components.is_empty()
                || self.components.is_empty()
                || components.iter().any(|c| self.components.contains(c)))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SubscriptionRow {
    id: String,
    kind: String,
    address: String,
    components: String,
    requested_components: String,
    state: String,
    generation: i64,
    created_at_ms: i64,
    confirm_sent_at_ms: i64,
    confirmed_at_ms: Option<i64>,
    unsubscribed_at_ms: Option<i64>,
    version: i64,
}

impl TryFrom<SubscriptionRow> for Subscription {
    type Error = StoreError;

    fn try_from(row: SubscriptionRow) -> Result<Self, Self::Error> {
        let corrupt = |column: &str, detail: String| {
            StoreError::Corrupt(format!(
                "status_subscriptions.{column} of row {}: {detail}",
                row.id
            ))
        };
        let components = |column: &str, text: &str| {
            serde_json::from_str::<Vec<String>>(text).map_err(|e| corrupt(column, e.to_string()))
        };
        Ok(Subscription {
            kind: SubscriptionKind::parse(&row.kind)
                .ok_or_else(|| corrupt("kind", format!("unknown kind {:?}", row.kind)))?,
            state: SubscriptionState::parse(&row.state)
                .ok_or_else(|| corrupt("state", format!("unknown state {:?}", row.state)))?,
            components: components("components", &row.components)?,
            requested_components: components("requested_components", &row.requested_components)?,
            id: row.id,
            address: row.address,
            generation: row.generation,
            created_at_ms: row.created_at_ms,
            confirm_sent_at_ms: row.confirm_sent_at_ms,
            confirmed_at_ms: row.confirmed_at_ms,
            unsubscribed_at_ms: row.unsubscribed_at_ms,
            version: row.version,
        })
    }
}

/// Binds every column in the order of [`INSERT_SUBSCRIPTION`] and [`UPDATE_SUBSCRIPTION`] (`$12` =
/// the expected version).
pub(crate) fn bind_subscription<'q, DB>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>,
    subscription: &Subscription,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    query
        .bind(subscription.id.clone())
        .bind(subscription.kind.as_str().to_owned())
        .bind(subscription.address.clone())
        .bind(super::records::to_json(&subscription.components))
        .bind(super::records::to_json(&subscription.requested_components))
        .bind(subscription.state.as_str().to_owned())
        .bind(subscription.generation)
        .bind(subscription.created_at_ms)
        .bind(subscription.confirm_sent_at_ms)
        .bind(subscription.confirmed_at_ms)
        .bind(subscription.unsubscribed_at_ms)
        .bind(subscription.version)
}

pub(crate) const INSERT_SUBSCRIPTION: &str = "insert into status_subscriptions (id, kind, address, components, \
     requested_components, state, generation, created_at_ms, confirm_sent_at_ms, confirmed_at_ms, \
     unsubscribed_at_ms, version) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
pub(crate) const UPDATE_SUBSCRIPTION: &str = "update status_subscriptions set kind = $2, address = $3, \
     components = $4, requested_components = $5, state = $6, generation = $7, created_at_ms = $8, \
     confirm_sent_at_ms = $9, confirmed_at_ms = $10, unsubscribed_at_ms = $11, version = $12 + 1 \
     where id = $1 and version = $12";
pub(crate) const SELECT_SUBSCRIPTION: &str = "select id, kind, address, components, requested_components, state, \
     generation, created_at_ms, confirm_sent_at_ms, confirmed_at_ms, unsubscribed_at_ms, version \
     from status_subscriptions where id = $1";
pub(crate) const SELECT_SUBSCRIPTION_BY_ADDRESS: &str = "select id, kind, address, components, \
     requested_components, state, generation, created_at_ms, confirm_sent_at_ms, confirmed_at_ms, \
     unsubscribed_at_ms, version from status_subscriptions where kind = $1 and address = $2";
pub(crate) const SELECT_SUBSCRIPTIONS_IN_STATE: &str = "select id, kind, address, components, \
     requested_components, state, generation, created_at_ms, confirm_sent_at_ms, confirmed_at_ms, \
     unsubscribed_at_ms, version from status_subscriptions where state = $1 order by created_at_ms, id";
pub(crate) const SELECT_SUBSCRIPTIONS: &str = "select id, kind, address, components, requested_components, \
     state, generation, created_at_ms, confirm_sent_at_ms, confirmed_at_ms, unsubscribed_at_ms, version \
     from status_subscriptions order by created_at_ms desc, id limit $1";
