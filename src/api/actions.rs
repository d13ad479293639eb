//! The emergency pause, its governance quorum and audit log; health-check rounds on demand.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use model::HasKind;
use responder::pause::{Actor, PauseRequest};
use serde_json::Value;

use super::AppState;
use super::error::{ApiError, ApiJson};
use crate::auth::{Principal, Role};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/pause", post(pause))
        .route("/api/v1/unpause", post(unpause))
        .route("/api/v1/pauses", get(audit_log))
        .route("/api/v1/healthchecks", get(healthcheck_runs))
        .route("/api/v1/healthchecks/{suite}/run", post(run_suite))
}

fn actor(principal: &Principal) -> Actor {
    let role = match principal.role {
        Role::Viewer => responder::pause::Role::Viewer,
        Role::Responder => responder::pause::Role::Responder,
        Role::Guardian => responder::pause::Role::Guardian,
        Role::Governor => responder::pause::Role::Governor,
        Role::Admin => responder::pause::Role::Admin,
    };
    Actor::new(principal.name.clone(), role)
}

fn kind_error<E: HasKind + std::fmt::Display>(error: E) -> ApiError {
    ApiError::new(error.kind(), error.to_string())
}

fn json_body(value: &impl serde::Serialize) -> Result<Json<Value>, ApiError> {
    super::error::to_json(value).map(Json)
}

async fn pause(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<PauseRequest>,
) -> Result<Json<Value>, ApiError> {
    // The service checks the role itself so that refusals are audited too.
    let outcome = state
        .actions
        .pause
        .pause_for_incident(
            &request.module,
            &request.reason,
            &actor(&principal),
            request.incident_id.as_deref(),
        )
        .await
        .map_err(kind_error)?;
    json_body(&outcome)
}

async fn unpause(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<PauseRequest>,
) -> Result<Json<Value>, ApiError> {
    let outcome = state
        .actions
        .pause
        .request_unpause(&request.module, &request.reason, &actor(&principal))
        .await
        .map_err(kind_error)?;
    json_body(&outcome)
}

async fn audit_log(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    let mut body = json_body(&state.actions.pause.audit_log().await.map_err(kind_error)?)?;
    // The chain is the truth about what is paused, whatever the audit log says.
    body.0["modules"] = serde_json::to_value(crate::actions::chain_modules(&state.live))
        .map_err(|error| ApiError::internal("cannot list the modules", &error))?;
    Ok(body)
}

async fn healthcheck_runs(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    json_body(
        &state
            .actions
            .healthchecks
            .list_runs()
            .await
            .map_err(kind_error)?,
    )
}

async fn run_suite(
    State(state): State<AppState>,
    principal: Principal,
    Path(suite): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Responder)?;
    json_body(
        &state
            .actions
            .healthchecks
            .run_suite_now(&suite)
            .await
            .map_err(kind_error)?,
    )
}
