//! Service and worker behaviour on a real SQLite store, with a pinned clock and fake channels.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use model::{HumanDuration, Level, SeriesKey, Signal, SignalCategory};

use super::*;
use crate::channels::{ChannelError, Delivery};
use crate::clock::ManualClock;
use crate::config::{
    ChannelConfig, EscalationStepConfig, HeartbeatConfig, LogChannelConfig, MaintenanceConfig,
};
use crate::store::PageState;
use crate::store::testsuite::{TestStore, open_sqlite};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Deliver,
    FailRetryable,
    FailPermanently,
}

/// A channel that records what it was sent and fails when told to.
struct FakeChannel {
    name: String,
    tracks_incidents: bool,
    mode: Mutex<Mode>,
    sent: Mutex<Vec<Page>>,
    attempts: Mutex<u32>,
}

impl FakeChannel {
    fn new(name: &str) -> Arc<Self> {
        Arc::new(Self {
            name: name.to_owned(),
            tracks_incidents: name == "pager",
            mode: Mutex::new(Mode::Deliver),
            sent: Mutex::new(Vec::new()),
            attempts: Mutex::new(0),
        })
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn sent(&self) -> Vec<Page> {
        self.sent.lock().unwrap().clone()
    }

    fn attempts(&self) -> u32 {
        *self.attempts.lock().unwrap()
    }
}

#[async_trait]
impl Channel for FakeChannel {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        if self.tracks_incidents {
            "pagerduty"
        } else {
            "webhook"
        }
    }

    fn accepts(&self, action: PageAction) -> bool {
        self.tracks_incidents || action != PageAction::Acknowledge
    }

    async fn send(&self, page: &Page) -> std::result::Result<Delivery, ChannelError> {
        *self.attempts.lock().unwrap() += 1;
        let mode = *self.mode.lock().unwrap();
        match mode {
            Mode::Deliver => {
                self.sent.lock().unwrap().push(page.clone());
                Ok(Delivery {
                    detail: "ok".to_owned(),
                })
            }
            Mode::FailRetryable => Err(ChannelError::Status {
                status: 503,
                body: "down".to_owned(),
                retry_after: None,
            }),
            Mode::FailPermanently => Err(ChannelError::Status {
                status: 400,
                body: "bad".to_owned(),
                retry_after: None,
            }),
        }
    }
}

struct Harness {
    responder: Responder,
    clock: ManualClock,
    log: Arc<FakeChannel>,
    email: Arc<FakeChannel>,
    pager: Arc<FakeChannel>,
    _store: TestStore,
}

const START: &str = "2026-03-02T10:00:00Z";

fn ms(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .timestamp_millis()
}

/// Channels `log`, `email` (falls back to `log`) and `pager` (an incident tracker). L1: log + email at
/// once, pager after 5m. L2: log. Delivery: 3 attempts, 10s initial backoff.
fn base_config() -> ResponderConfig {
    let log = |name: &str, fallback: Option<&str>| {
        ChannelConfig::Log(LogChannelConfig {
            name: name.to_owned(),
            fallback: fallback.map(str::to_owned),
        })
    };
    let step = |secs: u64, channels: &[&str]| EscalationStepConfig {
        after: HumanDuration::from_secs(secs),
        channels: channels.iter().map(|c| c.to_string()).collect(),
    };
    let mut config = ResponderConfig {
        base_url: "https://vigil.example.test".to_owned(),
        channels: vec![
            log("log", None),
            log("email", Some("log")),
            log("pager", None),
        ],
        escalation: vec![
            EscalationConfig {
                level: Level::L1,
                steps: vec![step(0, &["log", "email"]), step(300, &["pager"])],
                repeat: None,
                schedule: None,
            },
            EscalationConfig {
                level: Level::L2,
                steps: vec![step(0, &["log"])],
                repeat: None,
                schedule: None,
            },
        ],
        ..ResponderConfig::default()
    };
    config.delivery.max_attempts = 3;
    config.delivery.initial_backoff = HumanDuration::from_secs(10);
    config.digest.channels = vec!["log".to_owned()];
    config
}

async fn harness(config: ResponderConfig) -> Harness {
    let test = open_sqlite().await.unwrap();
    let clock = ManualClock::new(ms(START));
    let (log, email, pager) = (
        FakeChannel::new("log"),
        FakeChannel::new("email"),
        FakeChannel::new("pager"),
    );
    let responder = Responder::builder(test.store.clone(), config)
        .clock(Arc::new(clock.clone()))
        .ack_secret("test-ack-secret")
        .channel(log.clone())
        .channel(email.clone())
        .channel(pager.clone())
        .build()
        .unwrap();
    Harness {
        responder,
        clock,
        log,
        email,
        pager,
        _store: test,
    }
}

impl Harness {
    async fn deliver_all(&self) {
        for channel in ["log", "email", "pager"] {
            self.responder.deliver_due_once(channel).await.unwrap();
        }
    }

    async fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.responder.run_escalations_once().await.unwrap();
        self.responder.run_fallbacks_once().await.unwrap();
        self.deliver_all().await;
    }

    async fn timeline_kinds(&self, id: &str) -> Vec<String> {
        self.responder
            .get_incident(id)
            .await
            .unwrap()
            .timeline
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }
}

fn signal(
    id: &str,
    component: &str,
    category: SignalCategory,
    level: Level,
    active: bool,
) -> Signal {
    Signal {
        id: id.to_owned(),
        series: SeriesKey::new("chain_head_age_seconds").with_label("target", "core-rpc"),
        category,
        component: component.to_owned(),
        score: 0.97,
        level,
        reason: "no new head for 25 s > 18 s".to_owned(),
        started_at_ms: ms(START),
        updated_at_ms: ms(START),
        active,
        evidence: Vec::new(),
    }
}

