//! What a processed range yields: matching logs become alerts, reads become series, a falling balance
//! becomes evidence of its outflows, and a changed implementation slot an alert.

use std::collections::BTreeMap;

use alloy_primitives::{Address, U256};
use model::{Labels, Level};
use serde_json::Value;

use super::{ChainAlert, Watcher, log_fingerprint, transfer_topic};
use crate::chain::abi::Value as AbiValue;
use crate::chain::config::{CompiledContract, LevelRule};
use crate::chain::presets;
use crate::chain::rpc::RpcError;
use crate::chain::wire::{Log, parse_bytes};

/// A fall of a `balanceOf` read by at least this share is worth evidence on an incident.
const EVIDENCE_FALL: f64 = 0.01;
/// A fall streak ends after this long without a new fall.
const FALL_STREAK_GAP_MS: i64 = 120_000;

/// Labels Vigil sets on a chain alert; a decoded argument of the same name becomes `arg_<name>`.
const RESERVED_LABELS: [&str; 12] = [
    "alertname",
    "source",
    "chain",
    "contract",
    "component",
    "event",
    "tx",
    "block",
    "log_index",
    "level",
    "category",
    "severity",
];

/// What one call of a processed range's batch is for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Planned {
    Read(usize),
    FeedDecimals,
    FeedRound,
    Slot,
}

impl Planned {
    fn describe(&self, contract: &CompiledContract) -> String {
        match self {
            Planned::Read(index) => format!("read {}", contract.reads[*index].name),
            Planned::FeedDecimals => "decimals()".to_owned(),
            Planned::FeedRound => "latestRoundData()".to_owned(),
            Planned::Slot => "implementation slot".to_owned(),
        }
    }
}

impl Watcher {
    /// Decodes one log against the events watched on its address; matches become alerts.
    pub(super) fn match_log(&mut self, log: &Log, alerts: &mut Vec<(u64, ChainAlert)>) {
        let Some(topic0) = log.topics.first().copied() else {
            return;
        };
        let chain_name = self.chain.config.name.clone();
        // Outflows of watched balances (drain evidence).
        if topic0 == transfer_topic() && log.topics.len() == 3 && log.data.len() >= 32 {
            let from = Address::from_slice(&log.topics[1][12..]);
            for contract in &self.chain.contracts {
                for read in contract
                    .reads
                    .iter()
                    .filter(|read| read.holder == Some(from) && read.to == log.address)
                {
                    let amount = crate::chain::abi::scaled(
                        false,
                        U256::from_be_slice(&log.data[..32]),
                        read.decimals,
                    );
                    self.holdings
                        .entry((contract.name.clone(), read.name.clone()))
                        .or_default()
                        .outflows
                        .push((log.tx, log.block, amount));
                }
            }
        }
        for contract in &self.chain.contracts {
            if contract.address != log.address {
                continue;
            }
            for event in contract
                .events
                .iter()
                .filter(|event| event.spec.topic0() == topic0)
            {
                let args = match event.spec.decode(&log.topics, &log.data) {
                    Ok(args) => args,
                    Err(error) => {
                        self.shared.set_error(
                            &contract.name,
                            Some(format!(
                                "event {} in tx {:#x} (block {}): cannot decode: {error}",
                                event.name, log.tx, log.block
                            )),
                        );
                        continue;
                    }
                };
                if let Some(condition) = &event.condition
                    && !condition.matches(&args)
                {
                    continue;
                }
                let (level, power_note) = level_of(&event.level, &args, contract);
                let mut labels = Labels::new();
                for (name, value) in &args {
                    let label = if RESERVED_LABELS.contains(&name.as_str()) {
                        format!("arg_{name}")
                    } else {
                        name.clone()
                    };
                    labels.insert(sanitize_label(&label), value.to_string());
                }
                labels.insert("alertname".into(), event.name.clone());
                labels.insert("source".into(), "chain".into());
                labels.insert("chain".into(), chain_name.clone());
                labels.insert("contract".into(), contract.name.clone());
                labels.insert("component".into(), event.component.clone());
                labels.insert("event".into(), event.spec.name().to_owned());
                labels.insert("tx".into(), format!("{:#x}", log.tx));
                labels.insert("block".into(), log.block.to_string());
                labels.insert("log_index".into(), log.log_index.to_string());
                labels.insert("level".into(), level.as_str().to_owned());
                labels.insert("category".into(), event.category.clone());
                let decoded = args
                    .iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut annotations = BTreeMap::new();
                annotations.insert(
                    "summary".into(),
                    format!("{}: {}{power_note}", contract.name, event.title),
                );
                annotations.insert(
                    "description".into(),
                    format!(
                        "{}({decoded}) in tx {:#x} at block {} ({:#x}) on {chain_name}{power_note}",
                        event.spec.name(),
                        log.tx,
                        log.block,
                        log.block_hash
                    ),
                );
                alerts.push((
                    log.block,
                    ChainAlert {
                        fingerprint: log_fingerprint(&chain_name, log.tx, log.log_index),
                        firing: true,
                        labels,
                        annotations,
                        at_ms: Self::now_ms(),
                        evidence: false,
                    },
                ));
            }
        }
    }

