//! Tests of the EVM face through JSON-RPC: `eth_call` against per-block state, `eth_getLogs` filters and
//! limits, the events each scenario emits, the reorg, and determinism.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolEvent};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::evm::{
    ContractKind, DEFAULT_ADMIN_ROLE, IModule, IPriceFeed, IToken, address_hex, pauser_role,
};
use crate::rpc::handle_body;
use crate::sim::{Core, CoreConfig, Scenario, ScenarioParams};

const GENESIS: i64 = 1_700_000_000_000;

fn fast_core(seed: u64) -> Core {
    Core::new(
        CoreConfig {
            seed,
            slot_ms: 100,
            slot_jitter_ms: 8,
            ..CoreConfig::default()
        },
        GENESIS,
    )
    .unwrap()
}

fn rpc(core: &Core, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    handle_body(core, body.to_string().as_bytes())
        .0
        .expect("a reply")
}

fn result(core: &Core, method: &str, params: Value) -> Value {
    let reply = rpc(core, method, params);
    assert!(reply.get("error").is_none(), "{method}: {reply}");
    reply["result"].clone()
}

fn error(core: &Core, method: &str, params: Value) -> (i64, String) {
    let reply = rpc(core, method, params);
    let error = &reply["error"];
    assert!(error.is_object(), "{method} should fail: {reply}");
    (
        error["code"].as_i64().unwrap(),
        error["message"].as_str().unwrap().to_owned(),
    )
}

fn hex_bytes(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().unwrap().strip_prefix("0x").unwrap()).unwrap()
}

fn eth_call(core: &Core, to: Address, data: Vec<u8>, block: &str) -> Vec<u8> {
    hex_bytes(&result(
        core,
        "eth_call",
        json!([{"to": address_hex(&to), "data": format!("0x{}", hex::encode(data))}, block]),
    ))
}

fn tag(number: u64) -> String {
    format!("{number:#x}")
}

fn bridge(core: &Core) -> Address {
    core.addresses().modules[0]
}

fn get_logs(core: &Core, filter: Value) -> Vec<Value> {
    result(core, "eth_getLogs", json!([filter]))
        .as_array()
        .unwrap()
        .clone()
}

fn topic(value: B256) -> String {
    format!("0x{}", hex::encode(value))
}

fn address_topic(address: Address) -> String {
    topic(address.into_word())
}

#[test]
fn contracts_accounts_and_snapshot_addresses() {
    let core = fast_core(1);
    let contracts = core.contracts();
    assert_eq!(contracts.len(), 7);
    assert_eq!(contracts[0].name, "bridge");
    assert_eq!(contracts[5].kind, ContractKind::Token);
    assert_eq!(contracts[6].name, "trn-usd");
    for contract in &contracts {
        assert_eq!(contract.address.len(), 42);
        assert_eq!(contract.address, contract.address.to_lowercase());
    }
    assert_eq!(core.trusted_accounts().len(), 2);
    assert_eq!(core.snapshot().modules[0].address, contracts[0].address);
    // Addresses are stable: another seed gives the same ones.
    assert_eq!(fast_core(2).contracts(), contracts);
    let json = serde_json::to_value(core.snapshot()).unwrap();
    assert_eq!(json["modules"][0]["name"], "bridge");
    assert!(json["modules"][0]["address"].is_string());
}

#[test]
fn token_reads_answer_balances_from_the_state_at_each_block() {
    let mut core = fast_core(3);
    core.advance_to(GENESIS + 2_000);
    let token = core.addresses().token;
    let raw = eth_call(
        &core,
        token,
        IToken::balanceOfCall {
            account: bridge(&core),
        }
        .abi_encode(),
        "latest",
    );
    let balance = IToken::balanceOfCall::abi_decode_returns(&raw).unwrap();
    let expected = core.modules()[0].value_locked;
    let got = f64::from(balance) / 1e18;
    assert!(
        (got - expected).abs() < 1e-5,
        "got {got} expected {expected}"
    );
    let decimals = eth_call(&core, token, IToken::decimalsCall {}.abi_encode(), "latest");
    assert_eq!(
        IToken::decimalsCall::abi_decode_returns(&decimals).unwrap(),
        18
    );
    let symbol = eth_call(&core, token, IToken::symbolCall {}.abi_encode(), "latest");
    assert_eq!(
        IToken::symbolCall::abi_decode_returns(&symbol).unwrap(),
        "TRN"
    );
    let supply = eth_call(
        &core,
        token,
        IToken::totalSupplyCall {}.abi_encode(),
        "latest",
    );
    assert_eq!(
        IToken::totalSupplyCall::abi_decode_returns(&supply).unwrap(),
        U256::from(1_000_000_000u64) * U256::from(10u64).pow(U256::from(18))
    );
    let stranger = eth_call(
        &core,
        token,
        IToken::balanceOfCall {
            account: Address::repeat_byte(7),
        }
        .abi_encode(),
        "latest",
    );
    assert_eq!(
        IToken::balanceOfCall::abi_decode_returns(&stranger).unwrap(),
        U256::ZERO
    );
    // At an older block the balance is that block's.
    let early = eth_call(
        &core,
        token,
        IToken::balanceOfCall {
            account: bridge(&core),
        }
        .abi_encode(),
        "0x1",
    );
    assert_eq!(
        IToken::balanceOfCall::abi_decode_returns(&early).unwrap(),
        U256::from(core.block(1).unwrap().state.modules[0].balance_micro)
            * U256::from(1_000_000_000_000u64)
    );
}

