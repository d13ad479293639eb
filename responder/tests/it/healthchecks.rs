//! Health-check suites: a run by API method (backup + restore test on both backends, digest stored and
//! sent), a failing check opening an incident, cron parsing with a time zone.

use std::sync::Arc;

use model::{HasKind, SeriesKey};
use responder::healthchecks::{
    CheckConfig, CheckData, HealthcheckService, HealthcheckSuiteConfig, next_run_ms, validate,
};
use responder::store::testsuite::{TestStore, open_postgres_from_env, open_sqlite};
use responder::{Responder, ResponderConfig};

struct FakeData {
    targets: Vec<(String, bool, Option<String>)>,
    peg: f64,
}

impl CheckData for FakeData {
    fn latest(&self, selector: &str) -> Vec<(SeriesKey, f64)> {
        match selector {
            "peg_deviation_percent" => vec![(SeriesKey::new("peg_deviation_percent"), self.peg)],
            _ => Vec::new(),
        }
    }
    fn targets_up(&self) -> Vec<(String, bool, Option<String>)> {
        self.targets.clone()
    }
}

fn healthy() -> Arc<FakeData> {
    Arc::new(FakeData {
        targets: vec![("core".into(), true, None)],
        peg: 0.3,
    })
}

fn suite(name: &str, checks: Vec<CheckConfig>) -> HealthcheckSuiteConfig {
    HealthcheckSuiteConfig {
        name: name.into(),
        cron: "0 0 6 * * *".into(),
        time_zone: "UTC".into(),
        checks,
        level: model::Level::L2,
        digest_channel: Some("log".into()),
    }
}

