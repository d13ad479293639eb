//! Scheduled health-check suites (`[[healthchecks]]`): each suite runs its checks on a 6-field cron
//! (seconds first) in its time zone through tokio-cron-scheduler, stores the run with a digest, sends the
//! digest to a channel through the outbox, and raises an incident for every failing check.
//!
//! Defaults: `morning` 06:00 UTC (system diagnostics, overnight alerts, baseline validation), `midday`
//! 12:00 (traffic and resources), `evening` 18:00 (peak readiness, failover: a test page through every
//! channel), `night` 00:00 (backup and restore test, security review: stale silences).
//!
//! Failing checks become Alertmanager-style alerts (`alertname = healthcheck/<suite>/<check>`), so a check
//! that keeps failing folds into one open incident, and a later pass clears it.
//!
//! **Backups.** A `backup` check writes an online backup into `dir` ([`Store::backup_to`]: SQLite `VACUUM
//! INTO`; PostgreSQL a logical copy of the key tables into a SQLite file), then opens the copy read-only
//! and checks every key table's row count lies between the live counts taken just before and just after
//! the backup (writes may land meanwhile). Live data (targets, series) comes through [`CheckData`], which
//! the binary implements over its collectors.
//!
//! [`Store::backup_to`]: crate::store::Store::backup_to

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use model::{HumanDuration, Labels, Level, SeriesKey};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::store::{HealthcheckRun, NewHealthcheckRun, StoreError};
use crate::time::rfc3339;
use crate::{AlertInput, AlertStatus, Responder};

// ---- configuration -----------------------------------------------------------------------------------

/// One `[[healthchecks]]` suite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthcheckSuiteConfig {
    pub name: String,
    /// 6 fields, seconds first: `"0 0 6 * * *"` is 06:00:00 every day.
    pub cron: String,
    /// IANA zone the cron is read in. Default `UTC`.
    #[serde(default = "utc")]
    pub time_zone: String,
    pub checks: Vec<CheckConfig>,
    /// Level of the incident a failing check opens. Default L3.
    #[serde(default = "l3")]
    pub level: Level,
    /// Channel the digest is sent to; unset sends none. Default `log`.
    #[serde(default = "log_channel")]
    pub digest_channel: Option<String>,
}

fn utc() -> String {
    "UTC".to_owned()
}
fn l3() -> Level {
    Level::L3
}
#[allow(clippy::unnecessary_wraps)]
fn log_channel() -> Option<String> {
    Some("log".to_owned())
}

/// What a check looks at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CheckConfig {
    /// Every scrape target is up.
    TargetsUp,
    /// Every series matching `selector` has its latest value in `[min, max]` (block production, finality).
    SeriesWithin {
        name: String,
        selector: String,
        #[serde(default)]
        min: Option<f64>,
        #[serde(default)]
        max: Option<f64>,
        /// Fail when no series matches. Default true.
        #[serde(default = "yes")]
        required: bool,
    },
    /// `|peg deviation %|` within `band_percent`.
    Peg {
        #[serde(default = "peg_selector")]
        selector: String,
        band_percent: f64,
    },
    /// TLS certificates of probed targets expire in more than `min_days`.
    CertificateExpiry {
        #[serde(default = "tls_selector")]
        selector: String,
        min_days: f64,
    },
    /// An online backup into `dir`, then a restore test of that file.
    Backup { dir: PathBuf },
    /// A test page through each channel (`channels` empty: all).
    ChannelTest {
        #[serde(default)]
        channels: Vec<String>,
    },
    /// Silences running longer than `max_age` (forgotten mutes).
    StaleSilences { max_age: HumanDuration },
    /// Incidents opened in the last `window` (informational: passes, lists them in the digest).
    IncidentReview { window: HumanDuration },
    /// The emergency pause would work for every module: the pauser still holds the right (a dry run of
    /// the pause from it succeeds or says "already paused") and its balance covers `min_pauses` pauses at
    /// the current fees. A failure is L2 whatever the suite's level: a broken pause is found before it is
    /// needed.
    PausePath {
        #[serde(default = "three")]
        min_pauses: u32,
    },
}

fn three() -> u32 {
    3
}

fn yes() -> bool {
    true
}
fn peg_selector() -> String {
    "peg_deviation_percent".to_owned()
}
fn tls_selector() -> String {
    "probe_tls_expiry_days".to_owned()
}

