//! `[[chains]]`/`[[contracts]]` validation: every bad input is named by its path and why, all at once.

use collector::chain::config::compile;
use collector::chain::{ChainConfig, ContractConfig};

fn parse(text: &str) -> (Vec<ChainConfig>, Vec<ContractConfig>) {
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(default)]
        chains: Vec<ChainConfig>,
        #[serde(default)]
        contracts: Vec<ContractConfig>,
    }
    let file: File = toml::from_str(text).expect("the test config parses");
    (file.chains, file.contracts)
}

fn problems(text: &str, dir: &std::path::Path) -> Vec<String> {
    let (chains, contracts) = parse(text);
    match compile(&chains, &contracts, dir) {
        Ok(_) => Vec::new(),
        Err(issues) => issues.iter().map(ToString::to_string).collect(),
    }
}

const GOOD: &str = r#"
[[chains]]
name = "main"
rpc = ["http://127.0.0.1:8545"]

[[contracts]]
name = "bridge"
chain = "main"
address = "0x1111111111111111111111111111111111111111"
presets = ["pausable", "ownable", "access-control", "erc1967"]
trusted = ["0x2222222222222222222222222222222222222222"]

  [[contracts.reads]]
  name = "value_locked"
  call = "balanceOf(address)(uint256)"
  to = "0x3333333333333333333333333333333333333333"
  args = ["self"]
  decimals = 6

  [[contracts.events]]
  name = "large-withdrawal"
  event = "Withdrawal(address indexed to, uint256 amount)"
  where = "amount > 1000000 and to != 0x0000000000000000000000000000000000000000"
  level = "L2"
  category = "security"

[[contracts]]
name = "feed"
chain = "main"
address = "0x4444444444444444444444444444444444444444"
presets = ["chainlink-feed"]
peg_target = 1.0
heartbeat = "1h"
"#;

#[test]
fn a_complete_config_compiles_with_its_presets() {
    let dir = tempfile::tempdir().unwrap();
    let (chains, contracts) = parse(GOOD);
    let compiled = compile(&chains, &contracts, dir.path()).expect("valid");
    let bridge = &compiled[0].contracts[0];
    // value_locked plus the pausable preset's paused() read.
    assert_eq!(bridge.reads.len(), 2);
    // large-withdrawal, paused, unpaused, ownership, 3 access-control, 3 erc1967.
    assert_eq!(bridge.events.len(), 10);
    assert!(bridge.implementation_slot);
    assert!(compiled[0].contracts[1].feed.is_some());
}

#[test]
fn bad_inputs_are_named_by_path_all_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.json"), "{not json").unwrap();
    std::fs::write(
        dir.path().join("Bridge.json"),
        r#"{"abi": [{"type": "function", "name": "deposit", "inputs": [{"name": "amount", "type": "uint256"}], "outputs": [], "stateMutability": "nonpayable"},
                    {"type": "event", "name": "Withdrawal", "anonymous": false, "inputs": [{"name": "to", "type": "address", "indexed": true}, {"name": "amount", "type": "uint256", "indexed": false}]}]}"#,
    )
    .unwrap();
    let text = r#"
[[chains]]
name = "main"
rpc = ["ftp://node", "http://127.0.0.1:8545"]
max_logs_range = 0

[[contracts]]
name = "junk-abi"
chain = "main"
address = "0x1111111111111111111111111111111111111111"
abi = "junk.json"

[[contracts]]
name = "bridge"
chain = "main"
address = "0x12345"
abi = "Bridge.json"
trusted = ["0xnothex000000000000000000000000000000000000"]

  [[contracts.reads]]
  name = "locked"
  call = "totalLocked"

  [[contracts.reads]]
  name = "balance"
  call = "balanceOf(address)(uint256)"
  args = ["self", "extra"]

  [[contracts.events]]
  name = "big"
  event = "Withdrawal"
  where = "amout > 5"

  [[contracts.events]]
  name = "odd"
  event = "Withdrawal"
  where = "amount >"

[[contracts]]
name = "lost"
chain = "nowhere"
address = "0x1111111111111111111111111111111111111111"
"#;
    let found = problems(text, dir.path());
    let expect = [
        "chains[0].rpc[0]",
        "chains[0].max_logs_range",
        "contracts[0].abi",
        "contracts[1].address: \"0x12345\" is not an address",
        "contracts[1].trusted[0]",
        "contracts[1].reads[0].call",
        "contracts[1].reads[1].args",
        "contracts[1].events[0].where",
        "contracts[1].events[1].where",
        "contracts[2].chain: \"nowhere\" is not a [[chains]] name",
    ];
    for wanted in expect {
        assert!(
            found.iter().any(|problem| problem.starts_with(wanted)),
            "no problem starting with {wanted:?} in:\n{}",
            found.join("\n")
        );
    }
    let unknown = found
        .iter()
        .find(|problem| problem.starts_with("contracts[1].events[0].where"))
        .unwrap();
    assert!(unknown.contains("amout"), "{unknown}");
    let not_in_abi = found
        .iter()
        .find(|problem| problem.starts_with("contracts[1].reads[0].call"))
        .unwrap();
    assert!(not_in_abi.contains("totalLocked"), "{not_in_abi}");
}

#[test]
fn a_signature_that_contradicts_the_abi_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Token.json"),
        r#"[{"type": "function", "name": "balanceOf", "inputs": [{"name": "who", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}], "stateMutability": "view"}]"#,
    )
    .unwrap();
    let text = r#"
[[chains]]
name = "main"
rpc = ["http://127.0.0.1:8545"]

[[contracts]]
name = "token"
chain = "main"
address = "0x1111111111111111111111111111111111111111"
abi = "Token.json"

  [[contracts.reads]]
  name = "mine"
  call = "balanceOf(address)(uint128)"
  args = ["self"]
"#;
    let found = problems(text, dir.path());
    assert!(
        found
            .iter()
            .any(|problem| problem.starts_with("contracts[0].reads[0].call")
                && problem.contains("does not match the ABI")),
        "{found:?}"
    );
}
