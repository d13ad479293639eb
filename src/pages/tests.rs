//! The pages over real HTTP against the whole application (temp SQLite, fast core): what a reader, a
//! commander and a browser without JavaScript get.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::app::Application;
use crate::auth::Role;
use crate::config::{Settings, TokenSettings};

struct App {
    base: String,
    http: reqwest::Client,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn spawn(tokens: Vec<TokenSettings>, env: HashMap<String, String>) -> App {
    spawn_with(tokens, env, |_| {}).await
}

async fn spawn_with(
    tokens: Vec<TokenSettings>,
    env: HashMap<String, String>,
    adjust: impl FnOnce(&mut Settings),
) -> App {
    crate::telemetry::ensure_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.server.listen = "127.0.0.1:0".parse().unwrap();
    settings.storage.data_dir = dir.path().to_path_buf();
    settings.core.slot_ms = 100;
    settings.tokens = tokens;
    adjust(&mut settings);
    let app = Application::build(settings, &env, &()).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let stop = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(stop.clone().cancelled_owned()));
    App {
        base,
        // Redirects are part of what is tested.
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        stop,
        _dir: dir,
    }
}

impl App {
    async fn open_incident(&self, level: &str, component: &str) -> String {
        let created: Value = self
            .http
            .post(format!("{}/api/v1/incidents", self.base))
            .json(&json!({"title": "Bridge <drain>", "level": level, "component": component}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["id"].as_str().unwrap().to_owned()
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn status_page_summary_and_feed_show_an_open_incident() {
    let app = spawn(vec![], HashMap::new()).await;
    let id = app.open_incident("L1", "bridge").await;

    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"id="component-bridge" data-status="major_outage""#));
    assert!(html.contains("Bridge &#60;drain&#62;") || html.contains("Bridge &lt;drain&gt;"));
    assert!(
        !html.contains("Bridge <drain>"),
        "incident titles are escaped"
    );

    let summary: Value = app
        .get("/api/v1/status/summary.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(summary["status"]["indicator"], "critical");
    assert_eq!(summary["incidents"][0]["id"], id);

    let feed = app.get("/feed.atom").await;
    assert!(
        feed.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/atom+xml")
    );
    let xml = feed.text().await.unwrap();
    assert!(xml.contains(&format!("/#incident-{id}</id>")));
}

#[tokio::test]
async fn a_public_update_reaches_open_pages_through_events() {
    let app = spawn(vec![], HashMap::new()).await;
    let id = app.open_incident("L2", "peg").await;
    let before = app.get("/").await.text().await.unwrap();
    assert!(!before.contains("Peg restored"));

    let mut events = app.get("/events").await;
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let hello = events.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&hello).contains("event: hello"));

    let posted = app
        .http
        .post(format!("{}/api/v1/incidents/{id}/status-update", app.base))
        .json(&json!({"status": "monitoring", "message": "Peg restored"}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let change = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            let chunk = events.chunk().await.unwrap().unwrap();
            let text = String::from_utf8_lossy(&chunk).to_string();
            if text.contains("event: change") {
                return text;
            }
        }
    })
    .await
    .expect("a change event within 2 s");
    assert!(change.contains("data: "));
    let after = app.get("/").await.text().await.unwrap();
    assert!(after.contains("Peg restored"), "the snapshot was rebuilt");
}

#[tokio::test]
async fn forms_act_then_redirect_and_cross_site_posts_are_refused() {
    let app = spawn(vec![], HashMap::new()).await;
    let id = app.open_incident("L1", "bridge").await;
    let page = app.get(&format!("/incidents/{id}")).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "private, no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"data-state="triggered""#));
    assert!(
        html.contains(r#"class="start""#),
        "the evidence chart marks the start"
    );

    let evil = app
        .http
        .post(format!("{}/incidents/{id}/ack", app.base))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(evil.status(), 403);

    let ack = app
        .http
        .post(format!("{}/incidents/{id}/ack", app.base))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status(), 303);
    assert_eq!(ack.headers()["location"], format!("/incidents/{id}"));
    let html = app
        .get(&format!("/incidents/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"data-state="acknowledged""#));

    let level = app
        .http
        .post(format!("{}/incidents/{id}/level", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("level=L3&reason=contained")
        .send()
        .await
        .unwrap();
    assert_eq!(level.status(), 303);
    let summary: Value = app
        .get("/api/v1/status/summary.json")
        .await
        .json()
        .await
        .unwrap();
    let bridge = summary["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "bridge")
        .unwrap()
        .clone();
    assert_eq!(bridge["status"], "degraded_performance");

    let missing = app.get("/incidents/nope").await;
    assert_eq!(missing.status(), 404);
    assert!(
        missing
            .text()
            .await
            .unwrap()
            .contains("<h1>404 Not Found</h1>")
    );
}

#[tokio::test]
async fn with_tokens_pages_need_a_login_but_the_status_page_does_not() {
    let tokens = vec![TokenSettings {
        name: "ops".into(),
        role: Role::Responder,
        token_env: Some("OPS_TOKEN".into()),
        token_sha256: None,
    }];
    let env = HashMap::from([("OPS_TOKEN".to_owned(), "ops-secret-token-1".to_owned())]);
    let app = spawn(tokens, env).await;
    assert_eq!(app.get("/").await.status(), 200);
    assert_eq!(app.get("/api/v1/status/summary.json").await.status(), 200);

    let oncall = app.get("/oncall").await;
    assert_eq!(oncall.status(), 303);
    assert_eq!(oncall.headers()["location"], "/login?next=/oncall");

    let wrong = app.get("/oncall?token=nope").await;
    assert_eq!(wrong.status(), 401);

    let link = app.get("/oncall?token=ops-secret-token-1").await;
    assert_eq!(link.status(), 303);
    assert_eq!(link.headers()["location"], "/oncall");
    let cookie = link.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().unwrap();
    let page = app
        .http
        .get(format!("{}/oncall", app.base))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<h1>On call</h1>"));

    let login = app
        .http
        .post(format!("{}/login", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=ops-secret-token-1&next=%2F%2Fevil.example%2F")
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    assert_eq!(login.headers()["location"], "/oncall", "no open redirect");
}

#[tokio::test]
async fn oncall_and_governance_render_what_the_pipeline_knows() {
    let app = spawn(vec![], HashMap::new()).await;
    // The core's own targets are scraped from the start.
    let oncall = app.get("/oncall").await;
    assert_eq!(oncall.status(), 200);
    let html = oncall.text().await.unwrap();
    assert!(html.contains(r#"id="target-"#), "targets are listed");
    assert!(html.contains("Today&#39;s health checks") || html.contains("Today's health checks"));

    let pause = app
        .http
        .post(format!("{}/governance/pause", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("module=escrow&reason=drill")
        .send()
        .await
        .unwrap();
    assert_eq!(pause.status(), 303);
    let html = app.get("/governance").await.text().await.unwrap();
    assert!(html.contains(r#"id="module-escrow" data-paused="true""#));
    assert!(html.contains(r#"id="chain-state" data-ok="true""#));
    assert!(html.contains("drill"));
}

/// A loopback webhook receiver that keeps every JSON body it is sent.
async fn webhook_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use axum::routing::post;
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = received.clone();
    let router = axum::Router::new().route(
        "/hook",
        post(move |axum::Json(body): axum::Json<Value>| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, received)
}

async fn wait_for_bodies(
    received: &std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    count: usize,
) -> Vec<Value> {
    for _ in 0..100 {
        let bodies = received.lock().unwrap().clone();
        if bodies.len() >= count {
            return bodies;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "expected {count} webhook bodies, got {:?}",
        received.lock().unwrap()
    );
}

/// The part of a link Vigil itself serves (links carry the configured base URL).
fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").unwrap().1;
    format!("/{}", after_scheme.split_once('/').unwrap().1)
}

#[tokio::test]
async fn a_reader_subscribes_with_the_form_confirms_by_link_hears_updates_and_unsubscribes() {
    let (hook, received) = webhook_receiver().await;
    let app = spawn_with(vec![], HashMap::new(), |settings| {
        settings.responder.subscriptions.allow_private_webhooks = true;
    })
    .await;

    // The status page offers the form, listing the components.
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains(r#"action="/subscriptions""#), "no form");
    assert!(html.contains(r#"name="component" value="bridge""#));

    // Posting it (as a browser without JavaScript would) asks for confirmation and sends one message.
    let response = app
        .http
        .post(format!("{}/subscriptions", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "kind=webhook&address={}&component=bridge&component=peg",
            urlencode(&hook)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert!(response.text().await.unwrap().contains("confirmation link"));
    let bodies = wait_for_bodies(&received, 1).await;
    assert_eq!(bodies[0]["type"], "subscription.confirm");
    let confirm = bodies[0]["subscription"]["confirm_url"].as_str().unwrap();

    // Following the link confirms.
    let confirmed = app.get(&path_of(confirm)).await;
    assert_eq!(confirmed.status(), 200);
    assert!(confirmed.text().await.unwrap().contains("Bridge, TRN peg"));

    // A public update on the bridge reaches the subscriber.
    let id = app.open_incident("L2", "bridge").await;
    let bodies = wait_for_bodies(&received, 2).await;
    assert_eq!(bodies[1]["incident"]["id"], id.as_str());
    assert_eq!(bodies[1]["incident"]["status"], "investigating");
    let update = app
        .http
        .post(format!("{}/api/v1/incidents/{id}/status-update", app.base))
        .json(&json!({"status": "identified", "message": "A relayer is stuck."}))
        .send()
        .await
        .unwrap();
    assert_eq!(update.status(), 200);
    let bodies = wait_for_bodies(&received, 3).await;
    assert_eq!(
        bodies[2]["incident"]["update"]["body"],
        "A relayer is stuck."
    );
    // The commander's page counts what reached subscribers.
    let mut counted = String::new();
    for _ in 0..50 {
        let html = app
            .get(&format!("/incidents/{id}"))
            .await
            .text()
            .await
            .unwrap();
        counted = html
            .split_once(r#"id="subscriber-messages">"#)
            .map(|(_, rest)| rest.split('<').next().unwrap_or_default().to_owned())
            .unwrap_or_default();
        if counted.contains("2 messages sent") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        counted,
        "Status-page subscribers: 2 messages sent, 0 waiting, 0 failed."
    );
    // The operators' list shows it confirmed.
    let list: Value = app.get("/api/v1/subscriptions").await.json().await.unwrap();
    assert_eq!(list["subscriptions"][0]["state"], "confirmed");
    assert_eq!(
        list["subscriptions"][0]["components"],
        json!(["bridge", "peg"])
    );

    // The unsubscribe link asks first (GET changes nothing), then the button unsubscribes.
    let unsubscribe = path_of(
        bodies[2]["subscription"]["unsubscribe_url"]
            .as_str()
            .unwrap(),
    );
    let ask = app.get(&unsubscribe).await;
    assert_eq!(ask.status(), 200);
    assert!(ask.text().await.unwrap().contains(r#"name="token""#));
    let list: Value = app.get("/api/v1/subscriptions").await.json().await.unwrap();
    assert_eq!(list["subscriptions"][0]["state"], "confirmed");
    let done = app
        .http
        .post(format!("{}{unsubscribe}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let list: Value = app.get("/api/v1/subscriptions").await.json().await.unwrap();
    assert_eq!(list["subscriptions"][0]["state"], "unsubscribed");
}

#[tokio::test]
async fn subscription_requests_with_bad_input_get_clear_errors() {
    let app = spawn(vec![], HashMap::new()).await;
    let post = |body: Value| {
        let http = app.http.clone();
        let url = format!("{}/api/v1/status/subscriptions", app.base);
        async move { http.post(url).json(&body).send().await.unwrap() }
    };
    for (body, status, needle) in [
        (
            json!({"webhook": "https://hooks.example.org/x", "components": ["moon"]}),
            400,
            "moon",
        ),
        (json!({"webhook": "http://127.0.0.1:1/x"}), 400, "private"),
        (
            json!({"email": "a@example.org", "webhook": "https://x.org/"}),
            400,
            "exactly one",
        ),
        (
            json!({"webhook": "https://hooks.example.org/x", "colour": "red"}),
            400,
            "colour",
        ),
        // No email channel is configured by default, so email is not offered.
        (json!({"email": "a@example.org"}), 409, "not offered"),
    ] {
        let response = post(body.clone()).await;
        assert_eq!(response.status(), status, "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error"]["message"].as_str().unwrap().contains(needle),
            "{body}: {error}"
        );
    }
    let accepted =
        post(json!({"webhook": "https://hooks.example.org/x", "components": ["Bridge"]})).await;
    assert_eq!(accepted.status(), 202);
    let outcome: Value = accepted.json().await.unwrap();
    assert_eq!(outcome["state"], "pending");
    assert_eq!(outcome["components"], json!(["bridge"]));

    // Forged links are refused with a page, not a crash.
    let forged = app
        .get("/subscriptions/confirm?token=sub-1.1.99999999999999.00")
        .await;
    assert_eq!(forged.status(), 403);
    let forged = app.get("/subscriptions/unsubscribe?token=nonsense").await;
    assert_eq!(forged.status(), 403);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
