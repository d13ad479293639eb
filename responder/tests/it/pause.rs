//! The emergency pause: roles, quorum, approval window, automatic pauses, the hash-chained audit log on
//! both backends, and the EVM backend against a real ganache (`VIGIL_PEER_TESTS=1`).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use model::{HasKind, Level};
use responder::pause::{
    Actor, AutomaticPause, BackendError, BackendReceipt, PauseBackend, PauseConfig, PauseService,
    Role,
};
use responder::store::testsuite::{TestStore, open_postgres_from_env, open_sqlite};
use responder::{ManualClock, NewIncidentInput, Responder, ResponderConfig};

/// 2026-01-01T00:00:00Z
const T0: i64 = 1_767_225_600_000;

/// An in-memory pausable protocol.
#[derive(Default)]
pub struct FakeBackend {
    paused: Mutex<BTreeSet<String>>,
    calls: Mutex<Vec<String>>,
}

impl FakeBackend {
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
    fn known(module: &str) -> Result<(), BackendError> {
        match module {
            "bridge" | "escrow" | "auction" | "staking" | "registry" => Ok(()),
            _ => Err(BackendError::UnknownModule(module.to_owned())),
        }
    }
}

#[async_trait]
impl PauseBackend for FakeBackend {
    fn name(&self) -> &str {
        "fake"
    }
    async fn pause(&self, module: &str) -> Result<BackendReceipt, BackendError> {
        Self::known(module)?;
        self.calls.lock().unwrap().push(format!("pause {module}"));
        self.paused.lock().unwrap().insert(module.to_owned());
        Ok(receipt(format!("fake paused {module}")))
    }
    async fn unpause(&self, module: &str) -> Result<BackendReceipt, BackendError> {
        Self::known(module)?;
        self.calls.lock().unwrap().push(format!("unpause {module}"));
        self.paused.lock().unwrap().remove(module);
        Ok(receipt(format!("fake unpaused {module}")))
    }
    async fn is_paused(&self, module: &str) -> Result<bool, BackendError> {
        Self::known(module)?;
        Ok(self.paused.lock().unwrap().contains(module))
    }
}

fn receipt(detail: String) -> BackendReceipt {
    BackendReceipt {
        backend: "fake".into(),
        tx_hash: None,
        status: None,
        block_number: None,
        detail,
    }
}

pub struct Setup {
    pub service: PauseService,
    pub responder: Responder,
    pub backend: Arc<FakeBackend>,
    pub clock: ManualClock,
    pub _store: TestStore,
}

fn guardian() -> Actor {
    Actor::new("gina", Role::Guardian)
}
fn governor(name: &str) -> Actor {
    Actor::new(name, Role::Governor)
}

async fn setup_with(store: TestStore, responder_config: ResponderConfig) -> Setup {
    let clock = ManualClock::new(T0);
    let responder = Responder::builder(store.store.clone(), responder_config)
        .clock(Arc::new(clock.clone()))
        .ack_secret("test")
        .build()
        .unwrap();
    let backend = Arc::new(FakeBackend::default());
    let service =
        PauseService::new(responder.clone(), backend.clone(), PauseConfig::default()).unwrap();
    Setup {
        service,
        responder,
        backend,
        clock,
        _store: store,
    }
}

async fn sqlite_setup() -> Setup {
    setup_with(open_sqlite().await.unwrap(), ResponderConfig::default()).await
}

#[tokio::test]
async fn guardian_pauses_at_once_and_lower_roles_are_refused_and_audited() {
    let s = sqlite_setup().await;
    let outcome = s
        .service
        .pause("bridge", "drain in progress", &guardian())
        .await
        .unwrap();
    assert!(outcome.paused && outcome.changed);
    assert_eq!(s.backend.calls(), ["pause bridge"]);

    for role in [Role::Viewer, Role::Responder, Role::Governor] {
        let error = s
            .service
            .pause("escrow", "just because", &Actor::new("mallory", role))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), model::ErrorKind::Forbidden, "{role:?}");
    }
    assert_eq!(s.backend.calls(), ["pause bridge"], "refusals sent nothing");
    // Admin may pause too; pausing a paused module changes nothing and sends nothing.
    let again = s
        .service
        .pause("bridge", "still draining", &Actor::new("root", Role::Admin))
        .await
        .unwrap();
    assert!(again.paused && !again.changed);
    assert_eq!(s.backend.calls(), ["pause bridge"]);

    let log = s.service.audit_log().await.unwrap();
    let actions: Vec<_> = log.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "pause",
            "pause_refused",
            "pause_refused",
            "pause_refused",
            "pause"
        ]
    );
    assert_eq!(log.entries[1].actor, "mallory");
    assert!(log.chain_ok);
    assert_eq!(s.service.paused_modules().await.unwrap(), ["bridge"]);
}

