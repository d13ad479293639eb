//! `[[chains]]` and `[[contracts]]`: what to watch on which EVM chain, and its validation.
//!
//! Parsing is serde with unknown keys refused; [`compile`] then resolves everything that can be checked
//! before the first RPC call — ABIs load, signatures parse and match the ABI, addresses are 20 bytes, `where`
//! conditions name real arguments with comparable literals, presets expand — and reports *every* problem with
//! its path (`contracts[1].reads[0].call: ...`), so `vigil check` and `vigil run` agree on what is wrong.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use alloy_primitives::Address;
use model::{HumanDuration, Level};
use serde::{Deserialize, Serialize};

use super::abi::{self, CallSpec, EventSpec};
use super::filter::Condition;
use super::presets;
use crate::config::ConfigIssue;

/// One `[[chains]]` entry: a chain reached through one or more JSON-RPC URLs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Unique; contracts and the pause refer to the chain by it, and series carry it as `chain`.
    pub name: String,
    /// JSON-RPC URLs: the first healthy one is used, the others are compared with it.
    pub rpc: Vec<String>,
    /// A log counts once its block has this many blocks on top. Default 0.
    #[serde(default)]
    pub confirmations: u64,
    /// How often the head is checked. Default `1s`.
    #[serde(default = "default_poll")]
    pub poll: HumanDuration,
    /// After a restart, blocks processed from the stored checkpoint at most; older ones are skipped
    /// (and the gap is reported). Default 10 000.
    #[serde(default = "default_max_catch_up")]
    pub max_catch_up_blocks: u64,
    /// Blocks per `eth_getLogs` request while catching up. Default 1 000 (public providers refuse more).
    #[serde(default = "default_logs_range")]
    pub max_logs_range: u64,
    /// Limit for one JSON-RPC request. Default `5s`.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// Providers whose heads differ by more than this many blocks disagree. Default 3.
    #[serde(default = "default_head_tolerance")]
    pub max_head_lag: u64,
}

fn default_poll() -> HumanDuration {
    HumanDuration::from_secs(1)
}
fn default_max_catch_up() -> u64 {
    10_000
}
fn default_logs_range() -> u64 {
    1_000
}
fn default_timeout() -> HumanDuration {
    HumanDuration::from_secs(5)
}
fn default_head_tolerance() -> u64 {
    3
}
fn default_heartbeat() -> HumanDuration {
    HumanDuration::from_secs(3600)
}
fn default_every() -> u64 {
    1
}
fn default_event_level() -> Level {
    Level::L3
}
fn default_category() -> String {
    "chain".to_owned()
}

/// What a preset adds to a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// `paused()` read; `Paused`/`Unpaused` events.
    Pausable,
    /// `OwnershipTransferred`.
    Ownable,
    /// `RoleGranted`, `RoleRevoked`, `RoleAdminChanged`.
    AccessControl,
    /// `Upgraded`, `AdminChanged`, `BeaconUpgraded` and the implementation slot.
    Erc1967,
    /// `latestRoundData()` + `decimals()` → `peg_price`, `peg_deviation_percent`, `oracle_age_seconds`.
    ChainlinkFeed,
}

/// One `[[contracts]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractConfig {
    /// Unique; the component of its incidents and the pause module of the same name.
    pub name: String,
    /// The `[[chains]]` name.
    pub chain: String,
    pub address: String,
    /// A JSON ABI file, or a solc/hardhat artifact with an `abi` field; relative to the config file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abi: Option<PathBuf>,
    #[serde(default)]
    pub presets: Vec<Preset>,
    /// Addresses that may receive power (owner, roles, admin, implementation) without an L1.
    #[serde(default)]
    pub trusted: Vec<String>,
    /// chainlink-feed: the price the feed should read. Without it only `peg_price` is exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peg_target: Option<f64>,
    /// chainlink-feed: the longest time between two updates of a healthy feed. Default `1h`.
    #[serde(default = "default_heartbeat")]
    pub heartbeat: HumanDuration,
    #[serde(default)]
    pub reads: Vec<ReadConfig>,
    #[serde(default)]
    pub events: Vec<EventConfig>,
}