#[test]
fn module_reads_follow_pauses_and_roles() {
    let mut core = fast_core(4);
    core.advance_to(GENESIS + 1_000);
    let bridge = bridge(&core);
    let addresses = core.addresses().clone();
    let paused = |core: &Core, block: &str| {
        IModule::pausedCall::abi_decode_returns(&eth_call(
            core,
            bridge,
            IModule::pausedCall {}.abi_encode(),
            block,
        ))
        .unwrap()
    };
    assert!(!paused(&core, "latest"));
    let before = core.height();
    core.pause("bridge").unwrap();
    core.advance_to(GENESIS + 1_300);
    assert!(paused(&core, "latest"));
    assert!(
        !paused(&core, &tag(before)),
        "the old block keeps its state"
    );
    let owner = eth_call(&core, bridge, IModule::ownerCall {}.abi_encode(), "latest");
    assert_eq!(
        IModule::ownerCall::abi_decode_returns(&owner).unwrap(),
        addresses.owner
    );
    let genesis_owner = eth_call(
        &core,
        bridge,
        IModule::ownerCall {}.abi_encode(),
        "earliest",
    );
    assert_eq!(
        IModule::ownerCall::abi_decode_returns(&genesis_owner).unwrap(),
        addresses.owner,
        "set up before genesis"
    );
    let has_role = |role: B256, account: Address| {
        IModule::hasRoleCall::abi_decode_returns(&eth_call(
            &core,
            bridge,
            IModule::hasRoleCall { role, account }.abi_encode(),
            "latest",
        ))
        .unwrap()
    };
    assert!(has_role(DEFAULT_ADMIN_ROLE, addresses.owner));
    assert!(has_role(pauser_role(), addresses.guardian));
    assert!(!has_role(DEFAULT_ADMIN_ROLE, addresses.unknown));
    assert!(!has_role(pauser_role(), addresses.unknown));
    let token = eth_call(&core, bridge, IModule::tokenCall {}.abi_encode(), "latest");
    assert_eq!(
        IModule::tokenCall::abi_decode_returns(&token).unwrap(),
        addresses.token
    );
    let role = eth_call(
        &core,
        bridge,
        IModule::PAUSER_ROLECall {}.abi_encode(),
        "latest",
    );
    assert_eq!(
        IModule::PAUSER_ROLECall::abi_decode_returns(&role).unwrap(),
        alloy_primitives::keccak256("PAUSER_ROLE")
    );
    // Paused is logged once, by the guardian, in the block after the pause.
    let logs = get_logs(
        &core,
        json!({"fromBlock": "0x0", "address": address_hex(&bridge),
               "topics": [topic(IModule::Paused::SIGNATURE_HASH)]}),
    );
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["blockNumber"], tag(before + 1));
    assert_eq!(
        hex_bytes(&logs[0]["data"]),
        addresses.guardian.into_word().to_vec()
    );
    core.unpause("bridge").unwrap();
    core.advance_to(GENESIS + 1_500);
    assert!(!paused(&core, "latest"));
    let unpaused = get_logs(
        &core,
        json!({"fromBlock": "0x0", "topics": [topic(IModule::Unpaused::SIGNATURE_HASH)]}),
    );
    assert_eq!(unpaused.len(), 1);
}

fn latest_round(core: &Core, block: &str) -> IPriceFeed::latestRoundDataReturn {
    let feed = core.addresses().feed;
    IPriceFeed::latestRoundDataCall::abi_decode_returns(&eth_call(
        core,
        feed,
        IPriceFeed::latestRoundDataCall {}.abi_encode(),
        block,
    ))
    .unwrap()
}

