//! Several Vigils on one PostgreSQL: both list each other, exactly one leads, a clean stop hands the
//! lease over at once, and links signed by one member work on the other. Alone on SQLite, a Vigil is
//! its own leader.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{eventually, spawn_app, spawn_app_with};

#[tokio::test]
async fn alone_a_vigil_is_its_own_leader_and_lists_itself_with_its_targets() {
    let app = spawn_app().await;
    let cluster = app.get_json("/api/v1/cluster").await;
    let me = cluster["self"].as_str().unwrap();
    assert_eq!(cluster["leader"], me, "{cluster}");
    let members = cluster["members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "{cluster}");
    assert_eq!(members[0]["id"], me);
    assert_eq!(members[0]["addr"], app.addr.to_string());
    assert!(members[0]["targets"].as_u64().unwrap() >= 4, "{cluster}");
    assert!(
        members[0]["last_heartbeat"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("vigil_cluster_leader 1"), "{metrics}");
    app.stop().await;
}

fn leaders(views: &[Value]) -> Vec<String> {
    views
        .iter()
        .map(|view| view["leader"].as_str().unwrap_or("none").to_owned())
        .collect()
}

#[tokio::test]
async fn two_vigils_on_one_postgres_elect_one_leader_hand_over_on_stop_and_share_link_keys() {
    let Some(database) = crate::support::ScratchDatabase::create("vigil_cluster").await else {
        return;
    };
    let database_url = database.url.clone();
    let member = |name: &'static str| {
        let database_url = database_url.clone();
        move |settings: &mut vigil::config::Settings| {
            settings.storage.database_url = Some(database_url);
            settings.cluster.node_id = Some(name.to_owned());
            settings.cluster.heartbeat = model::HumanDuration::from_millis(200);
            settings.cluster.lease = model::HumanDuration::from_millis(1500);
            settings.cluster.member_ttl = model::HumanDuration::from_secs(3);
        }
    };
    let first = spawn_app_with(member("first"), HashMap::new()).await;
    let second = spawn_app_with(member("second"), HashMap::new()).await;

    // Both see both, and agree on one leader: the first, which started first.
    let views = eventually(Duration::from_secs(10), "both members listed", || async {
        let views = [
            first.get_json("/api/v1/cluster").await,
            second.get_json("/api/v1/cluster").await,
        ];
        views
            .iter()
            .all(|view| view["members"].as_array().is_some_and(|m| m.len() == 2))
            .then_some(views)
    })
    .await;
    assert_eq!(leaders(&views), ["first", "first"], "{views:?}");
    assert_eq!(views[1]["self"], "second");

    // A link signed by one member works on the other: they share the key through the database.
    let (status, created) = first
        .post_json(
            "/api/v1/incidents",
            &json!({"title": "bridge stuck", "level": "L2", "component": "bridge"}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().unwrap();
    let link = first.responder.ack_url(id);
    let path = link.split_once("/ack/").unwrap().1;
    let acked = second
        .http
        .get(second.url(&format!("/ack/{path}")))
        .send()
        .await
        .unwrap();
    assert_eq!(acked.status(), 200, "{}", acked.text().await.unwrap());
    assert_eq!(
        first.get_json(&format!("/api/v1/incidents/{id}")).await["state"],
        "acknowledged"
    );

    // The leader stops cleanly: the other takes over well within one lease.
    first.stop().await;
    let view = eventually(Duration::from_secs(3), "the second to lead", || async {
        let view = second.get_json("/api/v1/cluster").await;
        (view["leader"] == "second").then_some(view)
    })
    .await;
    let members: Vec<&str> = view["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(members, ["second"], "the stopped member left: {view}");
    second.stop().await;
    database.drop_now().await;
}