/// One `[[contracts.reads]]`: an `eth_call` whose result is the series
/// `contract_read{chain, contract, read}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadConfig {
    pub name: String,
    /// A Solidity signature with its return type (`balanceOf(address)(uint256)`) or a function name from
    /// the contract's ABI.
    pub call: String,
    /// The contract called; default: this contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Literal arguments; `"self"` is this contract's address.
    #[serde(default)]
    pub args: Vec<String>,
    /// The value is divided by 10^decimals.
    #[serde(default)]
    pub decimals: u32,
    /// Blocks between reads. Default 1.
    #[serde(default = "default_every")]
    pub every: u64,
    /// Which return value to use when the function returns several. Default 0.
    #[serde(default)]
    pub output: usize,
}

/// One `[[contracts.events]]`: logs that become alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventConfig {
    /// The alert name (`alertname`).
    pub name: String,
    /// A Solidity event signature (`Withdrawal(address indexed to, uint256 amount)`) or a name from the ABI.
    pub event: String,
    /// Comparisons on decoded arguments in raw units, joined with `and`/`or`.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Default L3.
    #[serde(default = "default_event_level")]
    pub level: Level,
    /// `chain`, `peg`, `security`, `infra` or `ux`. Default `chain`.
    #[serde(default = "default_category")]
    pub category: String,
    /// The incident's component; default: the contract's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// A human title for the alert; default: the event's name on the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

const CATEGORIES: [&str; 5] = ["chain", "peg", "security", "infra", "ux"];

/// A validated chain with its contracts, ready to watch.
#[derive(Debug, Clone)]
pub struct CompiledChain {
    pub config: ChainConfig,
    pub contracts: Vec<CompiledContract>,
}

#[derive(Debug, Clone)]
pub struct CompiledContract {
    pub name: String,
    pub address: Address,
    pub trusted: HashSet<Address>,
    pub reads: Vec<CompiledRead>,
    pub events: Vec<CompiledEvent>,
    pub feed: Option<FeedSpec>,
    /// erc1967: watch the implementation slot.
    pub implementation_slot: bool,
    pub presets: Vec<Preset>,
}

#[derive(Debug, Clone)]
pub struct CompiledRead {
    pub name: String,
    pub spec: CallSpec,
    pub to: Address,
    pub calldata: Vec<u8>,
    pub decimals: u32,
    pub every: u64,
    pub output: usize,
    /// `balanceOf(holder)` on a token: its `Transfer`s out of `holder` are the evidence of a fall.
    pub holder: Option<Address>,
}

/// How an event's level is decided.
#[derive(Debug, Clone, PartialEq)]
pub enum LevelRule {
    /// The configured level.
    Fixed(Level),
    /// The event gives power to the address in this argument: L1 security unless it is trusted (then L3);
    /// the zero address (power renounced) is L2.
    PowerTo(String),
}

#[derive(Debug, Clone)]
pub struct CompiledEvent {
    pub name: String,
    pub spec: EventSpec,
    pub condition: Option<Condition>,
    pub level: LevelRule,
    pub category: String,
    pub component: String,
    pub title: String,
}

/// chainlink-feed reads.
#[derive(Debug, Clone)]
pub struct FeedSpec {
    pub latest_round: CallSpec,
    pub decimals_call: CallSpec,
    pub peg_target: Option<f64>,
    pub heartbeat_secs: f64,
}

impl CompiledChain {
    /// Every address whose logs are fetched (each once).
    pub fn watched_addresses(&self) -> Vec<Address> {
        let set: BTreeSet<Address> = self
            .contracts
            .iter()
            .filter(|contract| !contract.events.is_empty())
            .map(|contract| contract.address)
            .chain(
                self.contracts
                    .iter()
                    .flat_map(|contract| contract.reads.iter())
                    .filter(|read| read.holder.is_some())
                    .map(|read| read.to),
            )
            .collect();
        set.into_iter().collect()
    }
}

/// Parses a 0x-prefixed 20-byte hex address (any case; the checksum is not required).
pub fn parse_address(text: &str) -> Result<Address, String> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .ok_or_else(|| format!("{text:?} is not an address: it must start with 0x"))?;
    if digits.len() != 40 {
        return Err(format!(
            "{text:?} is not an address: {} hex digits, an address has 40 (20 bytes)",
            digits.len()
        ));
    }
    let bytes = super::wire::decode_hex(digits).ok_or_else(|| format!("{text:?} is not hex"))?;
    Ok(Address::from_slice(&bytes))
}

