//! The real `vigil` binary: `run` with the embedded defaults, `check`, `simulate`, and clean shutdown.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{eventually, module};

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn check_accepts_the_example_and_reports_bad_values_with_their_path() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/vigil.example.toml");
    let ok = Command::new(VIGIL)
        .args(["check", "--config", example])
        .env("VIGIL_ADMIN_TOKEN", "an-example-token-0123456789")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let mut bad = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        bad,
        "[core]\nslot_ms = 20\nvalidators = 0\n[server]\nlisten = \"0.0.0.0:9\""
    )
    .unwrap();
    let out = Command::new(VIGIL)
        .args(["check", "--config"])
        .arg(bad.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "core.slot_ms: 20 is below the minimum of 100",
        "core.validators",
        "server.listen",
    ] {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    assert!(
        stderr.contains(&bad.path().display().to_string()),
        "the file is named: {stderr}"
    );

    // The web-era sections are checked the same way.
    let mut newer = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        newer,
        "[cluster]\nheartbeat = \"5s\"\nlease = \"6s\"\n[responder.subscriptions]\nemail_channel = \"nope\"\nconcurrency = 0"
    )
    .unwrap();
    let out = Command::new(VIGIL)
        .args(["check", "--config"])
        .arg(newer.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "cluster.lease: must be at least twice the heartbeat",
        "responder.subscriptions.email_channel: no email channel is named \"nope\"",
        "responder.subscriptions.concurrency: must be at least 1",
    ] {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }

    let mut typo = tempfile::NamedTempFile::new().unwrap();
    writeln!(typo, "[core]\nseed = 1\nslot_ms = \"six seconds\"").unwrap();
    let out = Command::new(VIGIL)
        .args(["check", "--config"])
        .arg(typo.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("core.slot_ms") && stderr.contains("line 3"),
        "{stderr}"
    );

    let out = Command::new(VIGIL)
        .args(["run", "--config"])
        .arg(typo.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "run refuses an invalid config too"
    );
}

/// The README's run command, as a user runs it: default config, fresh directory, real slots of 6 s.
#[tokio::test]
async fn run_with_defaults_grows_the_chain_accepts_simulate_and_shuts_down_cleanly_on_sigterm() {
    vigil::telemetry::ensure_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(VIGIL)
        .args(["run", "--listen", &listen])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let core_url = format!("http://{listen}/api/v1/core");
    let first: Value = eventually(Duration::from_secs(10), "vigil to answer", || async {
        http.get(&core_url).send().await.ok()?.json().await.ok()
    })
    .await;
    let grown: Value = eventually(
        Duration::from_secs(15),
        "a block to be produced",
        || async {
            let now: Value = http.get(&core_url).send().await.ok()?.json().await.ok()?;
            (now["height"].as_u64()? > first["height"].as_u64()?).then_some(now)
        },
    )
    .await;
    assert_eq!(grown["validators"].as_array().unwrap().len(), 5);
    assert_eq!(grown["slot_ms"], 6000);
    assert!(
        dir.path().join("vigil-data/vigil.db").exists(),
        "SQLite under ./vigil-data"
    );

    let simulate = Command::new(VIGIL)
        .args(["simulate", "depeg", "--url", &format!("http://{listen}")])
        .output()
        .unwrap();
    assert!(
        simulate.status.success(),
        "{}",
        String::from_utf8_lossy(&simulate.stderr)
    );
    let unknown = Command::new(VIGIL)
        .args(["simulate", "moon", "--url", &format!("http://{listen}")])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown scenario \"moon\""));
    let state: Value = http
        .get(&core_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        state["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "depeg" && s["active"] == true)
    );
    assert!(module(&state, "bridge")["value_locked"].as_f64().unwrap() > 0.0);

    // SIGTERM: a clean exit, and the command recorded before it is on disk.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = wait_with_timeout(&mut child, Duration::from_secs(15));
    assert_eq!(
        exit.and_then(|status| status.code()),
        Some(0),
        "vigil exits 0 on SIGTERM"
    );
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    assert!(
        log.contains("runbooks loaded (built in") && log.contains("count=10"),
        "outside the source tree the shipped runbooks are built in:\n{log}"
    );
    assert!(
        !log.contains("Job creator"),
        "dependency chatter stays out of the log:\n{log}"
    );
    let url = format!(
        "sqlite://{}",
        dir.path().join("vigil-data/vigil.db").display()
    );
    let store = responder::connect(&url).await.unwrap();
    let events = store.scenario_events(10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].scenario.as_str(), events[0].action.as_str()),
        ("depeg", "start")
    );
    store.close().await;
}

