//! `/incidents/{id}`: the incident commander's page — level and reason, live timeline, evidence chart,
//! runbook, pages sent, and forms for every action. Each form is a plain POST that redirects back to the
//! page (so it works without JavaScript); each handler is one [`responder::Responder`] call.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use model::{Labels, Level};
use responder::{Assign, IncidentDetail, ResponderError, SetLevel, StatusUpdate};
use serde::Deserialize;

use super::chart::render_series_svg;
use super::session::{PageUser, redirect, same_origin};
use super::{PageError, Web, private_page};
use crate::auth::Role;

/// The evidence chart covers this long before and after the start.
const CHART_BEFORE_MS: i64 = 10 * 60 * 1000;
const CHART_AFTER_MS: i64 = 20 * 60 * 1000;

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage<'a> {
    detail: &'a IncidentDetail,
    labels: Labels,
    chart: String,
    series: String,
    has_points: bool,
    can_act: bool,
    user: &'a str,
    levels: [&'static str; 4],
    statuses: [&'static str; 4],
    live: bool,
    section: &'static str,
}

impl IncidentPage<'_> {
    fn is_open(&self) -> bool {
        self.detail.incident.resolved_at.is_none()
    }

    fn is_acked(&self) -> bool {
        self.detail.incident.acked_at.is_some()
    }

    fn state(&self) -> &'static str {
        self.detail.incident.state.as_str()
    }

    fn level(&self) -> &'static str {
        self.detail.incident.level.as_str()
    }

    fn selected(&self, level: &str) -> bool {
        level == self.level()
    }

    fn runbook_is_link(&self) -> bool {
        self.detail
            .incident
            .runbook
            .as_deref()
            .is_some_and(|runbook| {
                runbook.starts_with("https://") || runbook.starts_with("http://")
            })
    }

    fn assignees(&self) -> String {
        self.detail.incident.assignees.join(", ")
    }
}

pub async fn page(
    State(web): State<Web>,
    user: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    user.require(Role::Viewer)?;
    let app = web.app();
    let detail = app
        .responder
        .get_incident(&id)
        .await
        .map_err(|error| PageError::from_kind("cannot read the incident", error))?;
    let record = app
        .store
        .incident(&id)
        .await
        .map_err(|error| PageError::from_kind("cannot read the incident", error))?;
    let (labels, opened_ms) = record
        .map(|incident| (incident.labels, incident.opened_at_ms))
        .unwrap_or_default();
    let (from, to) = (opened_ms - CHART_BEFORE_MS, opened_ms + CHART_AFTER_MS);
    let (series, points) = evidence_series(&web, &labels, from, to)
        .unwrap_or_else(|| web.series_for(&detail.incident.component, from, to));
    let chart = render_series_svg(&points, opened_ms, 720, 240);
    private_page(&IncidentPage {
        detail: &detail,
        labels,
        chart,
        series,
        has_points: !points.is_empty(),
        can_act: user.can(Role::Responder),
        user: &user.0.name,
        levels: ["L1", "L2", "L3", "L4"],
        statuses: ["investigating", "identified", "monitoring", "resolved"],
        live: true,
        section: "incident",
    })
}

/// Labels of an incident that describe the incident, not the series that triggered it.
const INCIDENT_LABELS: [&str; 6] = [
    "category",
    "component",
    "level",
    "series",
    "alertname",
    "severity",
];

/// The signal's own series from the collector's store, when the incident came from a detector signal
/// (its labels name the series and carry the series' labels). `None` for manual incidents and alerts,
/// which then fall back to the core series of their component.
fn evidence_series(
    web: &Web,
    labels: &Labels,
    from: i64,
    to: i64,
) -> Option<(String, Vec<(i64, f64)>)> {
    let name = labels.get("series")?;
    let matchers: Vec<String> = labels
        .iter()
        .filter(|(key, _)| !INCIDENT_LABELS.contains(&key.as_str()))
        .map(|(key, value)| {
            format!(
                "{key}=\"{}\"",
                value.replace('\\', "\\\\").replace('"', "\\\"")
            )
        })
        .collect();
    let text = format!("{name}{{{}}}", matchers.join(","));
    let selector = collector::series::Selector::parse(&text).ok()?;
    let found = web.app().live.series_store().query(&selector, Some(from));
    let series = found.into_iter().next()?;
    let points: Vec<(i64, f64)> = series
        .points
        .into_iter()
        .filter(|(at, _)| *at <= to)
        .collect();
    (!points.is_empty()).then_some((text, points))
}