impl CheckConfig {
    pub fn name(&self) -> String {
        match self {
            CheckConfig::TargetsUp => "targets_up".to_owned(),
            CheckConfig::SeriesWithin { name, .. } => name.clone(),
            CheckConfig::Peg { .. } => "peg".to_owned(),
            CheckConfig::CertificateExpiry { .. } => "certificate_expiry".to_owned(),
            CheckConfig::Backup { .. } => "backup".to_owned(),
            CheckConfig::ChannelTest { .. } => "channel_test".to_owned(),
            CheckConfig::StaleSilences { .. } => "stale_silences".to_owned(),
            CheckConfig::IncidentReview { .. } => "incident_review".to_owned(),
            CheckConfig::PausePath { .. } => "pause_path".to_owned(),
        }
    }

    /// The component an incident for this check is about.
    fn component(&self) -> &'static str {
        match self {
            CheckConfig::TargetsUp | CheckConfig::CertificateExpiry { .. } => "targets",
            CheckConfig::SeriesWithin { .. } => "chain",
            CheckConfig::Peg { .. } => "peg",
            CheckConfig::Backup { .. } => "storage",
            CheckConfig::ChannelTest { .. } => "paging",
            CheckConfig::StaleSilences { .. } | CheckConfig::IncidentReview { .. } => "vigil",
            CheckConfig::PausePath { .. } => "pause",
        }
    }

    /// A level that overrides the suite's for this check's failures.
    fn level(&self) -> Option<Level> {
        matches!(self, CheckConfig::PausePath { .. }).then_some(Level::L2)
    }
}

impl HealthcheckSuiteConfig {
    /// The four default suites; backups go under `data_dir/backups`.
    pub fn defaults(data_dir: &std::path::Path) -> Vec<HealthcheckSuiteConfig> {
        let suite = |name: &str, cron: &str, checks: Vec<CheckConfig>| HealthcheckSuiteConfig {
            name: name.to_owned(),
            cron: cron.to_owned(),
            time_zone: utc(),
            checks,
            level: Level::L3,
            digest_channel: log_channel(),
        };
        vec![
            suite(
                "morning",
                "0 0 6 * * *",
                vec![
                    CheckConfig::TargetsUp,
                    CheckConfig::PausePath { min_pauses: 3 },
                    // The first round of the day proves the night's data can be recovered: back up, restore.
                    CheckConfig::Backup {
                        dir: data_dir.join("backups"),
                    },
                    CheckConfig::IncidentReview {
                        window: HumanDuration::from_secs(12 * 3600),
                    },
                    CheckConfig::SeriesWithin {
                        name: "finality".to_owned(),
                        selector: "core_finality_lag_blocks".to_owned(),
                        min: None,
                        max: Some(3.0),
                        required: false,
                    },
                    CheckConfig::Peg {
                        selector: peg_selector(),
                        band_percent: 2.0,
                    },
                ],
            ),
            suite(
                "midday",
                "0 0 12 * * *",
                vec![
                    CheckConfig::TargetsUp,
                    CheckConfig::PausePath { min_pauses: 3 },
                    CheckConfig::SeriesWithin {
                        name: "block_time".to_owned(),
                        selector: "chain_block_time_seconds".to_owned(),
                        min: None,
                        max: Some(18.0),
                        required: false,
                    },
                    CheckConfig::CertificateExpiry {
                        selector: tls_selector(),
                        min_days: 14.0,
                    },
                ],
            ),
            suite(
                "evening",
                "0 0 18 * * *",
                vec![
                    CheckConfig::TargetsUp,
                    CheckConfig::PausePath { min_pauses: 3 },
                    CheckConfig::ChannelTest {
                        channels: Vec::new(),
                    },
                ],
            ),
            suite(
                "night",
                "0 0 0 * * *",
                vec![
                    CheckConfig::PausePath { min_pauses: 3 },
                    CheckConfig::Backup {
                        dir: data_dir.join("backups"),
                    },
                    CheckConfig::StaleSilences {
                        max_age: HumanDuration::from_secs(7 * 24 * 3600),
                    },
                ],
            ),
        ]
    }
}

