//! Vigil's configuration: one TOML file in which every field has a default.
//!
//! Loading has two steps: [`Settings::from_toml`] parses (unknown keys are errors, and every error names the
//! field path and the line), then [`Settings::validate`] collects every semantic problem with its path, so
//! `vigil check` can report them all at once. Secrets never sit in the file: tokens come from the environment
//! (`token_env`) or as a SHA-256 digest (`token_sha256`); the environment is passed in as a map so tests never
//! touch the process environment.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use model::HumanDuration;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::Role;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub storage: StorageSettings,
    pub core: CoreSettings,
    pub tokens: Vec<TokenSettings>,
    /// Targets to scrape (`[[targets]]`), besides the embedded core's own.
    pub targets: Vec<collector::config::TargetConfig>,
    /// Scrape engine and series-window limits.
    pub collector: collector::config::CollectorSettings,
    /// EVM chains to watch (`[[chains]]`): one or more JSON-RPC URLs each.
    pub chains: Vec<collector::chain::ChainConfig>,
    /// Contracts on those chains (`[[contracts]]`): reads, events, presets.
    pub contracts: Vec<collector::chain::ContractConfig>,
    /// Where the config file is: relative paths in it (ABIs) start here. Not a config key.
    #[serde(skip)]
    pub config_dir: PathBuf,
    /// The live detector and its classification policy.
    pub detector: crate::pipeline::DetectorSettings,
    /// Paging channels (`[[channels]]`); default: one `log` channel.
    pub channels: Vec<responder::config::ChannelConfig>,
    /// Escalation policies per level (`[[escalation]]`).
    pub escalation: Vec<responder::config::EscalationConfig>,
    /// The emergency pause: quorum, approval window, backend (`[pause]`).
    pub pause: responder::pause::PauseConfig,
    /// Health-check suites (`[[healthchecks]]`); default: the morning, midday, evening and night rounds.
    pub healthchecks: Vec<responder::healthchecks::HealthcheckSuiteConfig>,
    /// Where the runbooks are (`[runbooks]`).
    pub runbooks: RunbookSettings,
    /// Everything else the responder needs: ack links, delivery, digest, inhibition, maintenance, on-call,
    /// heartbeats.
    pub responder: responder::ResponderConfig,
    /// Several Vigils on one PostgreSQL: member id, heartbeat and leader lease (`[cluster]`).
    pub cluster: responder::cluster::ClusterConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address of the HTTP server (API, pages, metrics, and the core's `/core/*` interface).
    pub listen: SocketAddr,
    /// How long shutdown waits for in-flight requests and background work.
    pub shutdown_grace: HumanDuration,
    /// Largest request body accepted by the JSON API.
    pub max_body_bytes: usize,
    /// Requests taking longer than this are answered 503 (the core's latency-spike stays well below it).
    pub request_timeout: HumanDuration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            shutdown_grace: HumanDuration::from_secs(10),
            max_body_bytes: 1024 * 1024,
            request_timeout: HumanDuration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    /// Directory for the SQLite database and other local state; created if missing.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`; defaults to `sqlite://<data_dir>/vigil.db`.
    pub database_url: Option<String>,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./vigil-data"),
            database_url: None,
        }
    }
}

impl StorageSettings {
    pub fn effective_database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("vigil.db").display()))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoreSettings {
    /// Run the embedded protocol core.
    pub enabled: bool,
    /// The simulation seed: the same seed gives the same chain.
    pub seed: u64,
    /// Time between slots, at least 100 ms.
    pub slot_ms: u64,
    /// Slot jitter; defaults to 500 ms, or a twelfth of the slot when slots are short.
    pub slot_jitter_ms: Option<u64>,
    /// Number of validators.
    pub validators: usize,
    /// TRN peg target, USD.
    pub peg_target: f64,
    /// Chain id the core's JSON-RPC reports.
    pub chain_id: u64,
    /// How often the price oracle moves.
    pub price_tick: HumanDuration,
    /// How often Vigil scrapes the core's own targets.
    pub scrape_interval: HumanDuration,
    /// Also serve `/core/*` on this separate address (they are always on the main listener).
    pub listen: Option<SocketAddr>,
}

