//! Status-page subscriptions by email through a real SMTP server (aiosmtpd, `tests/peers/smtp.sh`): the
//! confirmation mail goes to the reader alone, the link confirms, a public update on a followed
//! component arrives with a one-click `List-Unsubscribe`, and after that click nothing more is sent.
//! Runs with `VIGIL_PEER_TESTS=1`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::peers::Peer;
use crate::support::{eventually, spawn_app_with};

const READER: &str = "reader@example.org";

/// The decoded text of every mail in the Maildir addressed to `to`.
fn mails_to(maildir: &Path, to: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    let mut found: Vec<(std::time::SystemTime, String)> = entries
        .flatten()
        .filter_map(|entry| {
            let modified = entry.metadata().ok()?.modified().ok()?;
            let raw = std::fs::read_to_string(entry.path()).ok()?;
            let addressed = raw
                .lines()
                .any(|line| line.to_ascii_lowercase().starts_with("to:") && line.contains(to));
            addressed.then(|| (modified, decode_quoted_printable(&raw)))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, text)| text).collect()
}

/// Undoes quoted-printable soft breaks and escapes (lettre uses it for non-ASCII bodies).
fn decode_quoted_printable(raw: &str) -> String {
    if !raw.to_ascii_lowercase().contains("quoted-printable") {
        return raw.replace("\r\n", "\n");
    }
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).replace("\r\n", "\n")
}

/// The first URL in `text` containing `marker`.
fn link(text: &str, marker: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '<' || c == '>')
        .find(|word| word.contains(marker))
        .unwrap_or_else(|| panic!("no link with {marker} in:\n{text}"))
        .to_owned()
}

fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").unwrap().1;
    format!("/{}", after_scheme.split_once('/').unwrap().1)
}

#[tokio::test]
async fn an_email_subscriber_confirms_by_link_gets_the_bridge_update_and_unsubscribes_in_one_click()
{
    let Some(smtp) = Peer::start("smtp.sh", &[], &[]) else {
        return;
    };
    let maildir = smtp.workdir.path().join("maildir");
    let app = spawn_app_with(
        |settings| {
            let parsed = vigil::config::Settings::from_toml(&format!(
                r#"
[[channels]]
name = "log"
kind = "log"
[[channels]]
name = "email"
kind = "email"
smtp_host = "127.0.0.1"
smtp_port = {}
tls = "none"
from = "status@example.test"
to = ["oncall@example.test"]
[responder.delivery]
poll_interval = "200ms"
"#,
                smtp.port
            ))
            .unwrap();
            settings.channels = parsed.channels;
            settings.responder.delivery = parsed.responder.delivery;
        },
        HashMap::new(),
    )
    .await;

    let (status, outcome) = app
        .post_json(
            "/api/v1/status/subscriptions",
            &json!({"email": "Reader@Example.org", "components": ["bridge"]}),
        )
        .await;
    assert_eq!(status, 202, "{outcome}");
    let confirmation = eventually(Duration::from_secs(20), "the confirmation mail", || async {
        mails_to(&maildir, READER).into_iter().next()
    })
    .await;
    assert!(
        confirmation.contains("From: status@example.test"),
        "{confirmation}"
    );
    assert!(
        !confirmation.contains("oncall@example.test"),
        "the reader's mail goes to the reader alone:\n{confirmation}"
    );
    let confirm = link(&confirmation, "/subscriptions/confirm?token=");
    let page = app
        .http
        .get(app.url(&path_of(&confirm)))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);

    // An incident on the bridge, then a public update: the reader hears both.
    let (_, created) = app
        .post_json(
            "/api/v1/incidents",
            &json!({"title": "Bridge withdrawals stuck", "level": "L2", "component": "bridge"}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .post_json(
            &format!("/api/v1/incidents/{id}/status-update"),
            &json!({"status": "identified", "message": "A relayer stopped; a fix is rolling out."}),
        )
        .await;
    assert_eq!(status, 200);
    let notices = eventually(Duration::from_secs(20), "two notices", || async {
        let mails = mails_to(&maildir, READER);
        (mails.len() >= 3).then_some(mails)
    })
    .await;
    let identified = notices
        .iter()
        .find(|mail| mail.contains("[Identified] Bridge withdrawals stuck"))
        .unwrap_or_else(|| panic!("no identified notice in {notices:#?}"));
    assert!(identified.contains("A relayer stopped; a fix is rolling out."));
    assert!(
        identified.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{identified}"
    );
    // An incident on another component is not the reader's business.
    app.post_json(
        "/api/v1/incidents",
        &json!({"title": "Peg wobble", "level": "L2", "component": "peg"}),
    )
    .await;

    // The one-click unsubscribe a mail client performs (RFC 8058).
    let unsubscribe = link(
        identified
            .lines()
            .find(|line| line.starts_with("List-Unsubscribe:"))
            .unwrap(),
        "/subscriptions/unsubscribe?token=",
    );
    let response = app
        .http
        .post(app.url(&path_of(&unsubscribe)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, _) = app
        .post_json(
            &format!("/api/v1/incidents/{id}/status-update"),
            &json!({"status": "monitoring", "message": "Withdrawals are flowing."}),
        )
        .await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = mails_to(&maildir, READER);
    assert_eq!(after.len(), 3, "nothing after unsubscribing: {after:#?}");
    assert!(after.iter().all(|mail| !mail.contains("Peg wobble")));
    app.stop().await;
}
