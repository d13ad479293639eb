//! `/healthz` (the process answers), `/readyz` (its dependencies answer), `/metrics`, and
//! `/api/v1/cluster` (the replicas sharing the database and which one leads).

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/cluster", get(cluster))
}

/// `GET /api/v1/cluster` (viewer): `{"self", "leader", "leader_since", "members": [...]}`.
async fn cluster(
    State(state): State<AppState>,
    principal: crate::auth::Principal,
) -> Result<Json<serde_json::Value>, super::error::ApiError> {
    principal.require(crate::auth::Role::Viewer)?;
    let view = state
        .cluster
        .view()
        .await
        .map_err(|error| super::error::ApiError::from_kind("cannot read the cluster", error))?;
    Ok(Json(super::error::to_json(&view)?))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Response {
    let store = match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(error)) => format!("failing: {}", super::error::error_chain(&error)),
        Err(_) => "failing: no answer within 2 s".to_owned(),
    };
    let core = if state.core.is_some() {
        "ok"
    } else {
        "disabled"
    };
    let ready = store == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({"status": if ready { "ready" } else { "not ready" }, "checks": {"store": store, "core": core}});
    (status, Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    crate::metrics::refresh_gauges(&state).await;
    let text = state.metrics.render();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
