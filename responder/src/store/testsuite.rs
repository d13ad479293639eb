//! The store tests every backend must pass, expanded per backend by [`crate::store_test_suite!`].

use std::str::FromStr;
use std::sync::Arc;

use sqlx::postgres::PgConnectOptions;

use super::{NewScenarioEvent, PgStore, SqliteStore, Store};

/// A store under test plus what reopening it needs.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    reopen: Reopen,
}

enum Reopen {
    Sqlite {
        url: String,
        _dir: Arc<TempDir>,
    },
    Postgres {
        options: Box<PgConnectOptions>,
        url: String,
    },
}

/// A temporary directory removed on drop (kept dependency-free: this module also builds outside tests).
pub struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestStore {
    async fn reopen(&self) -> Arc<dyn Store> {
        let store: Arc<dyn Store> = match &self.reopen {
            Reopen::Sqlite { url, .. } => Arc::new(SqliteStore::connect(url).await.unwrap()),
            Reopen::Postgres { options, url } => Arc::new(
                PgStore::connect_with((**options).clone(), url)
                    .await
                    .unwrap(),
            ),
        };
        store.migrate().await.unwrap();
        store
    }
}

pub async fn open_sqlite() -> Option<TestStore> {
    let dir = std::env::temp_dir().join(format!("vigil-store-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/vigil.db", dir.display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::connect(&url).await.unwrap());
    store.migrate().await.unwrap();
    Some(TestStore {
        store,
        reopen: Reopen::Sqlite {
            url,
            _dir: Arc::new(TempDir(dir)),
        },
    })
}

/// Opens PostgreSQL from the URL in `variable`, in a fresh schema so tests never see each other's rows.
pub async fn open_postgres_from_env(variable: &str) -> Option<TestStore> {
    let url = std::env::var(variable).ok().filter(|url| !url.is_empty())?;
    let schema = format!("vigil_test_{}_{}", std::process::id(), unique());
    let admin = PgStore::connect(&url)
        .await
        .unwrap_or_else(|error| panic!("{variable}={url} is set but unreachable: {error:?}"));
    drop_schemas_of_finished_runs(&admin).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("create schema {schema}")))
        .execute(&admin.pool_for_tests())
        .await
        .unwrap();
    admin.close().await;
    let options = PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let store: Arc<dyn Store> =
        Arc::new(PgStore::connect_with(options.clone(), &url).await.unwrap());
    store.migrate().await.unwrap();
    Some(TestStore {
        store,
        reopen: Reopen::Postgres {
            options: Box::new(options),
            url,
        },
    })
}

/// Drops the `vigil_test_<pid>_*` schemas of test processes that are no longer running, so the database
/// does not fill up run after run. Schemas of live processes (tests running in parallel) are kept.
async fn drop_schemas_of_finished_runs(admin: &PgStore) {
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if DONE.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let schemas: Vec<String> = sqlx::query_scalar(
        "select schema_name::text from information_schema.schemata where schema_name like 'vigil_test_%'",
    )
    .fetch_all(&admin.pool_for_tests())
    .await
    .unwrap_or_default();
    for schema in schemas {
        let pid = schema
            .strip_prefix("vigil_test_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        let finished = pid.is_some_and(|pid| {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        });
        if finished {
            // Another process may be dropping it too; either way it goes.
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "drop schema if exists {schema} cascade"
            )))
            .execute(&admin.pool_for_tests())
            .await;
        }
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos() as u64;
    nanos * 1000 + NEXT.fetch_add(1, Ordering::Relaxed)
}

fn event(scenario: &str, action: &str, at_ms: i64) -> NewScenarioEvent {
    NewScenarioEvent {
        scenario: scenario.into(),
        action: action.into(),
        actor: "tester".into(),
        changed: true,
        params: serde_json::json!({}),
        at_ms,
    }
}

