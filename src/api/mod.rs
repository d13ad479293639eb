//! The HTTP surface: JSON API under `/api/v1`, health and metrics endpoints, and the core's `/core/*`.
//!
//! [`router`] is the only entry point; each area module contributes its routes.

pub mod actions;
pub mod collect;
pub mod core;
pub mod error;
pub mod health;
pub mod incidents;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{HasTokens, TokenTable};
use crate::metrics::{HttpLabels, MetricsHub};

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn responder::Store>,
    pub core: Option<protocol::CoreHandle>,
    pub responder: responder::Responder,
    pub live: crate::pipeline::LiveLoop,
    pub actions: crate::actions::Actions,
    /// Incidents that just opened, for the runbook runner.
    pub opened: tokio::sync::mpsc::UnboundedSender<String>,
    /// This member's view of the replicas sharing the database.
    pub cluster: responder::cluster::Cluster,
    pub tokens: TokenTable,
    /// Cancelled when Vigil shuts down; long-lived responses (event streams) end on it.
    pub shutdown: tokio_util::sync::CancellationToken,
    pub metrics: MetricsHub,
    /// Serialises scenario commands so "record, then apply" cannot interleave.
    pub scenario_lock: Arc<tokio::sync::Mutex<()>>,
}

impl HasTokens for AppState {
    fn tokens(&self) -> &TokenTable {
        &self.tokens
    }
}

/// Limits that wrap every route.
pub struct HttpLimits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
}

pub fn router(state: AppState, limits: HttpLimits) -> Router {
    let mut app = Router::new()
        .merge(health::router())
        .merge(core::router())
        .merge(incidents::router())
        .merge(collect::router())
        .merge(actions::router())
        .with_state(state.clone());
    // The web pages (status page, incident, on-call, governance, /events) carry their own state.
    app = app.merge(crate::pages::router(state.clone()));
    if let Some(handle) = &state.core {
        app = app.merge(protocol::router(handle.clone()));
    }
    app.fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            track_requests,
        ))
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
}

async fn not_found(request: Request) -> error::ApiError {
    error::ApiError::not_found(format!(
        "no route for {} {}",
        request.method(),
        request.uri().path()
    ))
}

async fn track_requests(
    State(metrics): State<MetricsHub>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    // Route templates, not raw paths, keep the label set bounded.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let labels = HttpLabels {
        method,
        route,
        status: format!("{}xx", response.status().as_u16() / 100),
    };
    metrics.vigil.http_requests.get_or_create(&labels).inc();
    metrics
        .vigil
        .http_duration
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}
