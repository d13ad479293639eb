//! Runbooks: Markdown files in `runbooks/` whose TOML front matter (between `+++` lines) says which
//! incidents they are for and which steps to take; the body is for people.
//!
//! ```text
//! +++
//! title = "Exploit drain"
//! [[match]]                      # any one [[match]] table matching selects the runbook
//! category = ["security"]        # incident category, any of
//! component = ["bridge"]         # incident component, any of (omit for all)
//! labels = { series = "core_module_value_locked" }   # exact label values
//! min_level = "L1"               # at least this severe
//! [[steps]]
//! action = "pause_module"        # pause_module | run_healthcheck | status_update | page_role
//! module = "{component}"         # {component} and {label:NAME} expand from the incident
//! approval = "none"              # none: runs automatically; required: listed as pending for a person
//! +++
//! # Exploit drain
//! …
//! ```
//!
//! TOML rather than YAML front matter: the config is TOML already, and it needs no new dependency.
//! [`load_dir`] reports every problem with file and line. [`RunbookExecutor::on_incident_opened`] runs
//! the automated steps of the matching runbook in order and records each outcome in the timeline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use model::{Labels, Level};
use serde::{Deserialize, Serialize};

use crate::pause::{AutomaticPause, PauseService};
use crate::{Responder, StatusUpdate};

/// A loaded, validated runbook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Runbook {
    /// The file stem, e.g. `exploit-drain`; what incidents and pages name.
    pub name: String,
    pub title: String,
    pub path: PathBuf,
    pub matchers: Vec<RunbookMatch>,
    pub steps: Vec<Step>,
    /// The Markdown body (human steps).
    pub body: String,
}

/// One `[[match]]` table: every given field must hold.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunbookMatch {
    pub category: Vec<String>,
    pub component: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub min_level: Option<Level>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    PauseModule,
    RunHealthcheck,
    StatusUpdate,
    PageRole,
}

impl StepAction {
    pub fn as_str(self) -> &'static str {
        match self {
            StepAction::PauseModule => "pause_module",
            StepAction::RunHealthcheck => "run_healthcheck",
            StepAction::StatusUpdate => "status_update",
            StepAction::PageRole => "page_role",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    #[default]
    None,
    Required,
}

/// One `[[steps]]` table. Which arguments an action needs: `pause_module` → `module`;
/// `run_healthcheck` → `suite`; `status_update` → `status`, `message`; `page_role` → `role` (an on-call
/// schedule name) and optionally `channel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub action: StepAction,
    #[serde(default)]
    pub approval: Approval,
    #[serde(default)]
    pub module: Option<String>,
    #[serde(default)]
    pub suite: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
}

impl Step {
    /// The step's main argument, for timeline lines (`pause_module bridge`).
    fn target(&self) -> Option<&str> {
        match self.action {
            StepAction::PauseModule => self.module.as_deref(),
            StepAction::RunHealthcheck => self.suite.as_deref(),
            StepAction::StatusUpdate => self.status.as_deref(),
            StepAction::PageRole => self.role.as_deref(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: String,
    #[serde(rename = "match", default)]
    matchers: Vec<RunbookMatch>,
    #[serde(default)]
    steps: Vec<Step>,
}

/// A problem in a runbook file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct RunbookError {
    pub path: PathBuf,
    /// 1-based line in the file.
    pub line: usize,
    pub message: String,
}

impl model::HasKind for RunbookError {
    fn kind(&self) -> model::ErrorKind {
        model::ErrorKind::InvalidInput
    }
}

/// Loads every `*.md` in `dir` (sorted by name). Either all runbooks, or every problem found.
pub fn load_dir(dir: &Path) -> Result<Vec<Runbook>, Vec<RunbookError>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            return Err(vec![RunbookError {
                path: dir.to_owned(),
                line: 0,
                message: format!("cannot read the runbook directory: {error}"),
            }]);
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    paths.sort();
    let mut runbooks = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let parsed = std::fs::read_to_string(&path)
            .map_err(|error| {
                vec![RunbookError {
                    path: path.clone(),
                    line: 0,
                    message: format!("cannot read: {error}"),
                }]
            })
            .and_then(|text| parse(&path, &text));
        match parsed {
            Ok(runbook) => runbooks.push(runbook),
            Err(mut found) => errors.append(&mut found),
        }
    }
    if errors.is_empty() {
        Ok(runbooks)
    } else {
        Err(errors)
    }
}