/// Checks every suite; problems with their paths under `prefix` (e.g. `healthchecks`).
pub fn validate(suites: &[HealthcheckSuiteConfig], prefix: &str) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for (index, suite) in suites.iter().enumerate() {
        let at = |field: &str| format!("{prefix}[{index}].{field}");
        if suite.name.trim().is_empty() {
            problems.push((at("name"), "must not be empty".to_owned()));
        } else if !names.insert(suite.name.clone()) {
            problems.push((
                at("name"),
                format!("suite {:?} is defined twice", suite.name),
            ));
        }
        if let Err(message) = parse_cron(&suite.cron) {
            problems.push((at("cron"), message));
        }
        if let Err(message) = crate::time::parse_tz(&suite.time_zone) {
            problems.push((at("time_zone"), message));
        }
        if suite.checks.is_empty() {
            problems.push((at("checks"), "needs at least one check".to_owned()));
        }
    }
    problems
}

fn parse_cron(cron: &str) -> Result<croner::Cron, String> {
    if cron.split_whitespace().count() != 6 {
        return Err(format!(
            "{cron:?} must have 6 fields, seconds first (e.g. \"0 0 6 * * *\" for 06:00:00)"
        ));
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(cron)
        .map_err(|error| format!("invalid cron {cron:?}: {error}"))
}

/// When `cron`, read in `time_zone`, fires next after `after_ms` (Unix ms).
pub fn next_run_ms(cron: &str, time_zone: &str, after_ms: i64) -> Result<i64, String> {
    let schedule = parse_cron(cron)?;
    let tz = crate::time::parse_tz(time_zone)?;
    let after = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(after_ms)
        .ok_or_else(|| format!("{after_ms} is out of range"))?
        .with_timezone(&tz);
    schedule
        .find_next_occurrence(&after, false)
        .map(|next| next.timestamp_millis())
        .map_err(|error| format!("cron {cron:?} never fires: {error}"))
}

// ---- live data ---------------------------------------------------------------------------------------

/// What checks need from the running pipeline; the binary implements it over its collectors.
pub trait CheckData: Send + Sync + 'static {
    /// The latest value of every series matching `selector` (`name` or `name{label="v"}`).
    fn latest(&self, selector: &str) -> Vec<(SeriesKey, f64)>;
    /// Every target: (name, up, last error).
    fn targets_up(&self) -> Vec<(String, bool, Option<String>)>;
}

/// No live data (checks that need it report "no data").
pub struct NoCheckData;

impl CheckData for NoCheckData {
    fn latest(&self, _selector: &str) -> Vec<(SeriesKey, f64)> {
        Vec::new()
    }
    fn targets_up(&self) -> Vec<(String, bool, Option<String>)> {
        Vec::new()
    }
}

// ---- errors and views --------------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    #[error("health-check suite {0:?} is not configured")]
    UnknownSuite(String),
    #[error("invalid health-check configuration: {}", .0.iter().map(|(p, m)| format!("{p}: {m}")).collect::<Vec<_>>().join("; "))]
    Config(Vec<(String, String)>),
    #[error("health-check storage failed")]
    Store(#[from] StoreError),
    #[error("health-check scheduler failed: {0}")]
    Scheduler(String),
}

