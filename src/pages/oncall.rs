//! `/oncall`: the on-call engineer's dashboard — who is on call now and next, open incidents by level with
//! age and acknowledgement, the pages outbox, and the parts of the pipeline that feed it. Sections whose
//! data source is not wired into this Vigil say "not configured" instead of showing made-up numbers.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use model::Level;
use responder::store::IncidentFilter;
use responder::{IncidentSummary, OnCallView, PageView};

use super::session::PageUser;
use super::{PageError, Web, age, private_page};
use crate::auth::Role;

/// How many outbox rows the dashboard lists.
const OUTBOX_ROWS: usize = 30;

pub struct ScheduleRow {
    pub view: OnCallView,
    pub next: Option<String>,
}

pub struct OpenRow {
    pub incident: IncidentSummary,
    pub age: String,
}

pub struct LevelGroup {
    pub level: &'static str,
    pub severity: &'static str,
    pub incidents: Vec<OpenRow>,
}

#[derive(Template)]
#[template(path = "oncall.html")]
struct OnCallPage {
    schedules: Vec<ScheduleRow>,
    groups: Vec<LevelGroup>,
    open_count: usize,
    pages: Vec<PageView>,
    pending_pages: usize,
    failed_pages: usize,
    now: String,
    live: bool,
    section: &'static str,
}

pub async fn page(State(web): State<Web>, user: PageUser) -> Result<Response, PageError> {
    user.require(Role::Viewer)?;
    let responder = &web.app().responder;
    let now = model::now_ms();
    let schedules = responder
        .on_call()
        .into_iter()
        .map(|view| {
            let next = view
                .next_handoff
                .as_deref()
                .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
                .and_then(|at| {
                    responder
                        .on_call_at(&view.schedule, at.timestamp_millis())
                        .ok()
                })
                .flatten();
            ScheduleRow { view, next }
        })
        .collect();
    let open = responder
        .list_incidents(IncidentFilter::Open)
        .await
        .map_err(|error| PageError::from_kind("cannot list incidents", error))?
        .incidents;
    let open_count = open.len();
    let groups = Level::ALL
        .iter()
        .map(|level| LevelGroup {
            level: level.as_str(),
            severity: level.severity(),
            incidents: open
                .iter()
                .filter(|incident| incident.level == *level)
                .map(|incident| OpenRow {
                    age: chrono::DateTime::parse_from_rfc3339(&incident.opened_at)
                        .map_or_else(|_| "?".to_owned(), |at| age(at.timestamp_millis(), now)),
                    incident: incident.clone(),
                })
                .collect(),
        })
        .collect();
    let mut pages = responder
        .list_pages()
        .await
        .map_err(|error| PageError::from_kind("cannot list pages", error))?
        .pages;
    let pending_pages = pages
        .iter()
        .filter(|p| p.state.as_str() == "pending")
        .count();
    let failed_pages = pages
        .iter()
        .filter(|p| p.state.as_str() == "failed")
        .count();
    pages.truncate(OUTBOX_ROWS);
    private_page(&OnCallPage {
        schedules,
        groups,
        open_count,
        pages,
        pending_pages,
        failed_pages,
        now: responder::time::rfc3339(now),
        live: true,
        section: "oncall",
    })
}