/// Parses one runbook file's text; `path` names it in errors and gives its name (the file stem).
pub fn parse(path: &Path, text: &str) -> Result<Runbook, Vec<RunbookError>> {
    let error = |line: usize, message: String| RunbookError {
        path: path.to_owned(),
        line,
        message,
    };
    let lines: Vec<&str> = text.lines().collect();
    if lines.first().map(|line| line.trim_end()) != Some("+++") {
        return Err(vec![error(
            1,
            "expected TOML front matter: the first line must be +++".to_owned(),
        )]);
    }
    let Some(end) = lines
        .iter()
        .skip(1)
        .position(|line| line.trim_end() == "+++")
        .map(|index| index + 1)
    else {
        return Err(vec![error(
            1,
            "front matter opened with +++ is never closed by a +++ line".to_owned(),
        )]);
    };
    let front = lines[1..end].join("\n");
    // Front matter starts on file line 2.
    let front_line = |offset: usize| 2 + front[..offset.min(front.len())].matches('\n').count();
    let matter: FrontMatter = match toml::from_str(&front) {
        Ok(matter) => matter,
        Err(parse_error) => {
            let line = parse_error.span().map_or(2, |span| front_line(span.start));
            return Err(vec![error(line, parse_error.message().to_owned())]);
        }
    };
    // Lines of each `[[steps]]` header, to point semantic errors at the step.
    let step_lines: Vec<usize> = lines[1..end]
        .iter()
        .enumerate()
        .filter(|(_, line)| line.trim() == "[[steps]]")
        .map(|(index, _)| index + 2)
        .collect();
    let mut errors = Vec::new();
    if matter.title.trim().is_empty() {
        errors.push(error(2, "title must not be empty".to_owned()));
    }
    if matter.matchers.is_empty() {
        errors.push(error(
            2,
            "needs at least one [[match]] table, or no incident will ever use it".to_owned(),
        ));
    }
    for (index, step) in matter.steps.iter().enumerate() {
        let line = step_lines.get(index).copied().unwrap_or(2);
        let missing = |field: &str| {
            error(
                line,
                format!(
                    "step {} ({}) needs `{field}`",
                    index + 1,
                    step.action.as_str()
                ),
            )
        };
        match step.action {
            StepAction::PauseModule if step.module.is_none() => errors.push(missing("module")),
            StepAction::RunHealthcheck if step.suite.is_none() => errors.push(missing("suite")),
            StepAction::StatusUpdate => {
                const STATUSES: [&str; 4] =
                    ["investigating", "identified", "monitoring", "resolved"];
                match &step.status {
                    None => errors.push(missing("status")),
                    Some(status) if !STATUSES.contains(&status.as_str()) => errors.push(error(
                        line,
                        format!(
                            "step {}: status {status:?} is not one of investigating, identified, monitoring, resolved",
                            index + 1
                        ),
                    )),
                    Some(_) => {}
                }
                if step.message.is_none() {
                    errors.push(missing("message"));
                }
            }
            StepAction::PageRole if step.role.is_none() => errors.push(missing("role")),
            _ => {}
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Runbook {
        name: path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default(),
        title: matter.title,
        path: path.to_owned(),
        matchers: matter.matchers,
        steps: matter.steps,
        body: lines[end + 1..].join("\n"),
    })
}

/// Maps incident labels to a runbook name; the shape [`crate::ResponderBuilder::runbooks`] takes.
pub type Resolver = Arc<dyn Fn(&Labels) -> Option<String> + Send + Sync>;

/// What the matcher looks at: an incident's (or signal's) labels, component, category and level.
#[derive(Debug, Clone, Copy)]
pub struct IncidentFacts<'a> {
    pub labels: &'a Labels,
    pub component: &'a str,
    pub category: &'a str,
    pub level: Level,
}

impl RunbookMatch {
    pub fn matches(&self, facts: &IncidentFacts<'_>) -> bool {
        (self.category.is_empty() || self.category.iter().any(|c| c == facts.category))
            && (self.component.is_empty() || self.component.iter().any(|c| c == facts.component))
            && self
                .labels
                .iter()
                .all(|(name, value)| facts.labels.get(name) == Some(value))
            // L1 < L4 in the derived order: "at least L2" means L1 or L2.
            && self.min_level.is_none_or(|min| facts.level <= min)
    }
}

/// The first runbook (in file-name order) with a matching `[[match]]`.
pub fn match_incident<'a>(
    runbooks: &'a [Runbook],
    facts: &IncidentFacts<'_>,
) -> Option<&'a Runbook> {
    runbooks.iter().find(|runbook| {
        runbook
            .matchers
            .iter()
            .any(|matcher| matcher.matches(facts))
    })
}

