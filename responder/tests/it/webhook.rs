//! The generic webhook channel against a local HTTP receiver: signature headers, and retry classification.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use responder::config::{
    ChannelConfig, EscalationConfig, EscalationStepConfig, WebhookChannelConfig,
};
use responder::{Responder, ResponderConfig};

#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A minimal HTTP/1.1 receiver answering each request with `status`.
async fn receiver(status: u16) -> (String, Arc<Mutex<Vec<Received>>>) {
    receiver_with(status, "").await
}

/// Like [`receiver`], with `extra` header lines (each ending in `\r\n`) in every response.
async fn receiver_with(status: u16, extra: &'static str) -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0_u8; 4096];
                let (head_end, length) = loop {
                    let read = socket.read(&mut chunk).await.unwrap_or(0);
                    if read == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..read]);
                    if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buffer[..end]).to_string();
                        let length = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                };
                while buffer.len() < head_end + length {
                    let read = socket.read(&mut chunk).await.unwrap_or(0);
                    if read == 0 {
                        break;
                    }
                    buffer.extend_from_slice(&chunk[..read]);
                }
                let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
                let headers = head
                    .lines()
                    .skip(1)
                    .filter_map(|line| {
                        line.split_once(':')
                            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    })
                    .collect();
                log.lock().unwrap().push(Received {
                    headers,
                    body: buffer[head_end..].to_vec(),
                });
                let response = format!(
                    "HTTP/1.1 {status} X\r\n{extra}content-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    (url, received)
}

fn config(url: &str) -> ResponderConfig {
    ResponderConfig {
        channels: vec![ChannelConfig::Webhook(WebhookChannelConfig {
            name: "hook".to_owned(),
            url: url.to_owned(),
            secret_env: Some("HOOK_SECRET".to_owned()),
            fallback: None,
        })],
        escalation: [model::Level::L1, model::Level::L2, model::Level::L3]
            .into_iter()
            .map(|level| EscalationConfig {
                level,
                steps: vec![EscalationStepConfig {
                    after: model::HumanDuration::from_secs(0),
                    channels: vec!["hook".to_owned()],
                }],
                repeat: None,
                schedule: None,
            })
            .collect(),
        ..ResponderConfig::default()
    }
}

#[tokio::test]
async fn webhook_pages_are_signed_with_hmac_over_timestamp_and_body() {
    let (url, received) = receiver(200).await;
    let (store, _dir) = super::sqlite_store().await;
    let responder = Responder::builder(store, config(&url))
        .env(|name| (name == "HOOK_SECRET").then(|| "hook-secret".to_owned()))
        .build()
        .unwrap();
    let id = responder
        .ingest_signal(&super::l1_signal("s1"))
        .await
        .unwrap()
        .incident_id
        .unwrap();
    responder.deliver_due_once("hook").await.unwrap();

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    let timestamp: i64 = request
        .header("x-vigil-timestamp")
        .unwrap()
        .parse()
        .unwrap();
    let expected = responder::signing::webhook_signature(b"hook-secret", timestamp, &request.body);
    assert_eq!(request.header("x-vigil-signature"), Some(expected.as_str()));
    let page: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(page["incident_id"], id.as_str());
    assert_eq!(page["level"], "L1");
    assert_eq!(
        request.header("idempotency-key"),
        page["idempotency_key"].as_str()
    );
}

#[tokio::test]
async fn a_webhook_answering_503_is_retried_later() {
    let (url, received) = receiver(503).await;
    let (store, _dir) = super::sqlite_store().await;
    let responder = Responder::builder(store, config(&url))
        .env(|_| Some("x".to_owned()))
        .build()
        .unwrap();
    responder
        .ingest_signal(&super::l1_signal("s1"))
        .await
        .unwrap();
    responder.deliver_due_once("hook").await.unwrap();
    assert_eq!(received.lock().unwrap().len(), 1);
    let page = &responder.list_pages().await.unwrap().pages[0];
    assert_eq!(page.state, responder::store::PageState::Pending);
    assert!(
        page.last_error.as_deref().unwrap().contains("503"),
        "{page:?}"
    );
}

#[tokio::test]
async fn a_missing_webhook_secret_is_a_clear_build_error() {
    let (store, _dir) = super::sqlite_store().await;
    let error = Responder::builder(store, config("http://127.0.0.1:9/hook"))
        .build()
        .err()
        .unwrap();
    let text = format!("{error}: {}", std::error::Error::source(&error).unwrap());
    assert!(
        text.contains("HOOK_SECRET") && text.contains("hook"),
        "{text}"
    );
}

#[tokio::test]
async fn a_webhook_answering_429_with_retry_after_is_retried_no_sooner_than_it_asked() {
    let (url, received) = receiver_with(429, "retry-after: 120\r\n").await;
    let (store, _dir) = super::sqlite_store().await;
    let responder = Responder::builder(store, config(&url))
        .env(|_| Some("x".to_owned()))
        .build()
        .unwrap();
    responder
        .ingest_signal(&super::l1_signal("s1"))
        .await
        .unwrap();
    let before = chrono::Utc::now();
    responder.deliver_due_once("hook").await.unwrap();
    assert_eq!(received.lock().unwrap().len(), 1);
    let page = &responder.list_pages().await.unwrap().pages[0];
    assert_eq!(page.state, responder::store::PageState::Pending);
    let next = chrono::DateTime::parse_from_rfc3339(&page.next_attempt_at).unwrap();
    let waits = (next.with_timezone(&chrono::Utc) - before).num_seconds();
    // The first backoff alone would be 2.5-5 s.
    assert!(
        (119..=125).contains(&waits),
        "next attempt in {waits} s: {page:?}"
    );
    // Not before then.
    responder.deliver_due_once("hook").await.unwrap();
    assert_eq!(received.lock().unwrap().len(), 1);
}