#[test]
fn the_feed_tracks_the_price_and_freezes_under_oracle_stale() {
    let mut core = fast_core(5);
    core.advance_to(GENESIS + 5_050);
    let first = latest_round(&core, "latest");
    let answer = i128::try_from(first.answer).unwrap() as f64 / 1e8;
    let round = core.head().state.feed;
    assert!((answer - round.answer as f64 / 1e8).abs() < 1e-9);
    assert!((answer - core.price()).abs() < 0.01, "answer {answer}");
    assert_eq!(first.roundId, first.answeredInRound);
    core.advance_to(GENESIS + 9_050);
    let second = latest_round(&core, "latest");
    assert!(second.updatedAt > first.updatedAt);
    assert!(second.roundId > first.roundId);
    // A feed update shows up as AnswerUpdated in the block that first carries the round.
    let updates = get_logs(
        &core,
        json!({"fromBlock": "0x1", "address": address_hex(&core.addresses().feed)}),
    );
    assert!(updates.len() >= 8, "{}", updates.len());

    core.start_scenario(Scenario::OracleStale, ScenarioParams::default())
        .unwrap();
    core.advance_to(GENESIS + 9_500);
    let frozen = latest_round(&core, "latest");
    let stale_from = core.height();
    core.advance_to(GENESIS + 20_000);
    let later = latest_round(&core, "latest");
    assert_eq!(later.roundId, frozen.roundId);
    assert_eq!(later.updatedAt, frozen.updatedAt);
    assert_eq!(later.answer, frozen.answer);
    assert!(
        get_logs(
            &core,
            json!({"fromBlock": tag(stale_from + 1), "address": address_hex(&core.addresses().feed)})
        )
        .is_empty()
    );
    core.stop_scenario(Scenario::OracleStale);
    core.advance_to(GENESIS + 22_000);
    assert!(latest_round(&core, "latest").updatedAt > later.updatedAt);

    let feed = core.addresses().feed;
    let decimals = eth_call(
        &core,
        feed,
        IPriceFeed::decimalsCall {}.abi_encode(),
        "latest",
    );
    assert_eq!(
        IPriceFeed::decimalsCall::abi_decode_returns(&decimals).unwrap(),
        8
    );
    let description = eth_call(
        &core,
        feed,
        IPriceFeed::descriptionCall {}.abi_encode(),
        "latest",
    );
    assert_eq!(
        IPriceFeed::descriptionCall::abi_decode_returns(&description).unwrap(),
        "TRN / USD"
    );
    let version = eth_call(
        &core,
        feed,
        IPriceFeed::versionCall {}.abi_encode(),
        "latest",
    );
    assert_eq!(
        IPriceFeed::versionCall::abi_decode_returns(&version).unwrap(),
        U256::from(4)
    );
}