#[tokio::test]
async fn a_storm_of_1000_signals_across_5_components_folds_into_5_incidents() {
    let h = harness(base_config()).await;
    let components = ["chain", "peg", "bridge", "escrow", "ux-eu"];
    for n in 0..1000 {
        let component = components[n % components.len()];
        let signal = signal(
            &format!("sig-{n}"),
            component,
            SignalCategory::Infra,
            Level::L2,
            true,
        );
        h.responder.ingest_signal(&signal).await.unwrap();
    }
    let open = h
        .responder
        .list_incidents(IncidentFilter::Open)
        .await
        .unwrap()
        .incidents;
    assert_eq!(open.len(), 5);
    assert!(
        open.iter().all(|incident| incident.signal_count == 200),
        "{open:?}"
    );
    // One page per incident, not per signal, and the timeline does not grow without bound.
    h.deliver_all().await;
    assert_eq!(h.log.sent().len(), 5);
    let timeline = h
        .responder
        .get_incident(&open[0].id)
        .await
        .unwrap()
        .timeline;
    assert!(timeline.len() < 40, "{} entries", timeline.len());
}

#[tokio::test]
async fn a_page_names_the_incident_level_what_broke_since_when_runbook_and_a_working_ack_link() {
    let h = harness(base_config()).await;
    let opened = h
        .responder
        .ingest_signal(&signal(
            "s1",
            "chain",
            SignalCategory::Chain,
            Level::L1,
            true,
        ))
        .await
        .unwrap();
    let id = opened.incident_id.unwrap();
    h.responder
        .set_runbook(&id, "alice", Some("runbooks/chain-halt.md"))
        .await
        .unwrap();
    h.deliver_all().await;
    let page = &h.email.sent()[0];
    assert_eq!(page.incident_id.as_deref(), Some(id.as_str()));
    assert_eq!(page.level, Some(Level::L1));
    assert_eq!(page.since, START.replace(".000", ""));
    assert!(page.summary.contains("no new head"), "{page:?}");
    let text = page.text();
    assert!(text.contains("respond within 5m"), "{text}");
    let ack_url = page.ack_url.clone().unwrap();
    assert!(
        ack_url.starts_with("https://vigil.example.test/ack/"),
        "{ack_url}"
    );

    let token = ack_url.rsplit('/').next().unwrap();
    assert_eq!(h.responder.verify_ack_link(token).unwrap(), id);
    let tampered = token.replacen("inc-", "inc-0", 1);
    assert!(h.responder.verify_ack_link(&tampered).is_err());
    let acked = h.responder.ack_with_link(token).await.unwrap();
    assert_eq!(acked.incident.state, IncidentState::Acknowledged);
    assert_eq!(acked.incident.acked_by.as_deref(), Some("ack-link"));
    // The link expires after the configured 24h.
    h.clock.advance(Duration::from_secs(24 * 3600 + 1));
    assert!(matches!(
        h.responder.verify_ack_link(token),
        Err(ResponderError::AckLink(
            crate::signing::AckLinkError::Expired { .. }
        ))
    ));
}

