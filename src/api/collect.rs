//! What Vigil sees: target health, series windows, pushed alerts and real-user beacons, and the detector's
//! signals.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use collector::series::Selector;
use model::HasKind;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, to_json};
use crate::auth::{Principal, Role};

/// Most points a single series query returns, so one request cannot copy the whole store.
const MAX_SERIES_PER_QUERY: usize = 10_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/targets", get(targets))
        .route("/api/v1/contracts", get(contracts))
        .route("/api/v1/series", get(series))
        .route("/api/v1/signals", get(signals))
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/alerts/alertmanager", post(alertmanager_webhook))
        .route("/api/v2/alerts", post(alertmanager_v2))
        .route("/api/v1/ux", post(ux_beacons))
}

async fn targets(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    let mut body = to_json(&state.live.engine.targets_response())?;
    // Each JSON-RPC provider of a watched chain is a target too.
    if let Some(list) = body["targets"].as_array_mut() {
        for provider in state.live.chains.providers() {
            list.push(json!({
                "name": provider.name,
                "kind": "evm_chain",
                "up": provider.up,
                "last_error": provider.last_error,
                "last_scrape": provider.last_scrape,
                "duration_ms": provider.duration_ms,
                "chain": provider.chain,
                "url": provider.url,
                "head": provider.head,
            }));
        }
    }
    Ok(Json(body))
}

/// `GET /api/v1/contracts`: every watched contract, its last processed block, its reads and its last error.
async fn contracts(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    Ok(Json(
        json!({"contracts": to_json(&state.live.chains.contracts())?}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesQuery {
    #[serde(rename = "match")]
    selector: Option<String>,
    /// Only points at or after this Unix-ms time.
    since: Option<i64>,
}

async fn series(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<SeriesQuery>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    let text = query.selector.ok_or_else(|| {
        ApiError::invalid("match: missing; e.g. ?match=peg_price{target=\"core-price\"}")
    })?;
    let selector = Selector::parse(&text)
        .map_err(|error| ApiError::new(error.kind(), format!("match: {error}")))?;
    let mut series = state.live.series_store().query(&selector, query.since);
    let total = series.len();
    series.truncate(MAX_SERIES_PER_QUERY);
    let mut body = json!({"series": series});
    if total > MAX_SERIES_PER_QUERY {
        body["truncated"] = json!({"returned": MAX_SERIES_PER_QUERY, "matched": total});
    }
    Ok(Json(body))
}

async fn signals(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    let signals: Vec<Value> = state
        .live
        .signals
        .list()
        .into_iter()
        .map(|signal| {
            json!({
                "id": signal.id,
                "series": signal.series.to_string(),
                "labels": signal.series.labels,
                "category": signal.category,
                "component": signal.component,
                "score": signal.score,
                "level": signal.level,
                "reason": signal.reason,
                "started_at": super::core::rfc3339(signal.started_at_ms),
                "updated_at": super::core::rfc3339(signal.updated_at_ms),
                "active": signal.active,
                "evidence": signal.evidence,
            })
        })
        .collect();
    Ok(Json(json!({"signals": signals})))
}

async fn alerts(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    Ok(Json(json!({"alerts": state.live.alerts.list()})))
}

/// Alertmanager's webhook receiver: the payload as Alertmanager sends it.
async fn alertmanager_webhook(
    State(state): State<AppState>,
    principal: Principal,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Responder)?;
    ingest_alerts(&state, state.live.alerts.ingest_webhook(&body)).await
}

/// Alertmanager API v2 `POST /api/v2/alerts`: lets Prometheus use Vigil as its Alertmanager.
async fn alertmanager_v2(
    State(state): State<AppState>,
    principal: Principal,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Responder)?;
    ingest_alerts(&state, state.live.alerts.ingest_v2(&body)).await
}

async fn ingest_alerts(
    state: &AppState,
    outcome: Result<collector::alerts::IngestReport, collector::alerts::AlertError>,
) -> Result<Json<Value>, ApiError> {
    let report = match outcome {
        Ok(report) => report,
        Err(error) => {
            // Valid alerts of a partly invalid payload are kept; their changes still reach the responder.
            if let collector::alerts::AlertError::Invalid { report, .. } = &error {
                crate::pipeline::forward_alert_events(
                    &state.responder,
                    &state.opened,
                    &report.events,
                )
                .await;
            }
            return Err(ApiError::new(error.kind(), error.to_string()));
        }
    };
    // The responder has the changes before the sender hears 200, so a crash makes the sender retry.
    let failed =
        crate::pipeline::forward_alert_events(&state.responder, &state.opened, &report.events)
            .await;
    if failed > 0 {
        return Err(ApiError::new(
            model::ErrorKind::Unavailable,
            format!("{failed} alert change(s) could not be stored; retry"),
        ));
    }
    Ok(Json(
        json!({"accepted": report.accepted, "changes": report.events.len()}),
    ))
}

async fn ux_beacons(
    State(state): State<AppState>,
    principal: Principal,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Responder)?;
    let report = state
        .live
        .ux
        .ingest(&body)
        .map_err(|error| ApiError::new(error.kind(), error.to_string()))?;
    Ok(Json(to_json(&report)?))
}