#[test]
fn calls_to_unknown_code_and_selectors_behave_like_a_node() {
    let mut core = fast_core(6);
    core.advance_to(GENESIS + 1_000);
    let stranger = Address::repeat_byte(9);
    assert!(eth_call(&core, stranger, vec![1, 2, 3, 4], "latest").is_empty());
    let reply = rpc(
        &core,
        "eth_call",
        json!([{"to": address_hex(&bridge(&core)), "data": "0xdeadbeef"}, "latest"]),
    );
    assert_eq!(reply["error"]["code"], 3);
    assert_eq!(reply["error"]["message"], "execution reverted");
    assert_eq!(reply["error"]["data"], "0x");
    let old_round = IPriceFeed::getRoundDataCall {
        _roundId: alloy_primitives::aliases::U80::from(0),
    };
    let reply = rpc(
        &core,
        "eth_call",
        json!([{"to": address_hex(&core.addresses().feed), "input": format!("0x{}", hex::encode(old_round.abi_encode()))}]),
    );
    assert_eq!(
        reply["error"]["message"],
        "execution reverted: No data present"
    );
    // Block handling: past the head, bad params, EIP-1898 objects.
    let past = tag(core.height() + 5);
    let (code, message) = error(
        &core,
        "eth_call",
        json!([{"to": address_hex(&stranger)}, past]),
    );
    assert_eq!((code, message.as_str()), (-32000, "header not found"));
    let (code, message) = error(&core, "eth_call", json!([{"to": "0x12"}]));
    assert_eq!(code, -32602);
    assert!(message.contains("params[0].to"), "{message}");
    let (_, message) = error(
        &core,
        "eth_call",
        json!([{"to": address_hex(&stranger), "data": "0x01", "input": "0x02"}]),
    );
    assert!(message.contains("both"), "{message}");
    let head_hash = result(&core, "eth_getBlockByNumber", json!(["latest", false]))["hash"].clone();
    let by_hash = eth_call_raw(&core, json!({"blockHash": head_hash}));
    let by_tag = eth_call_raw(&core, json!("latest"));
    assert_eq!(by_hash, by_tag);
    let (code, _) = error(
        &core,
        "eth_call",
        json!([{"to": address_hex(&bridge(&core))}, {"blockHash": topic(B256::repeat_byte(1))}]),
    );
    assert_eq!(code, -32000);

    // eth_getCode, eth_getStorageAt, eth_getBlockByHash.
    let code = result(
        &core,
        "eth_getCode",
        json!([address_hex(&bridge(&core)), "latest"]),
    );
    assert!(code.as_str().unwrap().len() > 2);
    assert_eq!(
        result(
            &core,
            "eth_getCode",
            json!([address_hex(&stranger), "latest"])
        ),
        "0x"
    );
    let slot = result(
        &core,
        "eth_getStorageAt",
        json!([address_hex(&bridge(&core)), "0x0", "latest"]),
    );
    assert_eq!(slot.as_str().unwrap().len(), 66);
    let block = result(&core, "eth_getBlockByHash", json!([head_hash, false]));
    assert_eq!(block["number"], tag(core.height()));
    assert_eq!(
        result(
            &core,
            "eth_getBlockByHash",
            json!([topic(B256::repeat_byte(1)), false])
        ),
        Value::Null
    );
}

fn eth_call_raw(core: &Core, block: Value) -> Value {
    let data = format!("0x{}", hex::encode(IModule::pausedCall {}.abi_encode()));
    result(
        core,
        "eth_call",
        json!([{"to": address_hex(&bridge(core)), "data": data}, block]),
    )
}

#[test]
fn logs_carry_the_block_hash_and_filter_like_a_node() {
    let mut core = fast_core(7);
    // The modules are set up before genesis; a takeover gives the module logs something to filter.
    core.start_scenario(Scenario::AdminTakeover, ScenarioParams::default())
        .unwrap();
    core.advance_to(GENESIS + 3_000);
    let all = get_logs(&core, json!({"fromBlock": "0x1", "toBlock": "latest"}));
    assert!(all.len() > 30);
    let mut previous = (0u64, -1i64);
    for log in &all {
        let number = u64::from_str_radix(&log["blockNumber"].as_str().unwrap()[2..], 16).unwrap();
        let index = i64::from_str_radix(&log["logIndex"].as_str().unwrap()[2..], 16).unwrap();
        assert!((number, index) > previous, "sorted by block then logIndex");
        previous = (number, index);
        let block = result(&core, "eth_getBlockByNumber", json!([tag(number), false]));
        assert_eq!(log["blockHash"], block["hash"]);
        assert_eq!(log["removed"], false);
        let tx_index =
            usize::from_str_radix(&log["transactionIndex"].as_str().unwrap()[2..], 16).unwrap();
        assert_eq!(
            log["transactionHash"], block["transactions"][tx_index],
            "the log's transaction is one of its block's"
        );
    }
    // Address arrays are an OR.
    let bridge = address_hex(&bridge(&core));
    let escrow = address_hex(&core.addresses().modules[1]);
    let token = address_hex(&core.addresses().token);
    let of_token = get_logs(&core, json!({"fromBlock": "0x1", "address": [token]}));
    let of_modules = get_logs(
        &core,
        json!({"fromBlock": "0x1", "address": [bridge, escrow]}),
    );
    assert!(!of_token.is_empty());
    // The takeover's one RoleGranted on the bridge.
    assert_eq!(of_modules.len(), 1, "{of_modules:?}");
    assert!(of_token.iter().all(|log| log["address"] == token));
    // Topics: position 0 an OR of two events; position 2 one address.
    let transfer = topic(IToken::Transfer::SIGNATURE_HASH);
    let granted = topic(IModule::RoleGranted::SIGNATURE_HASH);
    let either = get_logs(
        &core,
        json!({"fromBlock": "0x1", "topics": [[transfer, granted]]}),
    );
    let transfers = get_logs(&core, json!({"fromBlock": "0x1", "topics": [transfer]}));
    let grants = get_logs(&core, json!({"fromBlock": "0x1", "topics": [granted]}));
    assert_eq!(either.len(), transfers.len() + grants.len());
    assert_eq!(grants.len(), 1);
    let to_bridge = get_logs(
        &core,
        json!({"fromBlock": "0x1", "topics": [transfer, null, address_topic(bridge_address(&core))]}),
    );
    assert!(!to_bridge.is_empty() && to_bridge.len() < transfers.len());
    assert!(
        to_bridge
            .iter()
            .all(|log| log["topics"][2] == address_topic(bridge_address(&core)))
    );
    // More positions than a log has topics never match, even wildcards: only 4-topic RoleGranted remain.
    let four = get_logs(
        &core,
        json!({"fromBlock": "0x1", "topics": [null, null, null, null]}),
    );
    assert_eq!(four, grants);
    // blockHash selects one block and matches the range query for it.
    let hash = all[0]["blockHash"].clone();
    let one = get_logs(&core, json!({"blockHash": hash}));
    assert_eq!(
        one,
        get_logs(&core, json!({"fromBlock": "0x1", "toBlock": "0x1"}))
    );
    let (code, message) = error(
        &core,
        "eth_getLogs",
        json!([{"blockHash": topic(B256::repeat_byte(3))}]),
    );
    assert_eq!((code, message.as_str()), (-32000, "unknown block"));
    let (code, _) = error(
        &core,
        "eth_getLogs",
        json!([{"blockHash": hash, "fromBlock": "0x1"}]),
    );
    assert_eq!(code, -32602);
    // Defaults to the latest block; a range past the head is clamped.
    let latest = get_logs(&core, json!({}));
    assert!(
        latest
            .iter()
            .all(|log| log["blockNumber"] == tag(core.height()))
    );
    let beyond = get_logs(&core, json!({"fromBlock": "0x1", "toBlock": "0x1000"}));
    assert_eq!(beyond.len(), all.len());
    assert!(get_logs(&core, json!({"fromBlock": "0xfff0", "toBlock": "0xffff"})).is_empty());
}