#[tokio::test]
async fn unpause_needs_a_quorum_of_distinct_governors() {
    let s = sqlite_setup().await;
    s.service
        .pause("bridge", "drain", &guardian())
        .await
        .unwrap();

    let first = s
        .service
        .request_unpause("bridge", "fixed", &governor("alice"))
        .await
        .unwrap();
    assert_eq!(
        (first.state, first.approvals.clone(), first.quorum),
        ("pending", vec!["alice".to_owned()], 2)
    );
    // The same governor twice counts once.
    let twice = s
        .service
        .request_unpause("bridge", "fixed, really", &governor("alice"))
        .await
        .unwrap();
    assert_eq!((twice.state, twice.approvals.len()), ("pending", 1));
    // Guardians and admins cannot approve.
    let error = s
        .service
        .request_unpause("bridge", "fixed", &Actor::new("root", Role::Admin))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), model::ErrorKind::Forbidden);
    assert!(s.backend.is_paused("bridge").await.unwrap(), "still paused");

    let done = s
        .service
        .request_unpause("bridge", "fixed", &governor("bob"))
        .await
        .unwrap();
    assert_eq!(done.state, "done");
    assert_eq!(done.approvals, ["alice", "bob"]);
    assert!(!s.backend.is_paused("bridge").await.unwrap());
    assert!(s.service.paused_modules().await.unwrap().is_empty());

    // Unpausing a module that is not paused is refused (and a new pause needs a new quorum).
    let error = s
        .service
        .request_unpause("bridge", "again", &governor("carol"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), model::ErrorKind::Conflict);
    s.service
        .pause("bridge", "drain again", &guardian())
        .await
        .unwrap();
    let fresh = s
        .service
        .request_unpause("bridge", "fixed", &governor("alice"))
        .await
        .unwrap();
    assert_eq!((fresh.state, fresh.approvals.len()), ("pending", 1));
    assert!(s.service.audit_log().await.unwrap().chain_ok);
}

#[tokio::test]
async fn approvals_older_than_the_window_drop_out() {
    let s = sqlite_setup().await;
    s.service
        .pause("escrow", "exploit", &guardian())
        .await
        .unwrap();
    s.service
        .request_unpause("escrow", "ok", &governor("alice"))
        .await
        .unwrap();
    s.clock.advance(Duration::from_secs(3600 + 1));
    let late = s
        .service
        .request_unpause("escrow", "ok", &governor("bob"))
        .await
        .unwrap();
    assert_eq!(
        (late.state, late.approvals.clone()),
        ("pending", vec!["bob".to_owned()])
    );
    assert!(s.backend.is_paused("escrow").await.unwrap());
    // Alice approving again within the window completes the quorum.
    let done = s
        .service
        .request_unpause("escrow", "ok", &governor("alice"))
        .await
        .unwrap();
    assert_eq!(done.state, "done");
    assert_eq!(done.approvals, ["bob", "alice"]);
}

