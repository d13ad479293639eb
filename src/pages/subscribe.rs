//! Status-page subscriptions over HTTP: the status page's form (`POST /subscriptions`), its JSON twin
//! (`POST /api/v1/status/subscriptions`), the confirm and unsubscribe links, and the operators' list
//! (`GET /api/v1/subscriptions`, viewer token). The rules live in [`responder::status`].
//!
//! Subscribing is open to anyone (it is part of the public status page), so it is guarded three ways:
//! nothing is sent but one confirmation until its link is followed, an address gets at most one
//! confirmation per `resend_after`, and the whole process takes at most [`REQUESTS_PER_MINUTE`]
//! requests a minute. Components must be ones the status page lists.

use std::time::{Duration, Instant};

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use responder::SubscribeRequest;
use serde::Deserialize;
use serde_json::Value;

use super::session::same_origin;
use super::{PageError, Web, private_page};
use crate::api::error::{ApiError, ApiJson, to_json};
use crate::auth::{Principal, Role};

/// Subscription requests (form and JSON together) accepted per minute.
pub const REQUESTS_PER_MINUTE: u32 = 60;

/// A fixed one-minute window: enough to stop a script from mailing thousands of strangers.
#[derive(Debug)]
pub struct RequestBudget {
    window_start: Instant,
    used: u32,
}

impl Default for RequestBudget {
    fn default() -> Self {
        Self {
            window_start: Instant::now(),
            used: 0,
        }
    }
}

impl RequestBudget {
    fn take(&mut self, now: Instant) -> bool {
        if now.duration_since(self.window_start) >= Duration::from_secs(60) {
            self.window_start = now;
            self.used = 0;
        }
        if self.used >= REQUESTS_PER_MINUTE {
            return false;
        }
        self.used += 1;
        true
    }
}

#[derive(Template)]
#[template(path = "subscription.html")]
struct SubscriptionPage<'a> {
    heading: &'a str,
    message: String,
    /// Set on the "unsubscribe?" page: the form posts it back.
    unsubscribe_token: Option<&'a str>,
    live: bool,
    section: &'static str,
}

fn message_page(
    status: StatusCode,
    heading: &str,
    message: String,
    unsubscribe_token: Option<&str>,
) -> Result<Response, PageError> {
    let mut response = private_page(&SubscriptionPage {
        heading,
        message,
        unsubscribe_token,
        live: false,
        section: "subscription",
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// Why a request cannot go ahead before the responder sees it.
enum Refusal {
    Busy,
    UnknownComponent(String),
}

impl Web {
    /// Checks the budget and that every component is on the status page.
    async fn admit(&self, request: &SubscribeRequest) -> Result<(), Refusal> {
        let allowed = {
            let mut budget = self
                .inner
                .subscribe_budget
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            budget.take(Instant::now())
        };
        if !allowed {
            return Err(Refusal::Busy);
        }
        let listed = match self.status().await {
            Ok(snapshot) => snapshot.components.clone(),
            Err(_) => status_components_fallback(),
        };
        for component in &request.components {
            let id = component.trim().to_lowercase();
            if !listed.contains(&id) {
                return Err(Refusal::UnknownComponent(format!(
                    "component {component:?} is not on the status page (it lists {})",
                    listed.join(", ")
                )));
            }
        }
        Ok(())
    }
}

fn status_components_fallback() -> Vec<String> {
    super::status::BASE_COMPONENTS
        .iter()
        .map(|c| (*c).to_owned())
        .collect()
}

/// `POST /subscriptions` (form: `kind` = email|webhook, `address`, `component` repeated).
pub async fn subscribe_form(
    State(web): State<Web>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    same_origin(&headers)?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|error| {
        PageError::new(
            StatusCode::BAD_REQUEST,
            format!("the form is malformed: {error}"),
        )
    })?;
    let mut kind = None;
    let mut address = None;
    let mut components = Vec::new();
    for (name, value) in fields {
        match name.as_str() {
            "kind" => kind = Some(value),
            "address" => address = Some(value),
            "component" => components.push(value),
            other => {
                return Err(PageError::new(
                    StatusCode::BAD_REQUEST,
                    format!("the form has an unknown field {other:?}"),
                ));
            }
        }
    }
    let address = address.unwrap_or_default();
    let request = match kind.as_deref().unwrap_or("email") {
        "email" => SubscribeRequest {
            email: Some(address),
            components,
            ..Default::default()
        },
        "webhook" => SubscribeRequest {
            webhook: Some(address),
            components,
            ..Default::default()
        },
        other => {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                format!("kind {other:?} is not email or webhook"),
            ));
        }
    };
    match web.admit(&request).await {
        Ok(()) => {}
        Err(Refusal::Busy) => {
            return Err(PageError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many subscription requests right now; try again in a minute",
            ));
        }
        Err(Refusal::UnknownComponent(message)) => {
            return Err(PageError::new(StatusCode::BAD_REQUEST, message));
        }
    }
    let outcome = web
        .app()
        .responder
        .subscribe(&request)
        .await
        .map_err(|error| PageError::from_kind("cannot subscribe", error))?;
    let what = followed(&outcome.components);
    let message = match outcome.kind {
        responder::store::SubscriptionKind::Email => format!(
            "We are sending a confirmation link to {} for updates about {what}. Nothing else is sent until it is followed.",
            outcome.address
        ),
        responder::store::SubscriptionKind::Webhook => format!(
            "We are posting a confirmation link to {} for updates about {what}. Nothing else is sent until it is followed.",
            outcome.address
        ),
    };
    message_page(
        StatusCode::ACCEPTED,
        "Check for the confirmation",
        message,
        None,
    )
}