fn bridge_address(core: &Core) -> Address {
    bridge(core)
}

#[test]
fn get_logs_validates_every_field_and_enforces_limits() {
    let mut core = fast_core(8);
    core.advance_to(GENESIS + 1_000);
    let cases = [
        (json!([]), "params[0]"),
        (json!(["latest"]), "params[0]"),
        (json!([{"fromBlock": "0xzz"}]), "params[0].fromBlock"),
        (json!([{"toBlock": 5}]), "params[0].toBlock"),
        (
            json!([{"address": ["0x0000000000000000000000000000000000000001", "0x12"]}]),
            "params[0].address[1]: not a 20-byte hex address",
        ),
        (json!([{"address": 7}]), "params[0].address"),
        (json!([{"topics": "0x00"}]), "params[0].topics"),
        (json!([{"topics": ["0x1234"]}]), "params[0].topics[0]"),
        (
            json!([{"topics": [null, [null, "0x12"]]}]),
            "params[0].topics[1][1]",
        ),
        (
            json!([{"topics": [null, null, null, null, null]}]),
            "at most 4",
        ),
        (json!([{"blockHash": "0x12"}]), "params[0].blockHash"),
        (
            json!([{"fromBlock": "0x5", "toBlock": "0x2"}]),
            "after toBlock",
        ),
    ];
    for (params, expected) in cases {
        let (code, message) = error(&core, "eth_getLogs", params.clone());
        assert_eq!(code, -32602, "{params}: {message}");
        assert!(message.contains(expected), "{params}: {message}");
    }
    let (code, message) = error(
        &core,
        "eth_getLogs",
        json!([{"fromBlock": "0x0", "toBlock": tag(10_000)}]),
    );
    assert_eq!(code, -32005);
    assert!(message.contains("10000"), "{message}");
    // Exactly 10,000 blocks is allowed.
    get_logs(&core, json!({"fromBlock": "0x0", "toBlock": tag(9_999)}));
}

#[test]
fn history_limits_apply_to_logs_and_state() {
    let mut core = fast_core(9);
    // Past the kept history (8192 blocks), with enough logs to cross the result limit.
    core.advance_to(GENESIS + 1_000_000);
    let oldest = core.oldest_kept();
    assert!(oldest > 1, "history should be pruned");
    let (code, message) = error(
        &core,
        "eth_getLogs",
        json!([{"fromBlock": tag(oldest - 1), "toBlock": tag(oldest + 5)}]),
    );
    assert_eq!(code, -32000);
    assert!(message.contains("pruned"), "{message}");
    let (code, message) = error(
        &core,
        "eth_call",
        json!([{"to": address_hex(&bridge(&core))}, tag(oldest - 1)]),
    );
    assert_eq!(code, -32000);
    assert!(message.contains("missing trie node"), "{message}");
    let (code, message) = error(
        &core,
        "eth_getLogs",
        json!([{"fromBlock": tag(oldest), "toBlock": tag(oldest + 9_999)}]),
    );
    assert_eq!(
        (code, message.as_str()),
        (-32005, "query returned more than 10000 results")
    );
}