    /// Applies one planned call's reply: a series, a contract read, a feed value or the slot.
    pub(super) fn apply(
        &mut self,
        index: usize,
        what: Planned,
        reply: Result<Value, RpcError>,
        block: u64,
        timestamp: u64,
        alerts: &mut Vec<(u64, ChainAlert)>,
    ) {
        let contract = self.chain.contracts[index].clone();
        let failed = |error: String| Some(format!("{}: {error}", what.describe(&contract)));
        let data = match reply {
            Ok(Value::String(text)) => match parse_bytes(&text) {
                Some(bytes) => bytes,
                None => {
                    self.shared.set_error(
                        &contract.name,
                        failed(format!("the node answered {text:?}, not 0x-hex data")),
                    );
                    return;
                }
            },
            Ok(other) => {
                self.shared.set_error(
                    &contract.name,
                    failed(format!("the node answered {other}, not 0x-hex data")),
                );
                return;
            }
            Err(error) => {
                self.shared
                    .set_error(&contract.name, failed(error.to_string()));
                return;
            }
        };
        match what {
            Planned::Read(read_index) => {
                let read = &contract.reads[read_index];
                match read.spec.decode_number(&data, read.output, read.decimals) {
                    Ok(value) => {
                        self.reads_done
                            .insert((contract.name.clone(), read.name.clone()), block);
                        self.emit(
                            "contract_read",
                            &[("contract", &contract.name), ("read", &read.name)],
                            value,
                        );
                        let prefix = format!("read {}:", read.name);
                        self.shared.with_contract(&contract.name, |status| {
                            status.reads.insert(read.name.clone(), value);
                            if status
                                .last_error
                                .as_deref()
                                .is_some_and(|error| error.starts_with(&prefix))
                            {
                                status.last_error = None;
                            }
                        });
                        if read.holder.is_some() {
                            self.evidence(&contract, &read.name, value, block, alerts);
                        }
                    }
                    Err(error) => self
                        .shared
                        .set_error(&contract.name, failed(error.to_string())),
                }
            }
            Planned::FeedDecimals => {
                let feed = contract.feed.as_ref().expect("planned for feeds");
                match feed.decimals_call.decode_number(&data, 0, 0) {
                    Ok(decimals) if (0.0..=77.0).contains(&decimals) => {
                        self.feed_decimals
                            .insert(contract.name.clone(), decimals as u32);
                    }
                    Ok(decimals) => self.shared.set_error(
                        &contract.name,
                        failed(format!("{decimals} is out of range")),
                    ),
                    Err(error) => self
                        .shared
                        .set_error(&contract.name, failed(error.to_string())),
                }
            }
            Planned::FeedRound => self.feed_round(&contract, &data, timestamp),
            Planned::Slot => self.slot(&contract, &data, block, alerts),
        }
    }

