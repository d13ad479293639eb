//! Incidents and everything people do with them: list/get, open by hand, acknowledge (also by signed link),
//! resolve, notes, level, assignment, public status updates, postmortem drafts; pages, silences, on-call and
//! heartbeats. Each route is thin glue over one [`responder::Responder`] method.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use responder::store::IncidentFilter;
use responder::{
    Assign, NewIncidentInput, NewSilenceInput, Responder, ResponderError, SetLevel, StatusUpdate,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJson, to_json};
use crate::auth::{Principal, Role};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/incidents", get(list).post(create))
        .route("/api/v1/incidents/{id}", get(detail))
        .route("/api/v1/incidents/{id}/ack", post(ack))
        .route("/api/v1/incidents/{id}/resolve", post(resolve))
        .route("/api/v1/incidents/{id}/notes", post(note))
        .route("/api/v1/incidents/{id}/level", post(level))
        .route("/api/v1/incidents/{id}/assign", post(assign))
        .route("/api/v1/incidents/{id}/status-update", post(status_update))
        .route("/api/v1/incidents/{id}/postmortem", get(postmortem))
        .route("/api/v1/pages", get(pages))
        .route("/api/v1/silences", get(silences).post(create_silence))
        .route("/api/v1/silences/{id}", delete(expire_silence))
        .route("/api/v1/oncall", get(oncall))
        .route("/api/v1/heartbeats/{name}", post(heartbeat))
        .route("/ack/{token}", get(ack_link))
}

fn responder(state: &AppState) -> &Responder {
    &state.responder
}

fn fail(context: &str) -> impl FnOnce(ResponderError) -> ApiError + '_ {
    move |error| ApiError::from_kind(context, error)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    state: Option<IncidentFilter>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    let list = responder(&state)
        .list_incidents(query.state.unwrap_or_default())
        .await
        .map_err(fail("cannot list incidents"))?;
    Ok(Json(to_json(&list)?))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<NewIncidentInput>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Responder)?;
    let incident = responder(&state)
        .create_incident(&input, &principal.name)
        .await
        .map_err(fail("cannot open the incident"))?;
    Ok(Json(to_json(&incident)?))
}

async fn detail(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    let incident = responder(&state)
        .get_incident(&id)
        .await
        .map_err(fail("cannot read the incident"))?;
    Ok(Json(to_json(&incident)?))
}

async fn ack(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Responder)?;
    let incident = responder(&state)
        .ack(&id, &principal.name)
        .await
        .map_err(fail("cannot acknowledge"))?;
    Ok(Json(to_json(&incident)?))
}

async fn resolve(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Responder)?;
    let incident = responder(&state)
        .resolve(&id, &principal.name)
        .await
        .map_err(fail("cannot resolve"))?;
    Ok(Json(to_json(&incident)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteInput {
    text: String,
}

async fn note(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NoteInput>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Responder)?;
    if input.text.trim().is_empty() {
        return Err(ApiError::invalid("text: must not be empty"));
    }
    let incident = responder(&state)
        .add_note(&id, &principal.name, &input.text)
        .await
        .map_err(fail("cannot add the note"))?;
    Ok(Json(to_json(&incident)?))
}

async fn level(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SetLevel>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Responder)?;
    let incident = responder(&state)
        .set_level(&id, &principal.name, &input)
        .await
        .map_err(fail("cannot change the level"))?;
    Ok(Json(to_json(&incident)?))
}

async fn assign(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<Assign>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Responder)?;
    let incident = responder(&state)
        .assign(&id, &principal.name, &input)
        .await
        .map_err(fail("cannot assign"))?;
    Ok(Json(to_json(&incident)?))
}

async fn status_update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<StatusUpdate>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Responder)?;
    let incident = responder(&state)
        .status_update(&id, &principal.name, &input)
        .await
        .map_err(fail("cannot post the status update"))?;
    Ok(Json(to_json(&incident)?))
}

async fn postmortem(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(Role::Viewer)?;
    let markdown = responder(&state)
        .postmortem(&id)
        .await
        .map_err(fail("cannot draft the postmortem"))?;
    Ok((
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
        markdown,
    )
        .into_response())
}

async fn pages(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    let pages = responder(&state)
        .list_pages()
        .await
        .map_err(fail("cannot list pages"))?;
    Ok(Json(to_json(&pages)?))
}

async fn silences(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    let silences = responder(&state)
        .list_silences()
        .await
        .map_err(fail("cannot list silences"))?;
    Ok(Json(to_json(&silences)?))
}

async fn create_silence(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<NewSilenceInput>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Responder)?;
    let silence = responder(&state)
        .create_silence(&input, &principal.name)
        .await
        .map_err(fail("cannot create the silence"))?;
    Ok(Json(to_json(&silence)?))
}

async fn expire_silence(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Responder)?;
    let silence = responder(&state)
        .expire_silence(id)
        .await
        .map_err(fail("cannot expire the silence"))?;
    Ok(Json(to_json(&silence)?))
}

async fn oncall(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    Ok(Json(
        json!({"schedules": to_json(&responder(&state).on_call())?}),
    ))
}

async fn heartbeat(
    State(state): State<AppState>,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Responder)?;
    responder(&state)
        .heartbeat(&name)
        .await
        .map_err(fail("cannot record the heartbeat"))?;
    Ok(Json(json!({"name": name, "ok": true})))
}

/// One-click acknowledge from a page: the signed, expiring link is the credential.
async fn ack_link(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let incident = responder(&state)
        .ack_with_link(&token)
        .await
        .map_err(fail("cannot acknowledge"))?;
    let body = to_json(&incident)?;
    let title = body["title"].as_str().unwrap_or("the incident");
    let id = body["id"].as_str().unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Acknowledged</title></head>\
         <body><h1>Acknowledged</h1><p>{} ({}) is acknowledged; escalation has stopped.</p></body></html>",
        escape_html(title),
        escape_html(id)
    );
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
