//! Incidents through the HTTP API as an incident commander uses them, and the one-click ack link.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{eventually, spawn_app};

#[tokio::test]
async fn an_incident_opened_by_hand_goes_through_its_whole_life_and_the_postmortem_has_the_timeline()
 {
    let app = spawn_app().await;
    let (status, opened) = app
        .post_json(
            "/api/v1/incidents",
            &json!({"title": "Bridge withdrawals failing", "level": "L2", "component": "bridge", "summary": "users report failures"}),
        )
        .await;
    assert_eq!(status, 200, "{opened}");
    let id = opened["id"].as_str().unwrap().to_owned();
    assert_eq!(opened["state"], "triggered");
    assert_eq!(opened["level"], "L2");

    let listed = app.get_json("/api/v1/incidents?state=open").await;
    assert!(
        listed["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|incident| incident["id"] == id.as_str())
    );

    let steps: [(&str, Value); 5] = [
        ("level", json!({"level": "L1", "reason": "funds at risk"})),
        (
            "assign",
            json!({"commander": "alice", "assignees": ["bob"]}),
        ),
        ("notes", json!({"text": "rolled back the relayer"})),
        (
            "status-update",
            json!({"status": "identified", "message": "We found the cause."}),
        ),
        ("ack", json!({})),
    ];
    for (action, body) in steps {
        let (status, reply) = app
            .post_json(&format!("/api/v1/incidents/{id}/{action}"), &body)
            .await;
        assert_eq!(status, 200, "{action}: {reply}");
    }
    let (status, resolved) = app
        .post_json(&format!("/api/v1/incidents/{id}/resolve"), &json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(resolved["state"], "resolved");
    assert_eq!(resolved["level"], "L1");
    assert!(resolved["acked_at"].is_string() && resolved["resolved_at"].is_string());

    let detail = app.get_json(&format!("/api/v1/incidents/{id}")).await;
    let kinds: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "reclassified",
        "note",
        "status_update",
        "acknowledged",
        "resolved",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let markdown = app
        .http
        .get(app.url(&format!("/api/v1/incidents/{id}/postmortem")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "Bridge withdrawals failing",
        "rolled back the relayer",
        "We found the cause.",
        "acknowledge",
        "resolve",
    ] {
        assert!(
            markdown.to_lowercase().contains(&needle.to_lowercase()),
            "{needle:?} missing from the postmortem:\n{markdown}"
        );
    }
    let pages = app.get_json("/api/v1/pages").await;
    assert!(
        pages["pages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|page| page["incident_id"] == id.as_str()),
        "{pages}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_signed_ack_link_acknowledges_once_and_a_forged_one_is_refused() {
    let app = spawn_app().await;
    let (_, opened) = app
        .post_json(
            "/api/v1/incidents",
            &json!({"title": "Head stalled", "level": "L1", "component": "chain"}),
        )
        .await;
    let id = opened["id"].as_str().unwrap().to_owned();
    let link = app.responder.ack_url(&id);
    assert!(
        link.starts_with(&format!("http://{}/ack/", app.addr)),
        "{link}"
    );
    let page = app.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Head stalled"));
    let state = eventually(Duration::from_secs(2), "the ack to show", || async {
        let detail = app.get_json(&format!("/api/v1/incidents/{id}")).await;
        (detail["state"] == "acknowledged").then_some(detail)
    })
    .await;
    assert!(state["acked_at"].is_string());
    let forged = format!("{}x", link);
    assert!(
        app.http
            .get(&forged)
            .send()
            .await
            .unwrap()
            .status()
            .is_client_error()
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_incident_input_gets_clear_errors() {
    let app = spawn_app().await;
    let (status, reply) = app
        .post_json(
            "/api/v1/incidents",
            &json!({"title": "x", "level": "L7", "component": "chain"}),
        )
        .await;
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("level"),
        "{reply}"
    );
    let (status, _) = app
        .post_json("/api/v1/incidents/does-not-exist/ack", &json!({}))
        .await;
    assert_eq!(status, 404);
    let (status, reply) = app
        .post_json(
            "/api/v1/silences",
            &json!({"matchers": [], "duration": "1h"}),
        )
        .await;
    assert_eq!(status, 400, "{reply}");
    let (status, silence) = app
        .post_json(
            "/api/v1/silences",
            &json!({"matchers": ["component=\"bridge\""], "duration": "1h", "comment": "drill"}),
        )
        .await;
    assert_eq!(status, 200, "{silence}");
    let listed = app.get_json("/api/v1/silences").await;
    assert_eq!(listed["silences"].as_array().unwrap().len(), 1, "{listed}");
    let response = app
        .http
        .get(app.url("/api/v1/incidents?state=sideways"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    app.stop().await;
}
