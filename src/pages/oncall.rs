//! `/oncall`: the on-call engineer's dashboard — who is on call now and next, open incidents by level with
//! age and acknowledgement, the pages outbox, target health, the hottest anomaly scores and today's
//! health-check runs. Sections with nothing configured say so instead of showing made-up numbers.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use model::Level;
use responder::healthchecks::RunView;
use responder::store::IncidentFilter;
use responder::{IncidentSummary, OnCallView, PageView};

use super::session::PageUser;
use super::{PageError, Web, age, private_page};
use crate::auth::Role;

/// How many outbox rows the dashboard lists.
const OUTBOX_ROWS: usize = 30;
/// How many series the anomaly-score table lists.
const HOTTEST_ROWS: usize = 10;

pub struct TargetRow {
    pub name: String,
    pub kind: String,
    pub up: bool,
    pub last_error: Option<String>,
    pub last_scrape: Option<String>,
    pub duration_ms: String,
}

pub struct ScoreRow {
    pub series: String,
    pub score: String,
}

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
    targets: Vec<TargetRow>,
    hottest: Vec<ScoreRow>,
    runs: Vec<RunView>,
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
    let live = &web.app().live;
    let targets = live
        .engine
        .targets_response()
        .targets
        .into_iter()
        .map(|target| TargetRow {
            kind: serde_json::to_value(target.kind)
                .ok()
                .and_then(|kind| kind.as_str().map(str::to_owned))
                .unwrap_or_default(),
            name: target.name,
            up: target.up,
            last_error: target.last_error,
            last_scrape: target
                .last_scrape
                .map(|at| responder::time::rfc3339(at.timestamp_millis())),
            duration_ms: format!("{:.1}", target.duration_ms),
        })
        .collect();
    let hottest = {
        let scores = live
            .hottest
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        scores
            .iter()
            .take(HOTTEST_ROWS)
            .map(|(key, score)| ScoreRow {
                series: key.to_string(),
                score: format!("{score:.3}"),
            })
            .collect()
    };
    // "Today" in UTC, like every time on these pages.
    let today = responder::time::rfc3339(now)[..10].to_owned();
    let runs = web
        .app()
        .actions
        .healthchecks
        .list_runs()
        .await
        .map_err(|error| PageError::from_kind("cannot list health-check runs", error))?
        .runs
        .into_iter()
        .filter(|run| run.started_at.starts_with(&today))
        .collect();
    private_page(&OnCallPage {
        schedules,
        groups,
        open_count,
        pages,
        pending_pages,
        failed_pages,
        targets,
        hottest,
        runs,
        now: responder::time::rfc3339(now),
        live: true,
        section: "oncall",
    })
}