pub async fn migrations_are_idempotent(test: TestStore) {
    test.store
        .migrate()
        .await
        .expect("a second migration run is a no-op");
    test.store.ping().await.unwrap();
}

pub async fn scenario_events_round_trip_newest_first(test: TestStore) {
    let store = &test.store;
    let first = store
        .record_scenario_event(&event("depeg", "start", 1_000))
        .await
        .unwrap();
    let second = store
        .record_scenario_event(&event("depeg", "stop", 2_000))
        .await
        .unwrap();
    assert!(second.id > first.id);
    let listed = store.scenario_events(10).await.unwrap();
    assert_eq!(listed, vec![second.clone(), first]);
    assert_eq!(store.scenario_events(1).await.unwrap(), vec![second]);
}

pub async fn scenario_event_params_keep_their_json(test: TestStore) {
    let mut new = event("exploit-drain", "start", 5);
    new.params = serde_json::json!({"module": "escrow", "note": "drill \"quoted\""});
    new.changed = false;
    let stored = test.store.record_scenario_event(&new).await.unwrap();
    assert_eq!(stored.params, new.params);
    assert!(!stored.changed);
    assert_eq!(test.store.scenario_events(5).await.unwrap()[0], stored);
}

pub async fn events_survive_reopening(test: TestStore) {
    let stored = test
        .store
        .record_scenario_event(&event("block-stall", "start", 42))
        .await
        .unwrap();
    test.store.close().await;
    let reopened = test.reopen().await;
    assert_eq!(reopened.scenario_events(10).await.unwrap(), vec![stored]);
    reopened.close().await;
}

// ---- incidents, outbox, silences, heartbeats --------------------------------------------------------

use std::collections::BTreeSet;

use model::Level;

use super::{
    Incident, IncidentFilter, IncidentState, IncidentWrite, NewPage, NewSilence, NewTimelineEntry,
    PageOutcome, PageState, StoreError,
};

fn incident(id: &str, key: &str, opened_at_ms: i64) -> Incident {
    Incident {
        id: id.to_owned(),
        dedup_key: key.to_owned(),
        title: "chain anomaly on chain".to_owned(),
        level: Level::L1,
        state: IncidentState::Triggered,
        component: "chain".to_owned(),
        category: "chain".to_owned(),
        source: "signal".to_owned(),
        summary: "head stalled".to_owned(),
        runbook: Some("chain-halt".to_owned()),
        commander: None,
        assignees: Vec::new(),
        labels: [("component".to_owned(), "chain".to_owned())].into(),
        public_status: None,
        opened_at_ms,
        acked_at_ms: None,
        acked_by: None,
        resolved_at_ms: None,
        last_signal_at_ms: opened_at_ms,
        clear_since_ms: None,
        active_sources: BTreeSet::from(["signal:s1".to_owned()]),
        signal_count: 1,
        esc_level: Level::L1,
        esc_step: 1,
        esc_round: 0,
        next_escalation_at_ms: Some(opened_at_ms + 300_000),
        suppressed: None,
        paged_channels: BTreeSet::from(["log".to_owned()]),
        version: 0,
    }
}

fn page(key: &str, incident_id: Option<&str>, channel: &str, due_at_ms: i64) -> NewPage {
    NewPage {
        idempotency_key: key.to_owned(),
        incident_id: incident_id.map(str::to_owned),
        channel: channel.to_owned(),
        action: "trigger".to_owned(),
        step: "L1/0/0".to_owned(),
        payload: serde_json::json!({"key": key}),
        due_at_ms,
        created_at_ms: due_at_ms,
    }
}

fn entry(at_ms: i64, kind: &str, text: &str) -> NewTimelineEntry {
    NewTimelineEntry::new(at_ms, kind, "tester", text)
}

async fn open_with_pages(test: &TestStore, id: &str, pages: Vec<NewPage>) -> Incident {
    let new = incident(id, &format!("signal/{id}/chain"), 1_000);
    test.store
        .create_incident(
            &new,
            &IncidentWrite {
                timeline: vec![entry(1_000, "detected", "seen")],
                pages,
            },
        )
        .await
        .unwrap();
    new
}

