//! Chain watching against a real node (ganache, `VIGIL_PEER_TESTS=1`) with contracts these tests compile
//! and deploy: a drained bridge, power handed to strangers, a feed off its peg and a stale one, reorgs with
//! and without confirmations, a restart, and losing one then both RPC providers.

use std::collections::HashMap;
use std::time::Duration;

use alloy_primitives::Address;
use collector::chain::{ChainConfig, ContractConfig, EventConfig, Preset, ReadConfig};
use serde_json::{Value, json};
use tokio::io::copy_bidirectional;
use tokio::net::TcpListener;
use vigil::config::Settings;

use crate::evm::{self, DevChain, Protocol, addr, bytes32, int, uint};
use crate::support::{TestApp, eventually, spawn_app_in, spawn_app_with};

fn hex(address: Address) -> String {
    format!("{address:#x}")
}

fn chain(name: &str, rpc: Vec<String>, confirmations: u64) -> ChainConfig {
    ChainConfig {
        name: name.to_owned(),
        rpc,
        confirmations,
        poll: model::HumanDuration::from_millis(200),
        max_catch_up_blocks: 10_000,
        max_logs_range: 1_000,
        timeout: model::HumanDuration::from_secs(2),
        max_head_lag: 3,
    }
}

/// The bridge (its artifact's ABI, the presets, a value_locked read and a large-withdrawal rule), the feed
/// and the proxy, on chain `chain_name`, with contract names prefixed by `prefix`.
fn contracts(protocol: &Protocol, chain_name: &str, prefix: &str) -> Vec<ContractConfig> {
    let base = |name: &str, address: Address| ContractConfig {
        name: format!("{prefix}{name}"),
        chain: chain_name.to_owned(),
        address: hex(address),
        abi: None,
        presets: Vec::new(),
        trusted: vec![hex(protocol.owner)],
        peg_target: None,
        heartbeat: model::HumanDuration::from_secs(60),
        reads: Vec::new(),
        events: Vec::new(),
    };
    vec![
        ContractConfig {
            abi: Some(evm::Artifacts::get().artifact("Bridge").path),
            presets: vec![Preset::Pausable, Preset::Ownable, Preset::AccessControl],
            reads: vec![ReadConfig {
                name: "value_locked".into(),
                call: "balanceOf(address)(uint256)".into(),
                to: Some(hex(protocol.token)),
                args: vec!["self".into()],
                decimals: 6,
                every: 1,
                output: 0,
            }],
            events: vec![EventConfig {
                name: "large-withdrawal".into(),
                event: "Withdrawal".into(),
                condition: Some("amount > 100000000000".into()),
                level: model::Level::L2,
                // Its own incident: it must not open the drain's before the detector's L1 does.
                category: "chain".into(),
                component: None,
                title: None,
            }],
            ..base("bridge", protocol.bridge)
        },
        ContractConfig {
            presets: vec![Preset::ChainlinkFeed],
            peg_target: Some(1.0),
            ..base("feed", protocol.feed)
        },
        ContractConfig {
            presets: vec![Preset::Erc1967],
            trusted: vec![hex(protocol.owner), hex(protocol.implementation)],
            ..base("proxy", protocol.proxy)
        },
    ]
}

/// Watch `chains` with the core off; pauses go to the bridge on `node` (signed by the node's unlocked owner).
fn watch(
    settings: &mut Settings,
    chains: Vec<ChainConfig>,
    contracts: Vec<ContractConfig>,
    node: &DevChain,
    protocol: &Protocol,
) {
    settings.core.enabled = false;
    settings.chains = chains;
    settings.contracts = contracts;
    let mut pause_contracts = std::collections::BTreeMap::new();
    pause_contracts.insert("bridge".to_owned(), hex(protocol.bridge));
    settings.pause.backend = responder::pause::PauseBackendKind::Evm;
    settings.pause.evm = Some(responder::pause::EvmPausableConfig {
        rpc_url: node.url.clone(),
        key_env: Some(PAUSER_KEY_ENV.to_owned()),
        contracts: pause_contracts,
        ..Default::default()
    });
}

/// The environment variable the tests' pause key is in; Vigil signs its own transactions with it.
const PAUSER_KEY_ENV: &str = "VIGIL_TEST_PAUSER_KEY";

