//! The outbox's delivery side: each channel has its own worker that claims that channel's due pages
//! under a lease, makes one attempt per page (a claimed batch concurrently), and records the outcome: sent, retried later with
//! exponential backoff and jitter, or dead-lettered (`failed`) once the retry budget is spent or the error
//! is permanent. Because workers are per channel, a channel that is down only delays its own pages.

use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::page::Page;
use crate::service::{Responder, duration_ms, new_page, random_hex};
use crate::store::{IncidentState, NewTimelineEntry, PageOutcome, PageRecord};

/// The delay before attempt `attempts + 1`: `initial × 2^(attempts-1)`, capped at `max`, then scaled by a
/// jitter factor in [0.5, 1.0] derived from the page key (so replicas spread out, and tests are exact).
pub(crate) fn backoff_ms(initial_ms: i64, max_ms: i64, attempts: i64, key: &str) -> i64 {
    let exponent = u32::try_from((attempts - 1).clamp(0, 30)).unwrap_or(30);
    let nominal = initial_ms.saturating_mul(1_i64 << exponent).min(max_ms);
    let digest = Sha256::digest(format!("{key}/{attempts}").as_bytes());
    let jitter = f64::from(u16::from_le_bytes([digest[0], digest[1]])) / f64::from(u16::MAX);
    // Truncation to whole milliseconds is intended.
    #[allow(clippy::cast_possible_truncation)]
    let delay = (nominal as f64 * (0.5 + 0.5 * jitter)) as i64;
    delay.max(1)
}

impl Responder {
    /// How many pages of `channel` one delivery round claims and sends at once.
    pub(crate) fn batch_for(&self, channel: &str) -> u32 {
        let config = &self.inner.config;
        if channel == crate::status::EMAIL_CHANNEL || channel == crate::status::WEBHOOK_CHANNEL {
            config.subscriptions.concurrency
        } else {
            config.delivery.batch
        }
    }

    /// Claims and sends the due pages of one channel; returns how many it handled. Run by the channel's
    /// delivery worker; tests call it directly with a pinned clock.
    pub async fn deliver_due_once(&self, channel_name: &str) -> Result<usize> {
        if channel_name == crate::status::FANOUT_CHANNEL {
            return self.fan_out_due_once().await;
        }
        let inner = &self.inner;
        let delivery = &inner.config.delivery;
        let Some(channel) = inner.channels.get(channel_name).cloned() else {
            return Ok(0);
        };
        let now = self.now();
        let token = random_hex(24);
        let pages = inner
            .store
            .claim_due_pages(
                channel_name,
                now,
                now + duration_ms(delivery.lease),
                &token,
                self.batch_for(channel_name),
            )
            .await?;
        let handled = pages.len();
        // The batch is sent concurrently: a slow or hanging receiver costs one send timeout per batch, not
        // one per page, so a batch always ends within its lease (which outlasts `send_timeout`), and a
        // fan-out to many subscribers is not paced by the slowest round trip.
        // Outcomes are recorded after the whole batch: recording while sends are suspended mid-query
        // could wait for a pooled connection one of them holds.
        let sent: Vec<(PageRecord, PageOutcome)> = futures::stream::iter(pages)
            .map(|record| {
                let channel = channel.clone();
                async move {
                    let outcome = self.attempt(&*channel, &record).await;
                    (record, outcome)
                }
            })
            .buffer_unordered(self.batch_for(channel_name) as usize)
            .collect()
            .await;
        for (record, outcome) in sent {
            let recorded = inner
                .store
                .complete_page(record.id, &token, &outcome)
                .await?;
            if !recorded {
                tracing::warn!(
                    page_id = record.id,
                    channel = channel_name,
                    "page lease expired before its outcome was recorded"
                );
                continue;
            }
            self.after_outcome(&record, &outcome).await?;
        }
        Ok(handled)
    }

