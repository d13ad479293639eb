//! The embedded core through Vigil's API: state, fault scenarios, bad input, metrics, auth, storage.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use crate::support::{eventually, module, spawn_app, spawn_app_with};

#[tokio::test]
async fn core_state_shows_a_growing_chain_five_validators_a_pegged_price_and_five_unpaused_modules()
{
    let app = spawn_app().await;
    let first = app.get_json("/api/v1/core").await;
    let later = eventually(Duration::from_secs(5), "the height to grow", || async {
        let now = app.get_json("/api/v1/core").await;
        (now["height"].as_u64()? >= first["height"].as_u64()? + 3).then_some(now)
    })
    .await;
    assert_eq!(later["validators"].as_array().unwrap().len(), 5);
    assert!(
        later["validators"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["online"] == true && v["id"].is_string())
    );
    assert!(
        (later["price"].as_f64().unwrap() - 1.0).abs() < 0.01,
        "price {}",
        later["price"]
    );
    assert_eq!(later["peg_target"], 1.0);
    assert_eq!(later["slot_ms"], 100);
    let modules: Vec<&str> = later["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        modules,
        ["bridge", "escrow", "auction", "staking", "registry"]
    );
    assert!(
        later["modules"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["paused"] == false && m["value_locked"].as_f64().unwrap() > 0.0)
    );
    assert_eq!(later["scenarios"].as_array().unwrap().len(), 9);
    app.stop().await;
}

#[tokio::test]
async fn exploit_drain_empties_the_bridge_until_stopped_and_the_command_is_recorded() {
    let app = spawn_app().await;
    let before = module(&app.get_json("/api/v1/core").await, "bridge")["value_locked"]
        .as_f64()
        .unwrap();
    let (status, body) = app
        .post_json(
            "/api/v1/core/scenarios",
            &json!({"name": "exploit-drain", "action": "start"}),
        )
        .await;
    assert_eq!(
        (status, &body),
        (
            200,
            &json!({"name": "exploit-drain", "active": true, "changed": true})
        )
    );

    let drained = eventually(Duration::from_secs(5), "the bridge to lose 20%", || async {
        let value =
            module(&app.get_json("/api/v1/core").await, "bridge")["value_locked"].as_f64()?;
        (value < before * 0.8).then_some(value)
    })
    .await;
    let (status, _) = app
        .post_json(
            "/api/v1/core/scenarios",
            &json!({"name": "exploit-drain", "action": "stop"}),
        )
        .await;
    assert_eq!(status, 200);
    let stopped_at = module(&app.get_json("/api/v1/core").await, "bridge")["outflow_total"]
        .as_f64()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let core = app.get_json("/api/v1/core").await;
    assert_eq!(
        module(&core, "bridge")["outflow_total"].as_f64().unwrap(),
        stopped_at,
        "no outflow after the stop"
    );
    assert!(drained < before);

    let log = core["scenario_log"].as_array().unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(
        (log[0]["action"].as_str(), log[1]["action"].as_str()),
        (Some("stop"), Some("start"))
    );
    assert_eq!(log[1]["scenario"], "exploit-drain");
    assert_eq!(log[1]["params"]["module"], "bridge");
    app.stop().await;
}

