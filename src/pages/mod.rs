//! The web pages: the public status page (`/`, `/api/v1/status/summary.json`, `/feed.atom`), the incident
//! commander's page (`/incidents/{id}`), the on-call dashboard (`/oncall`), the governance console
//! (`/governance`), and live updates over server-sent events (`/events`).
//!
//! How it fits together:
//! - [`Web`] wraps the [`AppState`] with what pages need on top: a change notifier, a cached status-page
//!   snapshot and a short in-memory history of the embedded core's key series (for evidence charts).
//! - A watcher task polls a cheap fingerprint of incidents, pages and core modules four times a second.
//!   Any change (from a page form, the JSON API, the detector, a delivery worker) bumps a generation
//!   number, rebuilds the status snapshot and is broadcast to every `/events` subscriber. Open pages then
//!   re-fetch themselves and swap their `data-live` regions, so they follow within a second; without
//!   JavaScript every page is complete as served and every form works as a plain POST-then-redirect.
//! - The status page is public and hot: it is rendered once per change (or every
//!   [`SNAPSHOT_MAX_AGE`]) into bytes and served from that snapshot, never per request.
//! - The other pages need a token with the viewer role (forms: responder) once tokens are configured. A
//!   browser presents it as a cookie set by `/login` (or by opening a link with `?token=…` once, which
//!   sets the cookie and redirects to the same URL without it). Form posts must come from this origin.
//!
//! Templates are askama files under `dashboards/templates` (auto-escaped; `askama.toml` at the root).

pub mod chart;
mod governance;
mod incident;
mod oncall;
mod session;
pub mod status;
mod subscribe;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::Stream;
use model::ErrorKind;
use responder::store::IncidentFilter;
use tokio::sync::broadcast;

use crate::api::AppState;
use crate::auth::{HasTokens, TokenTable};

/// How often the watcher looks for changes; bounds how stale an open page can be.
const WATCH_EVERY: Duration = Duration::from_millis(250);
/// The status snapshot is rebuilt at least this often even without a change (maintenance windows
/// start, uptime bars roll over at midnight, "updated" times advance).
const SNAPSHOT_MAX_AGE: Duration = Duration::from_secs(10);
/// An `/events` stream ends after this long and the browser reconnects (EventSource does that by itself);
/// streams also end at once when Vigil shuts down.
const SSE_LIFETIME: Duration = Duration::from_secs(20);
/// How much of the core's series history is kept for evidence charts.
const SERIES_KEEP_MS: i64 = 60 * 60 * 1000;
const SAMPLE_EVERY_MS: i64 = 1000;

/// Page-side state shared by every page handler; cheap to clone.
#[derive(Clone)]
pub struct Web {
    inner: Arc<Inner>,
}

struct Inner {
    app: AppState,
    changes: broadcast::Sender<u64>,
    generation: AtomicU64,
    status: RwLock<Option<Arc<StatusSnapshot>>>,
    rebuild: tokio::sync::Mutex<()>,
    series: Mutex<BTreeMap<String, VecDeque<(i64, f64)>>>,
    subscribe_budget: Mutex<subscribe::RequestBudget>,
}

/// The public status page, pre-rendered.
pub struct StatusSnapshot {
    generation: u64,
    built: Instant,
    etag: HeaderValue,
    html: Bytes,
    summary: Bytes,
    feed: Bytes,
    /// The component ids the page lists (what readers can subscribe to).
    components: Vec<String>,
}

impl HasTokens for Web {
    fn tokens(&self) -> &TokenTable {
        &self.inner.app.tokens
    }
}

impl Web {
    /// Wraps `app` and starts the watcher. The watcher holds only a weak reference and stops when the
    /// router (and with it every `Web`) is dropped at shutdown.
    pub fn start(app: AppState) -> Self {
        let (changes, _) = broadcast::channel(64);
        let web = Self {
            inner: Arc::new(Inner {
                app,
                changes,
                generation: AtomicU64::new(1),
                status: RwLock::new(None),
                rebuild: tokio::sync::Mutex::new(()),
                series: Mutex::default(),
                subscribe_budget: Mutex::default(),
            }),
        };
        let weak = Arc::downgrade(&web.inner);
        tokio::spawn(watch(weak));
        web
    }

    pub fn app(&self) -> &AppState {
        &self.inner.app
    }

    /// Tells every open page that something changed (page forms call this so their own redirect shows
    /// the change without waiting for the watcher). The status snapshot is rebuilt *before* the event goes
    /// out, so a page that re-fetches on the event never gets the old snapshot.
    pub async fn changed(&self) {
        let generation = self.inner.generation.fetch_add(1, Ordering::SeqCst) + 1;
        if let Err(error) = self.refresh_status().await {
            tracing::warn!(message = %error.message, "cannot rebuild the status page");
        }
        let _ = self.inner.changes.send(generation);
    }

