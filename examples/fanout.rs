//! Load harness: one public status update fanned out to many status-page subscribers, end to end.
//!
//! ```sh
//! cargo run --release --example fanout -- [SUBSCRIBERS=5000] [RECEIVER_DELAY_MS=50] [CONCURRENCY=64]
//! ```
//! Starts Vigil in process (SQLite, core off) with `allow_private_webhooks`, a loopback webhook receiver
//! that answers after RECEIVER_DELAY_MS (a remote endpoint's round trip), `[responder.subscriptions]
//! concurrency = CONCURRENCY` (messages claimed, and sent at once, per round), and SUBSCRIBERS confirmed
//! webhook subscriptions; then opens an incident (its "investigating" notice)
//! and posts a public update, and prints for each how long until every subscriber had its message, and
//! the messages per second.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use responder::store::{Subscription, SubscriptionKind, SubscriptionState};
use vigil::app::Application;
use vigil::config::Settings;

async fn wait_for(received: &AtomicUsize, target: usize, started: Instant) -> (f64, f64) {
    let mut first = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let count = received.load(Ordering::Relaxed);
        if count > 0 && first.is_none() {
            first = Some(started.elapsed().as_secs_f64());
        }
        if count >= target {
            return (first.unwrap_or_default(), started.elapsed().as_secs_f64());
        }
        assert!(
            Instant::now() < deadline,
            "only {count} of {target} arrived"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arg = |n: usize, default: u64| {
        std::env::args()
            .nth(n)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let subscribers = arg(1, 5000) as usize;
    let delay = Duration::from_millis(arg(2, 50));
    let batch = arg(3, 64);
    vigil::telemetry::init("error");
    vigil::telemetry::ensure_crypto_provider();

    // The receiver: counts every POST.
    let received = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&received);
    let router = axum::Router::new().route(
        "/hook/{n}",
        axum::routing::post(move || {
            let counter = Arc::clone(&counter);
            async move {
                tokio::time::sleep(delay).await;
                counter.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hooks = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, router).await });

    let data = tempfile::tempdir()?;
    let mut settings = Settings::from_toml(&format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[core]\nenabled = false\n[pause]\nbackend = \"http\"\n[pause.http]\nurl = \"http://127.0.0.1:9\"\n\
         [responder.subscriptions]\nallow_private_webhooks = true\nconcurrency = {batch}\n",
    ))
    .map_err(|issue| anyhow::anyhow!("{issue}"))?;
    settings.storage.data_dir = data.path().to_path_buf();
    let app = Application::build(settings, &HashMap::new(), &()).await?;
    let responder = app.responder();
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(stop.clone().cancelled_owned()));

    let now = model::now_ms();
    for n in 0..subscribers {
        let subscription = Subscription {
            id: format!("sub-bench-{n}"),
            kind: SubscriptionKind::Webhook,
            address: format!("http://{hooks}/hook/{n}"),
            components: if n % 2 == 0 {
                Vec::new()
            } else {
                vec!["bridge".to_owned()]
            },
            requested_components: Vec::new(),
            state: SubscriptionState::Confirmed,
            generation: 1,
            created_at_ms: now,
            confirm_sent_at_ms: now,
            confirmed_at_ms: Some(now),
            unsubscribed_at_ms: None,
            version: 0,
        };
        responder
            .store()
            .create_subscription(&subscription, &[])
            .await?;
    }
    println!(
        "{subscribers} confirmed webhook subscribers (half follow every component, half the bridge); receiver answers after {} ms; concurrency {batch}",
        delay.as_millis()
    );

    let started = Instant::now();
    let detail = responder
        .create_incident(
            &responder::NewIncidentInput {
                title: "Bridge withdrawals delayed".into(),
                level: model::Level::L2,
                component: "bridge".into(),
                summary: String::new(),
                runbook: None,
            },
            "bench",
        )
        .await?;
    let (first, all) = wait_for(&received, subscribers, started).await;
    println!(
        "opening notice: first message after {:.0} ms, all {subscribers} after {:.2} s ({:.0} messages/s)",
        first * 1000.0,
        all,
        subscribers as f64 / all
    );

    let started = Instant::now();
    responder
        .status_update(
            &detail.incident.id,
            "bench",
            &responder::StatusUpdate {
                status: "identified".into(),
                message: "A relayer stalled; a fix is rolling out.".into(),
            },
        )
        .await?;
    let (first, all) = wait_for(&received, 2 * subscribers, started).await;
    println!(
        "status update: first message after {:.0} ms, all {subscribers} after {:.2} s ({:.0} messages/s)",
        first * 1000.0,
        all,
        subscribers as f64 / all
    );
    let detail = responder.get_incident(&detail.incident.id).await?;
    println!(
        "incident counts: {} sent, {} waiting, {} failed",
        detail.subscriber_messages.sent,
        detail.subscriber_messages.pending,
        detail.subscriber_messages.failed
    );
    stop.cancel();
    let _ = server.await;
    Ok(())
}