/// A [`crate::service::RunbookResolver`] for [`crate::ResponderBuilder::runbooks`], so new incidents
/// carry their runbook's name from the start (and their first pages name it). The labels the responder
/// passes include `component`, `category` and `level`.
pub fn resolver(runbooks: Arc<Vec<Runbook>>) -> Resolver {
    Arc::new(move |labels: &Labels| {
        let component = labels.get("component").map(String::as_str).unwrap_or("");
        let category = labels.get("category").map(String::as_str).unwrap_or("");
        let level = labels
            .get("level")
            .and_then(|level| level.parse().ok())
            .unwrap_or(Level::L4);
        match_incident(
            &runbooks,
            &IncidentFacts {
                labels,
                component,
                category,
                level,
            },
        )
        .map(|runbook| runbook.name.clone())
    })
}

/// Runs a health-check suite for a runbook step (implemented by the health-check service).
#[async_trait]
pub trait SuiteRunner: Send + Sync + 'static {
    /// Runs `suite` now; `Ok(true)` when every check passed.
    async fn run_suite(&self, suite: &str) -> Result<bool, String>;
}

/// What happened to one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepOutcome {
    pub index: usize,
    pub action: StepAction,
    pub target: Option<String>,
    /// `done`, `pending_approval`, `refused`, `skipped`, `failed`.
    pub state: &'static str,
    pub text: String,
}

/// What the executor did for one incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunbookRun {
    pub incident_id: String,
    pub runbook: Option<String>,
    pub steps: Vec<StepOutcome>,
}

/// Attaches runbooks to new incidents and runs their automated steps.
#[derive(Clone)]
pub struct RunbookExecutor {
    runbooks: Arc<Vec<Runbook>>,
    responder: Responder,
    pause: Option<PauseService>,
    suites: Option<Arc<dyn SuiteRunner>>,
}

impl RunbookExecutor {
    pub fn new(runbooks: Arc<Vec<Runbook>>, responder: Responder) -> Self {
        Self {
            runbooks,
            responder,
            pause: None,
            suites: None,
        }
    }

    /// Enables `pause_module` steps.
    pub fn with_pause(mut self, pause: PauseService) -> Self {
        self.pause = Some(pause);
        self
    }

    /// Enables `run_healthcheck` steps.
    pub fn with_suites(mut self, suites: Arc<dyn SuiteRunner>) -> Self {
        self.suites = Some(suites);
        self
    }

    pub fn runbooks(&self) -> &[Runbook] {
        &self.runbooks
    }

    /// Call once when an incident opens (`IngestOutcome::opened`). Attaches the matching runbook (unless
    /// the incident names it already), runs the `approval = "none"` steps in order, lists the others as
    /// pending, and records every step in the timeline as `runbook step i/n action target: outcome`.
    pub async fn on_incident_opened(&self, incident_id: &str) -> crate::Result<RunbookRun> {
        let detail = self.responder.get_incident(incident_id).await?;
        let incident = self
            .responder
            .store()
            .incident(incident_id)
            .await?
            .ok_or_else(|| crate::ResponderError::IncidentNotFound(incident_id.to_owned()))?;
        let facts = IncidentFacts {
            labels: &incident.labels,
            component: &incident.component,
            category: &incident.category,
            level: incident.level,
        };
        let runbook = match &detail.incident.runbook {
            Some(name) => self.runbooks.iter().find(|runbook| &runbook.name == name),
            None => match_incident(&self.runbooks, &facts),
        };
        let Some(runbook) = runbook else {
            return Ok(RunbookRun {
                incident_id: incident_id.to_owned(),
                runbook: detail.incident.runbook,
                steps: Vec::new(),
            });
        };
        if detail.incident.runbook.as_deref() != Some(runbook.name.as_str()) {
            self.responder
                .set_runbook(incident_id, "vigil", Some(&runbook.name))
                .await?;
        }
        let total = runbook.steps.len();
        let mut outcomes = Vec::new();
        for (index, step) in runbook.steps.iter().enumerate() {
            let target = step
                .target()
                .map(|raw| expand(raw, &incident.component, &incident.labels));
            let (state, text) = if step.approval == Approval::Required {
                ("pending_approval", "skipped: needs approval".to_owned())
            } else {
                self.run_step(runbook, step, target.as_deref(), &incident)
                    .await
            };
            let line = format!(
                "runbook {} step {}/{total} {}{}: {text}",
                runbook.name,
                index + 1,
                step.action.as_str(),
                target
                    .as_deref()
                    .map(|t| format!(" {t}"))
                    .unwrap_or_default()
            );
            self.responder
                .record_action(incident_id, "runbook", &line)
                .await?;
            outcomes.push(StepOutcome {
                index: index + 1,
                action: step.action,
                target,
                state,
                text,
            });
        }
        Ok(RunbookRun {
            incident_id: incident_id.to_owned(),
            runbook: Some(runbook.name.clone()),
            steps: outcomes,
        })
    }