impl model::HasKind for HealthcheckError {
    fn kind(&self) -> model::ErrorKind {
        use model::ErrorKind;
        match self {
            HealthcheckError::UnknownSuite(_) => ErrorKind::NotFound,
            HealthcheckError::Config(_) => ErrorKind::InvalidInput,
            HealthcheckError::Store(error) => error.kind(),
            HealthcheckError::Scheduler(_) => ErrorKind::Internal,
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub check: String,
    pub ok: bool,
    pub detail: String,
    /// The incident a failure opened or folded into.
    #[serde(default)]
    pub incident_id: Option<String>,
}

/// A stored run, as `POST /api/v1/healthchecks/{suite}/run` and `GET /api/v1/healthchecks` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunView {
    pub id: i64,
    pub suite: String,
    pub started_at: String,
    pub finished_at: String,
    pub ok: bool,
    pub results: Vec<CheckResult>,
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunList {
    pub runs: Vec<RunView>,
}

impl From<&HealthcheckRun> for RunView {
    fn from(run: &HealthcheckRun) -> Self {
        Self {
            id: run.id,
            suite: run.suite.clone(),
            started_at: rfc3339(run.started_at_ms),
            finished_at: rfc3339(run.finished_at_ms),
            ok: run.ok,
            results: serde_json::from_value(run.results.clone()).unwrap_or_default(),
            digest: run.digest.clone(),
        }
    }
}

// ---- the service -------------------------------------------------------------------------------------

/// Runs suites on demand and on their schedules; cheap to clone.
#[derive(Clone)]
pub struct HealthcheckService {
    responder: Responder,
    data: Arc<dyn CheckData>,
    suites: Arc<BTreeMap<String, HealthcheckSuiteConfig>>,
    /// With several replicas, only the leader runs the scheduled rounds (see [`crate::cluster`]).
    cluster: Option<crate::cluster::Cluster>,
    /// The pause backend and its modules, for the `pause_path` check.
    pause: Option<(Arc<dyn crate::pause::PauseBackend>, Vec<String>)>,
}

impl HealthcheckService {
    pub fn new(
        responder: Responder,
        data: Arc<dyn CheckData>,
        suites: Vec<HealthcheckSuiteConfig>,
    ) -> Result<Self, HealthcheckError> {
        let problems = validate(&suites, "healthchecks");
        if !problems.is_empty() {
            return Err(HealthcheckError::Config(problems));
        }
        Ok(Self {
            responder,
            data,
            suites: Arc::new(
                suites
                    .into_iter()
                    .map(|suite| (suite.name.clone(), suite))
                    .collect(),
            ),
            cluster: None,
            pause: None,
        })
    }

    /// The pause backend whose path the `pause_path` check verifies, and the modules it pauses.
    pub fn with_pause(
        mut self,
        backend: Arc<dyn crate::pause::PauseBackend>,
        modules: Vec<String>,
    ) -> Self {
        self.pause = Some((backend, modules));
        self
    }

    /// What the scheduler does when a suite is due: run it here if this member leads (or stands alone);
    /// returns whether it ran. Failures are logged, not returned: the next round comes anyway.
    pub async fn run_scheduled(&self, suite: &str) -> bool {
        if let Some(cluster) = &self.cluster
            && !cluster.is_leader()
        {
            tracing::info!(
                suite,
                member = cluster.id(),
                "scheduled health-check round left to the leader"
            );
            return false;
        }
        if let Err(error) = self.run_suite_now(suite).await {
            tracing::error!(suite, error = ?error, "scheduled health-check suite failed");
        }
        true
    }

    /// Scheduled rounds run only while `cluster` says this member leads (runs asked for by hand run
    /// anywhere).
    #[must_use]
    pub fn leader_only(mut self, cluster: crate::cluster::Cluster) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// `GET /api/v1/healthchecks`: the latest 100 runs, newest first.
    pub async fn list_runs(&self) -> Result<RunList, HealthcheckError> {
        let runs = self.responder.store().healthcheck_runs(100).await?;
        Ok(RunList {
            runs: runs.iter().map(RunView::from).collect(),
        })
    }

    /// `POST /api/v1/healthchecks/{suite}/run`: runs the suite now and returns the stored run.
    pub async fn run_suite_now(&self, name: &str) -> Result<RunView, HealthcheckError> {
        let suite = self
            .suites
            .get(name)
            .ok_or_else(|| HealthcheckError::UnknownSuite(name.to_owned()))?;
        let started_at_ms = self.responder.now();
        let mut results = Vec::new();
        for check in &suite.checks {
            let (ok, detail) = self.run_check(suite, check).await;
            let incident_id = self.report(suite, check, ok, &detail).await;
            results.push(CheckResult {
                check: check.name(),
                ok,
                detail,
                incident_id,
            });
        }
        let ok = results.iter().all(|result| result.ok);
        let digest = digest_text(&suite.name, started_at_ms, &results);
        let run = self
            .responder
            .store()
            .record_healthcheck_run(&NewHealthcheckRun {
                suite: suite.name.clone(),
                started_at_ms,
                finished_at_ms: self.responder.now(),
                ok,
                results: serde_json::to_value(&results).unwrap_or_default(),
                digest: digest.clone(),
            })
            .await?;
        if let Some(channel) = &suite.digest_channel {
            self.send_digest(channel, &suite.name, run.id, &digest)
                .await?;
        }
        tracing::info!(suite = %suite.name, ok, run_id = run.id, "health-check suite ran");
        Ok(RunView::from(&run))
    }

    /// Runs every suite on its cron until `cancel` fires. Returns once the scheduler is started; the
    /// returned task ends after shutdown.
    pub async fn start_scheduler(
        &self,
        cancel: CancellationToken,
    ) -> Result<tokio::task::JoinHandle<()>, HealthcheckError> {
        use tokio_cron_scheduler::{Job, JobScheduler};
        let scheduler_error = |error: tokio_cron_scheduler::JobSchedulerError| {
            HealthcheckError::Scheduler(error.to_string())
        };
        let mut scheduler = JobScheduler::new().await.map_err(scheduler_error)?;
        for suite in self.suites.values() {
            let tz = crate::time::parse_tz(&suite.time_zone)
                .map_err(|message| HealthcheckError::Config(vec![(suite.name.clone(), message)]))?;
            let service = self.clone();
            let name = suite.name.clone();
            let job = Job::new_async_tz(suite.cron.as_str(), tz, move |_, _| {
                let service = service.clone();
                let name = name.clone();
                Box::pin(async move {
                    service.run_scheduled(&name).await;
                })
            })
            .map_err(scheduler_error)?;
            scheduler.add(job).await.map_err(scheduler_error)?;
        }
        scheduler.start().await.map_err(scheduler_error)?;
        Ok(tokio::spawn(async move {
            cancel.cancelled().await;
            if let Err(error) = scheduler.shutdown().await {
                tracing::warn!(error = %error, "health-check scheduler did not shut down cleanly");
            }
        }))
    }

    async fn run_check(
        &self,
        suite: &HealthcheckSuiteConfig,
        check: &CheckConfig,
    ) -> (bool, String) {
        match check {
            CheckConfig::PausePath { min_pauses } => self.pause_path(*min_pauses).await,
            CheckConfig::TargetsUp => {
                let targets = self.data.targets_up();
                let down: Vec<String> = targets
                    .iter()
                    .filter(|(_, up, _)| !up)
                    .map(|(name, _, error)| match error {
                        Some(error) => format!("{name} ({error})"),
                        None => name.clone(),
                    })
                    .collect();
                if down.is_empty() {
                    (true, format!("{} targets up", targets.len()))
                } else {
                    (false, format!("down: {}", down.join(", ")))
                }
            }
            CheckConfig::SeriesWithin {
                selector,
                min,
                max,
                required,
                ..
            } => {
                let values = self.data.latest(selector);
                if values.is_empty() {
                    return (!required, format!("no series match {selector}"));
                }
                let outside: Vec<String> = values
                    .iter()
                    .filter(|(_, value)| {
                        min.is_some_and(|min| *value < min) || max.is_some_and(|max| *value > max)
                    })
                    .map(|(key, value)| format!("{key} = {value}"))
                    .collect();
                if outside.is_empty() {
                    (true, format!("{} series within bounds", values.len()))
                } else {
                    (false, format!("out of bounds: {}", outside.join(", ")))
                }
            }
            CheckConfig::Peg {
                selector,
                band_percent,
            } => {
                let values = self.data.latest(selector);
                match values.iter().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())) {
                    None => (true, format!("no peg data ({selector})")),
                    Some((key, value)) if value.abs() > *band_percent => (
                        false,
                        format!("{key} = {value:.2}% is outside ±{band_percent}%"),
                    ),
                    Some((_, value)) => (
                        true,
                        format!("deviation {value:.2}% within ±{band_percent}%"),
                    ),
                }
            }
            CheckConfig::CertificateExpiry { selector, min_days } => {
                let expiring: Vec<String> = self
                    .data
                    .latest(selector)
                    .iter()
                    .filter(|(_, days)| days < min_days)
                    .map(|(key, days)| format!("{key} expires in {days:.0} days"))
                    .collect();
                if expiring.is_empty() {
                    (
                        true,
                        format!("no certificate expires within {min_days} days"),
                    )
                } else {
                    (false, expiring.join(", "))
                }
            }
            CheckConfig::Backup { dir } => match self.backup_and_restore(&suite.name, dir).await {
                Ok(detail) => (true, detail),
                Err(detail) => (false, detail),
            },
            CheckConfig::ChannelTest { channels } => self.channel_test(channels).await,
            CheckConfig::StaleSilences { max_age } => {
                let now = self.responder.now();
                let max_ms = i64::try_from(max_age.get().as_millis()).unwrap_or(i64::MAX);
                match self.responder.store().silences().await {
                    Ok(silences) => {
                        let stale: Vec<String> = silences
                            .iter()
                            .filter(|s| s.is_active_at(now) && now - s.starts_at_ms > max_ms)
                            .map(|s| {
                                format!(
                                    "#{} ({}) since {}",
                                    s.id,
                                    s.comment,
                                    rfc3339(s.starts_at_ms)
                                )
                            })
                            .collect();
                        if stale.is_empty() {
                            (true, format!("no silence active longer than {max_age}"))
                        } else {
                            (false, format!("stale silences: {}", stale.join(", ")))
                        }
                    }
                    Err(error) => (false, format!("cannot read silences: {error}")),
                }
            }
            CheckConfig::IncidentReview { window } => {
                let now = self.responder.now();
                let from = now - i64::try_from(window.get().as_millis()).unwrap_or(i64::MAX);
                match self
                    .responder
                    .store()
                    .incidents_opened_between(from, now + 1)
                    .await
                {
                    Ok(incidents) => (
                        true,
                        format!(
                            "{} incidents in the last {window}{}",
                            incidents.len(),
                            incidents
                                .iter()
                                .map(|i| format!(
                                    "; {} {} ({})",
                                    i.level,
                                    i.title,
                                    i.state.as_str()
                                ))
                                .collect::<String>()
                        ),
                    ),
                    Err(error) => (false, format!("cannot read incidents: {error}")),
                }
            }
        }
    }

