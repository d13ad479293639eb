//! The web pages in a real browser and the Prometheus files under a real promtool, run from the project's
//! own scripts (`tests/browser/run.sh`, `tests/peers/promtool.sh`), which install Debian `chromium`,
//! npm `playwright-core` + `axe-core` and Debian `prometheus` when missing. A test binary of its own so the
//! browser's timing checks (a live update within 2 s) do not share the machine with the other e2e tests.
//! Runs with `VIGIL_PEER_TESTS=1`.

use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

fn enabled(test: &str) -> bool {
    let on = std::env::var("VIGIL_PEER_TESTS").as_deref() == Ok("1");
    if !on {
        eprintln!(
            "skipped {test}: set VIGIL_PEER_TESTS=1 to run it with real Chromium and promtool"
        );
    }
    on
}

fn run_script(script: &str, args: &[&str], envs: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new("bash");
    command
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(script))
        .args(args);
    for (key, value) in envs {
        command.env(key, value);
    }
    let output = command.output().expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Shown on failure (cargo captures it otherwise).
    println!("--- {script} stdout ---\n{stdout}\n--- {script} stderr (tail) ---");
    for line in stderr
        .lines()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        println!("{line}");
    }
    (output.status.success(), stdout)
}

#[test]
fn the_pages_pass_the_headless_chromium_test_with_axe_and_leave_screenshots() {
    if !enabled("the_pages_pass_the_headless_chromium_test…") {
        return;
    }
    let started = SystemTime::now();
    let (ok, stdout) = run_script(
        "tests/browser/run.sh",
        &[],
        &[("VIGIL_BIN", env!("CARGO_BIN_EXE_vigil"))],
    );
    assert!(ok, "tests/browser/run.sh failed:\n{stdout}");
    let summary = stdout
        .lines()
        .rev()
        .find(|line| line.ends_with(" failed"))
        .unwrap_or_default();
    assert!(
        summary.ends_with(" 0 failed") && !summary.starts_with("0 passed"),
        "{summary}"
    );
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/screenshots");
    for shot in [
        "status.png",
        "status-phone.png",
        "status-live-update.png",
        "incident.png",
        "incident-acked.png",
        "oncall.png",
        "governance.png",
        "subscribe.png",
    ] {
        let modified = std::fs::metadata(shots.join(shot))
            .and_then(|meta| meta.modified())
            .unwrap_or_else(|error| panic!("screenshot {shot}: {error}"));
        assert!(modified >= started, "{shot} is from an earlier run");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// The real binary on a free port with a temporary data dir; killed on drop.
struct RunningVigil {
    child: std::process::Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl RunningVigil {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["run", "--listen", &addr, "--data-dir"])
            .arg(dir.path().join("data"))
            .current_dir(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("vigil starts");
        let ready = (0..300).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            std::net::TcpStream::connect(&addr).is_ok()
        });
        assert!(ready, "vigil did not listen on {addr}");
        Self {
            child,
            addr,
            _dir: dir,
        }
    }
}

impl Drop for RunningVigil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_prometheus_rules_pass_promtool_and_a_real_prometheus_scrapes_vigil_and_runs_every_dashboard_query()
 {
    if !enabled("the_prometheus_rules_pass_promtool…") {
        return;
    }
    let vigil = RunningVigil::start();
    let prom_port = free_port().to_string();
    let (ok, stdout) = run_script(
        "tests/peers/promtool.sh",
        &["--scrape", &vigil.addr, "--prom-port", &prom_port],
        &[],
    );
    assert!(ok, "tests/peers/promtool.sh failed:\n{stdout}");
    // check rules, test rules, target up, rules loaded, dashboard queries.
    assert!(stdout.contains("5 passed, 0 failed"), "{stdout}");
}