fn wait_with_timeout(
    child: &mut std::process::Child,
    patience: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + patience;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}

#[test]
fn replay_scores_files_and_trees_causally_and_names_file_and_line_for_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("nested")).unwrap();
    let mut csv = String::from("timestamp,value\n");
    for minute in 0..600 {
        let value = if minute == 500 {
            900.0
        } else {
            10.0 + (minute % 7) as f64 * 0.1
        };
        csv.push_str(&format!(
            "2024-01-01 {:02}:{:02}:00,{value}\n",
            minute / 60,
            minute % 60
        ));
    }
    std::fs::write(input.join("nested/series.csv"), &csv).unwrap();
    let out = Command::new(VIGIL)
        .args(["replay", "--input-dir"])
        .arg(&input)
        .arg("--output-dir")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scored = std::fs::read_to_string(dir.path().join("out/nested/series.csv")).unwrap();
    let rows: Vec<&str> = scored.lines().collect();
    assert_eq!(rows[0], "timestamp,value,anomaly_score");
    assert_eq!(rows.len(), 601, "one output row per input row");
    let score = |row: &str| row.rsplit(',').next().unwrap().parse::<f64>().unwrap();
    let spike = score(rows[501]);
    let quiet = rows[400..500]
        .iter()
        .map(|row| score(row))
        .fold(0.0, f64::max);
    assert!(
        spike > quiet && (0.0..=1.0).contains(&spike),
        "the spike stands out: {spike} vs {quiet}"
    );

    // Causal: scoring a prefix gives the same scores for its rows.
    let prefix: String = csv
        .lines()
        .take(451)
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(dir.path().join("prefix.csv"), prefix).unwrap();
    let out = Command::new(VIGIL)
        .args(["replay", "--input"])
        .arg(dir.path().join("prefix.csv"))
        .arg("--output")
        .arg(dir.path().join("prefix-out.csv"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let prefix_scored = std::fs::read_to_string(dir.path().join("prefix-out.csv")).unwrap();
    assert_eq!(
        prefix_scored.lines().collect::<Vec<_>>(),
        rows[..451].to_vec()
    );

    for (body, line, what) in [
        (
            "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,abc\n",
            ":3:",
            "abc",
        ),
        ("timestamp,value\nyesterday,1\n", ":2:", "yesterday"),
        ("timestamp,value\n2024-01-01 00:00:00,NaN\n", ":2:", "NaN"),
        ("time\n1\n", ":1:", "timestamp"),
    ] {
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, body).unwrap();
        let out = Command::new(VIGIL)
            .args(["replay", "--input"])
            .arg(&bad)
            .arg("--output")
            .arg(dir.path().join("bad-out.csv"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("bad.csv{line}")) && stderr.contains(what),
            "{stderr}"
        );
    }
}

#[test]
fn check_validates_the_runbooks_and_policy_in_the_working_directory_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let ok = Command::new(VIGIL)
        .arg("check")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "no runbooks or policy here: the built-in defaults are fine"
    );

    std::fs::create_dir_all(dir.path().join("runbooks")).unwrap();
    std::fs::write(
        dir.path().join("runbooks/broken.md"),
        "+++\ntitle = \"x\"\nsteps = 3\n+++\n# Broken\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("alerts")).unwrap();
    std::fs::write(
        dir.path().join("alerts/policy.toml"),
        "[[rules]]\nname = \"x\"\nlevel = \"L9\"\n",
    )
    .unwrap();
    let out = Command::new(VIGIL)
        .arg("check")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.md:"),
        "the runbook file is named: {stderr}"
    );
    assert!(
        stderr.contains("policy.toml:"),
        "the policy file is named: {stderr}"
    );
}
