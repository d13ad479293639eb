//! `/governance`: the emergency-pause console — every module and whether it is paused, a pause form
//! (guardians), unpause requests with their approvals against the quorum (governors), and the append-only
//! audit log with the result of re-checking its hash chain. The forms call the same
//! [`responder::pause::PauseService`] as `POST /api/v1/pause|unpause`, which checks roles itself so that
//! refusals are audited too.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use responder::pause::{Actor, AuditEntryView, AuditLog};
use serde::Deserialize;

use super::session::{PageUser, redirect, same_origin};
use super::{PageError, Web, private_page};
use crate::auth::Role;

/// How many audit entries the console lists (newest first); the API has them all.
const AUDIT_ROWS: usize = 100;
/// Actions after which unpause approvals start over (mirrors the pause service's rounds).
const ROUND_BOUNDARIES: [&str; 3] = ["pause", "automatic_pause", "unpause"];

pub struct ModuleRow {
    pub name: String,
    pub paused: bool,
    pub value_locked: f64,
    pub tx_total: u64,
    pub rejected_total: u64,
    /// Governors whose unpause approvals count now.
    pub approvals: Vec<String>,
}

impl ModuleRow {
    pub fn approvals_text(&self) -> String {
        if self.approvals.is_empty() {
            "none yet".to_owned()
        } else {
            self.approvals.join(", ")
        }
    }
}

#[derive(Template)]
#[template(path = "governance.html")]
struct GovernancePage {
    core_enabled: bool,
    modules: Vec<ModuleRow>,
    quorum: u32,
    window: String,
    entries: Vec<AuditEntryView>,
    total_entries: usize,
    chain_ok: bool,
    broken_at: Option<i64>,
    can_pause: bool,
    can_approve: bool,
    user: String,
    live: bool,
    section: &'static str,
}

impl GovernancePage {
    fn paused_count(&self) -> usize {
        self.modules.iter().filter(|module| module.paused).count()
    }
}

/// Approvals in the current round of `module` that are still inside the approval window.
fn approvals(log: &AuditLog, module: &str, since_ms: i64) -> Vec<String> {
    let start = log
        .entries
        .iter()
        .rposition(|entry| {
            entry.module == module && ROUND_BOUNDARIES.contains(&entry.action.as_str())
        })
        .map_or(0, |index| index + 1);
    let mut approvals: Vec<String> = Vec::new();
    for entry in &log.entries[start..] {
        let at =
            chrono::DateTime::parse_from_rfc3339(&entry.at).map_or(0, |at| at.timestamp_millis());
        if entry.module == module
            && entry.action == "unpause_approval"
            && at >= since_ms
            && !approvals.contains(&entry.actor)
        {
            approvals.push(entry.actor.clone());
        }
    }
    approvals
}

pub async fn page(State(web): State<Web>, user: PageUser) -> Result<Response, PageError> {
    user.require(Role::Viewer)?;
    let app = web.app();
    let pause = &app.actions.pause;
    let log = pause
        .audit_log()
        .await
        .map_err(|error| PageError::from_kind("cannot read the audit log", error))?;
    let window = pause.config().approval_window;
    let since = model::now_ms() - i64::try_from(window.get().as_millis()).unwrap_or(i64::MAX);
    let core = app.core.as_ref();
    let modules = match core {
        Some(core) => core
            .snapshot()
            .modules
            .into_iter()
            .map(|module| ModuleRow {
                approvals: approvals(&log, &module.name, since),
                name: module.name,
                paused: module.paused,
                value_locked: module.value_locked,
                tx_total: module.tx_total,
                rejected_total: module.rejected_total,
            })
            .collect(),
        // Other backends: what the chain says, for every watched pausable contract.
        None => crate::actions::chain_modules(&app.live)
            .into_iter()
            .map(|module| ModuleRow {
                approvals: approvals(&log, &module.name, since),
                name: module.name,
                paused: module.paused,
                value_locked: module.value_locked.unwrap_or(0.0),
                tx_total: 0,
                rejected_total: 0,
            })
            .collect(),
    };
    let total_entries = log.entries.len();
    let entries = log.entries.iter().rev().take(AUDIT_ROWS).cloned().collect();
    private_page(&GovernancePage {
        core_enabled: core.is_some(),
        modules,
        quorum: pause.config().unpause_quorum,
        window: window.to_string(),
        entries,
        total_entries,
        chain_ok: log.chain_ok,
        broken_at: log.broken_at,
        can_pause: user.can(Role::Guardian),
        can_approve: user.can(Role::Governor),
        user: user.0.name.clone(),
        live: true,
        section: "governance",
    })
}