#[test]
fn drain_transfers_add_up_to_the_balance_drop() {
    let mut core = fast_core(10);
    core.advance_to(GENESIS + 2_000);
    let start = core.height();
    core.start_scenario(Scenario::ExploitDrain, ScenarioParams::default())
        .unwrap();
    core.advance_to(GENESIS + 3_000);
    // A stall in the middle: the drain goes on and is logged when blocks resume.
    core.start_scenario(Scenario::BlockStall, ScenarioParams::default())
        .unwrap();
    core.advance_to(GENESIS + 3_500);
    core.stop_scenario(Scenario::BlockStall);
    core.advance_to(GENESIS + 4_000);
    let end = core.height();
    let token = core.addresses().token;
    let bridge = bridge(&core);
    let exploiter = core.addresses().exploiter;
    let balance = |account: Address, block: u64| {
        IToken::balanceOfCall::abi_decode_returns(&eth_call(
            &core,
            token,
            IToken::balanceOfCall { account }.abi_encode(),
            &tag(block),
        ))
        .unwrap()
    };
    let logs = get_logs(
        &core,
        json!({"fromBlock": tag(start + 1), "toBlock": tag(end), "address": address_hex(&token),
               "topics": [topic(IToken::Transfer::SIGNATURE_HASH)]}),
    );
    let (mut into, mut out, mut drained) = (U256::ZERO, U256::ZERO, U256::ZERO);
    for log in &logs {
        let value = U256::from_be_slice(&hex_bytes(&log["data"]));
        if log["topics"][2] == address_topic(bridge) {
            into += value;
        } else if log["topics"][1] == address_topic(bridge) {
            out += value;
            if log["topics"][2] == address_topic(exploiter) {
                drained += value;
            }
        }
    }
    let before = balance(bridge, start);
    let after = balance(bridge, end);
    assert!(after < before);
    assert_eq!(
        before + into - out,
        after,
        "logged transfers explain the balance change"
    );
    assert!(drained > (before - after) / U256::from(2));
    assert_eq!(balance(exploiter, end), drained);
    assert_eq!(balance(exploiter, start), U256::ZERO);
}

#[test]
fn admin_takeover_grants_the_unknown_account_and_stopping_revokes() {
    let mut core = fast_core(11);
    core.advance_to(GENESIS + 1_000);
    let bridge = bridge(&core);
    let unknown = core.addresses().unknown;
    let has_admin = |core: &Core, block: &str| {
        IModule::hasRoleCall::abi_decode_returns(&eth_call(
            core,
            bridge,
            IModule::hasRoleCall {
                role: DEFAULT_ADMIN_ROLE,
                account: unknown,
            }
            .abi_encode(),
            block,
        ))
        .unwrap()
    };
    let before = core.height();
    assert!(
        core.start_scenario(Scenario::AdminTakeover, ScenarioParams::default())
            .unwrap()
    );
    assert!(
        !has_admin(&core, "latest"),
        "nothing changes before the next block"
    );
    core.advance_to(GENESIS + 1_500);
    assert!(has_admin(&core, "latest"));
    assert!(!has_admin(&core, &tag(before)));
    let grants = get_logs(
        &core,
        json!({"fromBlock": tag(before + 1), "address": address_hex(&bridge),
               "topics": [topic(IModule::RoleGranted::SIGNATURE_HASH), topic(DEFAULT_ADMIN_ROLE)]}),
    );
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["blockNumber"], tag(before + 1));
    assert_eq!(grants[0]["topics"][2], address_topic(unknown));
    assert_eq!(grants[0]["topics"][3], address_topic(unknown));
    let active = core.height();
    core.stop_scenario(Scenario::AdminTakeover);
    core.advance_to(GENESIS + 2_000);
    assert!(!has_admin(&core, "latest"));
    let revokes = get_logs(
        &core,
        json!({"fromBlock": tag(active + 1), "topics": [topic(IModule::RoleRevoked::SIGNATURE_HASH)]}),
    );
    assert_eq!(revokes.len(), 1);
    assert_eq!(revokes[0]["blockNumber"], tag(active + 1));
    // The target is checked like other scenarios'.
    assert!(
        core.check_start(
            Scenario::AdminTakeover,
            ScenarioParams {
                module: Some("vault".into()),
                validator: None
            }
        )
        .is_err()
    );
    let (_, resolved) = core
        .check_start(Scenario::Reorg, ScenarioParams::default())
        .unwrap();
    assert_eq!(resolved.module.as_deref(), Some("bridge"));
    assert_eq!(
        "oracle-stale".parse::<Scenario>().unwrap(),
        Scenario::OracleStale
    );
}

