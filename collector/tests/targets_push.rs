//! Pushed data: Alertmanager webhooks, the Alertmanager API v2 list Prometheus sends, and real-user beacons.

mod support;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use collector::alerts::{AlertError, AlertEvent, AlertStatus, AlertStore, AlertStoreConfig};
use collector::series::{Selector, SeriesLimits, SeriesStore};
use collector::ux::{UxError, UxLimits, UxReceiver};
use serde_json::{Value, json};
use support::data;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn event_summary(events: &[AlertEvent]) -> Vec<(String, &'static str)> {
    events
        .iter()
        .map(|event| {
            let kind = match event {
                AlertEvent::Firing(_) => "firing",
                AlertEvent::Resolved(_) => "resolved",
            };
            (event.alert().labels["instance"].clone(), kind)
        })
        .collect()
}

#[test]
fn alertmanager_webhook_firing_then_partially_then_fully_resolved() {
    let store = AlertStore::new(AlertStoreConfig::default());
    let mut subscription = store.subscribe();
    let now = at("2026-11-21T22:57:21Z");

    let report = store
        .ingest_webhook_at(data("alertmanager-webhook.json").as_bytes(), now)
        .unwrap();
    assert_eq!(report.accepted, 2);
    assert_eq!(
        event_summary(&report.events),
        [("web-1".into(), "firing"), ("web-2".into(), "firing")]
    );
    assert!(matches!(
        subscription.try_recv().unwrap(),
        AlertEvent::Firing(_)
    ));

    let listed = store.list_at(now);
    assert_eq!(listed.len(), 2);
    let body = serde_json::to_value(&listed).unwrap();
    let first = &body[0];
    for field in [
        "fingerprint",
        "source",
        "status",
        "labels",
        "annotations",
        "starts_at",
        "ends_at",
    ] {
        assert!(first.get(field).is_some(), "missing {field} in {first}");
    }
    let web1 = listed
        .iter()
        .find(|alert| alert.labels["instance"] == "web-1")
        .unwrap();
    assert_eq!(web1.fingerprint, "474dfdb8c6c08e60");
    assert_eq!(web1.status, AlertStatus::Firing);
    assert_eq!(web1.ends_at, None, "Go's zero endsAt means no end");
    assert_eq!(web1.annotations["summary"], "5xx rate above 5% on web-1");
    assert_eq!(
        body.as_array()
            .unwrap()
            .iter()
            .filter(|a| a["source"] == "alertmanager")
            .count(),
        2
    );

    // Re-notification of the same group changes nothing.
    let report = store
        .ingest_webhook_at(
            data("alertmanager-webhook.json").as_bytes(),
            now + Duration::minutes(1),
        )
        .unwrap();
    assert!(report.events.is_empty(), "{:?}", report.events);

    let later = at("2026-11-21T22:57:30Z");
    let report = store
        .ingest_webhook_at(
            data("alertmanager-webhook-partially-resolved.json").as_bytes(),
            later,
        )
        .unwrap();
    assert_eq!(
        event_summary(&report.events),
        [("web-1".into(), "resolved")]
    );
    let statuses: Vec<(String, AlertStatus)> = store
        .list_at(later)
        .into_iter()
        .map(|alert| (alert.labels["instance"].clone(), alert.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("web-2".into(), AlertStatus::Firing),
            ("web-1".into(), AlertStatus::Resolved)
        ]
    );

    let end = at("2026-11-21T22:57:40Z");
    let report = store
        .ingest_webhook_at(data("alertmanager-webhook-resolved.json").as_bytes(), end)
        .unwrap();
    assert_eq!(
        event_summary(&report.events),
        [("web-2".into(), "resolved")]
    );
    let web2 = store
        .list_at(end)
        .into_iter()
        .find(|alert| alert.labels["instance"] == "web-2")
        .unwrap();
    assert_eq!(web2.status, AlertStatus::Resolved);
    assert_eq!(web2.ends_at, Some(at("2026-11-21T22:57:34Z")));
}

