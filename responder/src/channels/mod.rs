//! Paging channels behind one trait. Each channel is built from its [`ChannelConfig`] and sends one
//! [`Page`] at a time; the delivery worker owns retries, so `send` makes exactly one attempt.
//!
//! Channels must tolerate a page being sent twice (after a crash between sending and recording it):
//! PagerDuty deduplicates on `dedup_key`, email carries a Message-ID derived from the idempotency key,
//! webhooks carry an `Idempotency-Key` header.

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::ChannelConfig;
use crate::page::{Page, PageAction};

mod email;
mod http;
mod log;

pub use email::{EmailChannel, message_id as email_message_id};
pub use http::{
    PagerDutyChannel, SlackChannel, SubscriberWebhookChannel, WebhookChannel, http_client,
};
pub use log::LogChannel;

/// What a successful send reports, for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub detail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("endpoint answered {status}: {body}")]
    Status {
        status: u16,
        body: String,
        /// The endpoint's `Retry-After` (429 and 503 carry it): wait at least this long.
        retry_after: Option<std::time::Duration>,
    },
    #[error("could not reach endpoint")]
    Transport(#[source] reqwest::Error),
    #[error("smtp delivery failed")]
    Smtp(#[source] lettre::transport::smtp::Error),
    #[error("could not build the email")]
    Email(#[source] lettre::error::Error),
    #[error("channel is misconfigured: {0}")]
    Misconfigured(String),
    #[error("send timed out after {0:?}")]
    Timeout(std::time::Duration),
}

impl ChannelError {
    /// Whether trying again later may succeed. Defaults to no, to avoid retry loops on permanent errors.
    pub fn is_retryable(&self) -> bool {
        match self {
            ChannelError::Status { status, .. } => {
                *status == 408 || *status == 429 || *status >= 500
            }
            ChannelError::Transport(error) => {
                error.is_timeout() || error.is_connect() || error.is_request()
            }
            ChannelError::Smtp(error) => {
                // Connection-level failures (no response code) are worth retrying as well.
                error.is_transient() || error.status().is_none()
            }
            ChannelError::Timeout(_) => true,
            ChannelError::Email(_) | ChannelError::Misconfigured(_) => false,
        }
    }

    /// How long the receiver asked us to wait before trying again, if it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            ChannelError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The error with its causes, for `last_error` and logs.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

/// A way to reach people.
#[async_trait]
pub trait Channel: Send + Sync + 'static {
    fn name(&self) -> &str;
    /// `log`, `email`, `slack`, `pagerduty`, `webhook`.
    fn kind(&self) -> &'static str;
    /// Whether this channel wants pages of this action. Only incident trackers (PagerDuty) want
    /// acknowledgements; everyone wants triggers, resolves and digests.
    fn accepts(&self, action: PageAction) -> bool {
        action != PageAction::Acknowledge
    }
    /// Makes one delivery attempt. Must not retry internally and must be safe to call again for the same
    /// `page.idempotency_key`.
    async fn send(&self, page: &Page) -> Result<Delivery, ChannelError>;
}

/// Builds a channel from its config; `env` looks up secrets by variable name.
pub fn build_channel(
    config: &ChannelConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn Channel>, ChannelError> {
    let secret = |variable: &str| {
        env(variable).ok_or_else(|| {
            ChannelError::Misconfigured(format!(
                "environment variable {variable} is not set (channel {})",
                config.name()
            ))
        })
    };
    Ok(match config {
        ChannelConfig::Log(log) => Arc::new(LogChannel::new(&log.name)),
        ChannelConfig::Email(email) => {
            let password = email.password_env.as_deref().map(secret).transpose()?;
            Arc::new(EmailChannel::new(email, password)?)
        }
        ChannelConfig::Slack(slack) => Arc::new(SlackChannel::new(&slack.name, &slack.url)?),
        ChannelConfig::Pagerduty(pagerduty) => Arc::new(PagerDutyChannel::new(
            &pagerduty.name,
            &pagerduty.url,
            &secret(&pagerduty.routing_key_env)?,
        )?),
        ChannelConfig::Webhook(webhook) => {
            let key = webhook.secret_env.as_deref().map(secret).transpose()?;
            Arc::new(WebhookChannel::new(&webhook.name, &webhook.url, key)?)
        }
    })
}

/// The channels that carry status-page subscriber messages ([`crate::status::EMAIL_CHANNEL`] through the
/// configured email channel's SMTP server, [`crate::status::WEBHOOK_CHANNEL`]), as far as the config
/// offers them.
pub fn build_subscriber_channels(
    config: &crate::config::ResponderConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Arc<dyn Channel>>, ChannelError> {
    let subscriptions = &config.subscriptions;
    let mut channels: Vec<Arc<dyn Channel>> = Vec::new();
    if !subscriptions.enabled {
        return Ok(channels);
    }
    if let Some(email) = subscriptions.email_channel_config(&config.channels) {
        let password = match &email.password_env {
            Some(variable) => Some(env(variable).ok_or_else(|| {
                ChannelError::Misconfigured(format!(
                    "environment variable {variable} is not set (channel {})",
                    email.name
                ))
            })?),
            None => None,
        };
        channels.push(Arc::new(EmailChannel::for_subscribers(email, password)?));
    }
    if subscriptions.webhooks {
        channels.push(Arc::new(SubscriberWebhookChannel::new(
            subscriptions.allow_private_webhooks,
        )?));
    }
    Ok(channels)
}