#[tokio::test]
async fn a_paused_module_stops_losing_value_under_the_drain() {
    let app = spawn_app().await;
    app.post_json(
        "/api/v1/core/scenarios",
        &json!({"name": "exploit-drain", "action": "start"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    app.core.as_ref().unwrap().pause("bridge").unwrap();
    let paused = module(&app.get_json("/api/v1/core").await, "bridge").clone();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let later = module(&app.get_json("/api/v1/core").await, "bridge").clone();
    assert_eq!(later["paused"], true);
    assert_eq!(later["value_locked"], paused["value_locked"]);
    assert!(later["rejected_total"].as_u64().unwrap() > paused["rejected_total"].as_u64().unwrap());
    app.stop().await;
}

#[tokio::test]
async fn bad_scenario_requests_get_clear_errors_and_change_nothing() {
    let app = spawn_app().await;
    let cases = [
        (
            r#"{"name":"rug-pull","action":"start"}"#,
            404,
            "unknown scenario \"rug-pull\"",
        ),
        (
            r#"{"name":"depeg","action":"go"}"#,
            400,
            "action: unknown variant `go`",
        ),
        (r#"{"name":"depeg""#, 400, "malformed JSON"),
        (r#"{"action":"start"}"#, 400, "missing field `name`"),
        (
            r#"{"name":"depeg","action":"start","modul":"bridge"}"#,
            400,
            "unknown field `modul`",
        ),
        (
            r#"{"name":"exploit-drain","action":"start","module":"vault"}"#,
            404,
            "unknown module \"vault\"",
        ),
        (
            r#"{"name":"validator-outage","action":"start","validator":"v9"}"#,
            404,
            "unknown validator \"v9\"",
        ),
    ];
    for (body, expected_status, expected_text) in cases {
        let (status, reply) = app.post_raw("/api/v1/core/scenarios", body).await;
        assert_eq!(status, expected_status, "{body} -> {reply}");
        let message = reply["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(expected_text),
            "{body}: {message:?} lacks {expected_text:?}"
        );
        assert!(reply["error"]["code"].is_string());
    }
    let core = app.get_json("/api/v1/core").await;
    assert!(
        core["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["active"] == false)
    );
    assert_eq!(
        core["scenario_log"],
        json!([]),
        "refused commands leave no record"
    );
    let (status, reply) = app.post_raw("/api/v1/nope", "{}").await;
    assert_eq!(
        (status, reply["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    app.stop().await;
}

#[tokio::test]
async fn metrics_are_valid_exposition_text() {
    let app = spawn_app().await;
    app.get_json("/api/v1/core").await;
    for path in ["/metrics", "/core/metrics"] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text")
        );
        let text = response.text().await.unwrap();
        assert!(text.ends_with("# EOF\n"), "{path} must end with # EOF");
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let scrape = prometheus_parse::Scrape::parse(lines.into_iter().map(Ok))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(!scrape.samples.is_empty(), "{path} has samples");
        if path == "/metrics" {
            assert!(
                scrape
                    .samples
                    .iter()
                    .any(|s| s.metric == "vigil_http_requests_total")
            );
            assert!(
                scrape
                    .samples
                    .iter()
                    .any(|s| s.metric == "vigil_build_info")
            );
        } else {
            assert!(
                scrape
                    .samples
                    .iter()
                    .any(|s| s.metric == "core_module_value_locked")
            );
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get_json("/healthz").await["status"], "ok");
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["checks"]["store"], "ok");
    assert_eq!(ready["status"], "ready");
    app.stop().await;
}

#[tokio::test]
async fn with_tokens_configured_scenarios_need_an_admin_token() {
    let mut env = HashMap::new();
    env.insert(
        "ADMIN_TOKEN".to_owned(),
        "admin-token-0123456789".to_owned(),
    );
    env.insert(
        "VIEWER_TOKEN".to_owned(),
        "viewer-token-0123456789".to_owned(),
    );
    let app = spawn_app_with(
        |settings| {
            settings.tokens = toml::from_str::<vigil::config::Settings>(
                "[[tokens]]\nname='ops'\nrole='admin'\ntoken_env='ADMIN_TOKEN'\n[[tokens]]\nname='reader'\nrole='viewer'\ntoken_env='VIEWER_TOKEN'\n",
            )
            .unwrap()
            .tokens;
        },
        env,
    )
    .await;
    let command = json!({"name": "depeg", "action": "start"});
    let url = app.url("/api/v1/core/scenarios");
    let anonymous = app.http.post(&url).json(&command).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let viewer = app
        .http
        .post(&url)
        .bearer_auth("viewer-token-0123456789")
        .json(&command)
        .send()
        .await
        .unwrap();
    assert_eq!(viewer.status(), 403);
    let wrong = app
        .http
        .post(&url)
        .bearer_auth("admin-token-012345678X")
        .json(&command)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let admin = app
        .http
        .post(&url)
        .bearer_auth("admin-token-0123456789")
        .json(&command)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    // Public endpoints stay open; the core state needs at least a viewer.
    assert_eq!(
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.http
            .get(app.url("/core/price"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.http
            .get(app.url("/api/v1/core"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let state = app
        .http
        .get(app.url("/api/v1/core"))
        .bearer_auth("viewer-token-0123456789")
        .send()
        .await
        .unwrap();
    let state: serde_json::Value = state.json().await.unwrap();
    assert_eq!(state["scenario_log"][0]["actor"], "ops");
    app.stop().await;
}

#[tokio::test]
async fn scenario_records_are_stored_in_postgres_when_configured() {
    let Some(database) = crate::support::ScratchDatabase::create("vigil_e2e").await else {
        return;
    };
    let app = spawn_app_with(
        |settings| settings.storage.database_url = Some(database.url.clone()),
        HashMap::new(),
    )
    .await;
    assert_eq!(app.get_json("/readyz").await["checks"]["store"], "ok");
    let (status, _) = app
        .post_json(
            "/api/v1/core/scenarios",
            &json!({"name": "block-stall", "action": "start"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.get_json("/api/v1/core").await["scenario_log"][0]["scenario"],
        "block-stall"
    );
    app.stop().await;
    database.drop_now().await;
}