#[test]
fn webhook_from_a_real_prometheus_and_its_resolution() {
    let store = AlertStore::new(AlertStoreConfig::default());
    let now = at("2026-11-21T23:00:00Z");
    let report = store
        .ingest_webhook_at(
            data("alertmanager-webhook-from-prometheus.json").as_bytes(),
            now,
        )
        .unwrap();
    assert_eq!(report.events.len(), 1);
    assert_eq!(report.events[0].alert().fingerprint, "7679ea5bb394037b");
    // The resolved sample is for another label set (job="targets"): a resolution of an alert we never saw
    // firing is listed, but announces nothing.
    let report = store
        .ingest_webhook_at(
            data("alertmanager-webhook-from-prometheus-resolved.json").as_bytes(),
            now,
        )
        .unwrap();
    assert!(report.events.is_empty());
    assert_eq!(store.list_at(now).len(), 2);
    assert_eq!(store.list_at(now)[1].status, AlertStatus::Resolved);
}

fn disk_full(starts_at: Option<&str>, ends_at: Option<&str>) -> Value {
    let mut alert = json!({
        "labels": {"alertname": "DiskFull", "instance": "db-1", "service": "db", "severity": "critical"},
        "annotations": {"summary": "Disk 95% full on db-1"},
        "generatorURL": "http://127.0.0.1:19090/graph"
    });
    if let Some(start) = starts_at {
        alert["startsAt"] = json!(start);
    }
    if let Some(end) = ends_at {
        alert["endsAt"] = json!(end);
    }
    alert
}

#[test]
fn api_v2_alert_resolves_when_its_ends_at_passes() {
    let store = AlertStore::new(AlertStoreConfig::default());
    let now = at("2026-11-21T22:57:13Z");
    let body = json!([disk_full(
        Some("2026-11-21T22:57:13Z"),
        Some("2026-11-21T22:58:13Z")
    )])
    .to_string();
    let report = store.ingest_v2_at(body.as_bytes(), now).unwrap();
    assert_eq!(report.events.len(), 1);
    let alert = report.events[0].alert();
    // Alertmanager's own fingerprint for this label set (alertmanager-api-v2-alerts.json).
    let known: Value = serde_json::from_str(&data("alertmanager-api-v2-alerts.json")).unwrap();
    assert_eq!(alert.fingerprint, known[0]["fingerprint"].as_str().unwrap());
    assert_eq!(serde_json::to_value(alert).unwrap()["source"], "prometheus");

    assert!(
        store.sweep(now + Duration::seconds(30)).is_empty(),
        "still firing before endsAt"
    );
    let events = store.sweep(now + Duration::seconds(61));
    assert_eq!(event_summary(&events), [("db-1".into(), "resolved")]);
    assert_eq!(
        store.list_at(now + Duration::seconds(61))[0].status,
        AlertStatus::Resolved
    );
    assert!(
        store.sweep(now + Duration::seconds(90)).is_empty(),
        "announced once"
    );

    // Prometheus sends it again later: a new occurrence fires again.
    let later = now + Duration::minutes(10);
    let body = json!([disk_full(
        Some("2026-11-21T23:07:00Z"),
        Some("2026-11-21T23:08:13Z")
    )])
    .to_string();
    let report = store.ingest_v2_at(body.as_bytes(), later).unwrap();
    assert_eq!(event_summary(&report.events), [("db-1".into(), "firing")]);
}

#[test]
fn api_v2_alert_without_ends_at_expires_after_resolve_timeout_unless_resent() {
    let store = AlertStore::new(AlertStoreConfig::default());
    let now = at("2026-11-21T22:00:00Z");
    let body = json!([disk_full(None, None)]).to_string();
    store.ingest_v2_at(body.as_bytes(), now).unwrap();
    assert_eq!(
        store.list_at(now)[0].starts_at,
        now,
        "startsAt defaults to the time received"
    );

    // Re-sent after 4 minutes: the 5-minute timeout starts again.
    let report = store
        .ingest_v2_at(body.as_bytes(), now + Duration::minutes(4))
        .unwrap();
    assert!(report.events.is_empty());
    assert!(store.sweep(now + Duration::minutes(8)).is_empty());
    let events = store.sweep(now + Duration::minutes(9) + Duration::seconds(1));
    assert_eq!(event_summary(&events), [("db-1".into(), "resolved")]);
    assert_eq!(
        store.list_at(now + Duration::minutes(10))[0].starts_at,
        now,
        "merged, earliest start kept"
    );
}