pub async fn incident_lifecycle_round_trips_with_its_timeline(test: TestStore) {
    let store = &test.store;
    let mut stored = open_with_pages(&test, "inc-a", Vec::new()).await;
    assert_eq!(
        store.incident("inc-a").await.unwrap().as_ref(),
        Some(&stored)
    );

    stored.state = IncidentState::Acknowledged;
    stored.acked_at_ms = Some(2_000);
    stored.acked_by = Some("alice".to_owned());
    stored.assignees = vec!["bob".to_owned(), "carol".to_owned()];
    stored.next_escalation_at_ms = None;
    let write = IncidentWrite {
        timeline: vec![entry(2_000, "acknowledged", "by alice")],
        pages: Vec::new(),
    };
    store.update_incident(&stored, &write).await.unwrap();
    stored.version += 1;
    stored.state = IncidentState::Resolved;
    stored.resolved_at_ms = Some(3_000);
    let write = IncidentWrite {
        timeline: vec![entry(3_000, "resolved", "fixed")],
        pages: Vec::new(),
    };
    store.update_incident(&stored, &write).await.unwrap();
    stored.version += 1;

    assert_eq!(store.incident("inc-a").await.unwrap(), Some(stored));
    let kinds: Vec<String> = store
        .timeline("inc-a")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["detected", "acknowledged", "resolved"]);
    assert_eq!(store.incident("inc-missing").await.unwrap(), None);
}

pub async fn one_open_incident_per_dedup_key(test: TestStore) {
    let store = &test.store;
    let first = incident("inc-1", "signal/chain/chain", 1_000);
    store
        .create_incident(&first, &IncidentWrite::default())
        .await
        .unwrap();
    let duplicate = incident("inc-2", "signal/chain/chain", 1_001);
    let error = store
        .create_incident(&duplicate, &IncidentWrite::default())
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    assert_eq!(
        store
            .open_incident_by_key("signal/chain/chain")
            .await
            .unwrap()
            .map(|i| i.id),
        Some("inc-1".into())
    );

    // Once resolved, the key is free for the next problem.
    let mut resolved = first.clone();
    resolved.state = IncidentState::Resolved;
    store
        .update_incident(&resolved, &IncidentWrite::default())
        .await
        .unwrap();
    assert_eq!(
        store
            .open_incident_by_key("signal/chain/chain")
            .await
            .unwrap(),
        None
    );
    store
        .create_incident(&duplicate, &IncidentWrite::default())
        .await
        .unwrap();
    assert_eq!(
        store
            .open_incident_by_key("signal/chain/chain")
            .await
            .unwrap()
            .map(|i| i.id),
        Some("inc-2".into())
    );
}

pub async fn stale_incident_versions_are_refused(test: TestStore) {
    let store = &test.store;
    let stored = open_with_pages(&test, "inc-v", Vec::new()).await;
    let mut first = stored.clone();
    first.commander = Some("alice".to_owned());
    store
        .update_incident(&first, &IncidentWrite::default())
        .await
        .unwrap();
    // A second writer that read version 0 loses, and none of its timeline or pages are written.
    let mut second = stored.clone();
    second.commander = Some("mallory".to_owned());
    let write = IncidentWrite {
        timeline: vec![entry(5, "note", "lost")],
        pages: vec![page("inc-v/lost", Some("inc-v"), "log", 5)],
    };
    let error = store.update_incident(&second, &write).await.unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    let now = store.incident("inc-v").await.unwrap().unwrap();
    assert_eq!((now.commander.as_deref(), now.version), (Some("alice"), 1));
    assert_eq!(store.timeline("inc-v").await.unwrap().len(), 1);
    assert!(store.pages(10).await.unwrap().is_empty());
}