/// `POST /api/v1/status/subscriptions` `{"email"|"webhook", "components"}` → 202 and the pending request.
pub async fn subscribe_json(
    State(web): State<Web>,
    ApiJson(request): ApiJson<SubscribeRequest>,
) -> Result<Response, ApiError> {
    match web.admit(&request).await {
        Ok(()) => {}
        Err(Refusal::Busy) => {
            let mut response = ApiError::new(
                model::ErrorKind::Unavailable,
                "too many subscription requests right now; try again in a minute",
            )
            .into_response();
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            return Ok(response);
        }
        Err(Refusal::UnknownComponent(message)) => return Err(ApiError::invalid(message)),
    }
    let outcome = web
        .app()
        .responder
        .subscribe(&request)
        .await
        .map_err(|error| ApiError::from_kind("cannot subscribe", error))?;
    Ok((StatusCode::ACCEPTED, Json(to_json(&outcome)?)).into_response())
}

/// "Bridge, TRN peg", or "every component" for an empty list.
fn followed(components: &[String]) -> String {
    if components.is_empty() {
        return "every component".to_owned();
    }
    components
        .iter()
        .map(|c| responder::status::component_name(c))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /subscriptions/confirm?token=…`: the link in the confirmation message.
pub async fn confirm(
    State(web): State<Web>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let view = web
        .app()
        .responder
        .confirm_subscription(&query.token)
        .await
        .map_err(|error| PageError::from_kind("cannot confirm the subscription", error))?;
    let what = followed(&view.components);
    message_page(
        StatusCode::OK,
        "Subscribed",
        format!(
            "{} will receive status updates about {what}. Every message carries a link to unsubscribe.",
            view.address
        ),
        None,
    )
}

/// `GET /subscriptions/unsubscribe?token=…`: asks before acting, so link scanners that open every URL
/// in a mail do not unsubscribe anyone.
pub async fn unsubscribe_form(
    State(web): State<Web>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let view = web
        .app()
        .responder
        .subscription_for_unsubscribe(&query.token)
        .await
        .map_err(|error| PageError::from_kind("cannot unsubscribe", error))?;
    message_page(
        StatusCode::OK,
        "Unsubscribe?",
        format!("Stop sending status updates to {}?", view.address),
        Some(&query.token),
    )
}

/// `POST /subscriptions/unsubscribe?token=…` (RFC 8058 one-click from mail clients) or with a `token`
/// form field (the page's button). The signed token is the authority, so no same-origin check.
pub async fn unsubscribe(
    State(web): State<Web>,
    Query(query): Query<TokenQuery>,
    RawForm(body): RawForm,
) -> Result<Response, PageError> {
    let mut token = query.token;
    if token.is_empty() {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        token = fields
            .into_iter()
            .find(|(name, _)| name == "token")
            .map(|(_, value)| value)
            .unwrap_or_default();
    }
    let view = web
        .app()
        .responder
        .unsubscribe(&token)
        .await
        .map_err(|error| PageError::from_kind("cannot unsubscribe", error))?;
    message_page(
        StatusCode::OK,
        "Unsubscribed",
        format!("{} will receive no more status updates.", view.address),
        None,
    )
}

/// `GET /api/v1/subscriptions` (viewer): every subscription, newest first.
pub async fn list(State(web): State<Web>, principal: Principal) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    let list = web
        .app()
        .responder
        .list_subscriptions()
        .await
        .map_err(|error| ApiError::from_kind("cannot list subscriptions", error))?;
    Ok(Json(to_json(&list)?))
}

/// `POST /api/v1/subscriptions/{id}/cancel` (responder): ends a subscription, e.g. a bouncing address.
pub async fn cancel(
    State(web): State<Web>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Responder)?;
    let view = web
        .app()
        .responder
        .cancel_subscription(&id)
        .await
        .map_err(|error| ApiError::from_kind("cannot cancel the subscription", error))?;
    Ok(Json(to_json(&view)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refills_each_minute() {
        let mut budget = RequestBudget::default();
        let start = budget.window_start;
        for _ in 0..REQUESTS_PER_MINUTE {
            assert!(budget.take(start));
        }
        assert!(!budget.take(start + Duration::from_secs(59)));
        assert!(budget.take(start + Duration::from_secs(60)));
    }
}