#[test]
fn invalid_alerts_are_named_and_the_valid_ones_kept() {
    let store = AlertStore::new(AlertStoreConfig::default());
    let mut payload: Value = serde_json::from_str(&data("alertmanager-webhook.json")).unwrap();
    let mut broken = payload["alerts"][0].clone();
    broken.as_object_mut().unwrap().remove("labels");
    let alerts = payload["alerts"].as_array_mut().unwrap();
    alerts.push(json!({"status": "firing", "labels": {"a": "b"}, "startsAt": "soon"}));
    alerts.push(
        json!({"status": "pending", "labels": {"a": "b"}, "startsAt": "2026-11-21T22:57:20Z"}),
    );
    alerts.push(broken);
    let error = store
        .ingest_webhook(payload.to_string().as_bytes())
        .unwrap_err();
    let AlertError::Invalid { errors, report } = &error else {
        panic!("{error}")
    };
    let rendered: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(rendered[2], "alerts[4].labels: missing", "{rendered:?}");
    assert!(
        rendered[0].starts_with("alerts[2].startsAt: \"soon\" is not an RFC 3339 time"),
        "{rendered:?}"
    );
    assert!(
        rendered[1].starts_with("alerts[3].status: \"pending\""),
        "{rendered:?}"
    );
    assert_eq!(report.accepted, 2);
    assert!(error.to_string().contains("alerts[4].labels: missing"));

    assert!(matches!(
        store.ingest_v2(b"not json"),
        Err(AlertError::NotJson(_))
    ));
    let error = store
        .ingest_webhook(br#"{"version": "3", "alerts": []}"#)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("version: unsupported webhook version \"3\""),
        "{error}"
    );
}

#[test]
fn the_store_is_bounded_and_evicts_resolved_alerts_first() {
    let store = AlertStore::new(AlertStoreConfig {
        max_alerts: 3,
        ..AlertStoreConfig::default()
    });
    let now = at("2026-11-21T22:00:00Z");
    let alert = |instance: &str, ends_at: Option<&str>| {
        let mut alert = json!({"labels": {"alertname": "Down", "instance": instance}, "startsAt": "2026-11-21T21:00:00Z"});
        if let Some(end) = ends_at {
            alert["endsAt"] = json!(end);
        }
        alert
    };
    let body = json!([
        alert("a", Some("2026-11-21T21:30:00Z")),
        alert("b", None),
        alert("c", None)
    ])
    .to_string();
    store.ingest_v2_at(body.as_bytes(), now).unwrap();
    // "a" is resolved: it makes room for "d".
    store
        .ingest_v2_at(json!([alert("d", None)]).to_string().as_bytes(), now)
        .unwrap();
    let instances: Vec<String> = store
        .list_at(now)
        .iter()
        .map(|a| a.labels["instance"].clone())
        .collect();
    assert_eq!(instances.len(), 3);
    assert!(!instances.contains(&"a".to_owned()), "{instances:?}");
    // Everything kept is firing now: a new alert is refused rather than silently dropping a firing one.
    let error = store
        .ingest_v2_at(json!([alert("e", None)]).to_string().as_bytes(), now)
        .unwrap_err();
    assert!(
        error.to_string().contains("alerts[0]: not stored"),
        "{error}"
    );
    assert_eq!(store.list_at(now).len(), 3);
}

// ---------------------------------------------------------------------------------------------------
// real-user beacons

fn ux() -> (
    UxReceiver,
    Arc<SeriesStore>,
    tokio::sync::mpsc::Receiver<model::Sample>,
) {
    let store = Arc::new(SeriesStore::new(SeriesLimits::default()));
    let (sender, receiver) = tokio::sync::mpsc::channel(1000);
    (
        UxReceiver::new(Arc::clone(&store), Some(sender), UxLimits::default()),
        store,
        receiver,
    )
}

fn latest(store: &SeriesStore, selector: &str) -> f64 {
    let points = store.latest(&Selector::parse(selector).unwrap());
    assert_eq!(points.len(), 1, "{selector}: {points:?}");
    points[0].value
}

