//! The `email` channel: SMTP through lettre (STARTTLS, implicit TLS or plain for local relays).
//!
//! Each page gets a Message-ID derived from its idempotency key, so a page re-sent after a crash is the
//! same message to the receiving side (mail clients and archives collapse it).

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::{Digest, Sha256};

use super::{Channel, ChannelError, Delivery};
use crate::config::{EmailChannelConfig, SmtpTls};
use crate::page::Page;

pub struct EmailChannel {
    name: String,
    from: Mailbox,
    to: Vec<Mailbox>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

/// The Message-ID of a page: stable for its idempotency key.
pub fn message_id(idempotency_key: &str) -> String {
    let digest = hex::encode(Sha256::digest(idempotency_key.as_bytes()));
    format!("<{}@vigil.page>", &digest[..32])
}

impl EmailChannel {
    /// Builds the channel. Must run inside a Tokio runtime: the pooled transport spawns its pool there.
    pub fn new(
        config: &EmailChannelConfig,
        password: Option<String>,
    ) -> Result<Self, ChannelError> {
        let mailbox = |text: &str| {
            text.parse::<Mailbox>().map_err(|error| {
                ChannelError::Misconfigured(format!("{text:?} is not an email address: {error}"))
            })
        };
        let from = mailbox(&config.from)?;
        let to = config
            .to
            .iter()
            .map(|text| mailbox(text))
            .collect::<Result<Vec<_>, _>>()?;
        let port = config.smtp_port.unwrap_or(match config.tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        });
        let builder = match config.tls {
            SmtpTls::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.smtp_host)
            }
            SmtpTls::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.smtp_host)
                    .map_err(ChannelError::Smtp)?
            }
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.smtp_host)
                .map_err(ChannelError::Smtp)?,
        }
        .port(port)
        .timeout(Some(std::time::Duration::from_secs(20)));
        let builder = match (&config.username, password) {
            (Some(username), Some(password)) => {
                builder.credentials(Credentials::new(username.clone(), password))
            }
            _ => builder,
        };
        Ok(Self {
            name: config.name.clone(),
            from,
            to,
            transport: builder.build(),
        })
    }

    /// The channel that mails status-page subscribers ([`crate::status::EMAIL_CHANNEL`]) through the
    /// SMTP server and From address of `config`; each message goes to its page's subscriber only.
    pub fn for_subscribers(
        config: &EmailChannelConfig,
        password: Option<String>,
    ) -> Result<Self, ChannelError> {
        let mut channel = Self::new(config, password)?;
        channel.name = crate::status::EMAIL_CHANNEL.to_owned();
        channel.to.clear();
        Ok(channel)
    }

    fn message(&self, page: &Page) -> Result<Message, ChannelError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(page.subject())
            .message_id(Some(message_id(&page.idempotency_key)))
            .header(ContentType::TEXT_PLAIN);
        match &page.subscriber {
            Some(subscriber) => {
                let to = subscriber.address.parse::<Mailbox>().map_err(|error| {
                    ChannelError::Misconfigured(format!(
                        "subscriber {:?} is not an email address: {error}",
                        subscriber.address
                    ))
                })?;
                // RFC 2369 and RFC 8058: mail clients offer a one-click unsubscribe button.
                builder = builder
                    .to(to)
                    .raw_header(HeaderValue::new(
                        HeaderName::new_from_ascii_str("List-Unsubscribe"),
                        format!("<{}>", subscriber.unsubscribe_url),
                    ))
                    .raw_header(HeaderValue::new(
                        HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                        "List-Unsubscribe=One-Click".to_owned(),
                    ));
            }
            None if self.to.is_empty() => {
                return Err(ChannelError::Misconfigured(format!(
                    "channel {} only mails status-page subscribers",
                    self.name
                )));
            }
            None => {
                for to in &self.to {
                    builder = builder.to(to.clone());
                }
            }
        }
        builder.body(page.text()).map_err(ChannelError::Email)
    }
}

#[async_trait]
impl Channel for EmailChannel {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "email"
    }

    async fn send(&self, page: &Page) -> Result<Delivery, ChannelError> {
        let message = self.message(page)?;
        let response = self
            .transport
            .send(message)
            .await
            .map_err(ChannelError::Smtp)?;
        Ok(Delivery {
            detail: format!("smtp {}", response.code()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_stable_per_idempotency_key() {
        assert_eq!(
            message_id("inc-1/L1/0/0/email"),
            message_id("inc-1/L1/0/0/email")
        );
        assert_ne!(
            message_id("inc-1/L1/0/0/email"),
            message_id("inc-1/L1/1/0/email")
        );
        assert!(message_id("k").starts_with('<') && message_id("k").ends_with("@vigil.page>"));
    }
}