#[tokio::test]
async fn automatic_pause_is_refused_in_a_maintenance_window_and_recorded_when_it_acts() {
    let config: ResponderConfig = toml::from_str(
        r#"
        [[maintenance]]
        name = "bridge upgrade"
        components = ["bridge"]
        start = "2026-01-01T00:00"
        duration = "2h"
        "#,
    )
    .unwrap();
    let s = setup_with(open_sqlite().await.unwrap(), config).await;
    let incident = s
        .responder
        .create_incident(
            &NewIncidentInput {
                title: "value locked draining".into(),
                level: Level::L1,
                component: "bridge".into(),
                summary: String::new(),
                runbook: None,
            },
            "test",
        )
        .await
        .unwrap();
    let id = incident.incident.id.clone();

    let refused = s
        .service
        .automatic_pause("bridge", &id, "runbook exploit-drain")
        .await
        .unwrap();
    assert!(
        matches!(&refused, AutomaticPause::Refused { reason } if reason.contains("maintenance")),
        "{refused:?}"
    );
    assert!(s.backend.calls().is_empty());

    // Outside the window (and for a module it does not cover) the pause happens and is in the timeline.
    let paused = s
        .service
        .automatic_pause("escrow", &id, "runbook exploit-drain")
        .await
        .unwrap();
    assert!(
        matches!(paused, AutomaticPause::Paused { .. }),
        "{paused:?}"
    );
    s.clock.advance(Duration::from_secs(3 * 3600));
    let paused = s
        .service
        .automatic_pause("bridge", &id, "runbook exploit-drain")
        .await
        .unwrap();
    assert!(
        matches!(paused, AutomaticPause::Paused { .. }),
        "{paused:?}"
    );
    let detail = s.responder.get_incident(&id).await.unwrap();
    let actions: Vec<_> = detail
        .timeline
        .iter()
        .filter(|entry| entry.kind == "action")
        .map(|entry| entry.text.clone())
        .collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert!(
        actions[1].contains("paused module bridge automatically"),
        "{actions:?}"
    );
    let log = s.service.audit_log().await.unwrap();
    let actions: Vec<_> = log.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "automatic_pause_refused",
            "automatic_pause",
            "automatic_pause"
        ]
    );
    assert_eq!(log.entries[0].incident_id.as_deref(), Some(id.as_str()));
    // Unpausing is never automatic: only governors' approvals unpause.
    assert!(s.backend.is_paused("bridge").await.unwrap());
}

#[tokio::test]
async fn automatic_pause_respects_the_policy() {
    let store = open_sqlite().await.unwrap();
    let responder = Responder::builder(store.store.clone(), ResponderConfig::default())
        .ack_secret("test")
        .build()
        .unwrap();
    let backend = Arc::new(FakeBackend::default());
    let config = PauseConfig {
        automatic_modules: vec!["escrow".into()],
        ..PauseConfig::default()
    };
    let service = PauseService::new(responder, backend.clone(), config).unwrap();
    let outcome = service
        .automatic_pause("bridge", "inc-x", "runbook")
        .await
        .unwrap();
    assert!(
        matches!(&outcome, AutomaticPause::Refused { reason } if reason.contains("automatic_modules")),
        "{outcome:?}"
    );
    assert!(backend.calls().is_empty());
}

/// Tampering with any stored row (an UPDATE straight in SQL) breaks the chain.
async fn altering_a_row_breaks_the_chain(store: TestStore) {
    let s = setup_with(store, ResponderConfig::default()).await;
    s.service
        .pause("bridge", "drain", &guardian())
        .await
        .unwrap();
    s.service
        .request_unpause("bridge", "fixed", &governor("alice"))
        .await
        .unwrap();
    s.service
        .request_unpause("bridge", "fixed", &governor("bob"))
        .await
        .unwrap();
    let log = s.service.audit_log().await.unwrap();
    assert!(log.chain_ok);
    assert_eq!(log.entries.len(), 4, "pause, two approvals, unpause");
    assert_eq!(log.entries[0].prev_hash, "0".repeat(64));
    assert_eq!(log.entries[1].prev_hash, log.entries[0].hash);

    let changed = s
        ._store
        .store
        .execute_for_tests("update pause_audit set reason = 'routine maintenance' where seq = 2")
        .await
        .unwrap();
    assert_eq!(changed, 1);
    let log = s.service.audit_log().await.unwrap();
    assert!(!log.chain_ok);
    assert_eq!(log.broken_at, Some(2));
}

