//! The `log` channel: pages go to Vigil's own log (stdout), the embedded default.

use async_trait::async_trait;

use super::{Channel, ChannelError, Delivery};
use crate::page::Page;

pub struct LogChannel {
    name: String,
}

impl LogChannel {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
        }
    }
}

#[async_trait]
impl Channel for LogChannel {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "log"
    }

    async fn send(&self, page: &Page) -> Result<Delivery, ChannelError> {
        tracing::warn!(
            channel = %self.name,
            incident_id = page.incident_id.as_deref().unwrap_or("-"),
            action = page.action.as_str(),
            key = %page.idempotency_key,
            ack_url = page.ack_url.as_deref().unwrap_or("-"),
            runbook = page.runbook.as_deref().unwrap_or("-"),
            "page: {}",
            page.subject()
        );
        Ok(Delivery {
            detail: "logged".to_owned(),
        })
    }
}