    fn feed_round(&mut self, contract: &CompiledContract, data: &[u8], timestamp: u64) {
        let feed = contract.feed.as_ref().expect("planned for feeds");
        let Some(decimals) = self.feed_decimals.get(&contract.name).copied() else {
            return;
        };
        let answer = feed.latest_round.decode_number(data, 1, decimals);
        let updated_at = feed.latest_round.decode_number(data, 3, 0);
        match (answer, updated_at) {
            (Ok(price), Ok(updated_at)) => {
                let age = (timestamp as f64 - updated_at).max(0.0);
                let labels = [("contract", contract.name.as_str())];
                self.emit("peg_price", &labels, price);
                self.emit("oracle_age_seconds", &labels, age);
                self.emit("oracle_staleness_ratio", &labels, age / feed.heartbeat_secs);
                let mut reads = vec![("price".to_owned(), price), ("age_seconds".to_owned(), age)];
                if let Some(target) = feed.peg_target {
                    let deviation = (price - target) / target * 100.0;
                    self.emit("peg_deviation_percent", &labels, deviation);
                    reads.push(("deviation_percent".to_owned(), deviation));
                }
                self.shared
                    .with_contract(&contract.name, |status| status.reads.extend(reads));
            }
            (Err(error), _) | (_, Err(error)) => self
                .shared
                .set_error(&contract.name, Some(format!("latestRoundData(): {error}"))),
        }
    }

    /// The ERC-1967 implementation slot: a change (with or without an `Upgraded` event) is an alert.
    fn slot(
        &mut self,
        contract: &CompiledContract,
        data: &[u8],
        block: u64,
        alerts: &mut Vec<(u64, ChainAlert)>,
    ) {
        // Some nodes (ganache) trim the leading zeros of a storage word.
        if data.len() > 32 {
            self.shared.set_error(
                &contract.name,
                Some(format!("implementation slot: {} bytes, not 32", data.len())),
            );
            return;
        }
        let mut word = [0u8; 32];
        word[32 - data.len()..].copy_from_slice(data);
        let implementation = Address::from_slice(&word[12..]);
        self.shared.with_contract(&contract.name, |status| {
            status.implementation = Some(format!("{implementation:#x}"));
        });
        let previous = self
            .implementations
            .insert(contract.name.clone(), implementation);
        let Some(previous) = previous.filter(|previous| *previous != implementation) else {
            return;
        };
        let chain = self.chain.config.name.clone();
        let trusted = contract.trusted.contains(&implementation);
        let level = presets::power_level(trusted, implementation == Address::ZERO);
        let mut labels = Labels::new();
        labels.insert("alertname".into(), "implementation-changed".into());
        labels.insert("source".into(), "chain".into());
        labels.insert("chain".into(), chain.clone());
        labels.insert("contract".into(), contract.name.clone());
        labels.insert("component".into(), contract.name.clone());
        labels.insert("block".into(), block.to_string());
        labels.insert("implementation".into(), format!("{implementation:#x}"));
        labels.insert("level".into(), level.as_str().into());
        labels.insert("category".into(), "security".into());
        let note = if trusted {
            "a trusted address"
        } else {
            "an address NOT on the trusted list"
        };
        let mut annotations = BTreeMap::new();
        annotations.insert(
            "summary".into(),
            format!("{}: implementation changed to {note}", contract.name),
        );
        annotations.insert(
            "description".into(),
            format!(
                "the ERC-1967 implementation slot of {} changed from {previous:#x} to {implementation:#x} ({note}) by block {block} on {chain}",
                contract.name
            ),
        );
        alerts.push((
            block,
            ChainAlert {
                fingerprint: format!(
                    "chain/{chain}/{}/implementation/{implementation:#x}",
                    contract.name
                ),
                firing: true,
                labels,
                annotations,
                at_ms: Self::now_ms(),
                evidence: false,
            },
        ));
    }