pub async fn incident_listing_filters_by_state(test: TestStore) {
    let store = &test.store;
    let states = [
        IncidentState::Triggered,
        IncidentState::Acknowledged,
        IncidentState::Resolved,
    ];
    for (index, state) in states.into_iter().enumerate() {
        let mut new = incident(
            &format!("inc-{index}"),
            &format!("k{index}"),
            1_000 + index as i64,
        );
        new.state = state;
        store
            .create_incident(&new, &IncidentWrite::default())
            .await
            .unwrap();
    }
    let ids = |list: Vec<Incident>| list.into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.incidents(IncidentFilter::Open, 10).await.unwrap()),
        ["inc-1", "inc-0"]
    );
    assert_eq!(
        ids(store
            .incidents(IncidentFilter::Acknowledged, 10)
            .await
            .unwrap()),
        ["inc-1"]
    );
    assert_eq!(
        ids(store.incidents(IncidentFilter::Resolved, 10).await.unwrap()),
        ["inc-2"]
    );
    assert_eq!(
        ids(store.incidents(IncidentFilter::All, 10).await.unwrap()),
        ["inc-2", "inc-1", "inc-0"]
    );
    assert_eq!(
        ids(store.incidents(IncidentFilter::All, 1).await.unwrap()),
        ["inc-2"]
    );
    assert_eq!(
        ids(store.incidents_opened_between(1_001, 1_002).await.unwrap()),
        ["inc-1"]
    );
}

pub async fn due_incidents_are_found_by_escalation_time_and_clear_time(test: TestStore) {
    let store = &test.store;
    let escalating = incident("inc-esc", "k1", 0); // next step at 300_000
    let mut clear = incident("inc-clear", "k2", 0);
    clear.next_escalation_at_ms = None;
    clear.clear_since_ms = Some(10_000);
    let mut acked = incident("inc-acked", "k3", 0);
    acked.state = IncidentState::Acknowledged;
    for new in [&escalating, &clear, &acked] {
        store
            .create_incident(new, &IncidentWrite::default())
            .await
            .unwrap();
    }
    let due = |now, clear_before| async move {
        store
            .incidents_due(now, clear_before)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect::<Vec<_>>()
    };
    assert!(due(299_999, 9_999).await.is_empty());
    assert_eq!(
        due(300_000, 9_999).await,
        ["inc-esc"],
        "acknowledged incidents do not escalate"
    );
    let mut both = due(300_000, 10_000).await;
    both.sort();
    assert_eq!(both, ["inc-clear", "inc-esc"]);
}

pub async fn idempotency_key_prevents_duplicate_pages(test: TestStore) {
    let store = &test.store;
    open_with_pages(
        &test,
        "inc-i",
        vec![page("inc-i/L1/0/0/log", Some("inc-i"), "log", 1_000)],
    )
    .await;
    // The same step enqueued again (a retried request, a second replica) adds nothing.
    assert_eq!(
        store
            .enqueue_pages(&[page("inc-i/L1/0/0/log", Some("inc-i"), "log", 2_000)])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .enqueue_pages(&[page("inc-i/L1/1/0/log", Some("inc-i"), "log", 2_000)])
            .await
            .unwrap(),
        1
    );
    let keys: Vec<String> = store
        .pages(10)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.idempotency_key)
        .collect();
    assert_eq!(keys, ["inc-i/L1/1/0/log", "inc-i/L1/0/0/log"]);
}

pub async fn pages_are_committed_with_the_incident_change(test: TestStore) {
    let store = &test.store;
    open_with_pages(
        &test,
        "inc-p",
        vec![
            page("inc-p/a/log", Some("inc-p"), "log", 1_000),
            page("inc-p/a/email", Some("inc-p"), "email", 1_000),
        ],
    )
    .await;
    let pages = store.pages_of_incident("inc-p").await.unwrap();
    assert_eq!(pages.len(), 2);
    assert!(
        pages
            .iter()
            .all(|p| p.state == PageState::Pending && p.attempts == 0)
    );
    assert_eq!(pages[0].payload, serde_json::json!({"key": "inc-p/a/log"}));
}