fn is_url(text: &str) -> bool {
    (text.starts_with("http://") || text.starts_with("https://")) && text.len() > "http://".len()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
}

/// Validates `[[chains]]` and `[[contracts]]` together and resolves them. ABI paths are relative to
/// `base_dir` (the config file's directory). Every problem is reported, with its path.
pub fn compile(
    chains: &[ChainConfig],
    contracts: &[ContractConfig],
    base_dir: &Path,
) -> Result<Vec<CompiledChain>, Vec<ConfigIssue>> {
    let mut issues = Vec::new();
    let mut report = |path: String, message: String| issues.push(ConfigIssue { path, message });
    let mut compiled: Vec<CompiledChain> = Vec::new();
    let mut names = HashSet::new();
    for (index, chain) in chains.iter().enumerate() {
        let path = format!("chains[{index}]");
        if !valid_name(&chain.name) {
            report(
                format!("{path}.name"),
                format!(
                    "{:?}: use 1-64 letters, digits, '-', '_' or '.'",
                    chain.name
                ),
            );
        } else if !names.insert(chain.name.clone()) {
            report(
                format!("{path}.name"),
                format!("{:?} is used by another chain", chain.name),
            );
        }
        if chain.rpc.is_empty() {
            report(
                format!("{path}.rpc"),
                "needs at least one JSON-RPC URL".to_owned(),
            );
        }
        for (url_index, url) in chain.rpc.iter().enumerate() {
            if !is_url(url) {
                report(
                    format!("{path}.rpc[{url_index}]"),
                    format!("{url:?} is not an http:// or https:// URL"),
                );
            }
        }
        if chain.poll.get() < std::time::Duration::from_millis(100) {
            report(format!("{path}.poll"), "must be at least 100ms".to_owned());
        }
        if chain.timeout.get() < std::time::Duration::from_millis(100) {
            report(
                format!("{path}.timeout"),
                "must be at least 100ms".to_owned(),
            );
        }
        if chain.confirmations > 1_000 {
            report(
                format!("{path}.confirmations"),
                format!("{} is more than 1000", chain.confirmations),
            );
        }
        if chain.max_logs_range == 0 || chain.max_logs_range > 100_000 {
            report(
                format!("{path}.max_logs_range"),
                "must be between 1 and 100000 blocks".to_owned(),
            );
        }
        if chain.max_catch_up_blocks == 0 {
            report(
                format!("{path}.max_catch_up_blocks"),
                "must be at least 1".to_owned(),
            );
        }
        compiled.push(CompiledChain {
            config: chain.clone(),
            contracts: Vec::new(),
        });
    }
    let mut contract_names = HashSet::new();
    let mut contract_issues = Vec::new();
    for (index, contract) in contracts.iter().enumerate() {
        let path = format!("contracts[{index}]");
        if !valid_name(&contract.name) {
            report(
                format!("{path}.name"),
                format!(
                    "{:?}: use 1-64 letters, digits, '-', '_' or '.'",
                    contract.name
                ),
            );
        } else if !contract_names.insert(contract.name.clone()) {
            report(
                format!("{path}.name"),
                format!("{:?} is used by another contract", contract.name),
            );
        }
        let chain_index = compiled
            .iter()
            .position(|chain| chain.config.name == contract.chain);
        if chain_index.is_none() {
            report(
                format!("{path}.chain"),
                format!(
                    "{:?} is not a [[chains]] name (have: {})",
                    contract.chain,
                    chains
                        .iter()
                        .map(|chain| chain.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        match compile_contract(contract, &path, base_dir) {
            Ok(done) => {
                if let Some(chain_index) = chain_index {
                    compiled[chain_index].contracts.push(done);
                }
            }
            Err(found) => contract_issues.extend(found),
        }
    }
    issues.extend(contract_issues);
    if issues.is_empty() {
        Ok(compiled)
    } else {
        Err(issues)
    }
}

fn compile_contract(
    contract: &ContractConfig,
    path: &str,
    base_dir: &Path,
) -> Result<CompiledContract, Vec<ConfigIssue>> {
    let mut issues = Vec::new();
    let mut report = |path: String, message: String| issues.push(ConfigIssue { path, message });
    let address = parse_address(&contract.address)
        .map_err(|message| report(format!("{path}.address"), message))
        .ok();
    let mut trusted = HashSet::new();
    for (index, text) in contract.trusted.iter().enumerate() {
        match parse_address(text) {
            Ok(address) => {
                trusted.insert(address);
            }
            Err(message) => report(format!("{path}.trusted[{index}]"), message),
        }
    }
    let json_abi = match &contract.abi {
        Some(file) => {
            let resolved = if file.is_absolute() {
                file.clone()
            } else {
                base_dir.join(file)
            };
            match abi::load_abi(&resolved) {
                Ok(loaded) => Some(loaded),
                Err(error) => {
                    report(format!("{path}.abi"), error.to_string());
                    None
                }
            }
        }
        None => None,
    };
    if let Some(target) = contract.peg_target
        && !(target.is_finite() && target > 0.0)
    {
        report(
            format!("{path}.peg_target"),
            format!("{target} must be a positive number"),
        );
    }
    if contract.heartbeat.get().is_zero() {
        report(
            format!("{path}.heartbeat"),
            "must be more than 0s".to_owned(),
        );
    }
    let mut seen_presets = HashSet::new();
    for (index, preset) in contract.presets.iter().enumerate() {
        if !seen_presets.insert(*preset) {
            report(
                format!("{path}.presets[{index}]"),
                format!("{preset:?} is listed twice"),
            );
        }
    }
    if contract.peg_target.is_some() && !contract.presets.contains(&Preset::ChainlinkFeed) {
        report(
            format!("{path}.peg_target"),
            "only applies with the \"chainlink-feed\" preset".to_owned(),
        );
    }

    let self_address = address.unwrap_or(Address::ZERO);
    let mut reads = Vec::new();
    let mut read_names = HashSet::new();
    let mut all_reads: Vec<(String, ReadConfig)> = contract
        .reads
        .iter()
        .enumerate()
        .map(|(index, read)| (format!("{path}.reads[{index}]"), read.clone()))
        .collect();
    for preset in &contract.presets {
        for read in presets::reads(*preset) {
            all_reads.push((format!("{path}.presets ({preset:?})"), read));
        }
    }
    for (read_path, read) in &all_reads {
        if !valid_name(&read.name) {
            report(
                format!("{read_path}.name"),
                format!("{:?}: use 1-64 letters, digits, '-', '_' or '.'", read.name),
            );
        } else if !read_names.insert(read.name.clone()) {
            report(
                format!("{read_path}.name"),
                format!("{:?} is used by another read of this contract", read.name),
            );
        }
        if read.every == 0 {
            report(
                format!("{read_path}.every"),
                "must be at least 1 block".to_owned(),
            );
        }
        if read.decimals > 77 {
            report(
                format!("{read_path}.decimals"),
                format!("{} is more than 77", read.decimals),
            );
        }
        let to = match &read.to {
            Some(text) if text == "self" => Some(self_address),
            Some(text) => parse_address(text)
                .map_err(|message| report(format!("{read_path}.to"), message))
                .ok(),
            None => Some(self_address),
        };
        // The ABI describes this contract only: a read on another contract needs a full signature.
        let read_abi = if read.to.is_none() || read.to.as_deref() == Some("self") {
            json_abi.as_ref()
        } else {
            None
        };
        let spec = match CallSpec::parse(&read.call, read_abi) {
            Ok(spec) => spec,
            Err(error) => {
                report(format!("{read_path}.call"), error.to_string());
                continue;
            }
        };
        if let Err(error) = spec.check_args(&read.args) {
            report(format!("{read_path}.args"), error.to_string());
            continue;
        }
        if read.output >= spec.output_count().max(1) {
            report(
                format!("{read_path}.output"),
                format!(
                    "{} is out of range: {} returns {} value(s)",
                    read.output,
                    spec.signature(),
                    spec.output_count()
                ),
            );
            continue;
        }
        let Some(to) = to else { continue };
        let calldata = match spec.encode(&read.args, self_address) {
            Ok(data) => data,
            Err(error) => {
                report(format!("{read_path}.args"), error.to_string());
                continue;
            }
        };
        let holder = (spec.signature() == "balanceOf(address)")
            .then(|| {
                read.args.first().and_then(|arg| {
                    if arg == "self" {
                        Some(self_address)
                    } else {
                        parse_address(arg).ok()
                    }
                })
            })
            .flatten();
        reads.push(CompiledRead {
            name: read.name.clone(),
            spec,
            to,
            calldata,
            decimals: read.decimals,
            every: read.every,
            output: read.output,
            holder,
        });
    }

    let mut events = Vec::new();
    let mut all_events: Vec<(String, EventConfig, LevelRule)> = Vec::new();
    for (index, event) in contract.events.iter().enumerate() {
        all_events.push((
            format!("{path}.events[{index}]"),
            event.clone(),
            LevelRule::Fixed(event.level),
        ));
    }
    for preset in &contract.presets {
        for (event, rule) in presets::events(*preset) {
            all_events.push((format!("{path}.presets ({preset:?})"), event, rule));
        }
    }
    let mut event_names = HashSet::new();
    for (event_path, event, rule) in all_events {
        if !valid_name(&event.name) {
            report(
                format!("{event_path}.name"),
                format!(
                    "{:?}: use 1-64 letters, digits, '-', '_' or '.'",
                    event.name
                ),
            );
        } else if !event_names.insert(event.name.clone()) {
            report(
                format!("{event_path}.name"),
                format!("{:?} is used by another event of this contract", event.name),
            );
        }
        if !CATEGORIES.contains(&event.category.as_str()) {
            report(
                format!("{event_path}.category"),
                format!(
                    "{:?} is not one of {}",
                    event.category,
                    CATEGORIES.join(", ")
                ),
            );
        }
        // Presets use the standard signatures, whatever the contract's ABI says.
        let event_abi = if matches!(rule, LevelRule::Fixed(_)) {
            json_abi.as_ref()
        } else {
            None
        };
        let spec = match EventSpec::parse(&event.event, event_abi) {
            Ok(spec) => spec,
            Err(error) => {
                report(format!("{event_path}.event"), error.to_string());
                continue;
            }
        };
        let condition = match &event.condition {
            Some(text) => match Condition::parse(text) {
                Ok(condition) => {
                    if let Err(error) = condition.check(&spec.arg_types()) {
                        report(format!("{event_path}.where"), error.to_string());
                        continue;
                    }
                    Some(condition)
                }
                Err(error) => {
                    report(format!("{event_path}.where"), error.to_string());
                    continue;
                }
            },
            None => None,
        };
        let title = event
            .title
            .clone()
            .unwrap_or_else(|| format!("{} on {}", spec.name(), contract.name));
        events.push(CompiledEvent {
            name: event.name.clone(),
            spec,
            condition,
            level: rule,
            category: event.category.clone(),
            component: event
                .component
                .clone()
                .unwrap_or_else(|| contract.name.clone()),
            title,
        });
    }

    let feed = contract
        .presets
        .contains(&Preset::ChainlinkFeed)
        .then(|| FeedSpec {
            latest_round: CallSpec::parse(presets::LATEST_ROUND_DATA, None)
                .expect("the preset's signature parses"),
            decimals_call: CallSpec::parse(presets::DECIMALS, None)
                .expect("the preset's signature parses"),
            peg_target: contract.peg_target,
            heartbeat_secs: contract.heartbeat.get().as_secs_f64(),
        });

    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(CompiledContract {
        name: contract.name.clone(),
        address: self_address,
        trusted,
        reads,
        events,
        feed,
        implementation_slot: contract.presets.contains(&Preset::Erc1967),
        presets: contract.presets.clone(),
    })
}

/// The contracts by name and their chain, for `GET /api/v1/contracts` before the first round.
pub fn summary(chains: &[CompiledChain]) -> BTreeMap<String, (String, Address)> {
    chains
        .iter()
        .flat_map(|chain| {
            chain.contracts.iter().map(|contract| {
                (
                    contract.name.clone(),
                    (chain.config.name.clone(), contract.address),
                )
            })
        })
        .collect()
}