/// The shared shape of every form handler: check origin and role, run the action, tell open pages, go
/// back to the incident page.
async fn act<F, Fut>(
    web: &Web,
    user: &PageUser,
    headers: &HeaderMap,
    id: String,
    what: &str,
    action: F,
) -> Result<Response, PageError>
where
    F: FnOnce(responder::Responder, String, String) -> Fut,
    Fut: Future<Output = Result<IncidentDetail, ResponderError>>,
{
    same_origin(headers)?;
    user.require(Role::Responder)?;
    let location = format!("/incidents/{id}");
    action(web.app().responder.clone(), user.0.name.clone(), id)
        .await
        .map_err(|error| PageError::from_kind(what, error))?;
    web.changed().await;
    Ok(redirect(&location))
}

fn form<T>(input: Result<Form<T>, FormRejection>) -> Result<T, PageError> {
    input.map(|Form(value)| value).map_err(|rejection| {
        PageError::new(
            StatusCode::BAD_REQUEST,
            format!("the form is incomplete: {rejection}"),
        )
    })
}

pub async fn ack(
    State(web): State<Web>,
    user: PageUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    act(
        &web,
        &user,
        &headers,
        id,
        "cannot acknowledge",
        |responder, actor, id| async move { responder.ack(&id, &actor).await },
    )
    .await
}

pub async fn resolve(
    State(web): State<Web>,
    user: PageUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    act(
        &web,
        &user,
        &headers,
        id,
        "cannot resolve",
        |responder, actor, id| async move { responder.resolve(&id, &actor).await },
    )
    .await
}

#[derive(Deserialize)]
pub struct LevelForm {
    level: Level,
    #[serde(default)]
    reason: String,
}

pub async fn level(
    State(web): State<Web>,
    user: PageUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    input: Result<Form<LevelForm>, FormRejection>,
) -> Result<Response, PageError> {
    let input = form(input)?;
    let change = SetLevel {
        level: input.level,
        reason: input.reason,
    };
    act(
        &web,
        &user,
        &headers,
        id,
        "cannot change the level",
        |responder, actor, id| async move { responder.set_level(&id, &actor, &change).await },
    )
    .await
}

#[derive(Deserialize)]
pub struct NoteForm {
    text: String,
}

pub async fn note(
    State(web): State<Web>,
    user: PageUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    input: Result<Form<NoteForm>, FormRejection>,
) -> Result<Response, PageError> {
    let input = form(input)?;
    if input.text.trim().is_empty() {
        return Err(PageError::new(StatusCode::BAD_REQUEST, "the note is empty"));
    }
    act(
        &web,
        &user,
        &headers,
        id,
        "cannot add the note",
        |responder, actor, id| async move { responder.add_note(&id, &actor, &input.text).await },
    )
    .await
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
    message: String,
}

pub async fn status_update(
    State(web): State<Web>,
    user: PageUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    input: Result<Form<StatusForm>, FormRejection>,
) -> Result<Response, PageError> {
    let input = form(input)?;
    let update = StatusUpdate {
        status: input.status,
        message: input.message,
    };
    act(
        &web,
        &user,
        &headers,
        id,
        "cannot post the status update",
        |responder, actor, id| async move { responder.status_update(&id, &actor, &update).await },
    )
    .await
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    commander: String,
    /// Comma-separated.
    #[serde(default)]
    assignees: String,
}

pub async fn assign(
    State(web): State<Web>,
    user: PageUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    input: Result<Form<AssignForm>, FormRejection>,
) -> Result<Response, PageError> {
    let input = form(input)?;
    let change = Assign {
        commander: Some(input.commander.trim().to_owned()).filter(|c| !c.is_empty()),
        assignees: input
            .assignees
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    act(
        &web,
        &user,
        &headers,
        id,
        "cannot assign",
        |responder, actor, id| async move { responder.assign(&id, &actor, &change).await },
    )
    .await
}
