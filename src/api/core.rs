//! `GET /api/v1/core` and `POST /api/v1/core/scenarios`: the embedded core's state and fault injection.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use model::ErrorKind;
use protocol::{Scenario, ScenarioParams};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiJson};
use crate::auth::{Principal, Role};
use crate::metrics::ScenarioLabels;

/// How many recent scenario starts and stops `/api/v1/core` shows.
const SCENARIO_LOG_LIMIT: u32 = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/core", get(core_state))
        .route("/api/v1/core/scenarios", post(scenario_command))
}

fn core_handle(state: &AppState) -> Result<&protocol::CoreHandle, ApiError> {
    state.core.as_ref().ok_or_else(|| {
        ApiError::not_found("the embedded core is disabled ([core] enabled = false)")
    })
}

async fn core_state(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Viewer)?;
    let snapshot = core_handle(&state)?.snapshot();
    let log = state
        .store
        .scenario_events(SCENARIO_LOG_LIMIT)
        .await
        .map_err(|error| ApiError::from_kind("cannot read the scenario log", error))?;
    let mut body = serde_json::to_value(&snapshot)
        .map_err(|error| ApiError::internal("cannot encode the core state", &error))?;
    body["scenario_log"] = log
        .into_iter()
        .map(|event| {
            json!({
                "at": rfc3339(event.at_ms),
                "scenario": event.scenario,
                "action": event.action,
                "actor": event.actor,
                "changed": event.changed,
                "params": event.params,
            })
        })
        .collect();
    Ok(Json(body))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum Action {
    Start,
    Stop,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioCommand {
    name: String,
    action: Action,
    #[serde(default)]
    module: Option<String>,
    #[serde(default)]
    validator: Option<String>,
}

async fn scenario_command(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(command): ApiJson<ScenarioCommand>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Role::Admin)?;
    let handle = core_handle(&state)?;
    let scenario: Scenario = command.name.parse().map_err(|error: protocol::CoreError| {
        ApiError::new(ErrorKind::NotFound, error.to_string())
    })?;
    let params = ScenarioParams {
        module: command.module.clone(),
        validator: command.validator.clone(),
    };
    if command.action == Action::Stop && (params.module.is_some() || params.validator.is_some()) {
        return Err(ApiError::invalid(
            "module and validator apply to \"start\" only",
        ));
    }

    let _serialised = state.scenario_lock.lock().await;
    // Check everything before recording, so a refused command leaves no trace and changes nothing.
    let (changed, params) = {
        let core = handle.lock();
        match command.action {
            Action::Start => core
                .check_start(scenario, params)
                .map_err(|error| ApiError::from_kind("cannot start", error))?,
            Action::Stop => (core.is_active(scenario), params),
        }
    };
    let event = responder::NewScenarioEvent {
        scenario: scenario.as_str().to_owned(),
        action: match command.action {
            Action::Start => "start".into(),
            Action::Stop => "stop".into(),
        },
        actor: principal.name.clone(),
        changed,
        params: serde_json::to_value(&params).unwrap_or(Value::Null),
        at_ms: model::now_ms(),
    };
    // The record is committed before the core changes: a crash in between leaves a record of an intent, never
    // an unrecorded fault.
    state
        .store
        .record_scenario_event(&event)
        .await
        .map_err(|error| ApiError::from_kind("cannot record the scenario command", error))?;
    let active = match command.action {
        Action::Start => {
            handle
                .start_scenario(scenario, params)
                .map_err(|error| ApiError::from_kind("cannot start", error))?;
            true
        }
        Action::Stop => {
            handle.stop_scenario(scenario);
            false
        }
    };
    state
        .metrics
        .vigil
        .scenario_commands
        .get_or_create(&ScenarioLabels {
            scenario: event.scenario.clone(),
            action: event.action.clone(),
        })
        .inc();
    tracing::info!(scenario = %scenario, action = %event.action, actor = %principal.name, changed, "scenario command");
    Ok(Json(
        json!({"name": scenario.as_str(), "active": active, "changed": changed}),
    ))
}

pub(crate) fn rfc3339(at_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(at_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