#[tokio::test]
async fn escalation_step_2_fires_when_nobody_acknowledges() {
    let h = harness(base_config()).await;
    let id = h
        .responder
        .ingest_signal(&signal(
            "s1",
            "chain",
            SignalCategory::Chain,
            Level::L1,
            true,
        ))
        .await
        .unwrap()
        .incident_id
        .unwrap();
    h.deliver_all().await;
    assert_eq!(
        (
            h.log.sent().len(),
            h.email.sent().len(),
            h.pager.sent().len()
        ),
        (1, 1, 0)
    );

    h.advance(Duration::from_secs(299)).await;
    assert!(h.pager.sent().is_empty(), "not before 5m");
    h.advance(Duration::from_secs(1)).await;
    assert_eq!(h.pager.sent().len(), 1);
    assert_eq!(h.pager.sent()[0].step, "L1/1/0");
    assert_eq!(
        h.timeline_kinds(&id).await,
        ["detected", "classified", "paged", "escalated"]
    );
    // No repeat configured: nothing more, however long it stays open.
    h.advance(Duration::from_secs(3600)).await;
    assert_eq!(
        (
            h.log.sent().len(),
            h.email.sent().len(),
            h.pager.sent().len()
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn acknowledging_stops_escalation() {
    let h = harness(base_config()).await;
    let id = h
        .responder
        .ingest_signal(&signal(
            "s1",
            "chain",
            SignalCategory::Chain,
            Level::L1,
            true,
        ))
        .await
        .unwrap()
        .incident_id
        .unwrap();
    h.deliver_all().await;
    h.clock.advance(Duration::from_secs(120));
    let acked = h.responder.ack(&id, "alice").await.unwrap();
    assert_eq!(
        acked.incident.acked_at.as_deref(),
        Some("2026-03-02T10:02:00Z")
    );
    h.advance(Duration::from_secs(600)).await;
    assert!(
        h.pager.sent().is_empty(),
        "step 2 must not fire after an ack"
    );
    let timeline = h.responder.get_incident(&id).await.unwrap().timeline;
    let ack = timeline
        .iter()
        .find(|entry| entry.kind == "acknowledged")
        .unwrap();
    assert_eq!(
        (ack.actor.as_str(), ack.at.as_str()),
        ("alice", "2026-03-02T10:02:00Z")
    );
    // Acknowledging again changes nothing.
    h.responder.ack(&id, "bob").await.unwrap();
    assert_eq!(
        h.responder
            .get_incident(&id)
            .await
            .unwrap()
            .incident
            .acked_by
            .as_deref(),
        Some("alice")
    );
}

#[tokio::test]
async fn a_failing_channel_is_retried_with_backoff_without_delaying_or_resending_another() {
    let h = harness(base_config()).await;
    h.email.set(Mode::FailRetryable);
    h.responder
        .ingest_signal(&signal(
            "s1",
            "chain",
            SignalCategory::Chain,
            Level::L1,
            true,
        ))
        .await
        .unwrap();
    h.deliver_all().await;
    // log went out at once although email is down.
    assert_eq!(h.log.sent().len(), 1);
    assert_eq!(h.email.attempts(), 1);
    let email_page = |pages: &PageList| {
        pages
            .pages
            .iter()
            .find(|p| p.channel == "email")
            .cloned()
            .unwrap()
    };
    let pending = email_page(&h.responder.list_pages().await.unwrap());
    assert_eq!((pending.state, pending.attempts), (PageState::Pending, 1));
    assert!(
        pending.last_error.as_deref().unwrap().contains("503"),
        "{pending:?}"
    );
    // The retry waits 5–10 s (10 s nominal, jittered): not retried at once.
    h.deliver_all().await;
    assert_eq!(h.email.attempts(), 1);
    h.email.set(Mode::Deliver);
    h.clock.advance(Duration::from_secs(10));
    h.deliver_all().await;
    assert_eq!(h.email.sent().len(), 1);
    let sent = email_page(&h.responder.list_pages().await.unwrap());
    assert_eq!((sent.state, sent.attempts), (PageState::Sent, 2));
    assert_eq!(
        h.log.sent().len(),
        1,
        "the healthy channel was not sent the page again"
    );
}

#[tokio::test]
async fn a_page_is_dead_lettered_after_its_retry_budget_and_falls_back() {
    let h = harness(base_config()).await;
    h.email.set(Mode::FailRetryable);
    let id = h
        .responder
        .ingest_signal(&signal(
            "s1",
            "chain",
            SignalCategory::Chain,
            Level::L1,
            true,
        ))
        .await
        .unwrap()
        .incident_id
        .unwrap();
    for _ in 0..5 {
        h.clock.advance(Duration::from_secs(60));
        h.responder.deliver_due_once("email").await.unwrap();
    }
    assert_eq!(h.email.attempts(), 3, "max_attempts = 3");
    let pages = h.responder.list_pages().await.unwrap().pages;
    let email = pages
        .iter()
        .find(|p| p.channel == "email" && p.step != "fallback")
        .unwrap();
    assert_eq!((email.state, email.attempts), (PageState::Failed, 3));
    // The email channel's fallback (log) got the page instead.
    h.responder.deliver_due_once("log").await.unwrap();
    let fallback: Vec<Page> = h
        .log
        .sent()
        .into_iter()
        .filter(|p| p.step == "fallback")
        .collect();
    assert_eq!(fallback.len(), 1);
    assert!(fallback[0].idempotency_key.ends_with("/email/fallback/log"));
    let kinds = h.timeline_kinds(&id).await;
    assert!(
        kinds.contains(&"page_failed".to_owned()) && kinds.contains(&"escalated".to_owned()),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_permanent_error_dead_letters_at_once() {
    let h = harness(base_config()).await;
    h.email.set(Mode::FailPermanently);
    h.responder
        .ingest_signal(&signal(
            "s1",
            "chain",
            SignalCategory::Chain,
            Level::L1,
            true,
        ))
        .await
        .unwrap();
    h.responder.deliver_due_once("email").await.unwrap();
    let pages = h.responder.list_pages().await.unwrap().pages;
    let email = pages.iter().find(|p| p.channel == "email").unwrap();
    assert_eq!((email.state, email.attempts), (PageState::Failed, 1));
}

#[tokio::test]
async fn a_restart_never_sends_a_page_twice() {
    let h = harness(base_config()).await;
    h.responder
        .ingest_signal(&signal(
            "s1",
            "chain",
            SignalCategory::Chain,
            Level::L1,
            true,
        ))
        .await
        .unwrap();
    // A worker claims the email page and "crashes" before recording the outcome.
    let claimed = h
        .responder
        .store()
        .claim_due_pages(
            "email",
            h.clock.now_ms(),
            h.clock.now_ms() + 60_000,
            "dead",
            10,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    h.deliver_all().await;
    assert!(h.email.sent().is_empty(), "leased to the crashed worker");
    // After the lease a "restarted" responder on the same store delivers it, once; log is not re-sent.
    h.clock.advance(Duration::from_secs(61));
    let restarted = Responder::builder(h.responder.store().clone(), base_config())
        .clock(Arc::new(h.clock.clone()))
        .ack_secret("test-ack-secret")
        .channel(h.log.clone())
        .channel(h.email.clone())
        .channel(h.pager.clone())
        .build()
        .unwrap();
    for _ in 0..3 {
        for channel in ["log", "email", "pager"] {
            restarted.deliver_due_once(channel).await.unwrap();
        }
        restarted.run_escalations_once().await.unwrap();
    }
    assert_eq!((h.log.sent().len(), h.email.sent().len()), (1, 1));
    // Re-ingesting the same signal does not page again either.
    restarted
        .ingest_signal(&signal(
            "s1",
            "chain",
            SignalCategory::Chain,
            Level::L1,
            true,
        ))
        .await
        .unwrap();
    restarted.deliver_due_once("log").await.unwrap();
    assert_eq!(h.log.sent().len(), 1);
}

#[tokio::test]
async fn a_silence_stops_the_page_appears_in_the_timeline_and_stops_applying_when_expired() {
    let h = harness(base_config()).await;
    let silence = h
        .responder
        .create_silence(
            &NewSilenceInput {
                matchers: vec![r#"component="chain""#.to_owned()],
                duration: HumanDuration::from_secs(600),
                starts_at: None,
                comment: "validator upgrade".to_owned(),
            },
            "alice",
        )
        .await
        .unwrap();
    assert_eq!(silence.state, "active");
    let id = h
        .responder
        .ingest_signal(&signal(
            "s1",
            "chain",
            SignalCategory::Chain,
            Level::L1,
            true,
        ))
        .await
        .unwrap()
        .incident_id
        .unwrap();
    h.deliver_all().await;
    assert!(h.log.sent().is_empty() && h.email.sent().is_empty());
    let detail = h.responder.get_incident(&id).await.unwrap();
    assert!(
        detail
            .incident
            .suppressed
            .as_deref()
            .unwrap()
            .contains("validator upgrade")
    );
    assert!(
        detail
            .timeline
            .iter()
            .any(|e| e.kind == "silenced" && e.text.contains("validator upgrade"))
    );

    // Another component is not silenced.
    h.responder
        .ingest_signal(&signal("s2", "peg", SignalCategory::Peg, Level::L2, true))
        .await
        .unwrap();
    h.deliver_all().await;
    assert_eq!(h.log.sent().len(), 1);

    // Expired: shows as expired, and the held page goes out at the next check.
    h.clock.advance(Duration::from_secs(30));
    let expired = h.responder.expire_silence(silence.id).await.unwrap();
    assert_eq!(expired.state, "expired");
    assert_eq!(
        h.responder.list_silences().await.unwrap().silences[0].state,
        "expired"
    );
    h.advance(Duration::from_secs(60)).await;
    assert_eq!(h.email.sent().len(), 1);
    assert!(h.timeline_kinds(&id).await.contains(&"paged".to_owned()));
}

#[tokio::test]
async fn a_maintenance_window_mutes_its_components_and_is_reported() {
    let mut config = base_config();
    config.maintenance = vec![MaintenanceConfig {
        name: "bridge upgrade".to_owned(),
        components: vec!["bridge".to_owned()],
        time_zone: "Europe/Berlin".to_owned(),
        start: Some("2026-03-02T10:30".to_owned()), // 09:30 UTC
        cron: None,
        weekly: None,
        duration: HumanDuration::from_secs(3600),
    }];
    let h = harness(config).await;
    let now = h.clock.now_ms();
    assert!(h.responder.is_under_maintenance("bridge", now));
    assert!(!h.responder.is_under_maintenance("escrow", now));
    assert!(
        !h.responder
            .is_under_maintenance("bridge", ms("2026-03-02T10:30:00Z"))
    );
    let periods = h
        .responder
        .maintenance_periods(ms("2026-03-02T00:00:00Z"), ms("2026-03-03T00:00:00Z"));
    assert_eq!(periods.len(), 1);
    assert_eq!(rfc3339(periods[0].start_ms), "2026-03-02T09:30:00Z");

    let id = h
        .responder
        .ingest_signal(&signal(
            "s1",
            "bridge",
            SignalCategory::Security,
            Level::L1,
            true,
        ))
        .await
        .unwrap()
        .incident_id
        .unwrap();
    h.deliver_all().await;
    assert!(h.log.sent().is_empty());
    assert!(
        h.timeline_kinds(&id)
            .await
            .contains(&"maintenance_suppressed".to_owned())
    );
    // When the window ends, paging resumes.
    h.clock.set(ms("2026-03-02T10:30:00Z"));
    h.advance(Duration::from_secs(0)).await;
    assert_eq!(h.email.sent().len(), 1);
}

#[tokio::test]
async fn a_stalled_chain_head_inhibits_module_incidents_on_that_chain() {
    let h = harness(base_config()).await;
    let mut head = signal("head", "chain", SignalCategory::Chain, Level::L1, true);
    head.series = SeriesKey::new("chain_head_age_seconds").with_label("chain", "devnet");
    h.responder.ingest_signal(&head).await.unwrap();
    let mut module = signal("escrow", "escrow", SignalCategory::Infra, Level::L2, true);
    module.series = SeriesKey::new("core_module_tx_rejected")
        .with_label("module", "escrow")
        .with_label("chain", "devnet");
    let id = h
        .responder
        .ingest_signal(&module)
        .await
        .unwrap()
        .incident_id
        .unwrap();
    h.deliver_all().await;
    let paged: Vec<String> = h
        .log
        .sent()
        .iter()
        .filter_map(|p| p.incident_id.clone())
        .collect();
    assert!(!paged.contains(&id), "the module incident is not paged");
    let detail = h.responder.get_incident(&id).await.unwrap();
    let entry = detail
        .timeline
        .iter()
        .find(|e| e.kind == "inhibited")
        .unwrap();
    assert!(entry.text.contains("chain-head-stalled"), "{}", entry.text);

    // Another chain's module is still paged.
    let mut other = module.clone();
    other.component = "auction".to_owned();
    other.series = SeriesKey::new("core_module_tx_rejected")
        .with_label("module", "auction")
        .with_label("chain", "mainnet");
    h.responder.ingest_signal(&other).await.unwrap();
    h.deliver_all().await;
    assert_eq!(h.log.sent().len(), 2);
}

#[tokio::test]
async fn incidents_resolve_themselves_after_signals_stay_clear_and_trackers_get_the_resolve() {
    let h = harness(base_config()).await;
    let id = h
        .responder
        .ingest_signal(&signal(
            "s1",
            "chain",
            SignalCategory::Chain,
            Level::L1,
            true,
        ))
        .await
        .unwrap()
        .incident_id
        .unwrap();
    h.advance(Duration::from_secs(300)).await; // pager paged at step 2
    assert_eq!(h.pager.sent().len(), 1);
    h.responder
        .ingest_signal(&signal(
            "s1",
            "chain",
            SignalCategory::Chain,
            Level::L1,
            false,
        ))
        .await
        .unwrap();
    h.advance(Duration::from_secs(299)).await;
    assert_eq!(
        h.responder.get_incident(&id).await.unwrap().incident.state,
        IncidentState::Triggered
    );
    h.advance(Duration::from_secs(1)).await;
    let detail = h.responder.get_incident(&id).await.unwrap();
    assert_eq!(detail.incident.state, IncidentState::Resolved);
    let resolved = detail
        .timeline
        .iter()
        .find(|e| e.kind == "resolved")
        .unwrap();
    assert!(
        resolved.text.starts_with("auto-resolved"),
        "{}",
        resolved.text
    );
    assert_eq!(resolved.actor, "vigil");
    assert_eq!(h.pager.sent().last().unwrap().action, PageAction::Resolve);
    assert_eq!(
        h.pager.sent().last().unwrap().incident_id.as_deref(),
        Some(id.as_str())
    );
    // The next signal opens a new incident.
    let next = h
        .responder
        .ingest_signal(&signal(
            "s2",
            "chain",
            SignalCategory::Chain,
            Level::L1,
            true,
        ))
        .await
        .unwrap();
    assert!(next.opened && next.incident_id.as_deref() != Some(id.as_str()));
}

#[tokio::test]
async fn alerts_fold_by_group_labels_and_resolve_when_all_have_resolved() {
    let h = harness(base_config()).await;
    let alert = |fingerprint: &str, instance: &str, status: AlertStatus| AlertInput {
        fingerprint: fingerprint.to_owned(),
        labels: [
            ("alertname", "ChainHalted"),
            ("chain", "devnet"),
            ("severity", "critical"),
            ("instance", instance),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        annotations: [("summary".to_owned(), "No new block for 60s".to_owned())].into(),
        status,
        starts_at_ms: ms(START),
        ends_at_ms: None,
    };
    let first = h
        .responder
        .ingest_alert(&alert("f1", "rpc-1", AlertStatus::Firing))
        .await
        .unwrap();
    let second = h
        .responder
        .ingest_alert(&alert("f2", "rpc-2", AlertStatus::Firing))
        .await
        .unwrap();
    assert!(first.opened && !second.opened);
    assert_eq!(first.incident_id, second.incident_id);
    let id = first.incident_id.unwrap();
    let incident = h.responder.get_incident(&id).await.unwrap().incident;
    assert_eq!(
        (incident.level, incident.title.as_str()),
        (Level::L1, "No new block for 60s")
    );
    h.responder
        .ingest_alert(&alert("f1", "rpc-1", AlertStatus::Resolved))
        .await
        .unwrap();
    h.advance(Duration::from_secs(600)).await;
    assert_eq!(
        h.responder.get_incident(&id).await.unwrap().incident.state,
        IncidentState::Triggered,
        "f2 still firing"
    );
    h.responder
        .ingest_alert(&alert("f2", "rpc-2", AlertStatus::Resolved))
        .await
        .unwrap();
    h.advance(Duration::from_secs(300)).await;
    assert_eq!(
        h.responder.get_incident(&id).await.unwrap().incident.state,
        IncidentState::Resolved
    );
}

#[tokio::test]
async fn l4_incidents_never_page_and_go_to_the_daily_digest() {
    let h = harness(base_config()).await;
    let id = h
        .responder
        .ingest_signal(&signal(
            "s1",
            "analytics",
            SignalCategory::Infra,
            Level::L4,
            true,
        ))
        .await
        .unwrap()
        .incident_id
        .unwrap();
    h.advance(Duration::from_secs(3600)).await;
    assert!(h.log.sent().is_empty() && h.email.sent().is_empty());
    // Digest at 09:00 UTC the next day, once.
    h.clock.set(ms("2026-03-03T09:00:00Z"));
    assert_eq!(h.responder.run_digest_once().await.unwrap(), 1);
    assert_eq!(h.responder.run_digest_once().await.unwrap(), 0);
    h.deliver_all().await;
    let digest = h.log.sent();
    assert_eq!(digest.len(), 1);
    assert_eq!(digest[0].action, PageAction::Digest);
    assert!(digest[0].summary.contains(&id));
    assert!(h.timeline_kinds(&id).await.contains(&"paged".to_owned()));
}

#[tokio::test]
async fn people_run_the_incident_and_get_a_postmortem_draft() {
    let h = harness(base_config()).await;
    let created = h
        .responder
        .create_incident(
            &NewIncidentInput {
                title: "bridge withdrawals stuck".to_owned(),
                level: Level::L2,
                component: "bridge".to_owned(),
                summary: "users report pending withdrawals".to_owned(),
                runbook: Some("runbooks/bridge-stuck.md".to_owned()),
            },
            "alice",
        )
        .await
        .unwrap();
    let id = created.incident.id.clone();
    assert_eq!(
        created.incident.runbook.as_deref(),
        Some("runbooks/bridge-stuck.md")
    );
    h.clock.advance(Duration::from_secs(60));
    h.responder
        .set_level(
            &id,
            "alice",
            &SetLevel {
                level: Level::L1,
                reason: "funds at risk".to_owned(),
            },
        )
        .await
        .unwrap();
    // Raising L2 → L1 pages L1's first step (log + email) on top of L2's (log).
    h.deliver_all().await;
    assert_eq!((h.log.sent().len(), h.email.sent().len()), (2, 1));
    h.responder
        .assign(
            &id,
            "alice",
            &Assign {
                commander: Some("alice".to_owned()),
                assignees: vec!["bob".to_owned()],
            },
        )
        .await
        .unwrap();
    h.clock.advance(Duration::from_secs(60));
    h.responder.ack(&id, "bob").await.unwrap();
    h.responder
        .record_action(&id, "bob", "paused module bridge")
        .await
        .unwrap();
    h.responder
        .add_note(&id, "bob", "relayer key rotated")
        .await
        .unwrap();
    h.responder
        .status_update(
            &id,
            "alice",
            &StatusUpdate {
                status: "identified".to_owned(),
                message: "relayer stuck".to_owned(),
            },
        )
        .await
        .unwrap();
    h.clock.advance(Duration::from_secs(1800));
    let done = h
        .responder
        .status_update(
            &id,
            "alice",
            &StatusUpdate {
                status: "resolved".to_owned(),
                message: "withdrawals flow again".to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(done.incident.state, IncidentState::Resolved);
    assert_eq!(done.incident.status.as_deref(), Some("resolved"));
    let kinds: Vec<&str> = done.timeline.iter().map(|e| e.kind.as_str()).collect();
    for kind in [
        "detected",
        "classified",
        "paged",
        "reclassified",
        "assigned",
        "acknowledged",
        "action",
        "note",
        "status_update",
        "resolved",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    // Resolving sent the resolve to the channels that were paged.
    h.deliver_all().await;
    assert_eq!(h.log.sent().last().unwrap().action, PageAction::Resolve);

    let markdown = h.responder.postmortem(&id).await.unwrap();
    for expected in [
        "# Postmortem: bridge withdrawals stuck",
        "Time to acknowledge: 2m",
        "Time to resolve: 32m",
        "Runbook used: runbooks/bridge-stuck.md",
        "paused module bridge",
        "## Pages",
    ] {
        assert!(
            markdown.contains(expected),
            "{expected:?} missing from:\n{markdown}"
        );
    }

    let error = h.responder.ack(&id, "carol").await.unwrap_err();
    assert_eq!(model::HasKind::kind(&error), model::ErrorKind::Conflict);
    let missing = h.responder.get_incident("inc-nope").await.unwrap_err();
    assert_eq!(model::HasKind::kind(&missing), model::ErrorKind::NotFound);
    let bad = h
        .responder
        .status_update(
            &id,
            "a",
            &StatusUpdate {
                status: "fine".to_owned(),
                message: "x".to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(model::HasKind::kind(&bad), model::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn a_silent_heartbeat_opens_an_incident_and_a_check_in_clears_it() {
    let mut config = base_config();
    config.heartbeats = vec![HeartbeatConfig {
        name: "nightly-backup".to_owned(),
        interval: HumanDuration::from_secs(3600),
        grace: HumanDuration::from_secs(300),
        level: Level::L2,
    }];
    let h = harness(config).await;
    h.responder.heartbeat("nightly-backup").await.unwrap();
    h.clock.advance(Duration::from_secs(3900));
    assert_eq!(h.responder.run_heartbeat_checks_once().await.unwrap(), 0);
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(h.responder.run_heartbeat_checks_once().await.unwrap(), 1);
    let open = h
        .responder
        .list_incidents(IncidentFilter::Open)
        .await
        .unwrap()
        .incidents;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].title, "nightly-backup stopped checking in");
    h.responder.heartbeat("nightly-backup").await.unwrap();
    h.advance(Duration::from_secs(300)).await;
    assert_eq!(
        h.responder
            .list_incidents(IncidentFilter::Open)
            .await
            .unwrap()
            .incidents
            .len(),
        0
    );
    assert!(matches!(
        h.responder.heartbeat("unknown").await,
        Err(ResponderError::UnknownHeartbeat(_))
    ));
}

#[tokio::test]
async fn spawned_workers_deliver_pages_promptly_and_stop_on_cancel() {
    let h = harness(base_config()).await;
    let tasks = tokio_util::task::TaskTracker::new();
    let shutdown = tokio_util::sync::CancellationToken::new();
    h.responder.spawn_workers(&tasks, shutdown.clone());
    h.responder
        .ingest_signal(&signal(
            "s1",
            "chain",
            SignalCategory::Chain,
            Level::L1,
            true,
        ))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), async {
        while h.log.sent().is_empty() || h.email.sent().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the workers deliver both pages");
    shutdown.cancel();
    tasks.close();
    tokio::time::timeout(Duration::from_secs(5), tasks.wait())
        .await
        .expect("workers stop");
}

// ---- status-page subscriptions -------------------------------------------------------------------------

struct SubscriberHarness {
    h: Harness,
    mail: Arc<FakeChannel>,
    hooks: Arc<FakeChannel>,
}

/// The base harness plus recording channels in place of the subscriber email and webhook channels.
async fn subscriber_harness() -> SubscriberHarness {
    subscriber_harness_with(base_config()).await
}

async fn subscriber_harness_with(config: ResponderConfig) -> SubscriberHarness {
    let test = open_sqlite().await.unwrap();
    let clock = ManualClock::new(ms(START));
    let (log, email, pager) = (
        FakeChannel::new("log"),
        FakeChannel::new("email"),
        FakeChannel::new("pager"),
    );
    let mail = FakeChannel::new(crate::status::EMAIL_CHANNEL);
    let hooks = FakeChannel::new(crate::status::WEBHOOK_CHANNEL);
    let responder = Responder::builder(test.store.clone(), config)
        .clock(Arc::new(clock.clone()))
        .ack_secret("test-ack-secret")
        .channel(log.clone())
        .channel(email.clone())
        .channel(pager.clone())
        .channel(mail.clone())
        .channel(hooks.clone())
        .build()
        .unwrap();
    SubscriberHarness {
        h: Harness {
            responder,
            clock,
            log,
            email,
            pager,
            _store: test,
        },
        mail,
        hooks,
    }
}

impl SubscriberHarness {
    /// Fans out due notices, then delivers subscriber messages.
    async fn deliver_notices(&self) {
        let responder = &self.h.responder;
        responder
            .deliver_due_once(crate::status::FANOUT_CHANNEL)
            .await
            .unwrap();
        for channel in [crate::status::EMAIL_CHANNEL, crate::status::WEBHOOK_CHANNEL] {
            responder.deliver_due_once(channel).await.unwrap();
        }
    }

    async fn open(&self, title: &str, component: &str, level: Level) -> String {
        self.h
            .responder
            .create_incident(
                &NewIncidentInput {
                    title: title.to_owned(),
                    level,
                    component: component.to_owned(),
                    summary: String::new(),
                    runbook: Some("runbooks/internal-only.md".to_owned()),
                },
                "alice",
            )
            .await
            .unwrap()
            .incident
            .id
    }
}

fn token_of(url: &str) -> String {
    url.split_once("token=").expect("token in url").1.to_owned()
}

#[tokio::test]
async fn subscribers_confirm_by_link_and_then_hear_each_public_update_of_their_components_once() {
    let s = subscriber_harness().await;
    let responder = &s.h.responder;
    let outcome = responder
        .subscribe(&crate::status::SubscribeRequest {
            email: Some(" Reader@Example.ORG ".to_owned()),
            components: vec!["bridge".to_owned()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(outcome.confirmation_sent);
    assert_eq!(outcome.address, "reader@example.org");

    // Before confirming, an incident on the bridge sends nothing but the confirmation.
    let early = s.open("bridge drained", "bridge", Level::L1).await;
    s.deliver_notices().await;
    let sent = s.mail.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].action, PageAction::Confirm);
    let target = sent[0].subscriber.clone().unwrap();
    assert_eq!(target.address, "reader@example.org");
    assert!(target.components == vec!["Bridge".to_owned()]);
    let confirm_url = target.confirm_url.clone().unwrap();
    assert!(confirm_url.starts_with("https://vigil.example.test/subscriptions/confirm?token="));
    assert!(sent[0].text().contains(&confirm_url));

    // Asking again at once does not send a second confirmation.
    let again = responder
        .subscribe(&crate::status::SubscribeRequest {
            email: Some("reader@example.org".to_owned()),
            components: vec!["bridge".to_owned()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!again.confirmation_sent);
    s.deliver_notices().await;
    assert_eq!(s.mail.sent().len(), 1);

    // A forged or altered link is refused; the real one confirms (twice is harmless).
    let token = token_of(&confirm_url);
    // Change the signature's last hex digit (to another digit, whatever it was).
    let last = if token.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    assert!(matches!(
        responder.confirm_subscription(&forged).await,
        Err(ResponderError::SubscriptionLink(_))
    ));
    let confirmed = responder.confirm_subscription(&token).await.unwrap();
    assert_eq!(confirmed.state, crate::store::SubscriptionState::Confirmed);
    assert_eq!(confirmed.components, vec!["bridge".to_owned()]);
    responder.confirm_subscription(&token).await.unwrap();

    // A public update on the bridge reaches the subscriber in public words only.
    responder
        .status_update(
            &early,
            "alice",
            &StatusUpdate {
                status: "identified".to_owned(),
                message: "A faulty relayer drained the bridge; withdrawals are paused.".to_owned(),
            },
        )
        .await
        .unwrap();
    // An incident on another component does not.
    s.open("peg wobble", "peg", Level::L2).await;
    s.deliver_notices().await;
    let notices: Vec<Page> = s
        .mail
        .sent()
        .into_iter()
        .filter(|page| page.action == PageAction::Notice)
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    let notice = &notices[0];
    assert_eq!(notice.step, "identified");
    assert_eq!(notice.subject(), "[Identified] bridge drained (Bridge)");
    let text = notice.text();
    assert!(text.contains("withdrawals are paused"), "{text}");
    assert!(text.contains("/subscriptions/unsubscribe?token="), "{text}");
    assert!(
        !text.contains("runbooks/") && !text.contains("/incidents/") && !text.contains("ack"),
        "internal details leaked: {text}"
    );
    // Subscriber deliveries are counted with the incident, not listed among its pages.
    let detail = responder.get_incident(&early).await.unwrap();
    assert_eq!(
        detail.subscriber_messages,
        crate::store::DeliveryCounts {
            sent: 1,
            pending: 0,
            failed: 0
        }
    );
    assert!(
        detail
            .pages
            .iter()
            .all(|page| page.channel != crate::status::EMAIL_CHANNEL)
    );
    assert!(
        detail
            .timeline
            .iter()
            .all(|entry| !entry.text.contains("reader@example.org"))
    );

    // Fanning out again sends nothing twice.
    s.deliver_notices().await;
    assert_eq!(s.mail.sent().len(), 2);

    // A "resolved" status update is the one resolution notice.
    responder
        .status_update(
            &early,
            "alice",
            &StatusUpdate {
                status: "resolved".to_owned(),
                message: "Withdrawals work again.".to_owned(),
            },
        )
        .await
        .unwrap();
    s.deliver_notices().await;
    let resolved: Vec<Page> = s
        .mail
        .sent()
        .into_iter()
        .filter(|page| page.step == "resolved")
        .collect();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].summary, "Withdrawals work again.");

    // Unsubscribing stops notices; the link works again harmlessly.
    let unsubscribe = token_of(&resolved[0].subscriber.as_ref().unwrap().unsubscribe_url);
    let view = responder.unsubscribe(&unsubscribe).await.unwrap();
    assert_eq!(view.state, crate::store::SubscriptionState::Unsubscribed);
    responder.unsubscribe(&unsubscribe).await.unwrap();
    assert!(matches!(
        responder.unsubscribe("sub-x.00").await,
        Err(ResponderError::SubscriptionLink(_))
    ));
    let before = s.mail.sent().len();
    s.open("bridge again", "bridge", Level::L1).await;
    s.deliver_notices().await;
    assert_eq!(s.mail.sent().len(), before);
    // The old confirm link cannot bring it back.
    assert!(responder.confirm_subscription(&token).await.is_err());
}

#[tokio::test]
async fn only_public_and_outage_level_incidents_reach_subscribers_and_newest_confirm_link_wins() {
    let s = subscriber_harness().await;
    let responder = &s.h.responder;
    responder
        .subscribe(&crate::status::SubscribeRequest {
            webhook: Some("https://hooks.example.org/vigil".to_owned()),
            ..Default::default()
        })
        .await
        .unwrap();
    s.deliver_notices().await;
    let first = token_of(
        s.hooks.sent()[0]
            .subscriber
            .as_ref()
            .unwrap()
            .confirm_url
            .as_ref()
            .unwrap(),
    );
    // A second request with other components, after the resend delay, supersedes the first link.
    s.h.clock.advance(Duration::from_secs(3600));
    responder
        .subscribe(&crate::status::SubscribeRequest {
            webhook: Some("https://hooks.example.org/vigil".to_owned()),
            components: vec!["chain".to_owned()],
            ..Default::default()
        })
        .await
        .unwrap();
    s.deliver_notices().await;
    assert_eq!(s.hooks.sent().len(), 2);
    assert!(matches!(
        responder.confirm_subscription(&first).await,
        Err(ResponderError::SubscriptionLink(message)) if message.contains("newer")
    ));
    let second = token_of(
        s.hooks.sent()[1]
            .subscriber
            .as_ref()
            .unwrap()
            .confirm_url
            .as_ref()
            .unwrap(),
    );
    assert_eq!(
        responder
            .confirm_subscription(&second)
            .await
            .unwrap()
            .components,
        vec!["chain".to_owned()]
    );

    // An automatic L4 notice is not news for subscribers.
    let l4 = signal("sig-l4", "chain", SignalCategory::Infra, Level::L4, true);
    responder.ingest_signal(&l4).await.unwrap();
    s.deliver_notices().await;
    assert_eq!(s.hooks.sent().len(), 2, "{:?}", s.hooks.sent());
    // The same L4 growing into an L2 is.
    let l2 = signal("sig-l4", "chain", SignalCategory::Infra, Level::L2, true);
    responder.ingest_signal(&l2).await.unwrap();
    s.deliver_notices().await;
    let sent = s.hooks.sent();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[2].step, "investigating");
    let body = crate::channels::SubscriberWebhookChannel::body(&sent[2]).unwrap();
    assert_eq!(body["type"], "incident.update");
    assert_eq!(body["incident"]["status"], "investigating");
    assert_eq!(body["incident"]["impact"], "major");
    assert!(
        body["subscription"]["unsubscribe_url"]
            .as_str()
            .unwrap()
            .contains("/subscriptions/unsubscribe?token=")
    );
    let _ = (&s.h.log, &s.h.email, &s.h.pager);
}

#[tokio::test]
async fn subscription_requests_are_validated_and_private_webhooks_refused() {
    let s = subscriber_harness().await;
    let responder = &s.h.responder;
    for (request, expect) in [
        (crate::status::SubscribeRequest::default(), "exactly one"),
        (
            crate::status::SubscribeRequest {
                email: Some("a@b.org".to_owned()),
                webhook: Some("https://x.org/".to_owned()),
                ..Default::default()
            },
            "exactly one",
        ),
        (
            crate::status::SubscribeRequest {
                email: Some("not-an-address".to_owned()),
                ..Default::default()
            },
            "not a valid address",
        ),
        (
            crate::status::SubscribeRequest {
                webhook: Some("http://169.254.169.254/latest".to_owned()),
                ..Default::default()
            },
            "private",
        ),
        (
            crate::status::SubscribeRequest {
                email: Some("a@b.org".to_owned()),
                components: vec!["<script>".to_owned()],
                ..Default::default()
            },
            "components[0]",
        ),
    ] {
        let error = responder.subscribe(&request).await.unwrap_err();
        assert!(
            matches!(error, ResponderError::InvalidInput(_)) && error.to_string().contains(expect),
            "{request:?}: {error}"
        );
    }
    assert!(
        responder
            .list_subscriptions()
            .await
            .unwrap()
            .subscriptions
            .is_empty()
    );
}

#[tokio::test]
async fn subscribers_hear_of_maintenance_on_their_components_ahead_at_the_start_and_at_the_end() {
    let mut config = base_config();
    config.maintenance = vec![MaintenanceConfig {
        name: "bridge upgrade".to_owned(),
        components: vec!["bridge".to_owned()],
        time_zone: "UTC".to_owned(),
        start: Some("2026-03-02T12:00".to_owned()), // two hours after START
        cron: None,
        weekly: None,
        duration: HumanDuration::from_secs(3600),
    }];
    let s = subscriber_harness_with(config).await;
    let responder = &s.h.responder;
    for (address, component) in [("bridge@example.org", "bridge"), ("peg@example.org", "peg")] {
        responder
            .subscribe(&crate::status::SubscribeRequest {
                email: Some(address.to_owned()),
                components: vec![component.to_owned()],
                ..Default::default()
            })
            .await
            .unwrap();
    }
    s.deliver_notices().await;
    for confirmation in s.mail.sent() {
        let url = confirmation.subscriber.unwrap().confirm_url.unwrap();
        responder
            .confirm_subscription(&token_of(&url))
            .await
            .unwrap();
    }
    let maintenance = |s: &SubscriberHarness| -> Vec<(String, String)> {
        s.mail
            .sent()
            .into_iter()
            .filter(|page| page.action == PageAction::Notice)
            .map(|page| (page.subscriber.unwrap().address, page.step))
            .collect()
    };
    let notices_round = || async { responder.run_maintenance_notices_once().await.unwrap() };

    assert_eq!(notices_round().await, 1);
    assert_eq!(
        notices_round().await,
        0,
        "the same notice is not queued twice"
    );
    s.deliver_notices().await;
    assert_eq!(
        maintenance(&s),
        [("bridge@example.org".to_owned(), "scheduled".to_owned())],
        "once, two hours ahead, only to the bridge's subscriber"
    );
    let scheduled = s.mail.sent().into_iter().last().unwrap();
    assert_eq!(
        scheduled.subject(),
        "[Scheduled] Maintenance: bridge upgrade (Bridge)"
    );
    assert!(
        scheduled.text().contains(
            "Maintenance is scheduled from 2026-03-02T12:00:00Z to 2026-03-02T13:00:00Z."
        ),
        "{}",
        scheduled.text()
    );

    s.h.clock.advance(Duration::from_secs(2 * 3600 + 60));
    notices_round().await;
    s.deliver_notices().await;
    s.h.clock.advance(Duration::from_secs(3600));
    notices_round().await;
    notices_round().await;
    s.deliver_notices().await;
    let steps: Vec<String> = maintenance(&s).into_iter().map(|(_, step)| step).collect();
    assert_eq!(steps, ["scheduled", "in_progress", "completed"]);
    let webhook =
        crate::channels::SubscriberWebhookChannel::body(&s.mail.sent().into_iter().last().unwrap())
            .unwrap();
    assert_eq!(webhook["type"], "maintenance.update");
    assert_eq!(webhook["maintenance"]["name"], "bridge upgrade");
    assert_eq!(
        webhook["maintenance"]["components"],
        serde_json::json!(["bridge"])
    );

    // Long after, nothing more.
    s.h.clock.advance(Duration::from_secs(2 * 3600));
    assert_eq!(responder.run_maintenance_notices_once().await.unwrap(), 0);
}