    async fn run_step(
        &self,
        runbook: &Runbook,
        step: &Step,
        target: Option<&str>,
        incident: &crate::store::Incident,
    ) -> (&'static str, String) {
        let target = target.unwrap_or_default();
        match step.action {
            StepAction::PauseModule => {
                let Some(pause) = &self.pause else {
                    return ("skipped", "skipped: no pause service configured".to_owned());
                };
                let reason = format!("runbook {}: {}", runbook.name, incident.title);
                match pause.automatic_pause(target, &incident.id, &reason).await {
                    Ok(AutomaticPause::Paused { tx_hash, .. }) => (
                        "done",
                        match tx_hash {
                            Some(tx) => format!("paused (tx {tx})"),
                            None => "paused".to_owned(),
                        },
                    ),
                    Ok(AutomaticPause::AlreadyPaused) => ("done", "paused already".to_owned()),
                    Ok(AutomaticPause::Refused { reason }) => {
                        ("refused", format!("refused: {reason}"))
                    }
                    Err(error) => ("failed", format!("failed: {}", error_chain(&error))),
                }
            }
            StepAction::RunHealthcheck => {
                let Some(suites) = &self.suites else {
                    return (
                        "skipped",
                        "skipped: health checks not configured".to_owned(),
                    );
                };
                match suites.run_suite(target).await {
                    Ok(true) => ("done", "all checks passed".to_owned()),
                    Ok(false) => (
                        "done",
                        "some checks failed (see the health-check run)".to_owned(),
                    ),
                    Err(error) => ("failed", format!("failed: {error}")),
                }
            }
            StepAction::StatusUpdate => {
                let message = expand(
                    step.message.as_deref().unwrap_or_default(),
                    &incident.component,
                    &incident.labels,
                );
                let update = StatusUpdate {
                    status: target.to_owned(),
                    message,
                };
                match self
                    .responder
                    .status_update(&incident.id, "runbook", &update)
                    .await
                {
                    Ok(_) => ("done", "posted".to_owned()),
                    Err(error) => ("failed", format!("failed: {}", error_chain(&error))),
                }
            }
            StepAction::PageRole => self.page_role(runbook, step, target, incident).await,
        }
    }

    async fn page_role(
        &self,
        runbook: &Runbook,
        step: &Step,
        role: &str,
        incident: &crate::store::Incident,
    ) -> (&'static str, String) {
        let now = self.responder.now();
        let person = match self.responder.on_call_at(role, now) {
            Ok(Some(person)) => person,
            Ok(None) => return ("skipped", format!("skipped: nobody is on call for {role}")),
            Err(error) => return ("skipped", format!("skipped: {error}")),
        };
        let channel = step.channel.clone().or_else(|| {
            self.responder
                .config()
                .channels
                .first()
                .map(|c| c.name().to_owned())
        });
        let Some(channel) = channel else {
            return ("skipped", "skipped: no channel to page through".to_owned());
        };
        let page = crate::Page {
            idempotency_key: format!("{}/runbook/{}/{role}/{channel}", incident.id, runbook.name),
            action: crate::PageAction::Trigger,
            incident_id: Some(incident.id.clone()),
            title: incident.title.clone(),
            level: Some(incident.level),
            component: incident.component.clone(),
            summary: format!("{person} ({role}) is asked to join: {}", incident.summary),
            since: crate::time::rfc3339(incident.opened_at_ms),
            runbook: Some(runbook.name.clone()),
            incident_url: Some(format!(
                "{}/incidents/{}",
                self.responder.config().base_url.trim_end_matches('/'),
                incident.id
            )),
            ack_url: None,
            on_call: Some(person.clone()),
            step: format!("runbook/{role}"),
            subscriber: None,
            affects: Vec::new(),
        };
        let new_page = crate::service::new_page(&page, &channel, now);
        match self.responder.store().enqueue_pages(&[new_page]).await {
            Ok(_) => {
                self.responder.wake_delivery();
                ("done", format!("paged {person} via {channel}"))
            }
            Err(error) => ("failed", format!("failed: {}", error_chain(&error))),
        }
    }
}

/// Expands `{component}` and `{label:NAME}` in a step argument.
fn expand(raw: &str, component: &str, labels: &Labels) -> String {
    let mut text = raw.replace("{component}", component);
    while let Some(start) = text.find("{label:") {
        let Some(len) = text[start..].find('}') else {
            break;
        };
        let name = &text[start + "{label:".len()..start + len];
        let value = labels.get(name).cloned().unwrap_or_default();
        text.replace_range(start..=start + len, &value);
    }
    text
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