    /// A falling balance: its outflow transfers become evidence for an incident on the contract.
    fn evidence(
        &mut self,
        contract: &CompiledContract,
        read: &str,
        value: f64,
        block: u64,
        alerts: &mut Vec<(u64, ChainAlert)>,
    ) {
        let chain = self.chain.config.name.clone();
        let now = Self::now_ms();
        let holding = self
            .holdings
            .entry((contract.name.clone(), read.to_owned()))
            .or_default();
        let outflows = std::mem::take(&mut holding.outflows);
        let Some(previous) = holding.last.replace(value) else {
            return;
        };
        if value >= previous * (1.0 - EVIDENCE_FALL) || value.is_nan() {
            return;
        }
        let streak_start = match holding.streak_start {
            Some(start) if now - holding.last_fall_ms <= FALL_STREAK_GAP_MS => start,
            _ => previous,
        };
        holding.streak_start = Some(streak_start);
        holding.last_fall_ms = now;
        let loss = streak_start - value;
        let fall_pct = (previous - value) / previous * 100.0;
        let txs: Vec<String> = outflows
            .iter()
            .map(|(tx, block, amount)| format!("{tx:#x} (block {block}, {amount:.2})"))
            .collect();
        let mut labels = Labels::new();
        labels.insert("alertname".into(), format!("{read}-outflow"));
        labels.insert("source".into(), "chain".into());
        labels.insert("chain".into(), chain.clone());
        labels.insert("contract".into(), contract.name.clone());
        labels.insert("component".into(), contract.name.clone());
        labels.insert("block".into(), block.to_string());
        labels.insert("level".into(), Level::L4.as_str().into());
        labels.insert("category".into(), "security".into());
        let mut annotations = BTreeMap::new();
        annotations.insert(
            "summary".into(),
            format!("{}: {read} fell {fall_pct:.1}%", contract.name),
        );
        annotations.insert(
            "description".into(),
            format!(
                "{read} of {} fell from {previous:.2} to {value:.2} (-{:.2}, -{fall_pct:.1}%) by block {block}; loss since the fall began: {loss:.2} tokens; outflow transactions: {}",
                contract.name,
                previous - value,
                if txs.is_empty() {
                    "none seen (not a Transfer out of the holder)".to_owned()
                } else {
                    txs.join(", ")
                }
            ),
        );
        alerts.push((
            block,
            ChainAlert {
                fingerprint: format!("chain/{chain}/{}/{read}/fall/{block}", contract.name),
                firing: true,
                labels,
                annotations,
                at_ms: now,
                evidence: true,
            },
        ));
    }
}

fn sanitize_label(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '_' {
                ch
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|ch: char| ch.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The level of an event, and a note on who received power when the rule is about power.
fn level_of(
    rule: &LevelRule,
    args: &[(String, AbiValue)],
    contract: &CompiledContract,
) -> (Level, String) {
    match rule {
        LevelRule::Fixed(level) => (*level, String::new()),
        LevelRule::PowerTo(argument) => {
            let address = args
                .iter()
                .find(|(name, _)| name == argument)
                .and_then(|(_, value)| match value {
                    AbiValue::Address(address) => Some(*address),
                    _ => None,
                });
            match address {
                Some(address) if address == Address::ZERO => (
                    presets::power_level(false, true),
                    " (renounced: to the zero address)".to_owned(),
                ),
                Some(address) if contract.trusted.contains(&address) => (
                    presets::power_level(true, false),
                    format!(" to trusted {address:#x}"),
                ),
                Some(address) => (
                    presets::power_level(false, false),
                    format!(" to {address:#x}, NOT on the trusted list"),
                ),
                None => (Level::L1, format!(" (argument {argument} missing)")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_big_numbers() {
        let scale = |value, decimals| crate::chain::abi::scaled(false, value, decimals);
        assert_eq!(scale(U256::from(1_500_000u64), 6), 1.5);
        assert!(scale(U256::MAX, 18).is_finite());
    }

    #[test]
    fn labels_are_sanitised() {
        assert_eq!(sanitize_label("from-addr"), "from_addr");
        assert_eq!(sanitize_label("1x"), "_1x");
    }
}