#[test]
fn reorg_replaces_the_last_three_blocks_without_the_grant() {
    let mut core = fast_core(12);
    core.advance_to(GENESIS + 1_000);
    let n = core.height() + 1;
    let escrow = core.addresses().modules[1];
    core.start_scenario(
        Scenario::Reorg,
        ScenarioParams {
            module: Some("escrow".into()),
            validator: None,
        },
    )
    .unwrap();
    let grant_filter = json!({"fromBlock": tag(n), "toBlock": tag(n + 2), "address": address_hex(&escrow),
        "topics": [topic(IModule::RoleGranted::SIGNATURE_HASH)]});
    // Advance block by block until N is produced: the grant is visible and finality holds below N.
    let mut now = GENESIS + 1_000;
    while core.height() < n {
        now += 10;
        core.advance_to(now);
    }
    assert_eq!(get_logs(&core, grant_filter.clone()).len(), 1);
    let old_hashes: Vec<Value> = (n..=n + 1)
        .map(|number| {
            result(&core, "eth_getBlockByNumber", json!([tag(number), false]))["hash"].clone()
        })
        .chain(std::iter::once(Value::Null))
        .collect();
    let unknown = core.addresses().unknown;
    assert!(core.block(n).unwrap().state.modules[1].has_role(
        core.addresses(),
        DEFAULT_ADMIN_ROLE,
        unknown
    ));
    while core.height() < n + 1 {
        now += 10;
        core.advance_to(now);
    }
    assert!(core.finalized() < n, "blocks at risk are not final");
    assert!(core.is_active(Scenario::Reorg));
    let old_n1 = result(&core, "eth_getBlockByNumber", json!([tag(n + 1), false]))["hash"].clone();
    while core.height() < n + 2 {
        now += 10;
        core.advance_to(now);
    }
    assert!(!core.is_active(Scenario::Reorg), "the reorg ends by itself");
    assert!(get_logs(&core, grant_filter).is_empty());
    assert_ne!(
        result(&core, "eth_getBlockByNumber", json!([tag(n), false]))["hash"],
        old_hashes[0]
    );
    assert_ne!(
        result(&core, "eth_getBlockByNumber", json!([tag(n + 1), false]))["hash"],
        old_n1
    );
    for number in n..=n + 2 {
        let block = result(&core, "eth_getBlockByNumber", json!([tag(number), false]));
        let parent = result(
            &core,
            "eth_getBlockByNumber",
            json!([tag(number - 1), false]),
        );
        assert_eq!(block["parentHash"], parent["hash"]);
        assert!(!core.block(number).unwrap().state.modules[1].has_role(
            core.addresses(),
            DEFAULT_ADMIN_ROLE,
            unknown
        ));
        // Logs by the new hash agree with the block.
        let logs = get_logs(&core, json!({"blockHash": block["hash"]}));
        assert!(logs.iter().all(|log| log["blockHash"] == block["hash"]));
    }
    let (code, message) = error(&core, "eth_getLogs", json!([{"blockHash": old_hashes[0]}]));
    assert_eq!((code, message.as_str()), (-32000, "unknown block"));
    assert_eq!(
        result(&core, "eth_getBlockByHash", json!([old_hashes[0], false])),
        Value::Null
    );
    // The chain carries on from the new head.
    core.advance_to(now + 500);
    let next = result(&core, "eth_getBlockByNumber", json!([tag(n + 3), false]));
    let replaced = result(&core, "eth_getBlockByNumber", json!([tag(n + 2), false]));
    assert_eq!(next["parentHash"], replaced["hash"]);
    assert!(core.finalized() >= n);
}