    async fn backup_and_restore(
        &self,
        suite: &str,
        dir: &std::path::Path,
    ) -> Result<String, String> {
        let store = self.responder.store();
        std::fs::create_dir_all(dir)
            .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
        let path = dir.join(format!(
            "vigil-{suite}-{}.db",
            chrono::DateTime::<chrono::Utc>::from_timestamp_millis(self.responder.now())
                .unwrap_or_default()
                .format("%Y%m%dT%H%M%S%3fZ")
        ));
        let before = store
            .key_table_counts()
            .await
            .map_err(|e| format!("counting rows: {e}"))?;
        store
            .backup_to(&path)
            .await
            .map_err(|error| format!("backup to {} failed: {}", path.display(), chain(&error)))?;
        let after = store
            .key_table_counts()
            .await
            .map_err(|e| format!("counting rows: {e}"))?;
        let copied = crate::store::actions::count_rows_in_backup(&path)
            .await
            .map_err(|error| {
                format!(
                    "restore test of {} failed: {}",
                    path.display(),
                    chain(&error)
                )
            })?;
        let mut mismatches = Vec::new();
        for (((table, low), (_, high)), (_, got)) in before.iter().zip(&after).zip(&copied) {
            if got < low || got > high {
                mismatches.push(format!(
                    "{table}: {got} rows in the backup, {low}..={high} live"
                ));
            }
        }
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if mismatches.is_empty() {
            Ok(format!(
                "backup {} ({size} bytes) restored read-only; row counts match ({})",
                path.display(),
                copied
                    .iter()
                    .map(|(table, count)| format!("{table} {count}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        } else {
            Err(format!(
                "backup {} does not match: {}",
                path.display(),
                mismatches.join("; ")
            ))
        }
    }

    async fn channel_test(&self, only: &[String]) -> (bool, String) {
        let now = self.responder.now();
        let mut failures = Vec::new();
        let mut sent = Vec::new();
        for (name, channel) in &self.responder.inner.channels {
            if !only.is_empty() && !only.contains(name) {
                continue;
            }
            let page = crate::Page {
                idempotency_key: format!("healthcheck/channel-test/{name}/{now}"),
                action: crate::PageAction::Digest,
                incident_id: None,
                title: format!("test page through {name}"),
                level: None,
                component: "vigil".to_owned(),
                summary: "A scheduled channel test: no action needed.".to_owned(),
                since: rfc3339(now),
                runbook: None,
                incident_url: None,
                ack_url: None,
                on_call: None,
                step: "channel-test".to_owned(),
                subscriber: None,
                affects: Vec::new(),
            };
            match channel.send(&page).await {
                Ok(_) => sent.push(name.clone()),
                Err(error) => failures.push(format!("{name}: {}", error.chain())),
            }
        }
        for name in only {
            if !self.responder.inner.channels.contains_key(name) {
                failures.push(format!("{name}: no such channel"));
            }
        }
        if failures.is_empty() {
            (true, format!("test page sent through {}", sent.join(", ")))
        } else {
            (false, format!("failed: {}", failures.join("; ")))
        }
    }

    /// Every module's pause readiness; fails if any one is broken.
    async fn pause_path(&self, min_pauses: u32) -> (bool, String) {
        let Some((backend, modules)) = &self.pause else {
            return (true, "no pause backend to check".to_owned());
        };
        let mut ready = Vec::new();
        let mut broken = Vec::new();
        for module in modules {
            match backend.readiness(module, min_pauses).await {
                Ok(line) => ready.push(line),
                Err(reason) => broken.push(reason),
            }
        }
        if broken.is_empty() {
            (true, ready.join("; "))
        } else {
            (false, broken.join("; "))
        }
    }

    /// Raises (or clears) the alert for a check; returns the incident a failure opened or folded into.
    async fn report(
        &self,
        suite: &HealthcheckSuiteConfig,
        check: &CheckConfig,
        ok: bool,
        detail: &str,
    ) -> Option<String> {
        let alertname = format!("healthcheck/{}/{}", suite.name, check.name());
        let labels = Labels::from([
            ("alertname".to_owned(), alertname.clone()),
            ("component".to_owned(), check.component().to_owned()),
            (
                "level".to_owned(),
                check.level().unwrap_or(suite.level).as_str().to_owned(),
            ),
        ]);
        let now = self.responder.now();
        let alert = AlertInput {
            fingerprint: alertname.clone(),
            labels,
            annotations: BTreeMap::from([
                (
                    "summary".to_owned(),
                    format!("health check {alertname} failed"),
                ),
                ("description".to_owned(), detail.to_owned()),
            ]),
            status: if ok {
                AlertStatus::Resolved
            } else {
                AlertStatus::Firing
            },
            starts_at_ms: now,
            ends_at_ms: ok.then_some(now),
        };
        match self.responder.ingest_alert(&alert).await {
            Ok(outcome) if !ok => outcome.incident_id,
            Ok(_) => None,
            Err(error) => {
                tracing::warn!(check = %alertname, error = ?error, "could not report a health-check result");
                None
            }
        }
    }

    async fn send_digest(
        &self,
        channel: &str,
        suite: &str,
        run_id: i64,
        digest: &str,
    ) -> Result<(), HealthcheckError> {
        let now = self.responder.now();
        let page = crate::Page {
            idempotency_key: format!("healthcheck/{suite}/{run_id}"),
            action: crate::PageAction::Digest,
            incident_id: None,
            title: format!("health checks: {suite}"),
            level: None,
            component: "vigil".to_owned(),
            summary: digest.to_owned(),
            since: rfc3339(now),
            runbook: None,
            incident_url: None,
            ack_url: None,
            on_call: None,
            step: "digest".to_owned(),
            subscriber: None,
            affects: Vec::new(),
        };
        self.responder
            .store()
            .enqueue_pages(&[crate::service::new_page(&page, channel, now)])
            .await?;
        self.responder.wake_delivery();
        Ok(())
    }
}

#[async_trait]
impl crate::runbooks::SuiteRunner for HealthcheckService {
    async fn run_suite(&self, suite: &str) -> Result<bool, String> {
        self.run_suite_now(suite)
            .await
            .map(|run| run.ok)
            .map_err(|error| error.to_string())
    }
}

/// The digest: one line per check.
fn digest_text(suite: &str, started_at_ms: i64, results: &[CheckResult]) -> String {
    let failed = results.iter().filter(|result| !result.ok).count();
    let mut lines = vec![format!(
        "health checks {suite} at {}: {} of {} passed",
        rfc3339(started_at_ms),
        results.len() - failed,
        results.len()
    )];
    for result in results {
        lines.push(format!(
            "- [{}] {}: {}",
            if result.ok { "ok" } else { "FAIL" },
            result.check,
            result.detail
        ));
    }
    lines.join("\n")
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
