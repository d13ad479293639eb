//! The emergency pause, its quorum and audit chain; runbooks that act; health-check rounds by API.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{TestApp, eventually, module, spawn_app_with};

fn tokens_toml() -> &'static str {
    "[[tokens]]\nname='guard'\nrole='guardian'\ntoken_env='T_GUARD'\n\
     [[tokens]]\nname='reader'\nrole='viewer'\ntoken_env='T_VIEW'\n\
     [[tokens]]\nname='gov-a'\nrole='governor'\ntoken_env='T_GOV_A'\n\
     [[tokens]]\nname='gov-b'\nrole='governor'\ntoken_env='T_GOV_B'\n\
     [[tokens]]\nname='ops'\nrole='admin'\ntoken_env='T_ADMIN'\n"
}

async fn app_with_tokens() -> TestApp {
    let env: HashMap<String, String> = [
        ("T_GUARD", "guardian-token-000001"),
        ("T_VIEW", "viewer-token-0000001"),
        ("T_GOV_A", "governor-a-token-001"),
        ("T_GOV_B", "governor-b-token-001"),
        ("T_ADMIN", "admin-token-00000001"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    spawn_app_with(
        |settings| {
            settings.tokens = toml::from_str::<vigil::config::Settings>(tokens_toml())
                .unwrap()
                .tokens;
            settings.pause.unpause_quorum = 2;
        },
        env,
    )
    .await
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = app.http.post(app.url(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn pause_needs_a_guardian_and_unpause_needs_a_quorum_of_distinct_governors() {
    let app = app_with_tokens().await;
    let body = json!({"module": "escrow", "reason": "drill"});
    assert_eq!(post(&app, "/api/v1/pause", None, body.clone()).await.0, 401);
    assert_eq!(
        post(
            &app,
            "/api/v1/pause",
            Some("viewer-token-0000001"),
            body.clone()
        )
        .await
        .0,
        403
    );
    let (status, paused) = post(
        &app,
        "/api/v1/pause",
        Some("guardian-token-000001"),
        body.clone(),
    )
    .await;
    assert_eq!((status, &paused["paused"]), (200, &json!(true)), "{paused}");
    assert!(
        app.core
            .as_ref()
            .unwrap()
            .lock()
            .modules()
            .iter()
            .any(|m| m.name == "escrow" && m.paused)
    );

    let (status, first) = post(
        &app,
        "/api/v1/unpause",
        Some("governor-a-token-001"),
        body.clone(),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        (first["state"].as_str(), first["quorum"].as_u64()),
        (Some("pending"), Some(2))
    );
    let (_, again) = post(
        &app,
        "/api/v1/unpause",
        Some("governor-a-token-001"),
        body.clone(),
    )
    .await;
    assert_eq!(
        again["state"], "pending",
        "the same governor twice counts once: {again}"
    );
    assert_eq!(again["approvals"].as_array().unwrap().len(), 1);
    assert!(
        app.core
            .as_ref()
            .unwrap()
            .lock()
            .modules()
            .iter()
            .any(|m| m.name == "escrow" && m.paused),
        "still paused"
    );
    assert_eq!(
        post(
            &app,
            "/api/v1/unpause",
            Some("admin-token-00000001"),
            body.clone()
        )
        .await
        .0,
        403,
        "only governors approve"
    );
    let (_, done) = post(
        &app,
        "/api/v1/unpause",
        Some("governor-b-token-001"),
        body.clone(),
    )
    .await;
    assert_eq!(done["state"], "done", "{done}");
    assert!(
        app.core
            .as_ref()
            .unwrap()
            .lock()
            .modules()
            .iter()
            .any(|m| m.name == "escrow" && !m.paused)
    );

    let log = app
        .http
        .get(app.url("/api/v1/pauses"))
        .bearer_auth("viewer-token-0000001")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(log["chain_ok"], true, "{log}");
    let entries = log["entries"].as_array().unwrap();
    assert!(
        entries.len() >= 5,
        "requests, refusals and approvals are all audited: {log}"
    );
    assert!(
        entries
            .iter()
            .all(|entry| entry["hash"].is_string() && entry.get("prev_hash").is_some())
    );

    // Tampering with one audit row breaks the chain.
    let data_dir = app.stop().await;
    let url = format!("sqlite://{}", data_dir.path().join("vigil.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("update pause_audit set reason = 'nothing happened' where rowid = (select min(rowid) from pause_audit)").execute(&pool).await.unwrap();
    pool.close().await;
    let store = responder::connect(&url).await.unwrap();
    let reopened = vigil::config::Settings::default();
    let responder = responder::Responder::builder(store.clone(), reopened.responder_config())
        .build()
        .unwrap();
    let service = responder::pause::PauseService::new(
        responder,
        std::sync::Arc::new(NoBackend),
        responder::pause::PauseConfig::default(),
    )
    .unwrap();
    assert!(
        !service.audit_log().await.unwrap().chain_ok,
        "an altered row must show"
    );
    store.close().await;
}

struct NoBackend;

#[async_trait::async_trait]
impl responder::pause::PauseBackend for NoBackend {
    fn name(&self) -> &str {
        "none"
    }
    async fn pause(
        &self,
        module: &str,
    ) -> Result<responder::pause::BackendReceipt, responder::pause::BackendError> {
        Err(responder::pause::BackendError::UnknownModule(module.into()))
    }
    async fn unpause(
        &self,
        module: &str,
    ) -> Result<responder::pause::BackendReceipt, responder::pause::BackendError> {
        Err(responder::pause::BackendError::UnknownModule(module.into()))
    }
    async fn is_paused(&self, _module: &str) -> Result<bool, responder::pause::BackendError> {
        Ok(false)
    }
}

#[tokio::test]
async fn exploit_drain_is_detected_paged_and_paused_by_the_runbook_and_the_loss_is_reported() {
    let app = spawn_app_with(
        |settings| {
            settings.core.slot_ms = 6000;
            settings.core.price_tick = model::HumanDuration::from_secs(1);
            settings.runbooks.dir = concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks").into();
        },
        HashMap::new(),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (status, _) = app
        .post_json(
            "/api/v1/core/scenarios",
            &json!({"name": "exploit-drain", "action": "start"}),
        )
        .await;
    assert_eq!(status, 200);
    let incident = eventually(
        Duration::from_secs(40),
        "the runbook to pause the bridge",
        || async {
            let list = app.get_json("/api/v1/incidents?state=open").await;
            let id = list["incidents"]
                .as_array()?
                .iter()
                .find(|incident| incident["level"] == "L1")?["id"]
                .as_str()?
                .to_owned();
            let detail = app.get_json(&format!("/api/v1/incidents/{id}")).await;
            let text = detail["timeline"].to_string();
            (text.contains("pause_module") && text.contains("value lost")).then_some(detail)
        },
    )
    .await;
    assert_eq!(incident["component"], "bridge");
    assert!(
        incident["runbook"]
            .as_str()
            .unwrap_or_default()
            .contains("exploit"),
        "{incident}"
    );
    let kinds: Vec<&str> = incident["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["kind"].as_str().unwrap())
        .collect();
    for kind in ["detected", "paged", "action"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let bridge = module(&app.get_json("/api/v1/core").await, "bridge").clone();
    assert_eq!(bridge["paused"], true);
    tokio::time::sleep(Duration::from_secs(7)).await;
    let later = module(&app.get_json("/api/v1/core").await, "bridge").clone();
    assert_eq!(
        later["value_locked"], bridge["value_locked"],
        "the bridge's value stops falling once paused"
    );
    let audit = app.get_json("/api/v1/pauses").await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["module"] == "bridge"
                && entry["action"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("auto")),
        "{audit}"
    );
    assert_eq!(audit["chain_ok"], true);
    app.stop().await;
}

#[tokio::test]
async fn the_morning_round_backs_up_and_restores_and_a_failing_check_opens_an_incident() {
    let app = spawn_app_with(|_| {}, HashMap::new()).await;
    eventually(
        Duration::from_secs(10),
        "every core target to be scraped once",
        || async {
            let targets = app.get_json("/api/v1/targets").await;
            targets["targets"]
                .as_array()?
                .iter()
                .all(|target| target["up"] == true)
                .then_some(())
        },
    )
    .await;
    let (status, run) = app
        .post_json("/api/v1/healthchecks/morning/run", &json!({}))
        .await;
    assert_eq!(status, 200, "{run}");
    let text = run.to_string();
    assert!(text.contains("backup") && text.contains("restore"), "{run}");
    assert_eq!(
        run["ok"], true,
        "a healthy core passes the morning round: {run}"
    );
    let runs = app.get_json("/api/v1/healthchecks").await;
    assert!(!runs["runs"].as_array().unwrap().is_empty());
    assert!(
        runs["runs"][0]["digest"]
            .as_str()
            .is_some_and(|digest| !digest.is_empty()),
        "{runs}"
    );
    assert!(
        std::fs::read_dir(app.data_dir.path())
            .unwrap()
            .flatten()
            .any(|entry| entry.file_name() == "backups"),
        "a backup is written under the data dir"
    );
    let (status, _) = app
        .post_json("/api/v1/healthchecks/brunch/run", &json!({}))
        .await;
    assert_eq!(status, 404);

    // A depeg makes the peg-band check fail: that opens an incident.
    app.post_json(
        "/api/v1/core/scenarios",
        &json!({"name": "depeg", "action": "start"}),
    )
    .await;
    eventually(
        Duration::from_secs(8),
        "the depeg to be scraped",
        || async {
            let series = app
                .get_json("/api/v1/series?match=peg_deviation_percent")
                .await;
            let last = series["series"][0]["points"].as_array()?.last()?[1].as_f64()?;
            (last.abs() > 2.0).then_some(())
        },
    )
    .await;
    let suites = ["morning", "midday", "evening", "night"];
    let mut failing = None;
    for suite in suites {
        let (_, run) = app
            .post_json(&format!("/api/v1/healthchecks/{suite}/run"), &json!({}))
            .await;
        if run["ok"] == false {
            failing = Some(run);
            break;
        }
    }
    let failing = failing.expect("a suite with a peg check fails during a depeg");
    let incidents = app.get_json("/api/v1/incidents?state=open").await;
    assert!(
        incidents["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|incident| incident["title"]
                .as_str()
                .unwrap_or_default()
                .contains("healthcheck")
                || incident.to_string().contains("healthcheck")),
        "a failing check opens an incident: {incidents}\n{failing}"
    );
    app.stop().await;
}

/// The value of an unlabelled metric in `/metrics`.
async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| {
            let (key, value) = line.split_once(' ')?;
            (key == name).then(|| value.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("{name} not in /metrics"))
}

#[tokio::test]
async fn the_audit_log_size_and_chain_check_are_metrics_so_prometheus_can_anchor_them() {
    let app = spawn_app_with(|_| {}, HashMap::new()).await;
    let (status, body) = app
        .post_json(
            "/api/v1/pause",
            &json!({"module": "auction", "reason": "suspicious bids"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(metric(&app, "vigil_audit_entries").await >= 1.0);
    assert_eq!(metric(&app, "vigil_audit_chain_ok").await, 1.0);
    assert_eq!(metric(&app, "vigil_cluster_leader").await, 1.0);
    let (status, _) = app
        .post_json(
            "/api/v1/incidents",
            &json!({"title": "auction bids", "level": "L2", "component": "auction"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        metric(
            &app,
            r#"vigil_incidents_open{level="L2",state="triggered"}"#
        )
        .await,
        1.0
    );
    assert_eq!(
        metric(
            &app,
            r#"vigil_incidents_open{level="L1",state="triggered"}"#
        )
        .await,
        0.0
    );
    app.responder
        .store()
        .execute_for_tests("update pause_audit set reason = 'nothing happened'")
        .await
        .unwrap();
    assert_eq!(
        metric(&app, "vigil_audit_chain_ok").await,
        0.0,
        "an altered row shows in /metrics"
    );
    app.stop().await;
}
