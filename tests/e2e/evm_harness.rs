//! Self-test of the `evm` test support against a real ganache: the compiled contracts deploy, behave and
//! log as chain-watching tests expect, and a snapshot/revert really rewrites the chain.

use std::time::Instant;

use alloy_dyn_abi::DynSolValue;
use alloy_primitives::{Address, B256, I256, U256};
use serde_json::json;

use crate::evm::{
    BRIDGE_TOKENS, DevChain, FEED_ANSWER, Protocol, addr, bytes32, deploy_protocol, event_topic,
    implementation_slot, int, pauser_role, uint,
};

fn as_uint(value: &DynSolValue) -> U256 {
    value.as_uint().expect("a uint").0
}

async fn balance(chain: &DevChain, p: &Protocol, holder: Address) -> U256 {
    as_uint(
        &chain
            .call(p.token, "balanceOf(address)(uint256)", &[addr(holder)])
            .await[0],
    )
}

#[tokio::test]
async fn the_evm_harness_deploys_and_drives_the_test_protocol() {
    let Some(chain) = DevChain::start(1) else {
        return;
    };
    let rpc_accounts = chain.rpc("eth_accounts", json!([])).await.unwrap();
    let rpc_accounts: Vec<Address> = rpc_accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(rpc_accounts, chain.accounts);

    let started = Instant::now();
    let p = deploy_protocol(&chain).await;
    eprintln!(
        "compiled (or cached) and deployed the protocol in {:?}",
        started.elapsed()
    );
    let (owner, attacker, pauser) = (p.owner, chain.accounts[1], chain.accounts[2]);

    // Balances and views.
    assert_eq!(
        balance(&chain, &p, p.bridge).await,
        U256::from(BRIDGE_TOKENS)
    );
    let decimals = chain.call(p.token, "decimals()(uint8)", &[]).await;
    assert_eq!(decimals, vec![DynSolValue::Uint(U256::from(6), 8)]);
    let paused = chain
        .call(p.bridge, "function paused() view returns (bool)", &[])
        .await;
    assert_eq!(paused, vec![DynSolValue::Bool(false)]);
    let admin = chain
        .call(
            p.bridge,
            "hasRole(bytes32,address)(bool)",
            &[bytes32(B256::ZERO), addr(owner)],
        )
        .await;
    assert_eq!(admin, vec![DynSolValue::Bool(true)]);
    let role = chain.call(p.bridge, "PAUSER_ROLE()(bytes32)", &[]).await;
    assert_eq!(role, vec![bytes32(pauser_role())]);

    // The vulnerable withdraw: anyone drains the bridge; Withdrawal (bridge) + Transfer (token).
    let amount = U256::from(250_000_000_000u64);
    let receipt = chain
        .send(
            attacker,
            p.bridge,
            "withdraw(address,uint256)",
            &[addr(attacker), uint(amount)],
        )
        .await;
    assert!(receipt.status);
    assert_eq!(balance(&chain, &p, attacker).await, amount);
    assert_eq!(
        balance(&chain, &p, p.bridge).await,
        U256::from(BRIDGE_TOKENS) - amount
    );
    let logs = chain
        .get_logs(json!({"fromBlock": format!("{:#x}", receipt.block_number),
            "toBlock": format!("{:#x}", receipt.block_number)}))
        .await;
    let withdrawal: Vec<_> = logs
        .iter()
        .filter(|l| l.address == p.bridge)
        .filter_map(|l| l.decode("Withdrawal(address indexed to, uint256 amount)"))
        .collect();
    assert_eq!(withdrawal, vec![vec![addr(attacker), uint(amount)]]);
    let transfer: Vec<_> = logs
        .iter()
        .filter(|l| l.address == p.token)
        .filter_map(|l| {
            l.decode("Transfer(address indexed from, address indexed to, uint256 value)")
        })
        .collect();
    assert_eq!(
        transfer,
        vec![vec![addr(p.bridge), addr(attacker), uint(amount)]]
    );
    assert_eq!(
        logs[0].topics[0],
        event_topic("Transfer(address,address,uint256)")
    );
    assert_eq!(logs[0].block_hash, receipt.block_hash);
    assert_eq!(logs[0].transaction_hash, receipt.hash);

    // Pause (by the owner) stops withdrawals; unpause; both logged like OpenZeppelin.
    let paused = chain.send(owner, p.bridge, "pause()", &[]).await;
    assert_eq!(
        paused.events(p.bridge, "Paused(address account)"),
        vec![vec![addr(owner)]]
    );
    let blocked = chain
        .send_raw(
            attacker,
            Some(p.bridge),
            &crate::evm::encode_call("withdraw(address,uint256)", &[addr(attacker), uint(1u64)]),
            None,
        )
        .await
        .unwrap_err();
    assert!(blocked.contains("Pausable: paused"), "{blocked}");
    let unpaused = chain.send(owner, p.bridge, "unpause()", &[]).await;
    assert_eq!(
        unpaused.events(p.bridge, "Unpaused(address account)"),
        vec![vec![addr(owner)]]
    );

    // grantRole(PAUSER_ROLE): RoleGranted; the pauser can pause.
    let granted = chain
        .send(
            owner,
            p.bridge,
            "grantRole(bytes32,address)",
            &[bytes32(pauser_role()), addr(pauser)],
        )
        .await;
    assert_eq!(
        granted.events(
            p.bridge,
            "RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)"
        ),
        vec![vec![bytes32(pauser_role()), addr(pauser), addr(owner)]]
    );
    let paused = chain.send(pauser, p.bridge, "pause()", &[]).await;
    assert_eq!(
        paused.events(p.bridge, "Paused(address)"),
        vec![vec![addr(pauser)]]
    );
    chain.send(pauser, p.bridge, "unpause()", &[]).await;

    // transferOwnership: OwnershipTransferred.
    let new_owner = chain.accounts[3];
    let transferred = chain
        .send(
            owner,
            p.bridge,
            "transferOwnership(address)",
            &[addr(new_owner)],
        )
        .await;
    assert_eq!(
        transferred.events(
            p.bridge,
            "OwnershipTransferred(address indexed previousOwner, address indexed newOwner)"
        ),
        vec![vec![addr(owner), addr(new_owner)]]
    );
    assert_eq!(
        chain.call(p.bridge, "owner()(address)", &[]).await,
        vec![addr(new_owner)]
    );

    // upgradeTo: Upgraded and the ERC-1967 slot; calls through the proxy reach the new code.
    let slot = chain.storage_at(p.proxy, implementation_slot()).await;
    assert_eq!(Address::from_word(slot), p.implementation);
    assert_eq!(
        chain.call(p.proxy, "version()(uint256)", &[]).await,
        vec![uint(1u64)]
    );
    let upgraded = chain
        .send(
            owner,
            p.proxy,
            "upgradeTo(address)",
            &[addr(p.next_implementation)],
        )
        .await;
    assert_eq!(
        upgraded.events(p.proxy, "Upgraded(address indexed implementation)"),
        vec![vec![addr(p.next_implementation)]]
    );
    let slot = chain.storage_at(p.proxy, implementation_slot()).await;
    assert_eq!(Address::from_word(slot), p.next_implementation);
    assert_eq!(
        chain.call(p.proxy, "version()(uint256)", &[]).await,
        vec![uint(2u64)]
    );

    // The feed: 1.00 at deployment, then setAnswer opens round 2; setRoundData backdates round 3.
    let round = chain
        .call(
            p.feed,
            "latestRoundData()(uint80,int256,uint256,uint256,uint80)",
            &[],
        )
        .await;
    assert_eq!(round[0], DynSolValue::Uint(U256::from(1), 80));
    assert_eq!(round[1], int(FEED_ANSWER));
    let set = chain
        .send(owner, p.feed, "setAnswer(int256)", &[int(97_000_000)])
        .await;
    let round = chain
        .call(
            p.feed,
            "latestRoundData()(uint80,int256,uint256,uint256,uint80)",
            &[],
        )
        .await;
    assert_eq!(round[0], DynSolValue::Uint(U256::from(2), 80));
    assert_eq!(
        round[1],
        DynSolValue::Int(I256::try_from(97_000_000i64).unwrap(), 256)
    );
    let timestamp = chain.block(set.block_number).await.unwrap()["timestamp"].clone();
    assert_eq!(
        format!("{:#x}", as_uint(&round[3])),
        timestamp.as_str().unwrap()
    );
    assert_eq!(
        set.events(
            p.feed,
            "AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt)"
        )[0][..2],
        [int(97_000_000), uint(2u64)]
    );
    chain
        .send(
            owner,
            p.feed,
            "setRoundData(int256,uint256)",
            &[int(FEED_ANSWER), uint(1_000u64)],
        )
        .await;
    let round = chain
        .call(
            p.feed,
            "latestRoundData()(uint80,int256,uint256,uint256,uint80)",
            &[],
        )
        .await;
    assert_eq!(as_uint(&round[3]), U256::from(1_000));

    // A fake reorg: snapshot, a withdrawal is mined, revert: its block and its log are gone.
    let snapshot = chain.snapshot().await;
    let before = chain.block_number().await;
    let receipt = chain
        .send(
            attacker,
            p.bridge,
            "withdraw(address,uint256)",
            &[addr(attacker), uint(7u64)],
        )
        .await;
    assert!(receipt.block_number > before);
    let filter = json!({"fromBlock": format!("{before:#x}"), "toBlock": "latest",
        "address": format!("{:#x}", p.bridge), "topics": [format!("{:#x}", event_topic("Withdrawal(address,uint256)"))]});
    assert_eq!(chain.get_logs(filter.clone()).await.len(), 1);
    assert_eq!(
        chain.block_hash(receipt.block_number).await,
        Some(receipt.block_hash)
    );
    assert!(chain.revert(&snapshot).await);
    assert!(chain.block_number().await < receipt.block_number);
    assert!(chain.get_logs(filter.clone()).await.is_empty());
    assert!(chain.receipt(receipt.hash).await.is_none());
    chain.wait_for_block(receipt.block_number).await;
    let replaced = chain.block_hash(receipt.block_number).await.unwrap();
    assert_ne!(
        replaced, receipt.block_hash,
        "the reverted height has a new block"
    );
    // ganache quirk: the orphaned hash now resolves to the new block at its height (never to itself).
    let orphan = chain
        .rpc(
            "eth_getBlockByHash",
            json!([format!("{:#x}", receipt.block_hash), false]),
        )
        .await
        .unwrap();
    assert!(
        orphan.is_null() || orphan["hash"] != json!(format!("{:#x}", receipt.block_hash)),
        "{orphan}"
    );
    assert!(chain.get_logs(filter).await.is_empty());
    assert_eq!(balance(&chain, &p, attacker).await, amount);
    assert!(!chain.revert(&snapshot).await, "a snapshot reverts once");

    // The node can be killed (a test checks Vigil notices).
    let url = chain.url.clone();
    chain.kill();
    assert!(
        reqwest::Client::new()
            .post(&url)
            .json(&json!({}))
            .send()
            .await
            .is_err()
    );
}