#[test]
fn beacons_become_latency_and_error_series() {
    let (receiver, store, mut samples) = ux();
    let body = json!({"beacons": [
        {"page": "/swap", "latency_ms": 120.5, "error": false, "region": "eu"},
        {"page": "/swap", "latency_ms": 900, "error": true, "region": "eu"},
        {"page": "/swap", "latency_ms": 80, "error": true, "region": "eu"},
        {"page": "/swap", "latency_ms": 95, "error": false, "region": "us"},
        {"page": "", "latency_ms": 1, "region": "eu"},
        {"page": "/swap", "latency_ms": 700000, "region": "eu"},
        {"page": "/swap", "latency_ms": 1, "error": "yes", "region": "eu"},
        {"page": "/swap", "latency_ms": 1}
    ]});
    let report = receiver.ingest(body.to_string().as_bytes()).unwrap();
    assert_eq!((report.accepted, report.rejected), (4, 4));
    let errors: Vec<(usize, &str)> = report
        .errors
        .iter()
        .map(|e| (e.index, e.field.as_str()))
        .collect();
    assert_eq!(
        errors,
        [(4, "page"), (5, "latency_ms"), (6, "error"), (7, "region")]
    );

    assert_eq!(
        latest(&store, r#"ux_errors_total{page="/swap",region="eu"}"#),
        2.0
    );
    assert_eq!(
        latest(&store, r#"ux_errors_total{page="/swap",region="us"}"#),
        0.0
    );
    assert_eq!(
        latest(&store, r#"ux_latency_ms{page="/swap",region="us"}"#),
        95.0
    );
    // All three EU beacons arrived in one request without `at`: none of them is lost.
    let points = store.query(
        &Selector::parse(r#"ux_latency_ms{region="eu"}"#).unwrap(),
        None,
    );
    assert_eq!(
        points[0]
            .points
            .iter()
            .map(|(_, value)| *value)
            .collect::<Vec<_>>(),
        [120.5, 900.0, 80.0]
    );
    assert_eq!(
        samples.try_recv().unwrap().key.name,
        "ux_latency_ms",
        "forwarded to the detector"
    );

    // A single beacon works too, and a running counter keeps counting across requests.
    let report = receiver
        .ingest(br#"{"page": "/swap", "latency_ms": 10, "error": true, "region": "eu"}"#)
        .unwrap();
    assert_eq!(report.accepted, 1);
    assert_eq!(
        latest(&store, r#"ux_errors_total{page="/swap",region="eu"}"#),
        3.0
    );
}

#[test]
fn oversized_or_malformed_requests_are_refused_whole() {
    let (receiver, _, _) = ux();
    let beacon = json!({"page": "/", "latency_ms": 1, "region": "eu"});
    let body = json!({"beacons": vec![beacon; 1001]}).to_string();
    assert_eq!(
        receiver.ingest(body.as_bytes()),
        Err(UxError::TooMany { count: 1001 })
    );
    assert!(matches!(receiver.ingest(b"{"), Err(UxError::NotJson(_))));
    assert_eq!(receiver.ingest(b"[1, 2]"), Err(UxError::NotABeacon));
}

#[test]
fn explicit_beacon_times_are_bounded_and_ordered() {
    let (receiver, store, _) = ux();
    let now = at("2026-11-22T01:00:00Z");
    let body = json!({"beacons": [
        {"page": "/", "latency_ms": 5, "region": "eu", "at": "2026-11-22T00:59:00Z"},
        {"page": "/", "latency_ms": 6, "region": "eu", "at": "2026-11-22T00:58:00Z"},
        {"page": "/", "latency_ms": 7, "region": "eu", "at": "2026-11-21T22:00:00Z"},
        {"page": "/", "latency_ms": 8, "region": "eu", "at": "2026-11-22T02:00:00Z"},
        {"page": "/", "latency_ms": 9, "region": "eu", "at": 1_795_309_170_000_i64}
    ]});
    let report = receiver
        .ingest_at(body.to_string().as_bytes(), now)
        .unwrap();
    let errors: Vec<String> = report
        .errors
        .iter()
        .map(|e| format!("{} {}: {}", e.index, e.field, e.message))
        .collect();
    assert_eq!(
        errors,
        [
            "1 at: is not newer than the last beacon of this page and region",
            "2 at: is more than 3600 s in the past",
            "3 at: is more than 300 s in the future",
        ]
    );
    let points = store.query(
        &Selector::parse(r#"ux_latency_ms{page="/"}"#).unwrap(),
        None,
    );
    let stored: Vec<(i64, f64)> = points[0].points.clone();
    assert_eq!(
        stored,
        [
            (at("2026-11-22T00:59:00Z").timestamp_millis(), 5.0),
            (1_795_309_170_000, 9.0)
        ]
    );
}