/// The owner's key (ganache's deterministic account 0): the bridge's owner may pause it.
fn pauser_env() -> HashMap<String, String> {
    HashMap::from([(
        PAUSER_KEY_ENV.to_owned(),
        "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d".to_owned(),
    )])
}

async fn incidents(app: &TestApp) -> Vec<Value> {
    app.get_json("/api/v1/incidents?state=all").await["incidents"]
        .as_array()
        .unwrap()
        .clone()
}

async fn incident_on(app: &TestApp, component: &str, level: &str) -> Option<Value> {
    incidents(app)
        .await
        .into_iter()
        .find(|incident| incident["component"] == component && incident["level"] == level)
}

async fn timeline(app: &TestApp, id: &str) -> String {
    app.get_json(&format!("/api/v1/incidents/{id}")).await["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| format!("{} {}: {}", entry["kind"], entry["actor"], entry["text"]))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn read_value(app: &TestApp, contract: &str, read: &str) -> Option<f64> {
    app.get_json("/api/v1/contracts").await["contracts"]
        .as_array()?
        .iter()
        .find(|entry| entry["name"] == contract)?["reads"][read]
        .as_f64()
}

/// A TCP forwarder in front of the node: a second "provider" that can be killed on its own (cancelling
/// the token closes the listener and every open connection, as a dead host would).
async fn forwarder(to: u16) -> (String, tokio_util::sync::CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let cancel = tokio_util::sync::CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = stop.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((mut inbound, _)) = accepted else {
                return;
            };
            let stop = stop.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", to)).await {
                    tokio::select! {
                        () = stop.cancelled() => {}
                        _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                }
            });
        }
    });
    (url, cancel)
}

