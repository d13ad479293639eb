//! Runbooks: the shipped `runbooks/` load and cover every scenario of the embedded core; bad files are
//! reported with file and line; the executor attaches the runbook and runs its automated steps.

use std::path::Path;
use std::sync::Arc;

use model::{Labels, Level, SeriesKey, Signal, SignalCategory};
use responder::ResponderConfig;
use responder::pause::{PauseConfig, PauseService};
use responder::runbooks::{IncidentFacts, RunbookExecutor, load_dir, match_incident, resolver};
use responder::store::testsuite::open_sqlite;

use crate::pause::FakeBackend;

fn shipped() -> Vec<responder::runbooks::Runbook> {
    load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../runbooks"))
        .unwrap_or_else(|errors| panic!("shipped runbooks are invalid: {errors:#?}"))
}

fn facts<'a>(
    labels: &'a Labels,
    component: &'a str,
    category: &'a str,
    level: Level,
) -> IncidentFacts<'a> {
    IncidentFacts {
        labels,
        component,
        category,
        level,
    }
}

#[test]
fn every_scenario_of_the_embedded_core_has_a_runbook() {
    let runbooks = shipped();
    let series = |name: &str| Labels::from([("series".to_owned(), name.to_owned())]);
    // (scenario, labels, component, category, level) as the detector's policy classifies them.
    let cases = [
        (
            "validator-outage",
            series("core_validators_offline"),
            "validators",
            "chain",
            Level::L3,
        ),
        (
            "validator-outage",
            series("core_validators_offline"),
            "validators",
            "chain",
            Level::L1,
        ),
        (
            "block-stall",
            series("core_chain_height"),
            "chain",
            "chain",
            Level::L1,
        ),
        (
            "depeg",
            series("peg_deviation_percent"),
            "peg",
            "peg",
            Level::L2,
        ),
        (
            "exploit-drain",
            series("core_module_value_locked"),
            "bridge",
            "security",
            Level::L1,
        ),
        (
            "latency-spike",
            series("probe_duration_seconds"),
            "core-rpc",
            "infra",
            Level::L2,
        ),
        (
            "latency-spike",
            series("ux_latency_ms"),
            "eu-west",
            "ux",
            Level::L3,
        ),
        (
            "error-burst",
            series("core_module_error_ratio"),
            "escrow",
            "infra",
            Level::L3,
        ),
    ];
    for (scenario, labels, component, category, level) in &cases {
        let found = match_incident(&runbooks, &facts(labels, component, category, *level))
            .map(|runbook| runbook.name.as_str());
        assert_eq!(found, Some(*scenario), "{component}/{category}/{level}");
    }
    // A security signal below L1 does not pause anything automatically.
    let labels = series("core_module_value_locked");
    assert_eq!(
        match_incident(&runbooks, &facts(&labels, "bridge", "security", Level::L3)),
        None
    );
}

#[test]
fn bad_runbooks_are_reported_with_file_line_and_problem() {
    let errors = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/runbooks-bad"))
        .expect_err("invalid");
    let rendered: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 3, "{rendered:#?}");
    let find = |file: &str| {
        errors
            .iter()
            .find(|error| error.path.ends_with(file))
            .unwrap_or_else(|| panic!("no error for {file}: {rendered:#?}"))
    };
    let bad_action = find("bad-action.md");
    assert_eq!(bad_action.line, 7, "{bad_action}");
    assert!(
        bad_action.message.contains("reboot_everything"),
        "{bad_action}"
    );
    let missing = find("missing-module.md");
    assert_eq!(missing.line, 10, "{missing}");
    assert!(
        missing
            .message
            .contains("step 2 (pause_module) needs `module`"),
        "{missing}"
    );
    let unclosed = find("unclosed.md");
    assert_eq!(unclosed.line, 1);
    assert!(unclosed.message.contains("never closed"), "{unclosed}");
    assert!(
        unclosed.to_string().contains("unclosed.md:1: "),
        "{unclosed}"
    );
}