    async fn attempt(&self, channel: &dyn crate::Channel, record: &PageRecord) -> PageOutcome {
        let delivery = &self.inner.config.delivery;
        // A trigger for an incident someone already acknowledged or resolved would only wake people up.
        if record.action == "trigger"
            && let Some(incident_id) = &record.incident_id
            && let Ok(Some(incident)) = self.inner.store.incident(incident_id).await
            && incident.state != IncidentState::Triggered
        {
            return PageOutcome::Failed {
                error: format!("not sent: incident was {} first", incident.state.as_str()),
            };
        }
        let page: Page = match serde_json::from_value(record.payload.clone()) {
            Ok(page) => page,
            Err(error) => {
                return PageOutcome::Failed {
                    error: format!("stored page does not decode: {error}"),
                };
            }
        };
        let timeout = delivery.send_timeout.get();
        let result = match tokio::time::timeout(timeout, channel.send(&page)).await {
            Ok(result) => result,
            Err(_) => Err(crate::ChannelError::Timeout(timeout)),
        };
        let now = self.now();
        match result {
            Ok(delivered) => {
                tracing::info!(page_id = record.id, channel = channel.name(), key = %record.idempotency_key, detail = %delivered.detail, "page delivered");
                PageOutcome::Sent { at_ms: now }
            }
            Err(error)
                if error.is_retryable() && record.attempts < i64::from(delivery.max_attempts) =>
            {
                let backoff = backoff_ms(
                    duration_ms(delivery.initial_backoff),
                    duration_ms(delivery.max_backoff),
                    record.attempts,
                    &record.idempotency_key,
                );
                // A receiver that says when to come back (429/503 Retry-After) is obeyed, up to
                // max_backoff: a page must not wait longer than that on someone's say-so.
                let asked = error.retry_after().map_or(0, |wait| {
                    i64::try_from(wait.as_millis())
                        .unwrap_or(i64::MAX)
                        .min(duration_ms(delivery.max_backoff))
                });
                let delay = backoff.max(asked);
                tracing::warn!(page_id = record.id, channel = channel.name(), attempt = record.attempts, retry_in_ms = delay, error = %error.chain(), "page delivery failed, will retry");
                PageOutcome::Retry {
                    error: error.chain(),
                    next_attempt_at_ms: now + delay,
                }
            }
            Err(error) => {
                tracing::error!(page_id = record.id, channel = channel.name(), attempt = record.attempts, error = %error.chain(), "page delivery gave up");
                PageOutcome::Failed {
                    error: error.chain(),
                }
            }
        }
    }

    async fn after_outcome(&self, record: &PageRecord, outcome: &PageOutcome) -> Result<()> {
        let (PageOutcome::Failed { error }, Some(incident_id)) = (outcome, &record.incident_id)
        else {
            return Ok(());
        };
        // Subscriber messages that fail are counted on the incident, not written into its timeline.
        if error.starts_with("not sent:") || record.channel.starts_with("status-") {
            return Ok(());
        }
        self.inner
            .store
            .append_timeline(
                incident_id,
                &[NewTimelineEntry::new(
                    self.now(),
                    "page_failed",
                    "vigil",
                    format!(
                        "{} page via {} failed after {} attempt(s): {error}",
                        record.action, record.channel, record.attempts
                    ),
                )],
            )
            .await?;
        // Hand over to the fallback channel at once rather than at the next fallback sweep.
        self.run_fallbacks_once().await?;
        Ok(())
    }

    /// Sends trigger pages that were dead-lettered, or are still undelivered after `fallback_after`, to
    /// their channel's `fallback` channel (once per page). Returns how many fallback pages it queued.
    pub async fn run_fallbacks_once(&self) -> Result<usize> {
        let inner = &self.inner;
        let now = self.now();
        let cutoff = now - duration_ms(inner.config.delivery.fallback_after);
        let candidates = inner.store.pages_for_fallback(cutoff).await?;
        let mut queued = 0;
        for record in candidates {
            let fallback = inner
                .config
                .channels
                .iter()
                .find(|config| config.name() == record.channel)
                .and_then(|config| config.fallback())
                .map(str::to_owned);
            let still_paging = match &record.incident_id {
                Some(id) => inner
                    .store
                    .incident(id)
                    .await?
                    .is_some_and(|incident| incident.state == IncidentState::Triggered),
                None => true,
            };
            if let (Some(fallback), true) = (fallback, still_paging)
                && let Ok(mut page) = serde_json::from_value::<Page>(record.payload.clone())
            {
                page.idempotency_key = format!("{}/fallback/{fallback}", record.idempotency_key);
                page.step = "fallback".to_owned();
                let new = new_page(&page, &fallback, now);
                if inner
                    .store
                    .enqueue_pages(std::slice::from_ref(&new))
                    .await?
                    > 0
                {
                    queued += 1;
                    if let Some(incident_id) = &record.incident_id {
                        inner
                            .store
                            .append_timeline(
                                incident_id,
                                &[NewTimelineEntry::new(
                                    now,
                                    "escalated",
                                    "vigil",
                                    format!(
                                        "page via {} is {} ({}); fell back to {fallback}",
                                        record.channel,
                                        if record.state == crate::store::PageState::Failed {
                                            "dead-lettered"
                                        } else {
                                            "overdue"
                                        },
                                        record.last_error.as_deref().unwrap_or("no error recorded")
                                    ),
                                )],
                            )
                            .await?;
                    }
                }
            }
            inner.store.mark_fallback_done(record.id).await?;
        }
        if queued > 0 {
            self.wake_delivery();
        }
        Ok(queued)
    }
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        for attempts in 1..=10 {
            let nominal = (5_000_i64 << (attempts - 1)).min(600_000);
            let delay = backoff_ms(5_000, 600_000, attempts, "inc-1/L1/0/0/email");
            assert!(
                delay >= nominal / 2 && delay <= nominal,
                "attempt {attempts}: {delay} vs {nominal}"
            );
        }
        assert_ne!(
            backoff_ms(5_000, 600_000, 3, "a"),
            backoff_ms(5_000, 600_000, 3, "b"),
            "different pages spread out"
        );
    }
}