async fn morning_backs_up_and_restores(store: TestStore) {
    let dir = tempfile::tempdir().unwrap();
    let responder = Responder::builder(store.store.clone(), ResponderConfig::default())
        .ack_secret("test")
        .build()
        .unwrap();
    // Some rows to copy.
    responder
        .create_incident(
            &responder::NewIncidentInput {
                title: "disk filling".into(),
                level: model::Level::L3,
                component: "storage".into(),
                summary: String::new(),
                runbook: None,
            },
            "test",
        )
        .await
        .unwrap();
    let morning = suite(
        "morning",
        vec![
            CheckConfig::TargetsUp,
            CheckConfig::Peg {
                selector: "peg_deviation_percent".into(),
                band_percent: 2.0,
            },
            CheckConfig::Backup {
                dir: dir.path().join("backups"),
            },
        ],
    );
    let service = HealthcheckService::new(responder.clone(), healthy(), vec![morning]).unwrap();
    let run = service.run_suite_now("morning").await.unwrap();
    assert!(run.ok, "{run:#?}");
    let backup = run.results.iter().find(|r| r.check == "backup").unwrap();
    assert!(backup.detail.contains("restored read-only"), "{backup:?}");
    assert!(backup.detail.contains("incidents 1"), "{backup:?}");
    let files: Vec<_> = std::fs::read_dir(dir.path().join("backups"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(std::fs::metadata(&files[0]).unwrap().len() > 0);

    let runs = service.list_runs().await.unwrap().runs;
    assert_eq!(runs.len(), 1);
    assert!(
        runs[0].digest.contains("health checks morning"),
        "{}",
        runs[0].digest
    );
    assert!(
        runs[0].digest.contains("3 of 3 passed"),
        "{}",
        runs[0].digest
    );
    let pages = responder.list_pages().await.unwrap().pages;
    assert!(
        pages
            .iter()
            .any(|page| page.action == "digest" && page.channel == "log"),
        "{pages:#?}"
    );
}

#[tokio::test]
async fn morning_backs_up_and_restores_sqlite() {
    morning_backs_up_and_restores(open_sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn morning_backs_up_and_restores_postgres() {
    let Some(store) = open_postgres_from_env("VIGIL_TEST_POSTGRES_URL").await else {
        eprintln!("skipped: set VIGIL_TEST_POSTGRES_URL");
        return;
    };
    morning_backs_up_and_restores(store).await;
}

#[tokio::test]
async fn a_failing_check_opens_one_incident_at_the_suite_level() {
    let store = open_sqlite().await.unwrap();
    let responder = Responder::builder(store.store.clone(), ResponderConfig::default())
        .ack_secret("test")
        .build()
        .unwrap();
    let data = Arc::new(FakeData {
        targets: vec![
            ("core".into(), true, None),
            ("rpc-eu".into(), false, Some("connection refused".into())),
        ],
        peg: 3.5,
    });
    let checks = vec![
        CheckConfig::TargetsUp,
        CheckConfig::Peg {
            selector: "peg_deviation_percent".into(),
            band_percent: 2.0,
        },
    ];
    let service =
        HealthcheckService::new(responder.clone(), data, vec![suite("midday", checks)]).unwrap();
    let run = service.run_suite_now("midday").await.unwrap();
    assert!(!run.ok);
    assert!(
        run.results[0]
            .detail
            .contains("rpc-eu (connection refused)"),
        "{run:#?}"
    );
    assert!(run.results[1].detail.contains("outside ±2%"), "{run:#?}");
    let incident_id = run.results[0].incident_id.clone().expect("an incident");
    let incident = responder.get_incident(&incident_id).await.unwrap().incident;
    assert_eq!(incident.level, model::Level::L2);
    assert_eq!(incident.component, "targets");

    // Running again folds into the same open incidents instead of opening new ones.
    let again = service.run_suite_now("midday").await.unwrap();
    assert_eq!(
        again.results[0].incident_id.as_deref(),
        Some(incident_id.as_str())
    );
    let open = responder
        .list_incidents(responder::store::IncidentFilter::Open)
        .await
        .unwrap();
    assert_eq!(open.incidents.len(), 2, "{open:#?}");

    let error = service.run_suite_now("nope").await.unwrap_err();
    assert_eq!(error.kind(), model::ErrorKind::NotFound);
}

#[test]
fn cron_is_read_in_the_suite_time_zone() {
    // 2026-01-01T00:00:00Z; 06:00 in Berlin (UTC+1 in winter) is 05:00Z, in UTC 06:00Z.
    let t0 = 1_767_225_600_000;
    assert_eq!(
        next_run_ms("0 0 6 * * *", "Europe/Berlin", t0).unwrap(),
        t0 + 5 * 3_600_000
    );
    assert_eq!(
        next_run_ms("0 0 6 * * *", "UTC", t0).unwrap(),
        t0 + 6 * 3_600_000
    );
    let mut bad = suite("x", vec![CheckConfig::TargetsUp]);
    bad.cron = "0 6 * * *".into();
    bad.time_zone = "Mars/Olympus".into();
    let problems = validate(&[bad], "healthchecks");
    let paths: Vec<_> = problems.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        paths,
        ["healthchecks[0].cron", "healthchecks[0].time_zone"],
        "{problems:?}"
    );
    assert!(problems[0].1.contains("6 fields"));
}

#[tokio::test]
async fn the_scheduler_starts_and_stops_on_cancel() {
    let store = open_sqlite().await.unwrap();
    let responder = Responder::builder(store.store.clone(), ResponderConfig::default())
        .ack_secret("test")
        .build()
        .unwrap();
    let service = HealthcheckService::new(
        responder,
        healthy(),
        HealthcheckSuiteConfig::defaults(std::path::Path::new("/tmp/unused")),
    )
    .unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let task = service.start_scheduler(cancel.clone()).await.unwrap();
    cancel.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(10), task)
        .await
        .expect("scheduler stops on cancel")
        .unwrap();
}

#[tokio::test]
async fn with_two_members_only_the_leader_runs_the_scheduled_round() {
    use responder::cluster::{Cluster, ClusterConfig};
    let store = open_sqlite().await.unwrap();
    let responder = Responder::builder(store.store.clone(), ResponderConfig::default())
        .ack_secret("test")
        .build()
        .unwrap();
    let member = |id: &str| {
        Cluster::new(
            store.store.clone(),
            Arc::new(responder::SystemClock),
            ClusterConfig {
                node_id: Some(id.into()),
                ..ClusterConfig::default()
            },
            "127.0.0.1:0",
        )
    };
    let (leader, follower) = (member("a"), member("b"));
    assert!(leader.tick().await.unwrap());
    assert!(!follower.tick().await.unwrap());
    let service = |cluster: Cluster| {
        HealthcheckService::new(
            responder.clone(),
            healthy(),
            vec![suite("midday", vec![CheckConfig::TargetsUp])],
        )
        .unwrap()
        .leader_only(cluster)
    };
    let (on_leader, on_follower) = (service(leader), service(follower));
    assert!(!on_follower.run_scheduled("midday").await);
    assert!(on_follower.list_runs().await.unwrap().runs.is_empty());
    assert!(on_leader.run_scheduled("midday").await);
    assert_eq!(on_leader.list_runs().await.unwrap().runs.len(), 1);
    // Asked for by hand, a round runs on any member.
    on_follower.run_suite_now("midday").await.unwrap();
    assert_eq!(on_leader.list_runs().await.unwrap().runs.len(), 2);
}