fn drain_signal(module: &str) -> Signal {
    Signal {
        id: format!("sig-drain-{module}"),
        series: SeriesKey::new("core_module_value_locked").with_label("module", module),
        category: SignalCategory::Security,
        component: module.to_owned(),
        score: 0.99,
        level: Level::L1,
        reason: "value locked -40 %/min < -5 %/min".to_owned(),
        started_at_ms: model::now_ms(),
        updated_at_ms: model::now_ms(),
        active: true,
        evidence: Vec::new(),
    }
}

async fn executor_for(
    config: ResponderConfig,
) -> (
    RunbookExecutor,
    responder::Responder,
    Arc<FakeBackend>,
    responder::store::testsuite::TestStore,
) {
    let store = open_sqlite().await.unwrap();
    let runbooks = Arc::new(shipped());
    let responder = responder::Responder::builder(store.store.clone(), config)
        .runbooks(resolver(runbooks.clone()))
        .ack_secret("test")
        .build()
        .unwrap();
    let backend = Arc::new(FakeBackend::default());
    let pause =
        PauseService::new(responder.clone(), backend.clone(), PauseConfig::default()).unwrap();
    let executor = RunbookExecutor::new(runbooks, responder.clone()).with_pause(pause);
    (executor, responder, backend, store)
}

#[tokio::test]
async fn an_exploit_drain_incident_pauses_the_module_and_names_the_runbook_in_its_page() {
    let (executor, responder, backend, _store) = executor_for(ResponderConfig::default()).await;
    let outcome = responder
        .ingest_signal(&drain_signal("bridge"))
        .await
        .unwrap();
    assert!(outcome.opened);
    let id = outcome.incident_id.unwrap();

    let run = executor.on_incident_opened(&id).await.unwrap();
    assert_eq!(run.runbook.as_deref(), Some("exploit-drain"));
    assert_eq!(backend.calls(), ["pause bridge"]);
    let states: Vec<_> = run.steps.iter().map(|step| step.state).collect();
    assert_eq!(states, ["done", "skipped", "pending_approval"], "{run:#?}");

    let detail = responder.get_incident(&id).await.unwrap();
    assert_eq!(detail.incident.runbook.as_deref(), Some("exploit-drain"));
    let texts: Vec<&str> = detail
        .timeline
        .iter()
        .map(|entry| entry.text.as_str())
        .collect();
    assert!(
        texts.contains(&"runbook exploit-drain step 1/3 pause_module bridge: paused"),
        "{texts:#?}"
    );
    assert!(
        texts.contains(
            &"runbook exploit-drain step 3/3 status_update identified: skipped: needs approval"
        ),
        "{texts:#?}"
    );
    // The first page already names the runbook (the resolver set it when the incident opened).
    let pages = responder.list_pages().await.unwrap().pages;
    let trigger = pages
        .iter()
        .find(|page| page.incident_id.as_deref() == Some(id.as_str()))
        .expect("a page");
    let stored = responder.store().pages_of_incident(&id).await.unwrap();
    assert_eq!(stored[0].payload["runbook"], "exploit-drain", "{trigger:?}");
}

#[tokio::test]
async fn a_maintenance_window_refuses_the_automatic_pause_and_says_so() {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M").to_string();
    let config: ResponderConfig = toml::from_str(&format!(
        "[[maintenance]]\nname = \"bridge upgrade\"\ncomponents = [\"bridge\"]\nstart = \"{now}\"\nduration = \"2h\"\n"
    ))
    .unwrap();
    let (executor, responder, backend, _store) = executor_for(config).await;
    let id = responder
        .ingest_signal(&drain_signal("bridge"))
        .await
        .unwrap()
        .incident_id
        .unwrap();
    let run = executor.on_incident_opened(&id).await.unwrap();
    assert_eq!(run.steps[0].state, "refused");
    assert!(backend.calls().is_empty());
    let detail = responder.get_incident(&id).await.unwrap();
    assert!(
        detail.timeline.iter().any(|entry| entry.text
            == "runbook exploit-drain step 1/3 pause_module bridge: refused: maintenance window covers bridge"),
        "{:#?}",
        detail.timeline
    );
}