fn actor(user: &PageUser) -> Actor {
    let role = match user.0.role {
        Role::Viewer => responder::pause::Role::Viewer,
        Role::Responder => responder::pause::Role::Responder,
        Role::Guardian => responder::pause::Role::Guardian,
        Role::Governor => responder::pause::Role::Governor,
        Role::Admin => responder::pause::Role::Admin,
    };
    Actor::new(user.0.name.clone(), role)
}

#[derive(Deserialize)]
pub struct PauseForm {
    module: String,
    reason: String,
}

fn form(input: Result<Form<PauseForm>, FormRejection>) -> Result<PauseForm, PageError> {
    input.map(|Form(value)| value).map_err(|rejection| {
        PageError::new(
            StatusCode::BAD_REQUEST,
            format!("the form is incomplete: {rejection}"),
        )
    })
}

pub async fn pause(
    State(web): State<Web>,
    user: PageUser,
    headers: HeaderMap,
    input: Result<Form<PauseForm>, FormRejection>,
) -> Result<Response, PageError> {
    same_origin(&headers)?;
    let input = form(input)?;
    web.app()
        .actions
        .pause
        .pause(&input.module, &input.reason, &actor(&user))
        .await
        .map_err(|error| PageError::from_kind("cannot pause", error))?;
    web.changed().await;
    Ok(redirect("/governance"))
}

pub async fn unpause(
    State(web): State<Web>,
    user: PageUser,
    headers: HeaderMap,
    input: Result<Form<PauseForm>, FormRejection>,
) -> Result<Response, PageError> {
    same_origin(&headers)?;
    let input = form(input)?;
    web.app()
        .actions
        .pause
        .request_unpause(&input.module, &input.reason, &actor(&user))
        .await
        .map_err(|error| PageError::from_kind("cannot request the unpause", error))?;
    web.changed().await;
    Ok(redirect("/governance"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: i64, at_ms: i64, actor: &str, action: &str, module: &str) -> AuditEntryView {
        AuditEntryView {
            seq,
            at: responder::time::rfc3339(at_ms),
            actor: actor.into(),
            role: "governor".into(),
            action: action.into(),
            module: module.into(),
            reason: String::new(),
            incident_id: None,
            detail: String::new(),
            hash: String::new(),
            prev_hash: String::new(),
        }
    }

    #[test]
    fn approvals_count_per_round_per_governor_within_the_window() {
        let log = AuditLog {
            entries: vec![
                entry(1, 1_000_000, "g1", "unpause_approval", "bridge"),
                entry(2, 2_000_000, "guardian", "pause", "bridge"),
                entry(3, 3_000_000, "g1", "unpause_approval", "bridge"),
                entry(4, 3_100_000, "g1", "unpause_approval", "bridge"),
                entry(5, 3_200_000, "g2", "unpause_approval", "escrow"),
                entry(6, 3_300_000, "g3", "unpause_approval", "bridge"),
            ],
            chain_ok: true,
            broken_at: None,
        };
        // Approvals before the latest pause belong to an old round; duplicates count once.
        assert_eq!(approvals(&log, "bridge", 0), vec!["g1", "g3"]);
        // Outside the approval window they lapse.
        assert_eq!(approvals(&log, "bridge", 3_250_000), vec!["g3"]);
        assert_eq!(approvals(&log, "escrow", 0), vec!["g2"]);
        assert!(approvals(&log, "auction", 0).is_empty());
    }
}