impl Default for CoreSettings {
    fn default() -> Self {
        let defaults = protocol::CoreConfig::default();
        Self {
            enabled: true,
            seed: defaults.seed,
            slot_ms: defaults.slot_ms,
            slot_jitter_ms: None,
            validators: defaults.validators,
            peg_target: defaults.peg_target,
            chain_id: defaults.chain_id,
            price_tick: HumanDuration::from_millis(defaults.price_tick_ms),
            scrape_interval: HumanDuration::from_secs(5),
            listen: None,
        }
    }
}

impl CoreSettings {
    pub fn core_config(&self) -> protocol::CoreConfig {
        protocol::CoreConfig {
            seed: self.seed,
            slot_ms: self.slot_ms,
            slot_jitter_ms: self
                .slot_jitter_ms
                .unwrap_or_else(|| 500.min(self.slot_ms / 12)),
            validators: self.validators,
            peg_target: self.peg_target,
            chain_id: self.chain_id,
            price_tick_ms: self.price_tick.get().as_millis() as u64,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunbookSettings {
    /// Directory of Markdown runbooks with TOML front matter.
    pub dir: PathBuf,
}

impl Default for RunbookSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("./runbooks"),
        }
    }
}

/// The shipped runbooks (`runbooks/*.md`), built into the binary: a Vigil started outside the source
/// tree still follows them (the exploit-drain runbook pauses the bridge).
const BUILT_IN_RUNBOOKS: [(&str, &str); 10] = [
    (
        "admin-takeover.md",
        include_str!("../runbooks/admin-takeover.md"),
    ),
    ("block-stall.md", include_str!("../runbooks/block-stall.md")),
    (
        "chain-view-lost.md",
        include_str!("../runbooks/chain-view-lost.md"),
    ),
    (
        "contract-unpaused.md",
        include_str!("../runbooks/contract-unpaused.md"),
    ),
    ("depeg.md", include_str!("../runbooks/depeg.md")),
    ("error-burst.md", include_str!("../runbooks/error-burst.md")),
    (
        "exploit-drain.md",
        include_str!("../runbooks/exploit-drain.md"),
    ),
    (
        "latency-spike.md",
        include_str!("../runbooks/latency-spike.md"),
    ),
    (
        "oracle-stale.md",
        include_str!("../runbooks/oracle-stale.md"),
    ),
    (
        "validator-outage.md",
        include_str!("../runbooks/validator-outage.md"),
    ),
];

impl RunbookSettings {
    /// The runbooks, or every problem with file and line. Without the default directory, the built-in
    /// copies of the shipped runbooks; a configured directory that is missing is an error.
    pub fn load(&self) -> Result<Vec<responder::runbooks::Runbook>, Vec<String>> {
        if self.uses_built_in() {
            return Self::built_in();
        }
        responder::runbooks::load_dir(&self.dir)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    /// Whether [`RunbookSettings::load`] falls back to the built-in runbooks.
    pub fn uses_built_in(&self) -> bool {
        !self.dir.exists() && self.dir == RunbookSettings::default().dir
    }

    fn built_in() -> Result<Vec<responder::runbooks::Runbook>, Vec<String>> {
        let mut runbooks = Vec::new();
        let mut problems = Vec::new();
        for (name, text) in BUILT_IN_RUNBOOKS {
            let path = std::path::Path::new("built-in").join(name);
            match responder::runbooks::parse(&path, text) {
                Ok(runbook) => runbooks.push(runbook),
                Err(errors) => problems.extend(errors.iter().map(ToString::to_string)),
            }
        }
        if problems.is_empty() {
            Ok(runbooks)
        } else {
            Err(problems)
        }
    }
}

impl Settings {
    /// The health-check suites in force: the configured ones, or the daily rounds.
    pub fn healthcheck_suites(&self) -> Vec<responder::healthchecks::HealthcheckSuiteConfig> {
        if self.healthchecks.is_empty() {
            responder::healthchecks::HealthcheckSuiteConfig::defaults(&self.storage.data_dir)
        } else {
            self.healthchecks.clone()
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// Who holds the token; shown as the actor in timelines and audit logs.
    pub name: String,
    pub role: Role,
    /// Name of the environment variable holding the token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Hex SHA-256 digest of the token, for configs that must not depend on the environment.
    #[serde(default)]
    pub token_sha256: Option<String>,
}

/// One problem in a config, with the path of the field it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigIssue {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a config could not be loaded: every issue found, and the file they are in.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub file: String,
    pub issues: Vec<ConfigIssue>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, issue) in self.issues.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {issue}", self.file)?;
        }
        Ok(())
    }
}

