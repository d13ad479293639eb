//! Load harness: time from the signal that decides an incident to the page accepted by a real SMTP server,
//! at rest and under a storm of Alertmanager notifications (10,000 alerts/min by default).
//!
//! ```sh
//! cargo run --release --example page_latency -- [INCIDENTS=200] [STORM_ALERTS_PER_MIN=10000]
//! ```
//! Starts aiosmtpd through `tests/peers/smtp.sh` (installing it if missing) and Vigil in process with an
//! email channel; prints p50/p99/max for both phases.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use model::{Level, SeriesKey, Signal, SignalCategory};
use vigil::app::Application;
use vigil::config::Settings;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Incident id → when its mail landed, from the Maildir files' modification times.
fn arrivals(maildir: &Path, seen: &mut HashMap<String, SystemTime>) {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        if let Some(start) = text.find("inc-") {
            let id: String = text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or_else(|_| SystemTime::now());
            seen.entry(id).or_insert(modified);
        }
    }
}

async fn phase(
    app_responder: &responder::Responder,
    maildir: &Path,
    count: usize,
    tag: &str,
) -> Vec<f64> {
    let mut latencies = Vec::with_capacity(count);
    let mut seen = HashMap::new();
    for index in 0..count {
        let now_ms = model::now_ms();
        let signal = Signal {
            id: format!("bench-{tag}-{index}"),
            series: SeriesKey::new("bench_value")
                .with_label("component", format!("bench-{tag}-{index}")),
            category: SignalCategory::Infra,
            component: format!("bench-{tag}-{index}"),
            score: 1.0,
            level: Level::L1,
            reason: "benchmark".into(),
            started_at_ms: now_ms,
            updated_at_ms: now_ms,
            active: true,
            evidence: Vec::new(),
        };
        let decided = SystemTime::now();
        let outcome = app_responder
            .ingest_signal(&signal)
            .await
            .expect("the responder takes the signal");
        let id = outcome.incident_id.expect("an incident");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            arrivals(maildir, &mut seen);
            if let Some(at) = seen.get(&id) {
                latencies
                    .push(at.duration_since(decided).unwrap_or_default().as_secs_f64() * 1000.0);
                break;
            }
            assert!(Instant::now() < deadline, "the page for {id} never arrived");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

fn report(name: &str, latencies: &[f64]) {
    println!(
        "{name}: n={} p50={:.1} ms p99={:.1} ms max={:.1} ms",
        latencies.len(),
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        latencies.last().copied().unwrap_or_default()
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let incidents: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let storm_per_min: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    vigil::telemetry::init("error");
    vigil::telemetry::ensure_crypto_provider();

    let smtp_dir = tempfile::tempdir()?;
    let smtp_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/smtp.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg(smtp_port.to_string())
        .arg(smtp_dir.path())
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "smtp.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let smtp_pid = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let maildir = smtp_dir.path().join("maildir");

    let data = tempfile::tempdir()?;
    let mut settings = Settings::from_toml(&format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[core]\nenabled = false\n[pause]\nbackend = \"http\"\n[pause.http]\nurl = \"http://127.0.0.1:9\"\n\
         [[channels]]\nname = \"log\"\nkind = \"log\"\n[[channels]]\nname = \"email\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {smtp_port}\ntls = \"none\"\nfrom = \"vigil@example.test\"\nto = [\"oncall@example.test\"]\n\
         [[escalation]]\nlevel = \"L1\"\nsteps = [{{after = \"0s\", channels = [\"email\"]}}]\n"
    ))
    .map_err(|issue| anyhow::anyhow!("{issue}"))?;
    settings.storage.data_dir = data.path().to_path_buf();
    let app = Application::build(settings, &HashMap::new(), &()).await?;
    let addr = app.local_addr();
    let responder = app.responder();
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(stop.clone().cancelled_owned()));

    let calm = phase(&responder, &maildir, incidents, "calm").await;
    report("at rest (signal decided -> SMTP accepted)", &calm);

    // The storm: Alertmanager notifications at `storm_per_min`, in batches every 100 ms, in 5 groups.
    let storming = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let storm = {
        let storming = Arc::clone(&storming);
        let sent = Arc::clone(&sent);
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let per_tick = (storm_per_min / 600).max(1);
            let mut ticker = tokio::time::interval(Duration::from_millis(100));
            let mut serial = 0usize;
            while storming.load(std::sync::atomic::Ordering::Relaxed) {
                ticker.tick().await;
                let alerts: Vec<serde_json::Value> = (0..per_tick)
                    .map(|_| {
                        serial += 1;
                        serde_json::json!({"status": "firing", "labels": {"alertname": format!("Storm{}", serial % 5), "instance": format!("host-{serial}"), "severity": "warning"},
                            "annotations": {}, "startsAt": chrono::Utc::now().to_rfc3339(), "endsAt": "0001-01-01T00:00:00Z", "fingerprint": format!("{serial:016x}")})
                    })
                    .collect();
                let body = serde_json::json!({"version": "4", "groupKey": "storm", "status": "firing", "receiver": "vigil", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am", "alerts": alerts});
                if http
                    .post(format!("http://{addr}/api/v1/alerts/alertmanager"))
                    .json(&body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                {
                    sent.fetch_add(per_tick, std::sync::atomic::Ordering::Relaxed);
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    let stormy = phase(&responder, &maildir, incidents, "storm").await;
    let storm_secs = started.elapsed().as_secs_f64() + 2.0;
    storming.store(false, std::sync::atomic::Ordering::Relaxed);
    let _ = storm.await;
    report(
        &format!("under a storm of {storm_per_min} alerts/min"),
        &stormy,
    );
    println!(
        "storm alerts accepted: {} in {storm_secs:.1} s ({:.0}/min)",
        sent.load(std::sync::atomic::Ordering::Relaxed),
        sent.load(std::sync::atomic::Ordering::Relaxed) as f64 / storm_secs * 60.0
    );
    let open = responder
        .list_incidents(responder::store::IncidentFilter::Open)
        .await?;
    let storm_incidents = serde_json::to_value(&open)?["incidents"]
        .as_array()
        .map_or(0, |list| {
            list.iter()
                .filter(|i| {
                    i["title"].as_str().unwrap_or_default().contains("Storm")
                        || i.to_string().contains("Storm")
                })
                .count()
        });
    println!("storm folded into {storm_incidents} incident(s)");

    stop.cancel();
    let _ = server.await;
    let _ = std::process::Command::new("kill").arg(&smtp_pid).status();
    Ok(())
}