    /// Rebuilds the status snapshot if it is stale, waiting for a rebuild already under way.
    async fn refresh_status(&self) -> Result<(), PageError> {
        let _guard = self.inner.rebuild.lock().await;
        if let Some(snapshot) = self.cached_status()
            && snapshot.generation == self.generation()
        {
            return Ok(());
        }
        let snapshot = Arc::new(self.build_status().await?);
        *self
            .inner
            .status
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(snapshot);
        Ok(())
    }

    fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::SeqCst)
    }

    /// The current status snapshot, rebuilding it if a change made it stale. While one request rebuilds,
    /// others are served the previous snapshot rather than queueing behind it.
    pub async fn status(&self) -> Result<Arc<StatusSnapshot>, PageError> {
        let current = self.cached_status();
        if let Some(snapshot) = &current
            && snapshot.generation == self.generation()
            && snapshot.built.elapsed() < SNAPSHOT_MAX_AGE
        {
            return Ok(snapshot.clone());
        }
        let guard = match (self.inner.rebuild.try_lock(), current) {
            (Ok(guard), _) => guard,
            (Err(_), Some(stale)) => return Ok(stale),
            (Err(_), None) => self.inner.rebuild.lock().await,
        };
        // Someone may have rebuilt while we waited.
        if let Some(snapshot) = self.cached_status()
            && snapshot.generation == self.generation()
            && snapshot.built.elapsed() < SNAPSHOT_MAX_AGE
        {
            return Ok(snapshot);
        }
        let snapshot = Arc::new(self.build_status().await?);
        *self
            .inner
            .status
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(snapshot.clone());
        drop(guard);
        Ok(snapshot)
    }

    fn cached_status(&self) -> Option<Arc<StatusSnapshot>> {
        self.inner
            .status
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    async fn build_status(&self) -> Result<StatusSnapshot, PageError> {
        let generation = self.generation();
        let inputs = self.status_inputs().await?;
        let model = status::build_model(&inputs);
        let subscribe_kinds: Vec<&'static str> = self
            .app()
            .responder
            .subscription_kinds()
            .into_iter()
            .map(responder::store::SubscriptionKind::as_str)
            .collect();
        let html = status::StatusPage {
            model: &model,
            subscribe_kinds: &subscribe_kinds,
            live: true,
            section: "status",
        }
        .render()
        .map_err(PageError::render)?;
        let summary = serde_json::to_vec(&status::summary_json(&model))
            .map_err(|error| PageError::internal("cannot encode the summary", &error))?;
        let entries = model.open.iter().chain(model.past.iter()).collect();
        let feed = status::Feed {
            model: &model,
            entries,
        }
        .render()
        .map_err(PageError::render)?;
        let etag = HeaderValue::from_str(&format!("\"{generation}-{}\"", inputs.now_ms / 1000))
            .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Ok(StatusSnapshot {
            generation,
            built: Instant::now(),
            etag,
            html: Bytes::from(html),
            summary: Bytes::from(summary),
            feed: Bytes::from(feed),
            components: model.components.iter().map(|row| row.id.clone()).collect(),
        })
    }

    async fn status_inputs(&self) -> Result<status::Inputs, PageError> {
        use std::collections::BTreeSet;
        let app = self.app();
        let store = &app.store;
        let now = model::now_ms();
        let read =
            |error: responder::StoreError| PageError::from_kind("cannot read incidents", error);
        let open = store
            .incidents(IncidentFilter::Open, 500)
            .await
            .map_err(read)?;
        let window = store
            .incidents_opened_between(now - status::UPTIME_DAYS * status::DAY_MS, now + 1)
            .await
            .map_err(read)?;
        let past_from = now - status::PAST_DAYS * status::DAY_MS;
        let mut seen = BTreeSet::new();
        let mut history = Vec::with_capacity(open.len() + window.len());
        for incident in open.iter().chain(window.iter()) {
            if seen.insert(incident.id.clone()) {
                history.push(incident.clone());
            }
        }
        let mut listed = Vec::new();
        for incident in &history {
            let wanted = incident.resolved_at_ms.is_none()
                || incident.resolved_at_ms.is_some_and(|at| at >= past_from);
            if wanted && status::is_public(incident) {
                let timeline = store.timeline(&incident.id).await.map_err(read)?;
                listed.push((incident.clone(), timeline));
            }
        }
        Ok(status::Inputs {
            now_ms: now,
            page_name: "Vigil".to_owned(),
            base_url: app.responder.config().base_url.clone(),
            listed,
            history,
            maintenance: app
                .responder
                .maintenance_periods(now, now + 7 * status::DAY_MS),
        })
    }

    /// Points of the core series that best evidences a problem with `component`, in `[from, to]`, and
    /// the series' name. Empty when the component has no such series (or the core is off).
    pub fn series_for(
        &self,
        component: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> (String, Vec<(i64, f64)>) {
        let key = series_key(component);
        let series = self
            .inner
            .series
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let points = series
            .get(&key)
            .map(|points| {
                points
                    .iter()
                    .copied()
                    .filter(|(at, _)| (from_ms..=to_ms).contains(at))
                    .collect()
            })
            .unwrap_or_default();
        (key, points)
    }
}

/// The core series shown as evidence for a component.
fn series_key(component: &str) -> String {
    match component {
        "peg" => "core_price".to_owned(),
        "chain" | "validators" | "api" => "core_height".to_owned(),
        module => format!("core_module_value_locked{{module=\"{module}\"}}"),
    }
}

/// Polls for changes; samples the core's series once a second.
async fn watch(weak: Weak<Inner>) {
    let mut interval = tokio::time::interval(WATCH_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_fingerprint = None;
    let mut last_sample = 0;
    loop {
        interval.tick().await;
        let Some(inner) = weak.upgrade() else {
            return;
        };
        // At shutdown the store closes under us; stop rather than log failed reads.
        if inner.app.shutdown.is_cancelled() {
            return;
        }
        let web = Web { inner };
        let now = model::now_ms();
        if now - last_sample >= SAMPLE_EVERY_MS {
            last_sample = now;
            web.sample_core(now);
        }
        match web.fingerprint().await {
            Ok(fingerprint) => {
                if last_fingerprint.is_some_and(|last| last != fingerprint) {
                    web.changed().await;
                }
                last_fingerprint = Some(fingerprint);
            }
            Err(error) => tracing::debug!(%error, "page watcher cannot read the store"),
        }
    }
}

impl Web {
    async fn fingerprint(&self) -> Result<u64, responder::StoreError> {
        let app = self.app();
        let mut hasher = DefaultHasher::new();
        for incident in app.store.incidents(IncidentFilter::All, 200).await? {
            (incident.id, incident.version).hash(&mut hasher);
        }
        for page in app.store.pages(100).await? {
            (page.id, page.state.as_str(), page.attempts).hash(&mut hasher);
        }
        if let Some(core) = &app.core {
            let core = core.lock();
            for module in core.modules() {
                (&module.name, module.paused).hash(&mut hasher);
            }
        }
        Ok(hasher.finish())
    }

    fn sample_core(&self, now: i64) {
        let Some(core) = &self.app().core else {
            return;
        };
        let snapshot = core.snapshot();
        let mut samples = vec![
            ("core_height".to_owned(), snapshot.height as f64),
            ("core_price".to_owned(), snapshot.price),
        ];
        for module in &snapshot.modules {
            samples.push((series_key(&module.name), module.value_locked));
        }
        let mut series = self
            .inner
            .series
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (key, value) in samples {
            let points = series.entry(key).or_default();
            points.push_back((now, value));
            while points
                .front()
                .is_some_and(|(at, _)| *at < now - SERIES_KEEP_MS)
            {
                points.pop_front();
            }
        }
    }
}

/// Every page route, with its own state; merged into the API router.
pub fn router(app: AppState) -> Router {
    let web = Web::start(app);
    Router::new()
        .route("/", get(status_page))
        .route("/api/v1/status/summary.json", get(status_summary))
        .route("/feed.atom", get(status_feed))
        .route("/events", get(events))
        .route("/subscriptions", post(subscribe::subscribe_form))
        .route(
            "/api/v1/status/subscriptions",
            post(subscribe::subscribe_json),
        )
        .route("/subscriptions/confirm", get(subscribe::confirm))
        .route(
            "/subscriptions/unsubscribe",
            get(subscribe::unsubscribe_form).post(subscribe::unsubscribe),
        )
        .route("/api/v1/subscriptions", get(subscribe::list))
        .route("/api/v1/subscriptions/{id}/cancel", post(subscribe::cancel))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/incidents/{id}", get(incident::page))
        .route("/incidents/{id}/ack", post(incident::ack))
        .route("/incidents/{id}/resolve", post(incident::resolve))
        .route("/incidents/{id}/level", post(incident::level))
        .route("/incidents/{id}/notes", post(incident::note))
        .route(
            "/incidents/{id}/status-update",
            post(incident::status_update),
        )
        .route("/incidents/{id}/assign", post(incident::assign))
        .route("/oncall", get(oncall::page))
        .route("/governance", get(governance::page))
        .route("/governance/pause", post(governance::pause))
        .route("/governance/unpause", post(governance::unpause))
        .with_state(web)
}

async fn status_page(State(web): State<Web>, headers: HeaderMap) -> Result<Response, PageError> {
    let snapshot = web.status().await?;
    Ok(cached(
        &headers,
        &snapshot,
        "text/html; charset=utf-8",
        snapshot.html.clone(),
    ))
}

async fn status_summary(State(web): State<Web>, headers: HeaderMap) -> Result<Response, PageError> {
    let snapshot = web.status().await?;
    Ok(cached(
        &headers,
        &snapshot,
        "application/json",
        snapshot.summary.clone(),
    ))
}

async fn status_feed(State(web): State<Web>, headers: HeaderMap) -> Result<Response, PageError> {
    let snapshot = web.status().await?;
    Ok(cached(
        &headers,
        &snapshot,
        "application/atom+xml; charset=utf-8",
        snapshot.feed.clone(),
    ))
}

/// A public response from the snapshot: short shared caching (the page is live anyway) and an ETag so
/// revalidation costs a 304.
fn cached(
    headers: &HeaderMap,
    snapshot: &StatusSnapshot,
    content_type: &'static str,
    body: Bytes,
) -> Response {
    let cache = HeaderValue::from_static("public, max-age=5");
    if headers
        .get(IF_NONE_MATCH)
        .is_some_and(|tag| tag.as_bytes() == snapshot.etag.as_bytes())
    {
        return (
            StatusCode::NOT_MODIFIED,
            [(ETAG, snapshot.etag.clone()), (CACHE_CONTROL, cache)],
        )
            .into_response();
    }
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (ETAG, snapshot.etag.clone()),
            (CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

/// `GET /events`: one `change` event (data: the generation) per change. It carries no data of its own,
/// so it is public like the status page it drives.
async fn events(State(web): State<Web>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = web.inner.changes.subscribe();
    let deadline = tokio::time::Instant::now() + SSE_LIFETIME;
    let hello = Event::default()
        .retry(Duration::from_millis(1000))
        .event("hello")
        .data(web.generation().to_string());
    let shutdown = web.inner.app.shutdown.clone();
    let stream = futures::stream::unfold(
        (receiver, Some(hello), shutdown),
        move |(mut receiver, first, shutdown)| async move {
            if let Some(event) = first {
                return Some((Ok(event), (receiver, None, shutdown)));
            }
            let received = tokio::select! {
                () = shutdown.cancelled() => return None,
                received = tokio::time::timeout_at(deadline, receiver.recv()) => received,
            };
            let generation = match received {
                Err(_) | Ok(Err(broadcast::error::RecvError::Closed)) => return None,
                Ok(Ok(generation)) => generation,
                // Missed some: one refresh covers them all.
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => 0,
            };
            let event = Event::default()
                .event("change")
                .data(generation.to_string());
            Some((Ok(event), (receiver, None, shutdown)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

// ---- errors as pages ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
    live: bool,
    section: &'static str,
}

/// A failure shown as an HTML page with the right status code.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub message: String,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn from_kind<E: model::HasKind + std::fmt::Display>(context: &str, error: E) -> Self {
        let status = match error.kind() {
            ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(%error, "{context}");
        }
        Self::new(status, format!("{context}: {error}"))
    }

    pub fn internal(context: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{context}; see the server log"),
        )
    }

    fn render(error: askama::Error) -> Self {
        Self::internal("cannot render the page", &error)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let page = ErrorPage {
            status: self.status.as_u16(),
            title,
            message: &self.message,
            live: false,
            section: "error",
        };
        let body = page
            .render()
            .unwrap_or_else(|_| format!("{} {title}", self.status.as_u16()));
        (
            self.status,
            [
                (CONTENT_TYPE, "text/html; charset=utf-8"),
                (CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response()
    }
}

/// Renders an authenticated page: never cached by shared caches.
fn private_page(template: &impl Template) -> Result<Response, PageError> {
    let html = template.render().map_err(PageError::render)?;
    Ok((
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "private, no-store"),
        ],
        html,
    )
        .into_response())
}

/// "3m", "2h 5m", "4d": how long ago, for ages on the dashboards.
pub fn age(since_ms: i64, now_ms: i64) -> String {
    let seconds = (now_ms - since_ms).max(0) / 1000;
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d", s / 86_400),
    }
}