impl Settings {
    /// `[[chains]]` and `[[contracts]]` checked and resolved (ABIs loaded relative to the config file).
    pub fn compile_chains(
        &self,
    ) -> Result<Vec<collector::chain::CompiledChain>, Vec<collector::config::ConfigIssue>> {
        let mut chains = self.chains.clone();
        if self.core.enabled {
            // The core's own watch exists at run time: contracts may name its chain too.
            chains.push(collector::chain::ChainConfig {
                name: crate::chain::CORE_CHAIN.to_owned(),
                rpc: vec![format!("http://{}/core/rpc", self.server.listen)],
                confirmations: 0,
                poll: HumanDuration::from_secs(1),
                max_catch_up_blocks: 10_000,
                max_logs_range: 1_000,
                timeout: HumanDuration::from_secs(5),
                max_head_lag: 3,
            });
        }
        collector::chain::config::compile(&chains, &self.contracts, &self.config_dir)
    }

    /// `[pause]` with `[pause.evm] chain` resolved: the chain's first RPC URL (unless `rpc_url` is set)
    /// and its `pausable` contracts as modules (besides those listed in `contracts`).
    pub fn resolved_pause(&self) -> responder::pause::PauseConfig {
        let mut pause = self.pause.clone();
        if let Some(evm) = pause.evm.as_mut()
            && let Some(name) = evm.chain.clone()
            && let Some(chain) = self.chains.iter().find(|chain| chain.name == name)
        {
            if evm.rpc_url == responder::pause::EvmPausableConfig::default().rpc_url
                && let Some(url) = chain.rpc.first()
            {
                evm.rpc_url = url.clone();
            }
            for contract in self.contracts.iter().filter(|contract| {
                contract.chain == name
                    && contract
                        .presets
                        .contains(&collector::chain::Preset::Pausable)
            }) {
                evm.contracts
                    .entry(contract.name.clone())
                    .or_insert_with(|| contract.address.clone());
            }
        }
        pause
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path, env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
            file: file.clone(),
            issues: vec![ConfigIssue {
                path: "(file)".into(),
                message: format!("cannot read: {error}"),
            }],
        })?;
        let mut settings = Self::from_toml(&text).map_err(|issue| ConfigError {
            file: file.clone(),
            issues: vec![issue],
        })?;
        settings.config_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let issues = settings.validate(env);
        if issues.is_empty() {
            Ok(settings)
        } else {
            Err(ConfigError { file, issues })
        }
    }

    /// Parses TOML. The error names the field path and where in the file it is.
    pub fn from_toml(text: &str) -> Result<Self, ConfigIssue> {
        let deserializer = toml::de::Deserializer::parse(text).map_err(|error| ConfigIssue {
            path: "(syntax)".into(),
            message: one_line(&error.to_string()),
        })?;
        serde_path_to_error::deserialize::<_, Settings>(deserializer).map_err(|error| {
            let path = error.path().to_string();
            // toml's own error carries the line, the column and the offending text; keep it, on one line.
            let detail = toml::from_str::<Settings>(text)
                .err()
                .map_or_else(|| error.inner().to_string(), |e| e.to_string());
            ConfigIssue {
                path: if path == "." { "(root)".into() } else { path },
                message: one_line(&detail),
            }
        })
    }

    /// Every semantic problem, each with its field path.
    pub fn validate(&self, env: &HashMap<String, String>) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut issue = |path: &str, message: String| {
            issues.push(ConfigIssue {
                path: path.into(),
                message,
            })
        };
        for (path, message) in self.cluster.validate("cluster") {
            issue(&path, message);
        }
        if self.server.max_body_bytes < 1024 {
            issue(
                "server.max_body_bytes",
                format!(
                    "{} is below the minimum of 1024",
                    self.server.max_body_bytes
                ),
            );
        }
        if self.server.request_timeout.get() < std::time::Duration::from_secs(2) {
            issue(
                "server.request_timeout",
                format!("{} is below the minimum of 2s", self.server.request_timeout),
            );
        }
        if let Some(url) = &self.storage.database_url
            && !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
        {
            issue(
                "storage.database_url",
                format!("{url:?} must start with sqlite:, postgres:// or postgresql://"),
            );
        }
        if let Err(error) = self.core.core_config().validate() {
            let text = error.to_string();
            for part in text.trim_start_matches("invalid core config: ").split("; ") {
                let (field, message) = part.split_once(": ").unwrap_or(("", part));
                let field = if field == "price_tick_ms" {
                    "price_tick"
                } else {
                    field
                };
                issue(&format!("core.{field}"), message.to_owned());
            }
        }
        if self.core.scrape_interval.get() < std::time::Duration::from_millis(100) {
            issue(
                "core.scrape_interval",
                format!(
                    "{} is below the minimum of 100ms",
                    self.core.scrape_interval
                ),
            );
        }
        if self.tokens.is_empty() && !self.server.listen.ip().is_loopback() {
            issue(
                "server.listen",
                format!(
                    "{} is not a loopback address, and no [[tokens]] are configured: Vigil refuses to serve beyond loopback without authentication",
                    self.server.listen
                ),
            );
        }
        for (path, message) in self.responder_config().validate("") {
            // Top-level sections keep their own names; the rest lives under [responder].
            let path = path.trim_start_matches('.');
            let path = if path.starts_with("channels") || path.starts_with("escalation") {
                path.to_owned()
            } else {
                format!("responder.{path}")
            };
            issue(&path, message);
        }
        for problem in collector::config::validate_targets(&self.targets, "targets") {
            issue(&problem.path, problem.message);
        }
        for problem in self.collector.validate("collector") {
            issue(&problem.path, problem.message);
        }
        if let Err(problems) = self.compile_chains() {
            for problem in problems {
                issue(&problem.path, problem.message);
            }
        }
        if let Some(name) = self.pause.evm.as_ref().and_then(|evm| evm.chain.as_ref()) {
            if !self.chains.iter().any(|chain| &chain.name == name) {
                issue(
                    "pause.evm.chain",
                    format!("{name:?} is not a [[chains]] name"),
                );
            } else if self
                .resolved_pause()
                .evm
                .is_some_and(|evm| evm.contracts.is_empty())
            {
                issue(
                    "pause.evm.chain",
                    format!(
                        "no [[contracts]] on {name:?} has the \"pausable\" preset, so there is nothing to pause"
                    ),
                );
            }
        }
        if self.core.enabled {
            // The core's watched contracts: its modules and its price feed (see `crate::chain::core_watch`).
            let reserved: Vec<&str> = protocol::sim::MODULES
                .iter()
                .copied()
                .chain([protocol::evm::FEED_NAME])
                .collect();
            for (index, contract) in self.contracts.iter().enumerate() {
                if reserved.contains(&contract.name.as_str()) {
                    issue(
                        &format!("contracts[{index}].name"),
                        format!(
                            "{:?} is one of the embedded core's watched contracts ({}); pick another name or turn the core off",
                            contract.name,
                            reserved.join(", ")
                        ),
                    );
                }
            }
        }
        if self.core.enabled {
            for (index, chain) in self.chains.iter().enumerate() {
                if chain.name == crate::chain::CORE_CHAIN {
                    issue(
                        &format!("chains[{index}].name"),
                        "\"core\" is the embedded core's own chain watch; pick another name".into(),
                    );
                }
            }
        }
        if self.core.enabled
            && let Some(clash) = self
                .targets
                .iter()
                .position(|target| target.name.starts_with("core-"))
        {
            issue(
                &format!("targets[{clash}].name"),
                "names starting with \"core-\" are reserved for the embedded core's own targets"
                    .into(),
            );
        }
        if let Err(message) = self.detector.load_policy() {
            issue("detector.policy", message);
        }
        let pause_problems = self.pause.validate("pause");
        let pause_ok = pause_problems.is_empty();
        for (path, message) in pause_problems {
            issue(&path, message);
        }
        // The key is loaded now (from the environment given, or the keystore), so a missing or wrong key
        // is found by `vigil check`, not at the first pause. No request is sent.
        if pause_ok
            && self.pause.backend == responder::pause::PauseBackendKind::Evm
            && let Err(error) = responder::pause::build_backend(&self.resolved_pause(), &|name| {
                env.get(name).cloned()
            })
        {
            issue("pause.evm", error.to_string());
        }
        for (path, message) in responder::healthchecks::validate(&self.healthchecks, "healthchecks")
        {
            issue(&path, message);
        }
        if let Err(problems) = self.runbooks.load() {
            for problem in problems {
                issue("runbooks", problem);
            }
        }
        let mut names = std::collections::HashSet::new();
        for (index, token) in self.tokens.iter().enumerate() {
            let path = format!("tokens[{index}]");
            if token.name.trim().is_empty() {
                issue(&format!("{path}.name"), "must not be empty".into());
            } else if !names.insert(token.name.as_str()) {
                issue(
                    &format!("{path}.name"),
                    format!("{:?} is used by another token", token.name),
                );
            }
            match (&token.token_env, &token.token_sha256) {
                (Some(_), Some(_)) => issue(
                    &path,
                    "set either token_env or token_sha256, not both".into(),
                ),
                (None, None) => issue(
                    &path,
                    "set token_env (an environment variable holding the token) or token_sha256"
                        .into(),
                ),
                (Some(variable), None) => match env.get(variable) {
                    None => issue(
                        &format!("{path}.token_env"),
                        format!("environment variable {variable} is not set"),
                    ),
                    Some(value) if value.len() < 16 => issue(
                        &format!("{path}.token_env"),
                        format!("the token in {variable} is shorter than 16 characters"),
                    ),
                    Some(_) => {}
                },
                (None, Some(digest)) => {
                    if digest.len() != 64 || hex::decode(digest).is_err() {
                        issue(
                            &format!("{path}.token_sha256"),
                            "must be 64 hex characters (a SHA-256 digest)".into(),
                        );
                    }
                }
            }
        }
        issues
    }

    /// The responder's config with the top-level `[[channels]]` and `[[escalation]]` folded in; when given,
    /// they replace `[responder]`'s own (whose default is one `log` channel).
    pub fn responder_config(&self) -> responder::ResponderConfig {
        let mut config = self.responder.clone();
        if !self.channels.is_empty() {
            config.channels = self.channels.clone();
        }
        if !self.escalation.is_empty() {
            config.escalation = self.escalation.clone();
        }
        config
    }

    /// The configured tokens as (name, role, SHA-256 digest); call after [`Settings::validate`] passed.
    pub fn token_digests(&self, env: &HashMap<String, String>) -> Vec<(String, Role, [u8; 32])> {
        self.tokens
            .iter()
            .filter_map(|token| {
                let digest: [u8; 32] = match (&token.token_env, &token.token_sha256) {
                    (Some(variable), _) => Sha256::digest(env.get(variable)?.as_bytes()).into(),
                    (None, Some(digest)) => hex::decode(digest).ok()?.try_into().ok()?,
                    (None, None) => return None,
                };
                Some((token.name.clone(), token.role, digest))
            })
            .collect()
    }
}

fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && *line != "|")
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> HashMap<String, String> {
        HashMap::new()
    }

    #[test]
    fn an_empty_file_gives_the_documented_defaults() {
        let settings = Settings::from_toml("").unwrap();
        assert_eq!(settings.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(
            settings.storage.effective_database_url(),
            "sqlite://./vigil-data/vigil.db"
        );
        assert_eq!(settings.core.slot_ms, 6000);
        assert_eq!(settings.core.validators, 5);
        assert_eq!(settings.core.core_config().slot_jitter_ms, 500);
        assert!(settings.validate(&env()).is_empty());
    }

    #[test]
    fn the_built_in_runbooks_are_the_shipped_ones_and_parse() {
        let built_in = RunbookSettings::built_in().unwrap();
        let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/runbooks"))
            .unwrap()
            .filter(|entry| {
                entry
                    .as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "md"))
            })
            .count();
        assert_eq!(built_in.len(), shipped, "every shipped runbook is built in");
    }

    #[test]
    fn the_example_file_parses_and_validates() {
        let text = include_str!("../vigil.example.toml");
        let settings = Settings::from_toml(text).unwrap_or_else(|issue| panic!("{issue}"));
        let mut env = env();
        env.insert(
            "VIGIL_ADMIN_TOKEN".into(),
            "an-example-token-0123456789".into(),
        );
        assert_eq!(settings.validate(&env), vec![]);
    }

    #[test]
    fn a_wrong_type_names_the_field_and_the_line() {
        let issue = Settings::from_toml("[core]\nseed = 3\nslot_ms = \"fast\"\n").unwrap_err();
        assert_eq!(issue.path, "core.slot_ms");
        assert!(issue.message.contains("line 3"), "{}", issue.message);
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_it() {
        let issue =
            Settings::from_toml("[server]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n").unwrap_err();
        assert!(issue.message.contains("lisen"), "{issue}");
        assert!(issue.path.starts_with("server"), "{issue}");
    }

    #[test]
    fn a_bad_duration_names_the_field() {
        let issue = Settings::from_toml("[core]\nscrape_interval = \"soon\"\n").unwrap_err();
        assert_eq!(issue.path, "core.scrape_interval");
        assert!(issue.message.contains("\"soon\""), "{issue}");
    }

    #[test]
    fn semantic_problems_are_all_reported_with_paths() {
        let settings = Settings::from_toml(
            "[core]\nslot_ms = 50\nvalidators = 0\n[server]\nlisten = \"0.0.0.0:8080\"\n[storage]\ndatabase_url = \"mysql://x\"\n",
        )
        .unwrap();
        let paths: Vec<String> = settings
            .validate(&env())
            .into_iter()
            .map(|issue| issue.path)
            .collect();
        for expected in [
            "core.slot_ms",
            "core.validators",
            "server.listen",
            "storage.database_url",
        ] {
            assert!(
                paths.contains(&expected.to_owned()),
                "{expected} missing from {paths:?}"
            );
        }
    }

    #[test]
    fn tokens_come_from_the_environment_or_a_digest() {
        let text = "[[tokens]]\nname = \"ops\"\nrole = \"admin\"\ntoken_env = \"OPS_TOKEN\"\n[[tokens]]\nname = \"gov\"\nrole = \"governor\"\ntoken_sha256 = \"zz\"\n";
        let settings = Settings::from_toml(text).unwrap();
        let issues = settings.validate(&env());
        assert!(
            issues
                .iter()
                .any(|issue| issue.path == "tokens[0].token_env"
                    && issue.message.contains("OPS_TOKEN")),
            "{issues:?}"
        );
        assert!(
            issues
                .iter()
                .any(|issue| issue.path == "tokens[1].token_sha256"),
            "{issues:?}"
        );
        let mut env = env();
        env.insert("OPS_TOKEN".into(), "0123456789abcdef-ops".into());
        let digests = settings.token_digests(&env);
        assert_eq!(digests[0].0, "ops");
        assert_eq!(
            digests[0].2,
            <[u8; 32]>::from(Sha256::digest(b"0123456789abcdef-ops"))
        );
    }

    #[test]
    fn an_unknown_role_is_refused() {
        let issue =
            Settings::from_toml("[[tokens]]\nname = \"x\"\nrole = \"root\"\ntoken_env = \"X\"\n")
                .unwrap_err();
        assert!(issue.path.starts_with("tokens[0].role"), "{issue}");
        assert!(issue.message.contains("root"), "{issue}");
    }
}