#[tokio::test]
async fn altering_a_row_breaks_the_chain_sqlite() {
    altering_a_row_breaks_the_chain(open_sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn altering_a_row_breaks_the_chain_postgres() {
    let Some(store) = open_postgres_from_env("VIGIL_TEST_POSTGRES_URL").await else {
        eprintln!("skipped: set VIGIL_TEST_POSTGRES_URL");
        return;
    };
    altering_a_row_breaks_the_chain(store).await;
}

/// Concurrent appenders never fork the chain.
async fn concurrent_appends_keep_one_chain(store: TestStore) {
    let s = setup_with(store, ResponderConfig::default()).await;
    let mut tasks = Vec::new();
    for index in 0..6 {
        let service = s.service.clone();
        tasks.push(tokio::spawn(async move {
            service
                .pause(
                    "nope",
                    &format!("try {index}"),
                    &Actor::new("v", Role::Viewer),
                )
                .await
        }));
    }
    for task in tasks {
        assert!(task.await.unwrap().is_err());
    }
    let log = s.service.audit_log().await.unwrap();
    assert_eq!(log.entries.len(), 6);
    assert!(log.chain_ok);
}

#[tokio::test]
async fn concurrent_appends_keep_one_chain_sqlite() {
    concurrent_appends_keep_one_chain(open_sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn concurrent_appends_keep_one_chain_postgres() {
    let Some(store) = open_postgres_from_env("VIGIL_TEST_POSTGRES_URL").await else {
        eprintln!("skipped: set VIGIL_TEST_POSTGRES_URL");
        return;
    };
    concurrent_appends_keep_one_chain(store).await;
}

// ---- a real chain --------------------------------------------------------------------------------------

/// A ganache started through `tests/peers/start-ganache.sh`, killed on drop.
struct Ganache {
    pid: String,
    url: String,
}

impl Ganache {
    fn start() -> Ganache {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/peers/start-ganache.sh"
        );
        let output = std::process::Command::new("bash")
            .arg(script)
            .arg(port.to_string())
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("run start-ganache.sh");
        assert!(output.status.success(), "start-ganache.sh failed");
        Ganache {
            pid: String::from_utf8(output.stdout).unwrap().trim().to_owned(),
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Ganache {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").arg(&self.pid).status();
    }
}

async fn rpc(url: &str, method: &str, params: serde_json::Value) -> serde_json::Value {
    let body: serde_json::Value = responder::channels::http_client(Duration::from_secs(10))
        .unwrap()
        .post(url)
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body.get("error").is_none(), "{method}: {body}");
    body["result"].clone()
}

/// Waits for `tx`'s receipt (status 0x1).
async fn mined(url: &str, tx: &serde_json::Value) -> serde_json::Value {
    for _ in 0..120 {
        let receipt = rpc(url, "eth_getTransactionReceipt", serde_json::json!([tx])).await;
        if !receipt.is_null() {
            assert_eq!(receipt["status"], "0x1", "{receipt}");
            return receipt;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("transaction {tx} was never mined");
}

/// Signs and sends a raw EIP-1559 transaction from `signer` (test setup: "someone else" with the key).
async fn send_signed(
    url: &str,
    signer: &alloy_signer_local::PrivateKeySigner,
    to: alloy_primitives::TxKind,
    input: Vec<u8>,
    max_fee: u128,
    nonce: Option<u64>,
) -> serde_json::Value {
    use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
    use alloy_eips::eip2718::Encodable2718;
    use alloy_signer::SignerSync;
    let nonce = match nonce {
        Some(nonce) => nonce,
        None => {
            let count = rpc(
                url,
                "eth_getTransactionCount",
                serde_json::json!([signer.address(), "pending"]),
            )
            .await;
            u64::from_str_radix(count.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
        }
    };
    let tx = TxEip1559 {
        chain_id: 1337,
        nonce,
        gas_limit: 3_000_000,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: max_fee.min(1_000_000_000),
        to,
        value: alloy_primitives::U256::ZERO,
        access_list: Default::default(),
        input: input.into(),
    };
    let signature = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
    let envelope: TxEnvelope = tx.into_signed(signature).into();
    let raw = format!("0x{}", hex_encode(&envelope.encoded_2718()));
    rpc(url, "eth_sendRawTransaction", serde_json::json!([raw])).await
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A fresh random key (not one of ganache's accounts), funded with 10 ETH from the unlocked account 0.
async fn fresh_funded_key(url: &str) -> alloy_signer_local::PrivateKeySigner {
    let signer = alloy_signer_local::PrivateKeySigner::random();
    let funder = rpc(url, "eth_accounts", serde_json::json!([])).await[0].clone();
    let tx = rpc(
        url,
        "eth_sendTransaction",
        serde_json::json!([{"from": funder, "to": signer.address(), "value": "0x8ac7230489e80000"}]),
    )
    .await;
    mined(url, &tx).await;
    signer
}

/// Deploys `tests/data/Pausable.bin` (compiled from `tests/data/Pausable.sol`, see
/// `tests/peers/eth/compile-pausable.js`) with a raw transaction signed by `owner` (the contract's
/// owner is its deployer; it has no transferOwnership); returns its address.
async fn deploy_pausable(url: &str, owner: &alloy_signer_local::PrivateKeySigner) -> String {
    let bytecode = include_str!("../data/Pausable.bin").trim();
    let bytes: Vec<u8> = (0..bytecode.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&bytecode[i..i + 2], 16).unwrap())
        .collect();
    let tx = send_signed(
        url,
        owner,
        alloy_primitives::TxKind::Create,
        bytes,
        20_000_000_000,
        None,
    )
    .await;
    mined(url, &tx).await["contractAddress"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn peer_tests_enabled() -> bool {
    if std::env::var("VIGIL_PEER_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set VIGIL_PEER_TESTS=1 to run against a real ganache");
        return false;
    }
    true
}

fn evm_config(url: &str, address: &str, extra: &str) -> PauseConfig {
    toml::from_str(&format!(
        r#"
        backend = "evm"
        [evm]
        rpc_url = "{url}"
        key_env = "VIGIL_TEST_PAUSER_KEY"
        contracts = {{ bridge = "{address}" }}
        receipt_timeout = "30s"
        poll_interval = "200ms"
        {extra}
        "#
    ))
    .unwrap()
}

#[tokio::test]
async fn guardian_pause_goes_on_chain_and_into_the_timeline() {
    if !peer_tests_enabled() {
        return;
    }
    let ganache = Ganache::start();
    let pauser = fresh_funded_key(&ganache.url).await;
    let address = deploy_pausable(&ganache.url, &pauser).await;
    let key = format!("0x{}", hex_encode(pauser.to_bytes().as_slice()));

    let store = open_sqlite().await.unwrap();
    let responder = Responder::builder(store.store.clone(), ResponderConfig::default())
        .ack_secret("test")
        .build()
        .unwrap();
    let config = evm_config(
        &ganache.url,
        &address,
        &format!("from = \"{}\"", pauser.address()),
    );
    let env = move |name: &str| (name == "VIGIL_TEST_PAUSER_KEY").then(|| key.clone());
    let backend = responder::pause::build_backend(&config, &env)
        .unwrap()
        .expect("evm backend");
    let service = PauseService::new(responder.clone(), backend.clone(), config).unwrap();
    assert!(!backend.is_paused("bridge").await.unwrap());

    let incident = responder
        .create_incident(
            &NewIncidentInput {
                title: "value locked draining".into(),
                level: Level::L1,
                component: "bridge".into(),
                summary: String::new(),
                runbook: None,
            },
            "test",
        )
        .await
        .unwrap();
    let id = incident.incident.id;
    let outcome = service
        .pause_for_incident("bridge", "drain in progress", &guardian(), Some(&id))
        .await
        .unwrap();
    let tx_hash = outcome.tx_hash.clone().expect("a transaction");
    assert!(
        tx_hash.starts_with("0x") && tx_hash.len() == 66,
        "{tx_hash}"
    );

    // The chain itself says paused, asked directly; the transaction is a type-2 one from the fresh key.
    let word = rpc(
        &ganache.url,
        "eth_call",
        serde_json::json!([{"to": address, "data": "0x5c975abb"}, "latest"]),
    )
    .await;
    assert!(word.as_str().unwrap().ends_with('1'), "{word}");
    let receipt = rpc(
        &ganache.url,
        "eth_getTransactionReceipt",
        serde_json::json!([tx_hash]),
    )
    .await;
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["transactionHash"], tx_hash.as_str());
    let tx = rpc(
        &ganache.url,
        "eth_getTransactionByHash",
        serde_json::json!([tx_hash]),
    )
    .await;
    assert_eq!(
        tx["from"].as_str().unwrap().to_lowercase(),
        pauser.address().to_string().to_lowercase(),
        "{tx}"
    );
    assert_eq!(tx["type"], "0x2", "{tx}");

    let timeline = responder.get_incident(&id).await.unwrap().timeline;
    assert!(
        timeline
            .iter()
            .any(|entry| entry.kind == "action" && entry.text.contains(&tx_hash)),
        "{timeline:?}"
    );
    let log = service.audit_log().await.unwrap();
    assert!(log.entries[0].detail.contains(&tx_hash));

    // The dry run refuses a second pause with the contract's revert reason and sends nothing.
    let error = backend.pause("bridge").await.unwrap_err();
    assert!(
        matches!(&error, BackendError::Reverted(reason) if reason == "already paused"),
        "{error:?}"
    );

    // Someone else uses the same key in between (a plain transfer): the nonce is re-read, so the unpause
    // goes through.
    let other = send_signed(
        &ganache.url,
        &pauser,
        alloy_primitives::TxKind::Call(alloy_primitives::Address::repeat_byte(0x42)),
        Vec::new(),
        20_000_000_000,
        None,
    )
    .await;
    mined(&ganache.url, &other).await;

    // Two governors unpause it on chain.
    service
        .request_unpause("bridge", "drain stopped", &governor("alice"))
        .await
        .unwrap();
    assert!(backend.is_paused("bridge").await.unwrap());
    let done = service
        .request_unpause("bridge", "drain stopped", &governor("bob"))
        .await
        .unwrap();
    assert_eq!(done.state, "done");
    assert!(done.tx_hash.is_some());
    assert!(!backend.is_paused("bridge").await.unwrap());

    // Someone else's transaction with the same key sits in the pool at the next nonce, paying 1 wei
    // (below the base fee: never mined). ganache's "pending" count does not include it, so Vigil signs
    // at that nonce with real fees, which replaces it; the pause lands.
    let latest = rpc(
        &ganache.url,
        "eth_getTransactionCount",
        serde_json::json!([pauser.address(), "latest"]),
    )
    .await;
    let nonce = u64::from_str_radix(latest.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    send_signed(
        &ganache.url,
        &pauser,
        alloy_primitives::TxKind::Call(alloy_primitives::Address::repeat_byte(0x43)),
        Vec::new(),
        1,
        Some(nonce),
    )
    .await;
    let receipt = backend.pause("bridge").await.unwrap();
    assert!(backend.is_paused("bridge").await.unwrap());
    assert!(
        receipt.detail.contains(&format!("nonce {nonce}")),
        "{}",
        receipt.detail
    );
    drop(ganache);
}

#[tokio::test]
async fn a_wrong_from_or_a_key_that_is_not_the_owner_is_caught_before_sending() {
    if !peer_tests_enabled() {
        return;
    }
    let ganache = Ganache::start();
    let owner = fresh_funded_key(&ganache.url).await;
    let address = deploy_pausable(&ganache.url, &owner).await;
    let stranger = fresh_funded_key(&ganache.url).await;
    let key = format!("0x{}", hex_encode(stranger.to_bytes().as_slice()));
    let env = move |name: &str| (name == "VIGIL_TEST_PAUSER_KEY").then(|| key.clone());

    // `from` must be the key's address.
    let config = evm_config(
        &ganache.url,
        &address,
        &format!("from = \"{}\"", owner.address()),
    );
    let error = responder::pause::build_backend(&config, &env)
        .err()
        .expect("mismatched from");
    assert!(
        matches!(&error, BackendError::Misconfigured(m) if m.contains("pause.evm.from")),
        "{error:?}"
    );
    // A key that is not the owner: the dry run refuses with the contract's reason, readiness says so.
    let backend = responder::pause::EvmPausable::new(
        config
            .evm
            .as_ref()
            .map(|evm| {
                let mut evm = evm.clone();
                evm.from.clear();
                evm
            })
            .as_ref()
            .unwrap(),
        &env,
    )
    .unwrap();
    assert_eq!(backend.pauser_address(), stranger.address());
    let error = backend.pause("bridge").await.unwrap_err();
    assert!(
        matches!(&error, BackendError::Reverted(reason) if reason == "not owner"),
        "{error:?}"
    );
    let readiness = backend.readiness("bridge").await.unwrap();
    assert_eq!(readiness.dry_run, Err("not owner".to_owned()));
    assert_eq!(
        readiness.balance_wei,
        alloy_primitives::U256::from(10_000_000_000_000_000_000u128)
    );
    assert!(readiness.estimated_cost_wei_per_pause > alloy_primitives::U256::ZERO);
    drop(ganache);
}
