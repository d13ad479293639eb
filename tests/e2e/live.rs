//! The live loop at default scrape settings: the core's faults are scraped through the ordinary target
//! kinds, detected, classified and turned into incidents.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{TestApp, eventually, spawn_app_with};

/// The default core (6 s slots) and the default 5 s scrape interval: what `vigil run` does.
async fn default_loop_app() -> TestApp {
    spawn_app_with(
        |settings| {
            settings.core.slot_ms = 6000;
            settings.core.price_tick = model::HumanDuration::from_secs(1);
        },
        Default::default(),
    )
    .await
}

async fn start(app: &TestApp, scenario: &str) {
    let (status, body) = app
        .post_json(
            "/api/v1/core/scenarios",
            &json!({"name": scenario, "action": "start"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn wait_for_signal(
    app: &TestApp,
    patience: Duration,
    what: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    eventually(patience, what, || async {
        let signals = app.get_json("/api/v1/signals").await;
        signals["signals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|signal| signal["active"] == true && wanted(signal))
            .cloned()
    })
    .await
}

#[tokio::test]
async fn depeg_yields_an_l2_signal_naming_the_peg_series_within_three_scrape_intervals() {
    let app = default_loop_app().await;
    // Let the targets take their first scrapes so the baseline exists, as in a running Vigil.
    tokio::time::sleep(Duration::from_secs(6)).await;
    start(&app, "depeg").await;
    let signal = wait_for_signal(
        &app,
        Duration::from_secs(15),
        "an L2 peg signal within 3 × 5 s",
        |signal| {
            signal["level"] == "L2"
                && signal["series"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("peg_")
        },
    )
    .await;
    assert_eq!(signal["category"], "peg");
    assert!(
        signal["reason"].as_str().unwrap().contains("→ L2"),
        "{signal}"
    );
    let incidents = app.get_json("/api/v1/incidents?state=open").await;
    assert!(
        incidents["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|incident| incident["level"] == "L2" && incident["component"] == "peg"),
        "{incidents}"
    );
    app.stop().await;
}

#[tokio::test]
async fn exploit_drain_yields_an_l1_security_signal_and_exactly_one_l1_incident() {
    let app = default_loop_app().await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    start(&app, "exploit-drain").await;
    let signal = wait_for_signal(
        &app,
        Duration::from_secs(30),
        "an L1 signal on the bridge",
        |signal| signal["level"] == "L1",
    )
    .await;
    assert_eq!(signal["category"], "security");
    assert_eq!(signal["component"], "bridge");
    // Further samples of the same drain fold into the same incident.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let incidents = app.get_json("/api/v1/incidents?state=open").await;
    let l1: Vec<&Value> = incidents["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|incident| incident["level"] == "L1")
        .collect();
    assert_eq!(l1.len(), 1, "{incidents}");
    assert_eq!(l1[0]["component"], "bridge");
    app.stop().await;
}

#[tokio::test]
async fn one_validator_down_yields_an_l3_signal() {
    let app = default_loop_app().await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    start(&app, "validator-outage").await;
    let signal = wait_for_signal(
        &app,
        Duration::from_secs(30),
        "an L3 chain signal",
        |signal| signal["level"] == "L3",
    )
    .await;
    assert_eq!(signal["category"], "chain");
    let signals = app.get_json("/api/v1/signals").await;
    assert!(
        signals["signals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|signal| signal["active"] == false || signal["level"] != "L1"),
        "a single validator is not an L1: {signals}"
    );
    app.stop().await;
}

#[tokio::test]
async fn pushed_alerts_are_listed_and_become_incidents_and_bad_payloads_name_the_field() {
    let app = default_loop_app().await;
    let payload = include_str!("../../collector/tests/data/alertmanager-webhook.json");
    let response = app
        .http
        .post(app.url("/api/v1/alerts/alertmanager"))
        .header("content-type", "application/json")
        .body(payload)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let alerts = app.get_json("/api/v1/alerts").await;
    assert!(!alerts["alerts"].as_array().unwrap().is_empty());
    assert!(alerts["alerts"][0]["fingerprint"].is_string());
    let incidents = app.get_json("/api/v1/incidents?state=open").await;
    assert!(
        !incidents["incidents"].as_array().unwrap().is_empty(),
        "an alert opens an incident: {incidents}"
    );

    let (status, body) = app
        .post_raw("/api/v2/alerts", r#"[{"annotations":{}}]"#)
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("labels"),
        "{body}"
    );
    let (status, _) = app
        .post_raw("/api/v1/alerts/alertmanager", "not json")
        .await;
    assert_eq!(status, 400);
    app.stop().await;
}

#[tokio::test]
async fn series_queries_take_prometheus_selectors_and_bad_ones_say_where() {
    let app = default_loop_app().await;
    let series = eventually(
        Duration::from_secs(12),
        "core series to be scraped",
        || async {
            let body = app
                .get_json(
                    "/api/v1/series?match=core_module_value_locked%7Bmodule%3D%22bridge%22%7D",
                )
                .await;
            (!body["series"].as_array()?.is_empty()).then_some(body)
        },
    )
    .await;
    let first = &series["series"][0];
    assert_eq!(first["labels"]["target"], "core-metrics");
    assert!(first["points"][0][1].as_f64().unwrap() > 0.0);
    let response = app
        .http
        .get(app.url("/api/v1/series?match=up%7Btarget%3D~%22core-.%2A%22"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("match:"),
        "{body}"
    );
    let targets = app.get_json("/api/v1/targets").await;
    let names: Vec<&str> = targets["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "core-rpc",
            "core-metrics",
            "core-price",
            "core-probe",
            "core-rpc-1"
        ],
        "the four core targets, then the core chain watch's one RPC provider"
    );
    app.stop().await;
}
