//! Real third-party peers on loopback, installed and started by the project's own scripts in
//! `tests/peers/`: node_exporter, an Ethereum JSON-RPC node (ganache), Alertmanager and Prometheus.
//! They run when `VIGIL_PEER_TESTS=1` (as `.ci/run` sets); otherwise each test says it was skipped.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{eventually, spawn_app_with};

/// A peer process started by a `tests/peers/start-*.sh` script; killed on drop.
pub struct Peer {
    pid: u32,
    pub port: u16,
    pub workdir: tempfile::TempDir,
}

impl Peer {
    /// `None` (and a "skipped" line) unless peer tests are enabled.
    pub fn start(script: &str, extra_args: &[&str], env: &[(&str, String)]) -> Option<Peer> {
        if std::env::var("VIGIL_PEER_TESTS").as_deref() != Ok("1") {
            eprintln!("skipped: set VIGIL_PEER_TESTS=1 to run tests against real {script} peers");
            return None;
        }
        let port = free_port();
        let workdir = tempfile::tempdir().unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/");
        let mut command = Command::new("bash");
        command
            .arg(format!("{path}{script}"))
            .arg(port.to_string())
            .arg(workdir.path())
            .args(extra_args);
        for (key, value) in env {
            command.env(key, value);
        }
        let output = command.output().expect("bash runs");
        assert!(
            output.status.success(),
            "{script} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let pid = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("the script prints the peer's pid");
        Some(Peer { pid, port, workdir })
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn target(name: &str, kind: &str, url: String, interval: &str) -> collector::config::TargetConfig {
    toml::from_str(&format!("name = '{name}'\nkind = '{kind}'\nurl = '{url}'\ninterval = '{interval}'\ntimeout = '{interval}'\n")).unwrap()
}

#[tokio::test]
async fn node_exporter_series_are_queryable() {
    let Some(exporter) = Peer::start("start-node-exporter.sh", &[], &[]) else {
        return;
    };
    // start-node-exporter.sh takes [PORT] [TEXTFILE_DIR] [WORKDIR]: the temp dir doubles as textfile dir.
    let url = format!("http://127.0.0.1:{}/metrics", exporter.port);
    let app = spawn_app_with(
        |settings| {
            settings
                .targets
                .push(target("node", "prometheus", url, "1s"))
        },
        Default::default(),
    )
    .await;
    let series = eventually(Duration::from_secs(15), "node_cpu_seconds_total from node_exporter", || async {
        let body = app.get_json("/api/v1/series?match=node_cpu_seconds_total%7Btarget%3D%22node%22%2Cmode%3D%22idle%22%7D").await;
        (!body["series"].as_array()?.is_empty()).then_some(body)
    })
    .await;
    assert_eq!(series["series"][0]["labels"]["target"], "node");
    assert!(series["series"][0]["labels"]["cpu"].is_string());
    let targets = app.get_json("/api/v1/targets").await;
    let node = targets["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "node")
        .unwrap()
        .clone();
    assert_eq!(node["up"], true, "{node}");
    app.stop().await;
}

#[tokio::test]
async fn chain_series_follow_a_real_ethereum_node() {
    let Some(node) = Peer::start(
        "start-ganache.sh",
        &[],
        &[("GANACHE_BLOCK_TIME", "1".into())],
    ) else {
        return;
    };
    let rpc = format!("http://127.0.0.1:{}", node.port);
    let app = spawn_app_with(
        |settings| {
            settings
                .targets
                .push(target("ganache", "evm_rpc", rpc.clone(), "500ms"))
        },
        Default::default(),
    )
    .await;
    let http = reqwest::Client::new();
    eventually(
        Duration::from_secs(20),
        "chain_head_height to track ganache's head",
        || async {
            let series = app
                .get_json("/api/v1/series?match=chain_head_height%7Btarget%3D%22ganache%22%7D")
                .await;
            let seen = series["series"][0]["points"].as_array()?.last()?[1].as_f64()? as u64;
            let reply: Value = http
                .post(&rpc)
                .json(&json!({"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let head =
                u64::from_str_radix(reply["result"].as_str()?.trim_start_matches("0x"), 16).ok()?;
            (seen >= 3 && head.abs_diff(seen) <= 1).then_some(())
        },
    )
    .await;
    let chain_id = app
        .get_json("/api/v1/series?match=chain_id%7Btarget%3D%22ganache%22%7D")
        .await;
    assert_eq!(chain_id["series"][0]["points"][0][1].as_f64(), Some(1337.0));
    app.stop().await;
}

#[tokio::test]
async fn a_real_alertmanager_delivers_its_alerts_to_vigil() {
    if std::env::var("VIGIL_PEER_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set VIGIL_PEER_TESTS=1 to run tests against a real Alertmanager");
        return;
    }
    let app = spawn_app_with(|_| {}, Default::default()).await;
    let webhook = format!("http://{}/api/v1/alerts/alertmanager", app.addr);
    let alertmanager =
        Peer::start("start-alertmanager.sh", &[], &[("AM_WEBHOOK_URL", webhook)]).unwrap();
    let http = reqwest::Client::new();
    let alert = json!([{"labels": {"alertname": "BridgeRelayerDown", "severity": "critical", "service": "bridge"}, "annotations": {"summary": "relayer stopped"}}]);
    let sent = http
        .post(format!(
            "http://127.0.0.1:{}/api/v2/alerts",
            alertmanager.port
        ))
        .json(&alert)
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_success());
    let listed = eventually(
        Duration::from_secs(20),
        "Alertmanager's notification to reach Vigil",
        || async {
            let alerts = app.get_json("/api/v1/alerts").await;
            alerts["alerts"]
                .as_array()?
                .iter()
                .find(|a| a["labels"]["alertname"] == "BridgeRelayerDown")
                .cloned()
        },
    )
    .await;
    assert_eq!(listed["source"], "alertmanager");
    assert_eq!(listed["status"], "firing");
    assert!(
        listed["fingerprint"]
            .as_str()
            .is_some_and(|f| f.len() == 16),
        "{listed}"
    );
    // The alert is listed as soon as it is stored; the incident follows once the responder has it.
    let incident = eventually(
        Duration::from_secs(10),
        "the alert to open an incident",
        || async {
            let incidents = app.get_json("/api/v1/incidents?state=open").await;
            incidents["incidents"]
                .as_array()?
                .iter()
                .find(|i| i["component"] == "bridge")
                .cloned()
        },
    )
    .await;
    assert_eq!(
        (incident["level"].as_str(), incident["title"].as_str()),
        (Some("L1"), Some("relayer stopped")),
        "severity=critical is L1"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_real_prometheus_uses_vigil_as_its_alertmanager_and_scrapes_its_metrics() {
    if std::env::var("VIGIL_PEER_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set VIGIL_PEER_TESTS=1 to run tests against a real Prometheus");
        return;
    }
    let app = spawn_app_with(|_| {}, Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        "groups:\n- name: vigil-e2e\n  rules:\n  - alert: CoreDepegged\n    expr: core_scenario_active{scenario=\"depeg\"} == 1\n    for: 0s\n    labels: {severity: warning}\n    annotations: {summary: the peg is off}\n",
    )
    .unwrap();
    let port = free_port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: ['{}']\nalerting:\n  alertmanagers:\n  - static_configs: [{{targets: ['{addr}']}}]\nscrape_configs:\n- job_name: vigil\n  static_configs: [{{targets: ['{addr}']}}]\n- job_name: core\n  metrics_path: /core/metrics\n  static_configs: [{{targets: ['{addr}']}}]\n",
            rules.display(),
            addr = app.addr
        ),
    )
    .unwrap();
    let workdir = tempfile::tempdir().unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/peers/start-prometheus.sh"
    );
    let output = Command::new("bash")
        .arg(script)
        .arg(port.to_string())
        .arg(workdir.path())
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let _prometheus = Peer {
        pid: String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap(),
        port,
        workdir,
    };
    let http = reqwest::Client::new();

    eventually(
        Duration::from_secs(20),
        "Prometheus to scrape Vigil's /metrics with health up",
        || async {
            let targets: Value = http
                .get(format!("http://127.0.0.1:{port}/api/v1/targets"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let vigil = targets["data"]["activeTargets"]
                .as_array()?
                .iter()
                .find(|t| t["labels"]["job"] == "vigil")?
                .clone();
            (vigil["health"] == "up").then_some(())
        },
    )
    .await;

    app.post_json(
        "/api/v1/core/scenarios",
        &json!({"name": "depeg", "action": "start"}),
    )
    .await;
    eventually(
        Duration::from_secs(30),
        "Prometheus's firing alert to reach Vigil",
        || async {
            let alerts = app.get_json("/api/v1/alerts").await;
            alerts["alerts"]
                .as_array()?
                .iter()
                .find(|a| {
                    a["labels"]["alertname"] == "CoreDepegged"
                        && a["status"] == "firing"
                        && a["source"] == "prometheus"
                })
                .cloned()
        },
    )
    .await;
    app.post_json(
        "/api/v1/core/scenarios",
        &json!({"name": "depeg", "action": "stop"}),
    )
    .await;
    eventually(
        Duration::from_secs(30),
        "Prometheus's resolution to reach Vigil",
        || async {
            let alerts = app.get_json("/api/v1/alerts").await;
            alerts["alerts"]
                .as_array()?
                .iter()
                .find(|a| a["labels"]["alertname"] == "CoreDepegged" && a["status"] == "resolved")
                .cloned()
        },
    )
    .await;
    app.stop().await;
}