#[test]
fn stopping_a_reorg_early_replaces_the_blocks_so_far() {
    let mut core = fast_core(13);
    core.advance_to(GENESIS + 1_000);
    let n = core.height() + 1;
    core.start_scenario(Scenario::Reorg, ScenarioParams::default())
        .unwrap();
    let mut now = GENESIS + 1_000;
    while core.height() < n {
        now += 10;
        core.advance_to(now);
    }
    let old = result(&core, "eth_getBlockByNumber", json!([tag(n), false]));
    assert!(core.stop_scenario(Scenario::Reorg));
    let new = result(&core, "eth_getBlockByNumber", json!([tag(n), false]));
    assert_ne!(new["hash"], old["hash"]);
    assert_eq!(new["parentHash"], old["parentHash"]);
    let grants = get_logs(
        &core,
        json!({"fromBlock": tag(n), "topics": [topic(IModule::RoleGranted::SIGNATURE_HASH)]}),
    );
    assert!(grants.is_empty());
    // It can run again afterwards.
    assert!(
        core.start_scenario(Scenario::Reorg, ScenarioParams::default())
            .unwrap()
    );
}

fn trace(core: &Core) -> Value {
    json!([
        get_logs(core, json!({"fromBlock": "0x1"})),
        result(core, "eth_getBlockByNumber", json!(["latest", false]))["hash"],
    ])
}

#[test]
fn logs_are_deterministic_and_do_not_change_block_hashes() {
    let run = |step: i64| {
        let mut core = fast_core(21);
        let mut t = 0;
        while t < 6_000 {
            t += step;
            if t >= 2_000 && !core.is_active(Scenario::ExploitDrain) {
                core.start_scenario(Scenario::ExploitDrain, ScenarioParams::default())
                    .unwrap();
                core.start_scenario(Scenario::AdminTakeover, ScenarioParams::default())
                    .unwrap();
                core.start_scenario(Scenario::Reorg, ScenarioParams::default())
                    .unwrap();
            }
            core.advance_to(GENESIS + t);
        }
        core
    };
    let a = run(1_000);
    let b = run(1_000);
    assert_eq!(trace(&a), trace(&b));
    // A plain core keeps the chain an older build produced: logs do not feed into hashes.
    let mut plain = fast_core(21);
    plain.advance_to(GENESIS + 1_000);
    let mut stepped = fast_core(21);
    for t in (0..=1_000).step_by(7) {
        stepped.advance_to(GENESIS + t);
    }
    stepped.advance_to(GENESIS + 1_000);
    assert_eq!(trace(&plain), trace(&stepped));
}

fn json_value() -> impl Strategy<Value = Value> {
    let strings = prop_oneof![
        Just("latest".to_owned()),
        Just("earliest".to_owned()),
        Just("pending".to_owned()),
        Just("safe".to_owned()),
        Just("0x".to_owned()),
        Just("0x0".to_owned()),
        Just(address_hex(&crate::evm::label_address("token/TRN"))),
        Just(address_hex(&crate::evm::label_address("module/bridge"))),
        Just(address_hex(&crate::evm::label_address("feed/trn-usd"))),
        Just(format!("0x{}", "0".repeat(64))),
        "0x[0-9a-fA-F]{0,72}",
        "[ -~]{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        strings.prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        let keys = prop::sample::select(vec![
            "to",
            "from",
            "data",
            "input",
            "gas",
            "fromBlock",
            "toBlock",
            "address",
            "topics",
            "blockHash",
            "blockNumber",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys.prop_map(str::to_owned), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn handle_body_never_panics_on_state_and_log_params(
        method in prop::sample::select(vec![
            "eth_call", "eth_getLogs", "eth_getCode", "eth_getStorageAt", "eth_getBlockByHash",
        ]),
        params in json_value(),
        selector in prop::sample::select(vec![
            IToken::balanceOfCall::SELECTOR,
            IModule::hasRoleCall::SELECTOR,
            IPriceFeed::getRoundDataCall::SELECTOR,
            IPriceFeed::latestRoundDataCall::SELECTOR,
        ]),
        args in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let mut core = fast_core(30);
        core.advance_to(GENESIS + 1_000);
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (reply, _) = handle_body(&core, body.to_string().as_bytes());
        prop_assert!(reply.is_some());
        // Known contracts with a known selector and arbitrary arguments.
        let data = format!("0x{}{}", hex::encode(selector), hex::encode(&args));
        for contract in core.contracts() {
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_call",
                "params": [{"to": contract.address, "data": data}, "latest"]});
            let (reply, _) = handle_body(&core, body.to_string().as_bytes());
            let reply = reply.unwrap();
            prop_assert!(reply.get("result").is_some() || reply["error"]["code"] == 3);
        }
    }
}
