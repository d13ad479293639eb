//! The scrape engine against local targets: each kind, real payloads, and hostile targets.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use collector::config::{TargetConfig, TargetKind};
use collector::series::SeriesLimits;
use futures::StreamExt as _;
use serde_json::{Value, json};
use support::{Start, data, serve, start, start_with, target, within};

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

#[tokio::test]
async fn prometheus_target_is_scraped_into_the_store_and_selectable() {
    let seen_accept = Arc::new(Mutex::new(String::new()));
    let accept = Arc::clone(&seen_accept);
    let app = Router::new().route(
        "/metrics",
        get(move |headers: HeaderMap| async move {
            *accept.lock().unwrap() = headers
                .get(header::ACCEPT)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            (
                [(header::CONTENT_TYPE, TEXT_FORMAT)],
                data("node-exporter-full.prom"),
            )
        }),
    );
    let address = serve(app).await;
    let mut node = target(
        "node",
        TargetKind::Prometheus,
        format!("http://{address}/metrics"),
    );
    node.labels.insert("env".to_owned(), "test".to_owned());
    let mut registry = prometheus_client::registry::Registry::default();
    // A small detector channel nobody reads: it fills up, and scraping must carry on regardless.
    let mut options = Start {
        channel_capacity: 8,
        registry: Some(registry),
        ..Start::default()
    };
    let mut running = start_with(vec![node], &mut options);
    registry = options.registry.take().unwrap();

    let health = running.scrapes("node", 2).await;
    assert!(health.up, "{health:?}");
    assert_eq!(health.last_error, None);
    assert!(
        health.samples > 400,
        "node_exporter exposes ~500 samples, got {}",
        health.samples
    );
    assert!(
        seen_accept
            .lock()
            .unwrap()
            .starts_with("application/openmetrics-text;version=1.0.0")
    );

    // Scraped names and labels as exposed, plus target and the configured labels.
    assert_eq!(
        running.value(r#"node_load1{target="node",env="test"}"#),
        1.99
    );
    assert_eq!(
        running.value(r#"node_filesystem_avail_bytes{target="node",mountpoint="/",fstype="ext4"}"#),
        8.2959007744e10
    );
    assert_eq!(running.value(r#"up{target="node"}"#), 1.0);

    // The detector got samples with the full label set; the rest were dropped and counted.
    let sample = running
        .samples
        .try_recv()
        .expect("samples forwarded to the detector");
    assert_eq!(sample.key.label("target"), Some("node"));
    assert_eq!(sample.key.label("env"), Some("test"));
    assert!(running.metrics.detector_samples_dropped() > 0);

    let mut exposition = String::new();
    prometheus_client::encoding::text::encode(&mut exposition, &registry).unwrap();
    assert!(
        exposition.contains(r#"collector_scrapes_total{kind="prometheus",outcome="success"}"#),
        "{exposition}"
    );
    assert!(
        exposition.contains(r#"collector_target_up{target="node"} 1"#),
        "{exposition}"
    );
    assert!(
        exposition.contains("collector_scrape_duration_seconds_bucket"),
        "{exposition}"
    );
    assert!(
        !exposition.contains("node_load1"),
        "scraped series must not be re-exported"
    );
}

#[tokio::test]
async fn malformed_exposition_line_is_named_and_good_lines_are_kept() {
    let body = "# TYPE a gauge\na 1\nb{x=\"1\" 2\nc 3\n";
    let app = Router::new().route(
        "/metrics",
        get(move || async move { ([(header::CONTENT_TYPE, TEXT_FORMAT)], body) }),
    );
    let address = serve(app).await;
    let running = start(vec![target(
        "odd",
        TargetKind::Prometheus,
        format!("http://{address}/metrics"),
    )]);

    let health = running.scrapes("odd", 1).await;
    assert!(!health.up);
    let error = health.last_error.expect("an error");
    assert!(error.contains("line 3"), "{error}");
    assert_eq!(running.value(r#"a{target="odd"}"#), 1.0);
    assert_eq!(running.value(r#"c{target="odd"}"#), 3.0);
    assert_eq!(running.value(r#"up{target="odd"}"#), 0.0);
}

#[tokio::test]
async fn a_100_mb_body_is_cut_off_at_the_limit() {
    let produced = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&produced);
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let counter = Arc::clone(&counter);
            async move {
                // 100 chunks of 1 MB of valid exposition, produced only as fast as the client reads.
                let line = "big_metric_with_a_long_name_for_padding 1\n".repeat(1_000_000 / 42);
                let stream = futures::stream::iter(0..100).map(move |_| {
                    counter.fetch_add(line.len() as u64, Ordering::Relaxed);
                    Ok::<_, std::io::Error>(Bytes::from(line.clone()))
                });
                (
                    [(header::CONTENT_TYPE, TEXT_FORMAT)],
                    Body::from_stream(stream),
                )
            }
        }),
    );
    let address = serve(app).await;
    let mut big = target(
        "big",
        TargetKind::Prometheus,
        format!("http://{address}/metrics"),
    );
    big.max_body_bytes = 2 * 1024 * 1024;
    big = big.with_interval(Duration::from_secs(5), Duration::from_secs(4));
    let running = start(vec![big]);

    let health = running.scrapes("big", 1).await;
    assert!(!health.up);
    assert_eq!(
        health.last_error.as_deref(),
        Some("response body exceeds the limit of 2097152 bytes (max_body_bytes)")
    );
    assert!(
        running
            .values(r#"big_metric_with_a_long_name_for_padding"#)
            .is_empty(),
        "nothing half-ingested"
    );
    let sent = produced.load(Ordering::Relaxed);
    assert!(
        sent < 50_000_000,
        "the server was made to produce {sent} bytes; the client should hang up early"
    );
}

#[tokio::test]
async fn slow_loris_target_times_out_and_does_not_delay_a_healthy_one() {
    let app = Router::new()
        .route(
            "/slow",
            get(|| async {
                // Headers at once, then one byte every 50 ms, forever.
                let stream = futures::stream::unfold((), |()| async {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Some((Ok::<_, std::io::Error>(Bytes::from_static(b"#")), ()))
                });
                (
                    [(header::CONTENT_TYPE, TEXT_FORMAT)],
                    Body::from_stream(stream),
                )
            }),
        )
        .route(
            "/fast",
            get(|| async { ([(header::CONTENT_TYPE, TEXT_FORMAT)], "ok_metric 1\n") }),
        );
    let address = serve(app).await;
    let slow = target(
        "slow",
        TargetKind::Prometheus,
        format!("http://{address}/slow"),
    )
    .with_interval(Duration::from_millis(500), Duration::from_millis(400));
    let fast = target(
        "fast",
        TargetKind::Prometheus,
        format!("http://{address}/fast"),
    )
    .with_interval(Duration::from_millis(100), Duration::from_millis(100));
    let mut options = Start::default();
    // Even with a single scrape slot per target pair, the slow one must hold it only up to its timeout.
    options.settings.max_concurrent_scrapes = 4;
    let running = start_with(vec![slow, fast], &mut options);

    let slow_health = within(Duration::from_secs(5), running.scrapes("slow", 2)).await;
    let fast_health = running.health("fast");
    let error = slow_health.last_error.clone().expect("slow target fails");
    assert!(error.contains("timed out after"), "{error}");
    assert!(
        slow_health.duration_ms < 600.0,
        "scrape was cut at its timeout: {slow_health:?}"
    );
    // Two slow scrapes take at least 500 ms + the second's 400 ms; at 100 ms the fast target fits ~9 scrapes
    // in that time. Allow for a loaded machine, but not for being blocked behind the slow one.
    assert!(
        fast_health.scrapes_total >= 6,
        "fast target was delayed: {fast_health:?}"
    );
    assert!(
        fast_health.up && fast_health.errors_total == 0,
        "{fast_health:?}"
    );
}

#[tokio::test]
async fn label_cardinality_bomb_is_bounded_and_counted() {
    let mut bomb = String::new();
    for index in 0..5_000 {
        bomb.push_str(&format!("requests_total{{user_id=\"{index}\"}} 1\n"));
    }
    let app = Router::new()
        .route(
            "/bomb",
            get(move || async move { ([(header::CONTENT_TYPE, TEXT_FORMAT)], bomb) }),
        )
        .route(
            "/calm",
            get(|| async { ([(header::CONTENT_TYPE, TEXT_FORMAT)], "calm 1\n") }),
        );
    let address = serve(app).await;
    let mut options = Start {
        limits: SeriesLimits {
            max_series: 1_000,
            ..SeriesLimits::default()
        },
        ..Start::default()
    };
    options.settings.max_series_per_target = 10_000;
    let running = start_with(
        vec![
            target(
                "calm",
                TargetKind::Prometheus,
                format!("http://{address}/calm"),
            ),
            target(
                "bomb",
                TargetKind::Prometheus,
                format!("http://{address}/bomb"),
            ),
        ],
        &mut options,
    );
    running.scrapes("bomb", 1).await;
    running.scrapes("calm", 1).await;

    assert!(
        running.store.stats().series <= 1_000,
        "{:?}",
        running.store.stats()
    );
    assert!(
        running.metrics.series_dropped() >= 4_000,
        "dropped {}",
        running.metrics.series_dropped()
    );

    // A per-target limit below the bomb's size rejects the whole scrape instead.
    let mut options = Start::default();
    options.settings.max_series_per_target = 1_000;
    let limited = start_with(
        vec![target(
            "bomb",
            TargetKind::Prometheus,
            format!("http://{address}/bomb"),
        )],
        &mut options,
    );
    let health = limited.scrapes("bomb", 1).await;
    let error = health.last_error.expect("bomb rejected");
    assert!(error.contains("more than 1000 samples"), "{error}");
    assert!(limited.values("requests_total").is_empty());
}

// ---------------------------------------------------------------------------------------------------
// evm_rpc

/// A fake node that answers like ganache: the envelope and values of the captured replies, batches or
/// single calls, and blocks from a chain the test controls.
#[derive(Clone)]
struct FakeNode {
    chain: Arc<Mutex<Chain>>,
    batches: bool,
    ganache: Arc<Value>,
    block_template: Arc<Value>,
    calls: Arc<AtomicU64>,
}

struct Chain {
    /// (number, fork) of the blocks, the head last. A block's hash depends on both, so a fork is a reorg.
    blocks: Vec<(u64, u64)>,
    timestamps: Vec<u64>,
}

impl Chain {
    fn linear(head: u64, first_timestamp: u64) -> Self {
        Chain {
            blocks: (0..=head).map(|number| (number, 0)).collect(),
            timestamps: (0..=head)
                .map(|number| first_timestamp + 2 * number)
                .collect(),
        }
    }
}

fn block_hash(number: u64, fork: u64) -> String {
    format!("0x{:032x}{:032x}", fork + 0xf0, number)
}

impl FakeNode {
    fn new(chain: Chain, batches: bool) -> Self {
        let block: Value =
            serde_json::from_str(&data("ganache-eth_getBlockByNumber-latest.json")).unwrap();
        FakeNode {
            chain: Arc::new(Mutex::new(chain)),
            batches,
            ganache: Arc::new(
                serde_json::from_str(&data("ganache-jsonrpc-responses.json")).unwrap(),
            ),
            block_template: Arc::new(block["result"].clone()),
            calls: Arc::new(AtomicU64::new(0)),
        }
    }

    fn block(&self, chain: &Chain, index: usize) -> Value {
        let (number, fork) = chain.blocks[index];
        let parent = if index == 0 {
            "0x".to_owned() + &"0".repeat(64)
        } else {
            let (parent_number, parent_fork) = chain.blocks[index - 1];
            block_hash(parent_number, parent_fork)
        };
        let mut block = (*self.block_template).clone();
        block["number"] = json!(format!("{number:#x}"));
        block["hash"] = json!(block_hash(number, fork));
        block["parentHash"] = json!(parent);
        block["timestamp"] = json!(format!("{:#x}", chain.timestamps[index]));
        block["gasUsed"] = json!("0x5208");
        block["transactions"] = json!(["0x".to_owned() + &"ab".repeat(32)]);
        block
    }

    fn answer(&self, request: &Value) -> Value {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let method = request["method"].as_str().unwrap_or_default();
        let chain = self.chain.lock().unwrap();
        let mut reply = match method {
            "eth_blockNumber" => json!({"id": 1, "jsonrpc": "2.0",
                "result": format!("{:#x}", chain.blocks.last().unwrap().0)}),
            "eth_getBlockByNumber" => {
                let tag = request["params"][0].as_str().unwrap();
                let index = if tag == "latest" {
                    Some(chain.blocks.len() - 1)
                } else {
                    let number = u64::from_str_radix(tag.trim_start_matches("0x"), 16).unwrap();
                    chain.blocks.iter().position(|(n, _)| *n == number)
                };
                match index {
                    Some(index) => {
                        json!({"id": 1, "jsonrpc": "2.0", "result": self.block(&chain, index)})
                    }
                    None => self.ganache["eth_getBlockByNumber_nonexistent"].clone(),
                }
            }
            "net_peerCount" | "eth_syncing" | "eth_chainId" => self.ganache[method].clone(),
            _ => self.ganache["unknown_method"].clone(),
        };
        reply["id"] = request["id"].clone();
        reply
    }
}

async fn fake_node(State(node): State<FakeNode>, body: Bytes) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => return (StatusCode::BAD_REQUEST, "Unexpected token").into_response(),
    };
    match request {
        Value::Array(calls) if node.batches => axum::Json(Value::Array(
            calls.iter().map(|call| node.answer(call)).collect(),
        ))
        .into_response(),
        Value::Array(_) => axum::Json(json!({"jsonrpc": "2.0", "id": null,
            "error": {"code": -32600, "message": "batch requests are not supported"}}))
        .into_response(),
        single => axum::Json(node.answer(&single)).into_response(),
    }
}

async fn serve_node(node: FakeNode) -> String {
    let app = Router::new().route("/", post(fake_node)).with_state(node);
    format!("http://{}/", serve(app).await)
}

#[tokio::test]
async fn evm_rpc_reads_a_ganache_like_node_batched_or_not() {
    let batched = FakeNode::new(Chain::linear(8, 1_795_301_900), true);
    let singles = FakeNode::new(Chain::linear(8, 1_795_301_900), false);
    let mut rpc = target("rpc", TargetKind::EvmRpc, serve_node(batched.clone()).await);
    rpc.slot_seconds = Some(1.5);
    let old = target(
        "old-rpc",
        TargetKind::EvmRpc,
        serve_node(singles.clone()).await,
    );
    let running = start(vec![rpc, old]);

    for name in ["rpc", "old-rpc"] {
        let health = running.scrapes(name, 2).await;
        assert!(health.up, "{health:?}");
        let series = |metric: &str| running.value(&format!("{metric}{{target=\"{name}\"}}"));
        assert_eq!(series("chain_head_height"), 8.0);
        assert_eq!(series("chain_id"), 1337.0, "ganache's eth_chainId 0x539");
        assert_eq!(series("chain_peers"), 0.0);
        assert_eq!(series("chain_syncing"), 0.0);
        assert_eq!(series("chain_block_time_seconds"), 2.0);
        assert_eq!(series("chain_txs_per_block"), 1.0);
        assert_eq!(series("chain_gas_used"), 21_000.0);
        assert_eq!(series("chain_reorgs_total"), 0.0);
        assert_eq!(series("up"), 1.0);
    }
    assert_eq!(
        running.value(r#"chain_block_time_drift_seconds{target="rpc"}"#),
        0.5
    );
    assert!(
        running
            .values(r#"chain_block_time_drift_seconds{target="old-rpc"}"#)
            .is_empty(),
        "no slot_seconds"
    );
    // Batched: one request per scrape plus the parent block once. Single calls: five per scrape.
    assert!(batched.calls.load(Ordering::Relaxed) >= 5);
}

#[tokio::test]
async fn evm_rpc_sees_reorgs_and_stalls() {
    let node = FakeNode::new(Chain::linear(10, 1_795_301_900), true);
    let chain = Arc::clone(&node.chain);
    let mut rpc = target("rpc", TargetKind::EvmRpc, serve_node(node).await);
    rpc.slot_seconds = Some(2.0);
    let running = start(vec![rpc]);
    let value = |metric: &str| running.value(&format!("{metric}{{target=\"rpc\"}}"));

    running.scrapes("rpc", 1).await;
    assert_eq!(value("chain_head_height"), 10.0);

    // The head advances normally: no reorg, block time from consecutive heads.
    {
        let mut chain = chain.lock().unwrap();
        chain.blocks.push((11, 0));
        let last = *chain.timestamps.last().unwrap();
        chain.timestamps.push(last + 5);
    }
    running.next_scrape("rpc").await;
    running.next_scrape("rpc").await;
    assert_eq!(value("chain_head_height"), 11.0);
    assert_eq!(value("chain_block_time_seconds"), 5.0);
    assert_eq!(value("chain_block_time_drift_seconds"), 3.0);
    assert_eq!(value("chain_reorgs_total"), 0.0);

    // Block 11 is replaced by another block 11 (same parent, new hash): one reorg.
    chain.lock().unwrap().blocks[11] = (11, 1);
    running.next_scrape("rpc").await;
    running.next_scrape("rpc").await;
    assert_eq!(value("chain_reorgs_total"), 1.0);
    assert_eq!(value("chain_head_height"), 11.0);

    // The head moves backwards: another reorg.
    {
        let mut chain = chain.lock().unwrap();
        chain.blocks.pop();
        chain.timestamps.pop();
    }
    running.next_scrape("rpc").await;
    running.next_scrape("rpc").await;
    assert_eq!(value("chain_reorgs_total"), 2.0);
    assert_eq!(value("chain_head_height"), 10.0);

    // Now the chain stalls: the head age grows by our clock while scrapes keep succeeding.
    let first_age = value("chain_head_age_seconds");
    tokio::time::sleep(Duration::from_millis(700)).await;
    running.next_scrape("rpc").await;
    let later_age = value("chain_head_age_seconds");
    assert!(
        later_age >= first_age + 0.5,
        "head age {first_age} -> {later_age}"
    );
    assert!(running.health("rpc").up);
}

#[tokio::test]
async fn broken_json_rpc_replies_name_the_method_and_field() {
    async fn broken(kind: &'static str, body: Bytes) -> Response {
        let request: Value = serde_json::from_slice(&body).unwrap();
        let calls = match &request {
            Value::Array(calls) => calls.clone(),
            single => vec![single.clone()],
        };
        let replies: Vec<Value> = calls
            .iter()
            .map(|call| {
                let id = call["id"].clone();
                let method = call["method"].as_str().unwrap();
                let result = match method {
                    "eth_getBlockByNumber" => {
                        let mut block: Value =
                            serde_json::from_str(&data("ganache-eth_getBlockByNumber-latest.json"))
                                .unwrap();
                        if kind == "block" {
                            block["result"].as_object_mut().unwrap().remove("timestamp");
                        }
                        block["result"].clone()
                    }
                    "eth_blockNumber" if kind == "number" => json!(8),
                    "eth_syncing" => json!(false),
                    _ => json!("0x8"),
                };
                let version = if kind == "version" { "1.0" } else { "2.0" };
                json!({"jsonrpc": version, "id": id, "result": result})
            })
            .collect();
        if kind == "html" {
            return (StatusCode::OK, "<html><body>502 Bad Gateway</body></html>").into_response();
        }
        match request {
            Value::Array(_) => axum::Json(Value::Array(replies)).into_response(),
            _ => axum::Json(replies[0].clone()).into_response(),
        }
    }
    let app = Router::new()
        .route("/html", post(|body: Bytes| broken("html", body)))
        .route("/number", post(|body: Bytes| broken("number", body)))
        .route("/block", post(|body: Bytes| broken("block", body)))
        .route("/version", post(|body: Bytes| broken("version", body)));
    let address = serve(app).await;
    let kinds = ["html", "number", "block", "version"];
    let running = start(
        kinds
            .iter()
            .map(|kind| target(kind, TargetKind::EvmRpc, format!("http://{address}/{kind}")))
            .collect(),
    );
    let expected = [
        ("html", "eth_blockNumber: reply is not json"),
        (
            "number",
            "eth_blockNumber: result: expected a 0x-hex quantity string, found a number",
        ),
        ("block", "eth_getBlockByNumber: result.timestamp: missing"),
        (
            "version",
            "eth_blockNumber: jsonrpc: expected \"2.0\", found \"1.0\"",
        ),
    ];
    for (name, message) in expected {
        let health = running.scrapes(name, 1).await;
        assert!(!health.up);
        let error = health.last_error.unwrap();
        assert!(error.starts_with(message), "{name}: {error}");
        assert!(
            running
                .values(&format!("chain_head_height{{target=\"{name}\"}}"))
                .is_empty()
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// price and http_probe

#[tokio::test]
async fn price_pointer_and_deviation() {
    let app = Router::new()
        .route(
            "/core/price",
            get(|| async { axum::Json(json!({"symbol": "TRN", "price": 0.95, "target": 1.0})) }),
        )
        .route(
            "/nested",
            get(|| async { axum::Json(json!({"data": [{"quote": {"usd": "2.04"}}]})) }),
        )
        .route(
            "/missing",
            get(|| async { axum::Json(json!({"symbol": "TRN"})) }),
        );
    let address = serve(app).await;
    let core = target(
        "core-price",
        TargetKind::Price,
        format!("http://{address}/core/price"),
    );
    let mut nested = target(
        "nested",
        TargetKind::Price,
        format!("http://{address}/nested"),
    );
    nested.pointer = "/data/0/quote/usd".to_owned();
    nested.target = 2.0;
    let missing = target(
        "missing",
        TargetKind::Price,
        format!("http://{address}/missing"),
    );
    let running = start(vec![core, nested, missing]);

    running.scrapes("core-price", 1).await;
    running.scrapes("nested", 1).await;
    assert_eq!(running.value(r#"peg_price{target="core-price"}"#), 0.95);
    assert!((running.value(r#"peg_deviation_percent{target="core-price"}"#) + 5.0).abs() < 1e-9);
    assert_eq!(running.value(r#"peg_price{target="nested"}"#), 2.04);
    assert!((running.value(r#"peg_deviation_percent{target="nested"}"#) - 2.0).abs() < 1e-9);

    let health = running.scrapes("missing", 1).await;
    assert_eq!(
        health.last_error.as_deref(),
        Some("price at \"/price\": not found in the reply")
    );

    // Cancelling stops every target task promptly.
    running.cancel.cancel();
    running.tracker.close();
    within(Duration::from_secs(2), running.tracker.wait()).await;
}

#[tokio::test]
async fn http_probe_reports_status_and_body_mismatches() {
    let app = Router::new()
        .route("/ok", get(|| async { r#"{"status": "ok"}"# }))
        .route(
            "/down",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "maintenance") }),
        )
        .route("/wrong-body", get(|| async { r#"{"status": "degraded"}"# }));
    let address = serve(app).await;
    let probe = |name: &str, path: &str| {
        let mut probe = target(
            name,
            TargetKind::HttpProbe,
            format!("http://{address}{path}"),
        );
        probe.body_match = Some(r#"/"status":\s*"ok"/"#.to_owned());
        probe
    };
    let mut refused = target(
        "refused",
        TargetKind::HttpProbe,
        "http://127.0.0.1:9/".to_owned(),
    );
    refused.expect_status = 204;
    let running = start(vec![
        probe("ok", "/ok"),
        probe("down", "/down"),
        probe("wrong-body", "/wrong-body"),
        refused,
    ]);

    let health = running.scrapes("ok", 1).await;
    assert!(health.up, "{health:?}");
    assert_eq!(running.value(r#"probe_success{target="ok"}"#), 1.0);
    assert_eq!(running.value(r#"probe_status_code{target="ok"}"#), 200.0);
    assert!(running.value(r#"probe_duration_seconds{target="ok"}"#) > 0.0);
    assert!(
        running
            .values(r#"probe_tls_expiry_days{target="ok"}"#)
            .is_empty(),
        "plain http has no certificate"
    );

    let health = running.scrapes("down", 1).await;
    assert_eq!(
        health.last_error.as_deref(),
        Some("status 503, expected 200")
    );
    assert_eq!(running.value(r#"probe_success{target="down"}"#), 0.0);
    assert_eq!(running.value(r#"probe_status_code{target="down"}"#), 503.0);

    let health = running.scrapes("wrong-body", 1).await;
    assert_eq!(
        health.last_error.as_deref(),
        Some(r#"body does not match /"status":\s*"ok"/"#)
    );
    assert_eq!(running.value(r#"probe_success{target="wrong-body"}"#), 0.0);
    assert_eq!(
        running.value(r#"probe_status_code{target="wrong-body"}"#),
        200.0
    );

    let health = running.scrapes("refused", 1).await;
    assert!(health.last_error.unwrap().starts_with("request failed"));
    assert_eq!(running.value(r#"probe_success{target="refused"}"#), 0.0);
    assert_eq!(running.value(r#"probe_status_code{target="refused"}"#), 0.0);
}

#[tokio::test]
async fn https_probe_reports_days_until_the_certificate_expires() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    collector::targets::ensure_crypto_provider();
    let certificate = CertificateDer::from_pem_slice(data("tls/cert.pem").as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(data("tls/key.pem").as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![certificate], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(socket).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => request.extend_from_slice(&buffer[..read]),
                    }
                }
                let response =
                    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });

    let ca = reqwest::Certificate::from_pem(data("tls/ca.pem").as_bytes()).unwrap();
    let client = collector::targets::http_client_builder()
        .tls_certs_merge([ca])
        .build()
        .unwrap();
    let probe = target(
        "tls",
        TargetKind::HttpProbe,
        format!("https://127.0.0.1:{}/", address.port()),
    )
    .with_interval(Duration::from_secs(1), Duration::from_millis(900));
    let running = start_with(
        vec![probe],
        &mut Start {
            client: Some(client),
            ..Start::default()
        },
    );

    let health = running.scrapes("tls", 1).await;
    assert!(health.up, "{health:?}");
    let not_after = chrono::DateTime::parse_from_rfc3339(data("tls/not_after.txt").trim()).unwrap();
    let expected_days = (not_after.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds()
        as f64
        / 86_400.0;
    let days = running.value(r#"probe_tls_expiry_days{target="tls"}"#);
    assert!(
        (days - expected_days).abs() < 0.01,
        "{days} vs {expected_days}"
    );
}

#[tokio::test]
async fn engine_refuses_invalid_targets_naming_each_field() {
    use collector::engine::{CollectorMetrics, Engine, EngineSinks};
    let store = Arc::new(collector::series::SeriesStore::new(SeriesLimits::default()));
    let sinks = EngineSinks {
        store,
        samples: None,
        metrics: CollectorMetrics::unregistered(),
        client: None,
    };
    let targets = vec![
        target("feed", TargetKind::Price, "ftp://feed.example/".to_owned()),
        target(
            "feed",
            TargetKind::Prometheus,
            "http://127.0.0.1:9100/metrics".to_owned(),
        ),
    ];
    let tracker = tokio_util::task::TaskTracker::new();
    let cancel = tokio_util::sync::CancellationToken::new();
    let error = Engine::start(targets, &support::fast_settings(), sinks, cancel, &tracker)
        .err()
        .expect("invalid targets are refused")
        .to_string();
    assert!(
        error.contains("targets[0].url: scheme \"ftp\" is not supported"),
        "{error}"
    );
    assert!(
        error.contains("targets[1].name: \"feed\" is used by an earlier target"),
        "{error}"
    );
    assert!(tracker.is_empty(), "nothing was started");
}

#[tokio::test]
async fn openmetrics_replies_are_parsed_as_openmetrics() {
    let body = "# TYPE vigil_demo counter\nvigil_demo_total{a=\"b\"} 3 1795309170.5\n# EOF\n";
    let app = Router::new().route(
        "/metrics",
        get(move || async move {
            let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
            ([(header::CONTENT_TYPE, content_type)], body)
        }),
    );
    let address = serve(app).await;
    let running = start(vec![target(
        "om",
        TargetKind::Prometheus,
        format!("http://{address}/metrics"),
    )]);
    let health = running.scrapes("om", 1).await;
    assert!(health.up, "{health:?}");
    let selector =
        collector::series::Selector::parse(r#"vigil_demo_total{a="b",target="om"}"#).unwrap();
    let latest = running.store.latest(&selector);
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].value, 3.0);
    assert_eq!(
        latest[0].at_ms, 1_795_309_170_500,
        "OpenMetrics timestamps are seconds"
    );
}

/// Opt-in, against a real node: `VIGIL_TEST_EVM_RPC_URL=http://127.0.0.1:8545 cargo test -p collector
/// --test targets_scrape real_evm_node` (ganache started with `peers/start-ganache.sh 8545` works; with
/// ganache's `miner_stop` the stall is checked too).
#[tokio::test]
async fn real_evm_node_when_configured() {
    let Ok(url) = std::env::var("VIGIL_TEST_EVM_RPC_URL") else {
        eprintln!("skipped: set VIGIL_TEST_EVM_RPC_URL to run against a real node");
        return;
    };
    let mut rpc = TargetConfig::new("real", TargetKind::EvmRpc, url.clone())
        .with_interval(Duration::from_millis(500), Duration::from_millis(450));
    rpc.slot_seconds = Some(1.0);
    let running = start(vec![rpc]);
    let health = running.scrapes("real", 4).await;
    assert!(health.up, "{health:?}");
    for metric in [
        "chain_head_height",
        "chain_id",
        "chain_peers",
        "chain_syncing",
        "chain_gas_used",
    ] {
        let value = running.value(&format!("{metric}{{target=\"real\"}}"));
        assert!(value.is_finite() && value >= 0.0, "{metric} = {value}");
    }
    assert!(running.value(r#"chain_id{target="real"}"#) > 0.0);
    let selector = collector::series::Selector::parse(r#"{target="real"}"#).unwrap();
    for point in running.store.latest(&selector) {
        eprintln!("{} = {}", point.key, point.value);
    }

    // ganache can halt its chain: the head age must then grow while scrapes keep succeeding.
    let client = reqwest::Client::new();
    let call = |method: &'static str| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": []});
            let reply: Value = client
                .post(&url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            reply.get("error").is_none()
        }
    };
    if call("miner_stop").await {
        running.next_scrape("real").await;
        let before = running.value(r#"chain_head_age_seconds{target="real"}"#);
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        running.next_scrape("real").await;
        let after = running.value(r#"chain_head_age_seconds{target="real"}"#);
        assert!(call("miner_start").await);
        assert!(
            after >= before + 2.0,
            "head age {before} -> {after} while the miner was stopped"
        );
    } else {
        eprintln!("the node has no miner_stop; stall not checked");
    }
}