pub async fn two_concurrent_claimers_never_get_the_same_page(test: TestStore) {
    let store = test.store.clone();
    let pages: Vec<NewPage> = (0..40)
        .map(|n| page(&format!("p{n}"), None, "log", 1_000))
        .collect();
    store.enqueue_pages(&pages).await.unwrap();
    let claim = |token: &'static str| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut claimed = Vec::new();
            loop {
                let batch = store
                    .claim_due_pages("log", 5_000, 65_000, token, 3)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    break;
                }
                claimed.extend(batch.into_iter().map(|p| p.id));
            }
            claimed
        })
    };
    let (first, second) = (claim("a"), claim("b"));
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    let mut all: Vec<i64> = first.iter().chain(second.iter()).copied().collect();
    all.sort();
    let unique: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        40,
        "every page claimed once: {first:?} {second:?}"
    );
    assert_eq!(unique.len(), 40, "no page claimed twice");
    // Other channels' pages are never handed out.
    assert!(
        store
            .claim_due_pages("email", 5_000, 65_000, "c", 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn expired_lease_makes_a_page_claimable_again(test: TestStore) {
    let store = &test.store;
    store
        .enqueue_pages(&[page("crashy", None, "log", 1_000)])
        .await
        .unwrap();
    let first = store
        .claim_due_pages("log", 1_000, 61_000, "worker-1", 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    // worker-1 "crashes": within the lease nobody else gets the page …
    assert!(
        store
            .claim_due_pages("log", 60_999, 120_999, "worker-2", 10)
            .await
            .unwrap()
            .is_empty()
    );
    // … after it, the page is delivered by someone else, with the attempt counted.
    let second = store
        .claim_due_pages("log", 61_000, 121_000, "worker-2", 10)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].attempts, 2);
    assert!(
        store
            .complete_page(
                second[0].id,
                "worker-2",
                &PageOutcome::Sent { at_ms: 61_500 }
            )
            .await
            .unwrap()
    );
    let sent = &store.pages(1).await.unwrap()[0];
    assert_eq!(
        (sent.state, sent.sent_at_ms),
        (PageState::Sent, Some(61_500))
    );
    assert!(
        store
            .claim_due_pages("log", 1_000_000, 1_060_000, "worker-3", 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn retried_pages_wait_for_their_next_attempt(test: TestStore) {
    let store = &test.store;
    store
        .enqueue_pages(&[page("retry", None, "log", 0)])
        .await
        .unwrap();
    let claimed = store
        .claim_due_pages("log", 0, 60_000, "w", 1)
        .await
        .unwrap();
    let retry = PageOutcome::Retry {
        error: "smtp 451".to_owned(),
        next_attempt_at_ms: 10_000,
    };
    assert!(
        store
            .complete_page(claimed[0].id, "w", &retry)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_due_pages("log", 9_999, 70_000, "w", 1)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_due_pages("log", 10_000, 70_000, "w", 1)
        .await
        .unwrap();
    assert_eq!(
        (again[0].attempts, again[0].last_error.as_deref()),
        (2, Some("smtp 451"))
    );
    let failed = PageOutcome::Failed {
        error: "smtp 550".to_owned(),
    };
    assert!(
        store
            .complete_page(again[0].id, "w", &failed)
            .await
            .unwrap()
    );
    let dead = &store.pages(1).await.unwrap()[0];
    assert_eq!(
        (dead.state, dead.last_error.as_deref()),
        (PageState::Failed, Some("smtp 550"))
    );
}

pub async fn lost_claims_cannot_overwrite_the_outcome(test: TestStore) {
    let store = &test.store;
    store
        .enqueue_pages(&[page("slow", None, "log", 0)])
        .await
        .unwrap();
    let old = store
        .claim_due_pages("log", 0, 10, "slow-worker", 1)
        .await
        .unwrap();
    let new = store
        .claim_due_pages("log", 10, 70, "fast-worker", 1)
        .await
        .unwrap();
    assert!(
        store
            .complete_page(new[0].id, "fast-worker", &PageOutcome::Sent { at_ms: 20 })
            .await
            .unwrap()
    );
    let late = PageOutcome::Failed {
        error: "timeout".to_owned(),
    };
    assert!(
        !store
            .complete_page(old[0].id, "slow-worker", &late)
            .await
            .unwrap()
    );
    assert_eq!(store.pages(1).await.unwrap()[0].state, PageState::Sent);
}

pub async fn fallback_candidates_are_marked_once(test: TestStore) {
    let store = &test.store;
    store
        .enqueue_pages(&[
            page("overdue", None, "email", 1_000),
            page("fresh", None, "email", 9_000),
        ])
        .await
        .unwrap();
    let candidates = store.pages_for_fallback(5_000).await.unwrap();
    assert_eq!(
        candidates
            .iter()
            .map(|p| p.idempotency_key.as_str())
            .collect::<Vec<_>>(),
        ["overdue"]
    );
    assert!(store.mark_fallback_done(candidates[0].id).await.unwrap());
    assert!(
        !store.mark_fallback_done(candidates[0].id).await.unwrap(),
        "only once"
    );
    assert!(store.pages_for_fallback(5_000).await.unwrap().is_empty());
}

pub async fn silences_expire(test: TestStore) {
    let store = &test.store;
    let created = store
        .create_silence(&NewSilence {
            matchers: vec![r#"component="bridge""#.to_owned()],
            comment: "bridge upgrade".to_owned(),
            created_by: "alice".to_owned(),
            starts_at_ms: 1_000,
            ends_at_ms: 100_000,
            created_at_ms: 1_000,
        })
        .await
        .unwrap();
    assert!(created.is_active_at(50_000));
    assert_eq!(store.silences().await.unwrap(), vec![created.clone()]);
    let expired = store
        .expire_silence(created.id, 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(expired.ends_at_ms, 60_000);
    assert!(!expired.is_active_at(60_000));
    // Expiring again later does not extend it.
    assert_eq!(
        store
            .expire_silence(created.id, 90_000)
            .await
            .unwrap()
            .unwrap()
            .ends_at_ms,
        60_000
    );
    assert_eq!(
        store.expire_silence(created.id + 1000, 1).await.unwrap(),
        None
    );
}

pub async fn heartbeats_upsert(test: TestStore) {
    let store = &test.store;
    store.record_heartbeat("backup", 1_000).await.unwrap();
    store.record_heartbeat("backup", 2_000).await.unwrap();
    store.record_heartbeat("anchor", 1_500).await.unwrap();
    let seen: Vec<(String, i64)> = store
        .heartbeats()
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.name, h.last_seen_ms))
        .collect();
    assert_eq!(
        seen,
        [("anchor".to_owned(), 1_500), ("backup".to_owned(), 2_000)]
    );
}

fn subscription(id: &str, address: &str) -> super::Subscription {
    super::Subscription {
        id: id.to_owned(),
        kind: super::SubscriptionKind::Email,
        address: address.to_owned(),
        components: Vec::new(),
        requested_components: vec!["bridge".to_owned()],
        state: super::SubscriptionState::Pending,
        generation: 1,
        created_at_ms: 1_000,
        confirm_sent_at_ms: 1_000,
        confirmed_at_ms: None,
        unsubscribed_at_ms: None,
        version: 0,
    }
}

pub async fn subscriptions_round_trip_with_their_confirmation_page(test: TestStore) {
    let store = &test.store;
    let new = subscription("sub-1", "a@example.org");
    let confirmation = page("sub-1/confirm/1", None, "status-email", 1_000);
    store
        .create_subscription(&new, std::slice::from_ref(&confirmation))
        .await
        .unwrap();
    assert_eq!(
        store.subscription("sub-1").await.unwrap(),
        Some(new.clone())
    );
    assert_eq!(
        store
            .subscription_by_address(super::SubscriptionKind::Email, "a@example.org")
            .await
            .unwrap()
            .map(|s| s.id),
        Some("sub-1".to_owned())
    );
    assert!(
        store
            .subscription_by_address(super::SubscriptionKind::Webhook, "a@example.org")
            .await
            .unwrap()
            .is_none()
    );
    let claimed = store
        .claim_due_pages("status-email", 1_000, 9_000, "t", 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].idempotency_key, "sub-1/confirm/1");

    // The same address twice is a conflict, and nothing of the losing request is kept.
    let twin = subscription("sub-2", "a@example.org");
    let error = store
        .create_subscription(
            &twin,
            &[page("sub-2/confirm/1", None, "status-email", 1_000)],
        )
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Conflict(_)), "{error}");
    assert_eq!(store.outbox_backlog().await.unwrap().pending, 1);

    // Updates are versioned: a stale writer loses.
    let mut confirmed = new.clone();
    confirmed.state = super::SubscriptionState::Confirmed;
    confirmed.components = vec!["bridge".to_owned()];
    confirmed.confirmed_at_ms = Some(2_000);
    store.update_subscription(&confirmed, &[]).await.unwrap();
    let stale = store.update_subscription(&new, &[]).await.unwrap_err();
    assert!(matches!(stale, StoreError::Conflict(_)), "{stale}");
    let stored = store.subscription("sub-1").await.unwrap().unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.state, super::SubscriptionState::Confirmed);
    assert!(stored.follows("bridge") && !stored.follows("peg"));

    store
        .create_subscription(&subscription("sub-3", "b@example.org"), &[])
        .await
        .unwrap();
    let confirmed_only: Vec<String> = store
        .subscriptions_in_state(super::SubscriptionState::Confirmed)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(confirmed_only, ["sub-1"]);
    assert_eq!(store.subscriptions(10).await.unwrap().len(), 2);
}

pub async fn outbox_backlog_counts_pending_pages_and_the_oldest(test: TestStore) {
    let store = &test.store;
    let backlog = |pending, oldest_pending_ms, failed| super::OutboxBacklog {
        pending,
        oldest_pending_ms,
        failed,
    };
    assert_eq!(store.outbox_backlog().await.unwrap(), backlog(0, None, 0));
    let mut first = page("k1", None, "log", 5_000);
    first.created_at_ms = 4_000;
    let mut second = page("k2", None, "log", 9_000);
    second.created_at_ms = 8_000;
    store.enqueue_pages(&[first, second]).await.unwrap();
    assert_eq!(
        store.outbox_backlog().await.unwrap(),
        backlog(2, Some(4_000), 0)
    );
    let claimed = store
        .claim_due_pages("log", 6_000, 60_000, "t", 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    store
        .complete_page(
            claimed[0].id,
            "t",
            &PageOutcome::Failed {
                error: "410 gone".to_owned(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.outbox_backlog().await.unwrap(),
        backlog(1, Some(8_000), 1)
    );
}

pub async fn one_member_holds_the_lease_until_it_lapses_or_is_released(test: TestStore) {
    let store = &test.store;
    assert!(
        store
            .take_lease("leader", "a", 1_000, 11_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_lease("leader", "b", 2_000, 12_000)
            .await
            .unwrap()
    );
    // The holder renews; the start of its leadership stays.
    assert!(
        store
            .take_lease("leader", "a", 5_000, 15_000)
            .await
            .unwrap()
    );
    let lease = store.lease("leader").await.unwrap().unwrap();
    assert_eq!(
        (
            lease.holder.as_str(),
            lease.lease_until_ms,
            lease.acquired_at_ms
        ),
        ("a", 15_000, 1_000)
    );
    assert!(
        !store
            .take_lease("leader", "b", 14_999, 24_999)
            .await
            .unwrap()
    );
    // Lapsed: the next candidate takes it.
    assert!(
        store
            .take_lease("leader", "b", 15_001, 25_001)
            .await
            .unwrap()
    );
    assert!(
        !store
            .take_lease("leader", "a", 16_000, 26_000)
            .await
            .unwrap()
    );
    assert_eq!(
        store.lease("leader").await.unwrap().unwrap().acquired_at_ms,
        15_001
    );
    // Released: free at once; releasing a lease one does not hold changes nothing.
    store.release_lease("leader", "a").await.unwrap();
    assert_eq!(store.lease("leader").await.unwrap().unwrap().holder, "b");
    store.release_lease("leader", "b").await.unwrap();
    assert!(
        store
            .take_lease("leader", "a", 17_000, 27_000)
            .await
            .unwrap()
    );

    // Many candidates at once: exactly one wins.
    let mut racers = Vec::new();
    for n in 0..8 {
        let store = store.clone();
        racers.push(tokio::spawn(async move {
            store
                .take_lease("race", &format!("m{n}"), 1_000, 11_000)
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for racer in racers {
        winners += usize::from(racer.await.unwrap());
    }
    assert_eq!(winners, 1);
}

pub async fn members_heartbeat_and_silent_ones_are_forgotten(test: TestStore) {
    let store = &test.store;
    let member = |id: &str, heartbeat: i64| super::ClusterMember {
        id: id.to_owned(),
        addr: format!("{id}:8080"),
        started_at_ms: 1_000,
        last_heartbeat_ms: heartbeat,
        targets: 4,
    };
    store.heartbeat_member(&member("a", 5_000)).await.unwrap();
    store.heartbeat_member(&member("b", 2_000)).await.unwrap();
    store.heartbeat_member(&member("a", 9_000)).await.unwrap();
    let ids =
        |members: Vec<super::ClusterMember>| members.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(ids(store.cluster_members(0).await.unwrap()), ["a", "b"]);
    assert_eq!(ids(store.cluster_members(3_000).await.unwrap()), ["a"]);
    assert_eq!(
        store.cluster_members(0).await.unwrap()[0].last_heartbeat_ms,
        9_000
    );
    store.heartbeat_member(&member("c", 9_500)).await.unwrap();
    store.remove_member("a", 3_000).await.unwrap();
    assert_eq!(ids(store.cluster_members(0).await.unwrap()), ["c"]);
}

pub async fn the_first_shared_secret_wins(test: TestStore) {
    let store = &test.store;
    assert_eq!(
        store.shared_secret("link-key", "first", 1).await.unwrap(),
        "first"
    );
    assert_eq!(
        store.shared_secret("link-key", "second", 2).await.unwrap(),
        "first"
    );
    assert_eq!(store.shared_secret("other", "x", 3).await.unwrap(), "x");
}

pub async fn chain_checkpoints_replace_the_previous_one(test: TestStore) {
    let store = &test.store;
    assert_eq!(store.chain_checkpoint("main").await.unwrap(), None);
    store
        .save_chain_checkpoint("main", 10, "0xaa", r#"{"block":10}"#, 1)
        .await
        .unwrap();
    store
        .save_chain_checkpoint("main", 11, "0xbb", r#"{"block":11}"#, 2)
        .await
        .unwrap();
    store
        .save_chain_checkpoint("other", 5, "0xcc", r#"{"block":5}"#, 3)
        .await
        .unwrap();
    assert_eq!(
        store.chain_checkpoint("main").await.unwrap().as_deref(),
        Some(r#"{"block":11}"#)
    );
    assert_eq!(
        store.chain_checkpoint("other").await.unwrap().as_deref(),
        Some(r#"{"block":5}"#)
    );
}
