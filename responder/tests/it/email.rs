//! The email channel against a real SMTP server (aiosmtpd, started by `tests/peers/smtp.sh`).
//! Runs only with `VIGIL_PEER_TESTS=1`; prints "skipped" otherwise.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use responder::config::{
    ChannelConfig, EmailChannelConfig, EscalationConfig, EscalationStepConfig, SmtpTls,
};
use responder::{Responder, ResponderConfig};

struct SmtpPeer {
    pid: String,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpPeer {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/peers/smtp.sh");
        let output = Command::new("bash")
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "smtp.sh failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let pid = String::from_utf8(output.stdout).unwrap().trim().to_owned();
        Self { pid, port, dir }
    }

    /// Messages in the Maildir, counted by Message-ID.
    fn messages_by_id(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        let new = self.dir.path().join("maildir/new");
        for entry in std::fs::read_dir(new).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let id = text
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("message-id")
                        .then(|| value.trim().to_owned())
                })
                .unwrap_or_default();
            *counts.entry(id).or_insert(0) += 1;
        }
        counts
    }

    fn bodies(&self) -> Vec<String> {
        let new = self.dir.path().join("maildir/new");
        std::fs::read_dir(new)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| std::fs::read_to_string(entry.path()).unwrap())
            .collect()
    }
}

impl Drop for SmtpPeer {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).status();
    }
}

#[tokio::test]
async fn pages_arrive_by_email_once_each_with_a_stable_message_id() {
    if std::env::var("VIGIL_PEER_TESTS").as_deref() != Ok("1") {
        eprintln!(
            "skipped: set VIGIL_PEER_TESTS=1 to run the email test against a real SMTP server"
        );
        return;
    }
    let peer = SmtpPeer::start();
    let (store, _dir) = super::sqlite_store().await;
    let config = ResponderConfig {
        channels: vec![ChannelConfig::Email(EmailChannelConfig {
            name: "email".to_owned(),
            smtp_host: "127.0.0.1".to_owned(),
            smtp_port: Some(peer.port),
            tls: SmtpTls::None,
            username: None,
            password_env: None,
            from: "vigil@example.test".to_owned(),
            to: vec!["oncall@example.test".to_owned()],
            fallback: None,
        })],
        escalation: [model::Level::L1, model::Level::L2, model::Level::L3]
            .into_iter()
            .map(|level| EscalationConfig {
                level,
                steps: vec![EscalationStepConfig {
                    after: model::HumanDuration::from_secs(0),
                    channels: vec!["email".to_owned()],
                }],
                repeat: None,
                schedule: None,
            })
            .collect(),
        ..ResponderConfig::default()
    };
    let responder = Responder::builder(store.clone(), config)
        .ack_secret("s")
        .build()
        .unwrap();

    let id = responder
        .ingest_signal(&super::l1_signal("s1"))
        .await
        .unwrap()
        .incident_id
        .unwrap();
    // Several delivery rounds, as a worker would run them: the page goes out once.
    for _ in 0..3 {
        responder.deliver_due_once("email").await.unwrap();
    }
    let pages = responder.list_pages().await.unwrap().pages;
    assert_eq!(pages.len(), 1);
    assert_eq!(
        pages[0].state,
        responder::store::PageState::Sent,
        "{:?}",
        pages[0]
    );

    let counts = peer.messages_by_id();
    assert_eq!(counts.len(), 1, "{counts:?}");
    let (message_id, count) = counts.iter().next().unwrap();
    assert_eq!(*count, 1);
    assert_eq!(
        message_id,
        &responder::channels::email_message_id(&pages[0].idempotency_key)
    );
    let body = &peer.bodies()[0];
    assert!(body.contains(&id) && body.contains("/ack/"), "{body}");

    // A page re-sent after a crash (same idempotency key) is the same message to the receiver.
    let page: responder::Page =
        serde_json::from_value(store.pages(1).await.unwrap()[0].payload.clone()).unwrap();
    let channel =
        responder::channels::build_channel(&responder.config().channels[0], &|_| None).unwrap();
    channel.send(&page).await.unwrap();
    let counts = peer.messages_by_id();
    assert_eq!(
        counts.len(),
        1,
        "one Message-ID for both copies: {counts:?}"
    );
}