#[tokio::test]
async fn a_real_chain_is_watched_from_drain_to_lost_providers() {
    let Some(node) = DevChain::start(1) else {
        return;
    };
    let protocol = evm::deploy_protocol(&node).await;
    let (forwarded, forwarder_stop) = forwarder(node.port).await;
    let rpc = vec![forwarded, node.url.clone()];
    let app = spawn_app_with(
        |settings| {
            watch(
                settings,
                vec![chain("main", rpc, 0)],
                contracts(&protocol, "main", ""),
                &node,
                &protocol,
            );
        },
        pauser_env(),
    )
    .await;
    let patience = Duration::from_secs(20);
    eventually(patience, "the bridge's value_locked read", || async {
        read_value(&app, "bridge", "value_locked")
            .await
            .filter(|value| (*value - 1_000_000.0).abs() < 1e-6)
    })
    .await;
    // The drain rule measures over 30 s and needs half of it seen: Vigil has been watching for a while.
    tokio::time::sleep(Duration::from_secs(16)).await;

    // A drain through real transactions: three withdrawals of 200,000 tokens by a stranger.
    let attacker = node.accounts[5];
    let mut drain_txs = Vec::new();
    let mut first_block = None;
    for _ in 0..3 {
        // Explicit gas: once Vigil has paused the bridge, the next withdrawal is mined as a revert.
        let data = evm::encode_call(
            "withdraw(address,uint256)",
            &[addr(attacker), uint(200_000_000_000u64)],
        );
        let tx = node
            .send_raw(attacker, Some(protocol.bridge), &data, Some(200_000))
            .await
            .expect("the withdrawal is sent");
        let receipt = node.wait_receipt(tx).await;
        if !receipt.status {
            break;
        }
        first_block.get_or_insert(receipt.block_number);
        drain_txs.push(format!("{:#x}", receipt.hash));
        if incident_on(&app, "bridge", "L1").await.is_some() {
            break;
        }
    }
    let first_block = first_block.unwrap();
    let drain = eventually(patience, "an L1 incident on the bridge", || async {
        incident_on(&app, "bridge", "L1").await
    })
    .await;
    // The chain's height when the incident opened: the newest block with a timestamp at or before it.
    let opened = chrono::DateTime::parse_from_rfc3339(drain["opened_at"].as_str().unwrap())
        .unwrap()
        .timestamp() as u64;
    let mut height_at_open = first_block;
    for number in first_block..first_block + 6 {
        match node.block(number).await {
            Some(block) if evm_quantity(&block["timestamp"]) <= opened => height_at_open = number,
            _ => break,
        }
    }
    assert!(
        height_at_open <= first_block + 2,
        "the L1 opened at height {height_at_open}, more than 2 blocks after the first drain block {first_block}"
    );
    assert_eq!(drain["category"], "security", "{drain}");
    let id = drain["id"].as_str().unwrap().to_owned();
    let text = eventually(patience, "the drain evidence on the timeline", || async {
        let text = timeline(&app, &id).await;
        text.contains(&drain_txs[0]).then_some(text)
    })
    .await;
    assert!(
        text.contains("loss since the fall began: 200000.00 tokens"),
        "{text}"
    );
    // The runbook paused the real bridge with a real transaction, and the watcher saw the Paused event.
    eventually(patience, "the bridge paused on chain", || async {
        (read_value(&app, "bridge", "paused").await == Some(1.0)).then_some(())
    })
    .await;
    let alerts = app.get_json("/api/v1/alerts").await;
    let chain_alerts: Vec<&Value> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|alert| alert["source"] == "chain")
        .collect();
    assert!(
        chain_alerts
            .iter()
            .any(|alert| alert["labels"]["alertname"] == "large-withdrawal"
                && alert["labels"]["tx"] == drain_txs[0].as_str()
                && alert["labels"]["amount"] == "200000000000"),
        "{alerts}"
    );
    let (status, _) = app
        .post_json(&format!("/api/v1/incidents/{id}/resolve"), &json!({}))
        .await;
    assert_eq!(status, 200);

    // Power to a stranger: a role on the bridge, a new implementation behind the proxy → L1 with the tx.
    let stranger = node.accounts[6];
    let grant = node
        .send(
            protocol.owner,
            protocol.bridge,
            "grantRole(bytes32,address)",
            &[bytes32(evm::pauser_role()), addr(stranger)],
        )
        .await;
    let upgrade = node
        .send(
            protocol.owner,
            protocol.proxy,
            "upgradeTo(address)",
            &[addr(protocol.next_implementation)],
        )
        .await;
    let transfer = node
        .send(
            protocol.owner,
            protocol.bridge,
            "transferOwnership(address)",
            &[addr(node.accounts[7])],
        )
        .await;
    for (component, tx) in [
        ("bridge", grant.hash),
        ("bridge", transfer.hash),
        ("proxy", upgrade.hash),
    ] {
        let tx = format!("{tx:#x}");
        let incident = eventually(patience, &format!("an L1 on {component}"), || async {
            incidents(&app).await.into_iter().find(|incident| {
                incident["component"] == component
                    && incident["level"] == "L1"
                    && incident["state"] != "resolved"
            })
        })
        .await;
        let text = eventually(patience, &format!("{tx} on the timeline"), || async {
            let text = timeline(&app, incident["id"].as_str().unwrap()).await;
            text.contains(&tx).then_some(text)
        })
        .await;
        assert!(text.contains("NOT on the trusted list"), "{text}");
    }

    // The feed 3% off its peg → L2; then an answer two minutes old against a 60 s heartbeat → L3.
    node.send(
        protocol.owner,
        protocol.feed,
        "setAnswer(int256)",
        &[int(97_000_000)],
    )
    .await;
    eventually(patience, "an L2 peg incident", || async {
        incidents(&app)
            .await
            .into_iter()
            .find(|incident| incident["level"] == "L2" && incident["category"] == "peg")
    })
    .await;
    let old = node.latest_timestamp().await - 120;
    node.send(
        protocol.owner,
        protocol.feed,
        "setRoundData(int256,uint256)",
        &[int(100_000_000), uint(old)],
    )
    .await;
    eventually(
        patience,
        "an L3 stale-oracle incident on the feed",
        || async { incident_on(&app, "feed", "L3").await },
    )
    .await;

    // One provider lost: a target error, no page. Both lost: L2 "lost view of the chain".
    forwarder_stop.cancel();
    eventually(patience, "provider 1 reported down", || async {
        let targets = app.get_json("/api/v1/targets").await;
        targets["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|target| target["name"] == "main-rpc-1" && target["up"] == false)
            .and_then(|target| target["last_error"].as_str().map(str::to_owned))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert!(
        incident_on(&app, "main", "L2").await.is_none(),
        "one provider down must not page"
    );
    node.kill();
    let lost = eventually(patience, "an L2 for the lost chain", || async {
        incident_on(&app, "main", "L2").await
    })
    .await;
    assert_eq!(lost["category"], "chain", "{lost}");
    let contracts = app.get_json("/api/v1/contracts").await;
    assert!(
        contracts["contracts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|contract| contract["last_error"]
                .as_str()
                .is_some_and(|error| error.starts_with("chain main: "))),
        "a stalled watch shows on every contract: {contracts}"
    );
    app.stop().await;
}

fn evm_quantity(value: &Value) -> u64 {
    u64::from_str_radix(value.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

async fn pages_of(app: &TestApp, id: &str) -> usize {
    app.get_json("/api/v1/pages").await["pages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|page| page["incident_id"] == id)
        .count()
}

#[tokio::test]
async fn reorgs_retract_unconfirmed_logs_and_a_restart_catches_up() {
    // Instant mining: the test makes every block itself.
    let Some(node) = DevChain::start(0) else {
        return;
    };
    let protocol = evm::deploy_protocol(&node).await;
    let both = |settings: &mut Settings| {
        let mut all = contracts(&protocol, "fast", "fast-");
        all.extend(contracts(&protocol, "safe", "safe-"));
        watch(
            settings,
            vec![
                chain("fast", vec![node.url.clone()], 0),
                chain("safe", vec![node.url.clone()], 2),
            ],
            all,
            &node,
            &protocol,
        );
    };
    let app = spawn_app_with(both, pauser_env()).await;
    let patience = Duration::from_secs(20);
    eventually(patience, "both watches reading", || async {
        let fast = read_value(&app, "fast-bridge", "value_locked").await;
        let safe = read_value(&app, "safe-bridge", "value_locked").await;
        (fast.is_some() && safe.is_some()).then_some(())
    })
    .await;

    // A grant in a block that a reorg removes.
    let snapshot = node.snapshot().await;
    let grant = node
        .send(
            protocol.owner,
            protocol.bridge,
            "grantRole(bytes32,address)",
            &[bytes32(evm::pauser_role()), addr(node.accounts[7])],
        )
        .await;
    node.mine(1).await;
    let fast = eventually(patience, "the unconfirmed grant's L1", || async {
        incident_on(&app, "fast-bridge", "L1").await
    })
    .await;
    let id = fast["id"].as_str().unwrap().to_owned();
    assert!(node.revert(&snapshot).await);
    node.mine(3).await;
    let text = eventually(patience, "the retraction on the timeline", || async {
        let text = timeline(&app, &id).await;
        text.contains("removed by reorg").then_some(text)
    })
    .await;
    assert!(text.contains(&format!("{:#x}", grant.hash)), "{text}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(pages_of(&app, &id).await, 1, "paged once");
    assert!(
        incident_on(&app, "safe-bridge", "L1").await.is_none(),
        "with 2 confirmations the reorged grant never fires"
    );
    assert_eq!(
        incidents(&app)
            .await
            .iter()
            .filter(|incident| incident["component"] == "fast-bridge")
            .count(),
        1,
        "no duplicate incident"
    );

    // Restart: a grant mined while Vigil is down opens its incident once afterwards.
    let data_dir = app.stop().await;
    let late = node
        .send(
            protocol.owner,
            protocol.bridge,
            "grantRole(bytes32,address)",
            &[bytes32(evm::pauser_role()), addr(node.accounts[8])],
        )
        .await;
    node.mine(3).await;
    let app = spawn_app_in(data_dir, both, pauser_env()).await;
    let after = eventually(patience, "the missed grant's incident", || async {
        incidents(&app)
            .await
            .into_iter()
            .find(|incident| incident["component"] == "safe-bridge" && incident["level"] == "L1")
    })
    .await;
    let text = timeline(&app, after["id"].as_str().unwrap()).await;
    assert!(text.contains(&format!("{:#x}", late.hash)), "{text}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let safe_l1 = incidents(&app)
        .await
        .into_iter()
        .filter(|incident| incident["component"] == "safe-bridge" && incident["level"] == "L1")
        .count();
    assert_eq!(safe_l1, 1, "exactly one incident for the missed grant");
    app.stop().await;
}

async fn scenario(app: &TestApp, name: &str, module: Option<&str>) {
    let mut body = json!({"name": name, "action": "start"});
    if let Some(module) = module {
        body["module"] = json!(module);
    }
    let (status, reply) = app.post_json("/api/v1/core/scenarios", &body).await;
    assert_eq!(status, 200, "{reply}");
}

#[tokio::test]
async fn the_embedded_core_is_watched_like_a_real_chain() {
    let started = tokio::time::Instant::now();
    // Besides the core's own watch, a contract of the user's on the same chain with a read that reverts
    // (the bridge has no such function): its error is shown, and nothing else is held up by it.
    let bridge = protocol::evm::address_hex(&protocol::evm::label_address("module/bridge"));
    let app = spawn_app_with(
        |settings| {
            settings.contracts.push(ContractConfig {
                name: "broken".into(),
                chain: "core".into(),
                address: bridge,
                abi: None,
                presets: Vec::new(),
                trusted: Vec::new(),
                peg_target: None,
                heartbeat: model::HumanDuration::from_secs(3600),
                reads: vec![ReadConfig {
                    name: "missing".into(),
                    call: "totalLocked()(uint256)".into(),
                    to: None,
                    args: Vec::new(),
                    decimals: 0,
                    every: 1,
                    output: 0,
                }],
                events: Vec::new(),
            });
        },
        HashMap::new(),
    )
    .await;
    let patience = Duration::from_secs(20);
    let contracts = eventually(
        patience,
        "the core's contracts with their reads",
        || async {
            let body = app.get_json("/api/v1/contracts").await;
            let list = body["contracts"].as_array()?.clone();
            let ready = list.iter().any(|c| {
                c["name"] == "bridge"
                    && c["reads"]["value_locked"].as_f64().is_some_and(|v| v > 0.0)
            }) && list
                .iter()
                .any(|c| c["name"] == "trn-usd" && c["reads"]["price"].as_f64().is_some());
            ready.then_some(list)
        },
    )
    .await;
    let broken = eventually(patience, "the reverting read's error", || async {
        let body = app.get_json("/api/v1/contracts").await;
        body["contracts"]
            .as_array()?
            .iter()
            .find(|c| c["name"] == "broken" && c["last_error"].is_string())
            .cloned()
    })
    .await;
    assert!(
        broken["last_error"]
            .as_str()
            .unwrap()
            .starts_with("read missing: "),
        "{broken}"
    );
    assert!(
        contracts
            .iter()
            .filter(|c| c["name"] != "broken")
            .all(|c| c["chain"] == "core" && c["last_error"].is_null()),
        "{contracts:?}"
    );

    // admin-takeover: a role granted to an unknown account → L1 with the transaction.
    scenario(&app, "admin-takeover", Some("escrow")).await;
    let takeover = eventually(patience, "an L1 on escrow", || async {
        incident_on(&app, "escrow", "L1").await
    })
    .await;
    assert_eq!(takeover["runbook"], "admin-takeover", "{takeover}");
    let text = timeline(&app, takeover["id"].as_str().unwrap()).await;
    assert!(
        text.contains("RoleGranted(") && text.contains(" in tx 0x"),
        "{text}"
    );

    // oracle-stale: the feed stops; after its heartbeat (60 ticks of 100 ms here) → L3.
    scenario(&app, "oracle-stale", None).await;
    eventually(patience, "an L3 on the feed", || async {
        incident_on(&app, "trn-usd", "L3").await
    })
    .await;

    // reorg: the grant in a replaced block is retracted on the same incident, paged once.
    scenario(&app, "reorg", Some("auction")).await;
    let reorged = eventually(patience, "an L1 on auction", || async {
        incident_on(&app, "auction", "L1").await
    })
    .await;
    let id = reorged["id"].as_str().unwrap().to_owned();
    eventually(patience, "the retraction", || async {
        timeline(&app, &id)
            .await
            .contains("removed by reorg")
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(pages_of(&app, &id).await, 1);
    assert_eq!(
        incidents(&app)
            .await
            .iter()
            .filter(|incident| incident["component"] == "auction")
            .count(),
        1
    );

    // exploit-drain, once the bridge's reads cover the drain rule's look-back: L1 on the bridge from
    // its contract_read series, with the outflow transactions as evidence.
    tokio::time::sleep(Duration::from_secs(16).saturating_sub(started.elapsed())).await;
    scenario(&app, "exploit-drain", None).await;
    let drain = eventually(patience, "an L1 on the bridge", || async {
        incident_on(&app, "bridge", "L1").await
    })
    .await;
    let text = timeline(&app, drain["id"].as_str().unwrap()).await;
    assert!(
        text.contains(r#"contract_read{chain=\"core\",contract=\"bridge\",read=\"value_locked\"}"#)
            || text
                .contains(r#"contract_read{chain="core",contract="bridge",read="value_locked"}"#),
        "{text}"
    );
    eventually(patience, "the drain evidence", || async {
        timeline(&app, drain["id"].as_str().unwrap())
            .await
            .contains("outflow transactions: 0x")
            .then_some(())
    })
    .await;
    app.stop().await;
}

/// A key no node knows: Vigil signs with it, nothing is unlocked for Vigil.
const FRESH_PAUSER_KEY: &str = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";

#[tokio::test]
async fn vigil_pauses_with_its_own_key_and_the_chain_is_the_truth() {
    // 1 s blocks; VIGIL_TEST_BLOCK_SECS=6 measures the latency on 6 s blocks (BENCHMARKS.md).
    let block_secs: u32 = std::env::var("VIGIL_TEST_BLOCK_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .unwrap_or(1);
    let Some(node) = DevChain::start(block_secs) else {
        return;
    };
    let protocol = evm::deploy_protocol(&node).await;
    let pauser: Address = FRESH_PAUSER_KEY
        .parse::<alloy_signer_local::PrivateKeySigner>()
        .unwrap()
        .address();
    // Setup by the protocol's owner (the test, not Vigil): gas money and the pauser role for the key.
    let fund = node
        .rpc(
            "eth_sendTransaction",
            json!([{"from": hex(protocol.owner), "to": hex(pauser), "value": "0xde0b6b3a7640000"}]),
        )
        .await
        .unwrap();
    node.wait_receipt(fund.as_str().unwrap().parse().unwrap())
        .await;
    node.send(
        protocol.owner,
        protocol.bridge,
        "grantRole(bytes32,address)",
        &[bytes32(evm::pauser_role()), addr(pauser)],
    )
    .await;
    let app = spawn_app_with(
        |settings| {
            settings.core.enabled = false;
            settings.chains = vec![chain("main", vec![node.url.clone()], 0)];
            let mut watched = contracts(&protocol, "main", "");
            // The pauser is trusted: its role grant above is no alarm.
            watched[0].trusted.push(hex(pauser));
            settings.contracts = watched;
            settings.pause.backend = responder::pause::PauseBackendKind::Evm;
            settings.pause.evm = Some(responder::pause::EvmPausableConfig {
                chain: Some("main".to_owned()),
                key_env: Some("FRESH_PAUSER".to_owned()),
                ..Default::default()
            });
        },
        HashMap::from([("FRESH_PAUSER".to_owned(), FRESH_PAUSER_KEY.to_owned())]),
    )
    .await;
    let patience = Duration::from_secs(u64::from(block_secs * 10).max(20));
    eventually(patience, "the bridge watched, running", || async {
        let pauses = app.get_json("/api/v1/pauses").await;
        pauses["modules"]
            .as_array()?
            .iter()
            .find(|module| module["name"] == "bridge" && module["paused"] == false)
            .map(|module| assert_eq!(module["source"], "chain"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(16)).await;

    // The drain: withdrawals until one reverts because Vigil paused the bridge.
    let attacker = node.accounts[5];
    let mut drains = Vec::new();
    let mut reverted = None;
    for _ in 0..8 {
        let data = evm::encode_call(
            "withdraw(address,uint256)",
            &[addr(attacker), uint(100_000_000_000u64)],
        );
        let tx = node
            .send_raw(attacker, Some(protocol.bridge), &data, Some(200_000))
            .await
            .unwrap();
        let receipt = node.wait_receipt(tx).await;
        if receipt.status {
            drains.push(receipt);
        } else {
            reverted = Some(receipt);
            break;
        }
    }
    let reverted = reverted.expect("a drain transaction reverts once the bridge is paused");
    let first_drain = drains.first().expect("a drain went through").block_number;
    // The audit entry is written once Vigil has the pause's receipt.
    let automatic = eventually(patience, "the automatic pause in the audit log", || async {
        let log = app.get_json("/api/v1/pauses").await;
        log["entries"]
            .as_array()?
            .iter()
            .find(|entry| entry["action"] == "automatic_pause" && entry["module"] == "bridge")
            .cloned()
    })
    .await;
    let detail = automatic["detail"].as_str().unwrap_or_default().to_owned();
    let pause_tx = detail
        .split(|ch: char| !ch.is_ascii_alphanumeric())
        .find(|word| word.starts_with("0x") && word.len() == 66)
        .unwrap_or_else(|| panic!("no tx hash in the audit entry {automatic}"))
        .to_owned();
    let pause_receipt = node.wait_receipt(pause_tx.parse().unwrap()).await;
    assert!(pause_receipt.status);
    let from = node
        .rpc("eth_getTransactionByHash", json!([pause_tx]))
        .await
        .unwrap()["from"]
        .as_str()
        .unwrap()
        .to_ascii_lowercase();
    assert_eq!(from, hex(pauser), "signed by Vigil's own key");
    eprintln!(
        "pause latency: first drain in block {first_drain}, pause mined in block {} ({} blocks), drained {} tokens before it",
        pause_receipt.block_number,
        pause_receipt.block_number - first_drain,
        drains.len() * 100_000
    );
    assert!(
        pause_receipt.block_number <= first_drain + 2,
        "paused in block {}, first drain in block {first_drain}",
        pause_receipt.block_number
    );
    assert!(reverted.block_number >= pause_receipt.block_number);
    let incident = incident_on(&app, "bridge", "L1")
        .await
        .expect("the drain's L1");
    let id = incident["id"].as_str().unwrap().to_owned();
    let text = eventually(
        patience,
        "drain and pause transactions on the timeline",
        || async {
            let text = timeline(&app, &id).await;
            let drain_tx = format!("{:#x}", drains[0].hash);
            (text.contains(&drain_tx) && text.contains(&pause_tx)).then_some(text)
        },
    )
    .await;
    assert!(text.contains("loss since the fall began"), "{text}");
    eventually(patience, "the chain showing the bridge paused", || async {
        let pauses = app.get_json("/api/v1/pauses").await;
        pauses["modules"]
            .as_array()?
            .iter()
            .find(|module| module["name"] == "bridge" && module["paused"] == true)
            .map(|_| ())
    })
    .await;

    // The owner unpauses on chain, outside Vigil: an L1 and an observed_unpause entry.
    let (status, _) = app
        .post_json(&format!("/api/v1/incidents/{id}/resolve"), &json!({}))
        .await;
    assert_eq!(status, 200);
    let unpause = node
        .send(protocol.owner, protocol.bridge, "unpause()", &[])
        .await;
    let unpause_tx = format!("{:#x}", unpause.hash);
    let observed = eventually(patience, "an L1 for the unpause outside Vigil", || async {
        incidents(&app).await.into_iter().find(|incident| {
            incident["component"] == "bridge"
                && incident["level"] == "L1"
                && incident["state"] != "resolved"
        })
    })
    .await;
    let seen_at = node.block_number().await;
    assert!(
        seen_at <= unpause.block_number + 2,
        "seen at block {seen_at}, unpaused in block {}",
        unpause.block_number
    );
    assert_eq!(observed["runbook"], "contract-unpaused", "{observed}");
    let pauses = app.get_json("/api/v1/pauses").await;
    assert!(
        pauses["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["action"] == "observed_unpause"
                && entry["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(&unpause_tx)),
        "{pauses}"
    );
    eventually(patience, "the chain showing the bridge running", || async {
        let pauses = app.get_json("/api/v1/pauses").await;
        pauses["modules"]
            .as_array()?
            .iter()
            .find(|module| module["name"] == "bridge" && module["paused"] == false)
            .map(|_| ())
    })
    .await;

    // Readiness: a round with the path healthy passes; after the role is revoked it opens an L2.
    let (status, run) = app
        .post_json("/api/v1/healthchecks/evening/run", &json!({}))
        .await;
    assert_eq!(status, 200, "{run}");
    assert!(
        incident_on(&app, "pause", "L2").await.is_none(),
        "a working pause path is no incident: {run}"
    );
    node.send(
        protocol.owner,
        protocol.bridge,
        "revokeRole(bytes32,address)",
        &[bytes32(evm::pauser_role()), addr(pauser)],
    )
    .await;
    let (status, run) = app
        .post_json("/api/v1/healthchecks/evening/run", &json!({}))
        .await;
    assert_eq!(status, 200, "{run}");
    let broken = eventually(patience, "an L2 pause-path incident", || async {
        incident_on(&app, "pause", "L2").await
    })
    .await;
    let text = timeline(&app, broken["id"].as_str().unwrap()).await;
    assert!(
        text.contains("pause path broken for bridge") && text.contains("would revert"),
        "{text}"
    );
    app.stop().await;
}
