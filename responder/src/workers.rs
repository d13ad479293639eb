//! Background workers: one delivery worker per channel, the escalation worker (steps, auto-resolve,
//! fallbacks, digest, heartbeats), the hourly coverage check and the dead-man's switch. All stop when the
//! cancellation token fires; each iteration's errors are logged and the worker carries on.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::service::Responder;

/// How often due escalations, auto-resolves, fallbacks, the digest and heartbeats are looked at.
const ESCALATION_TICK: Duration = Duration::from_secs(5);
const COVERAGE_TICK: Duration = Duration::from_secs(3600);

impl Responder {
    /// Starts every background worker on `tasks`; they stop when `shutdown` is cancelled. Call once per
    /// process (several replicas may each run them: claims, versions and idempotency keys keep them from
    /// doubling work).
    pub fn spawn_workers(&self, tasks: &TaskTracker, shutdown: CancellationToken) {
        let mut delivered: Vec<&String> = self.inner.channels.keys().collect();
        let fanout = crate::status::FANOUT_CHANNEL.to_owned();
        if self.inner.config.subscriptions.enabled {
            delivered.push(&fanout);
        }
        for channel in delivered {
            let responder = self.clone();
            let channel = channel.clone();
            let shutdown = shutdown.clone();
            tasks.spawn(async move { responder.delivery_worker(&channel, shutdown).await });
        }
        let responder = self.clone();
        let token = shutdown.clone();
        tasks.spawn(async move {
            responder
                .periodic(
                    "escalation",
                    ESCALATION_TICK,
                    token,
                    |responder| async move {
                        responder.run_escalations_once().await?;
                        responder.run_fallbacks_once().await?;
                        responder.run_heartbeat_checks_once().await?;
                        responder.run_digest_once().await?;
                        responder.run_maintenance_notices_once().await?;
                        Ok(())
                    },
                )
                .await;
        });
        if !self.inner.config.oncall.is_empty() {
            let responder = self.clone();
            let token = shutdown.clone();
            tasks.spawn(async move {
                responder
                    .periodic("coverage", COVERAGE_TICK, token, |responder| async move {
                        responder.run_coverage_check_once().await.map(|_| ())
                    })
                    .await;
            });
        }
        if let Some(switch) = self.inner.config.dead_mans_switch.clone() {
            let responder = self.clone();
            tasks.spawn(async move {
                let client = match crate::channels::http_client(Duration::from_secs(10)) {
                    Ok(client) => client,
                    Err(error) => {
                        tracing::error!(error = ?error, "dead-man's switch disabled: no http client");
                        return;
                    }
                };
                responder
                    .periodic("dead_mans_switch", switch.interval.get(), shutdown, move |_| {
                        let request = client.get(&switch.url);
                        async move {
                            let response = request.send().await.map_err(|error| {
                                crate::ResponderError::InvalidInput(format!("dead-man's switch ping failed: {error}"))
                            })?;
                            if !response.status().is_success() {
                                tracing::warn!(status = response.status().as_u16(), "dead-man's switch ping refused");
                            }
                            Ok(())
                        }
                    })
                    .await;
            });
        }
    }

    async fn delivery_worker(&self, channel: &str, shutdown: CancellationToken) {
        let poll = self.inner.config.delivery.poll_interval.get();
        tracing::info!(channel, "delivery worker started");
        loop {
            // Register for wake-ups before looking for work: a page queued while this round runs must wake
            // the next wait, not be missed until the poll (`notify_waiters` only wakes registered waiters).
            let woken = self.inner.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            // Drain: keep claiming while full batches come back.
            loop {
                match self.deliver_due_once(channel).await {
                    Ok(handled) if handled >= self.batch_for(channel) as usize => continue,
                    Ok(_) => break,
                    Err(error) => {
                        tracing::warn!(channel, error = ?error, "delivery round failed");
                        break;
                    }
                }
            }
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                () = &mut woken => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
        tracing::info!(channel, "delivery worker stopped");
    }

    async fn periodic<F, Fut>(
        &self,
        name: &'static str,
        period: Duration,
        shutdown: CancellationToken,
        mut run: F,
    ) where
        F: FnMut(Responder) -> Fut,
        Fut: std::future::Future<Output = crate::Result<()>>,
    {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            if let Err(error) = run(self.clone()).await {
                tracing::warn!(job = name, error = ?error, "responder job failed");
            }
        }
        tracing::info!(job = name, "responder job stopped");
    }
}
