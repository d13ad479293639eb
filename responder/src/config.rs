//! The responder's configuration: paging channels (`[[channels]]`), escalation policies (`[[escalation]]`),
//! noise control (inhibition rules, maintenance windows), on-call schedules, heartbeats, delivery tuning.
//!
//! Every type rejects unknown keys and has a default, and [`ResponderConfig::validate`] collects every
//! problem with its path so `vigil check` can print them all at once. Secrets are never in the file: each
//! is read from the environment variable the config names (`password_env`, `secret_env`, …).

use std::collections::BTreeSet;

use model::{HumanDuration, Level};
use serde::{Deserialize, Serialize};

use crate::matchers::Matcher;

/// Everything the responder needs. The binary may spread it over top-level tables (`[[channels]]`,
/// `[[escalation]]`) and a `[responder]` table; it is one struct here so it validates as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponderConfig {
    /// Vigil's URL as people reach it; ack links and incident links start with it.
    /// Default `http://127.0.0.1:8080`.
    pub base_url: String,
    /// Environment variable holding the secret that signs acknowledge links. Unset (the default): a random
    /// secret per process, so links stop working after a restart.
    pub ack_secret_env: Option<String>,
    /// How long an acknowledge link stays valid. Default 24h.
    pub ack_link_ttl: HumanDuration,
    /// How long an incident's signals and alerts must all be clear before it resolves itself. Default 5m.
    pub auto_resolve_after: HumanDuration,
    /// Alert labels that name one problem: alerts equal in these labels fold into one incident.
    /// Default `["alertname", "component", "service", "chain"]`.
    pub alert_group_by: Vec<String>,
    pub delivery: DeliveryConfig,
    pub digest: DigestConfig,
    /// Paging channels. Default: one `log` channel named `log`.
    pub channels: Vec<ChannelConfig>,
    /// Escalation policies per level; a level not listed gets its default policy (see
    /// [`EscalationConfig::default_for`]).
    pub escalation: Vec<EscalationConfig>,
    /// Inhibition rules. Default: see [`InhibitRuleConfig::defaults`].
    pub inhibit: Vec<InhibitRuleConfig>,
    pub maintenance: Vec<MaintenanceConfig>,
    pub oncall: Vec<ScheduleConfig>,
    pub heartbeats: Vec<HeartbeatConfig>,
    /// Vigil's own dead-man's switch: a URL pinged periodically, which alerts elsewhere when pings stop.
    pub dead_mans_switch: Option<DeadMansSwitchConfig>,
    /// Status-page subscriptions (email and webhook notices of public incident updates).
    pub subscriptions: crate::status::SubscriptionsConfig,
}

impl Default for ResponderConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8080".to_owned(),
            ack_secret_env: None,
            ack_link_ttl: HumanDuration::from_secs(24 * 3600),
            auto_resolve_after: HumanDuration::from_secs(300),
            alert_group_by: ["alertname", "component", "service", "chain"]
                .map(str::to_owned)
                .to_vec(),
            delivery: DeliveryConfig::default(),
            digest: DigestConfig::default(),
            channels: vec![ChannelConfig::Log(LogChannelConfig {
                name: "log".to_owned(),
                fallback: None,
            })],
            escalation: Vec::new(),
            inhibit: InhibitRuleConfig::defaults(),
            maintenance: Vec::new(),
            oncall: Vec::new(),
            heartbeats: Vec::new(),
            dead_mans_switch: None,
            subscriptions: crate::status::SubscriptionsConfig::default(),
        }
    }
}

/// How the outbox is drained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// How often each channel's worker looks for due pages (it is also woken when pages are queued).
    /// Default 1s.
    pub poll_interval: HumanDuration,
    /// How long a claimed page is reserved for its worker; after a crash it is retried once this passes.
    /// Default 60s.
    pub lease: HumanDuration,
    /// Attempts per page before it is dead-lettered (`failed`). Default 8.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt, with jitter (50–100 % of the nominal delay). Default 5s.
    pub initial_backoff: HumanDuration,
    /// Largest retry delay. Default 10m.
    pub max_backoff: HumanDuration,
    /// One send may take this long before it counts as a retryable failure. Default 15s.
    pub send_timeout: HumanDuration,
    /// A trigger page still undelivered after this long, or dead-lettered, goes to its channel's
    /// `fallback`. Default 5m.
    pub fallback_after: HumanDuration,
    /// Pages claimed per round. Default 16.
    pub batch: u32,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            poll_interval: HumanDuration::from_secs(1),
            lease: HumanDuration::from_secs(60),
            max_attempts: 8,
            initial_backoff: HumanDuration::from_secs(5),
            max_backoff: HumanDuration::from_secs(600),
            send_timeout: HumanDuration::from_secs(15),
            fallback_after: HumanDuration::from_secs(300),
            batch: 16,
        }
    }
}

/// The daily digest that L4 incidents go to instead of a page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigestConfig {
    /// Local time of day, `HH:MM`. Default `09:00`.
    pub at: String,
    /// IANA time zone of `at`. Default `UTC`.
    pub time_zone: String,
    /// Channels the digest goes to. Default (empty): the channels of the L3 policy's first step.
    pub channels: Vec<String>,
}

impl Default for DigestConfig {
    fn default() -> Self {
        Self {
            at: "09:00".to_owned(),
            time_zone: "UTC".to_owned(),
            channels: Vec::new(),
        }
    }
}

/// One paging channel, chosen by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelConfig {
    Log(LogChannelConfig),
    Email(EmailChannelConfig),
    Slack(SlackChannelConfig),
    Pagerduty(PagerDutyChannelConfig),
    Webhook(WebhookChannelConfig),
}

impl ChannelConfig {
    pub fn name(&self) -> &str {
        match self {
            ChannelConfig::Log(config) => &config.name,
            ChannelConfig::Email(config) => &config.name,
            ChannelConfig::Slack(config) => &config.name,
            ChannelConfig::Pagerduty(config) => &config.name,
            ChannelConfig::Webhook(config) => &config.name,
        }
    }

    /// The channel that takes over when this one fails or is too slow.
    pub fn fallback(&self) -> Option<&str> {
        match self {
            ChannelConfig::Log(config) => config.fallback.as_deref(),
            ChannelConfig::Email(config) => config.fallback.as_deref(),
            ChannelConfig::Slack(config) => config.fallback.as_deref(),
            ChannelConfig::Pagerduty(config) => config.fallback.as_deref(),
            ChannelConfig::Webhook(config) => config.fallback.as_deref(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Log(_) => "log",
            ChannelConfig::Email(_) => "email",
            ChannelConfig::Slack(_) => "slack",
            ChannelConfig::Pagerduty(_) => "pagerduty",
            ChannelConfig::Webhook(_) => "webhook",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogChannelConfig {
    pub name: String,
    #[serde(default)]
    pub fallback: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain text; only for a local relay or a test sink.
    None,
    /// Plain connection upgraded with STARTTLS (required). The default.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailChannelConfig {
    pub name: String,
    pub smtp_host: String,
    /// Default: 25 for `tls = "none"`, 587 for `starttls`, 465 for `tls`.
    #[serde(default)]
    pub smtp_port: Option<u16>,
    #[serde(default)]
    pub tls: SmtpTls,
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the SMTP password (with `username`).
    #[serde(default)]
    pub password_env: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    #[serde(default)]
    pub fallback: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackChannelConfig {
    pub name: String,
    /// The incoming-webhook URL.
    pub url: String,
    #[serde(default)]
    pub fallback: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyChannelConfig {
    pub name: String,
    /// Environment variable holding the Events API v2 routing (integration) key.
    pub routing_key_env: String,
    /// Default `https://events.pagerduty.com/v2/enqueue`.
    #[serde(default = "default_pagerduty_url")]
    pub url: String,
    #[serde(default)]
    pub fallback: Option<String>,
}

fn default_pagerduty_url() -> String {
    "https://events.pagerduty.com/v2/enqueue".to_owned()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookChannelConfig {
    pub name: String,
    pub url: String,
    /// Environment variable holding the HMAC secret for `X-Vigil-Signature`. Unset: unsigned.
    #[serde(default)]
    pub secret_env: Option<String>,
    #[serde(default)]
    pub fallback: Option<String>,
}

/// Who is paged, when, for incidents of one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationConfig {
    pub level: Level,
    /// Steps in order of `after` (time since the incident opened or was reclassified). L4 takes none: it
    /// goes to the daily digest.
    #[serde(default)]
    pub steps: Vec<EscalationStepConfig>,
    /// Start over from the first step this long after the last one while nobody acknowledges.
    #[serde(default)]
    pub repeat: Option<HumanDuration>,
    /// An on-call schedule whose current member is named in the page.
    #[serde(default)]
    pub schedule: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationStepConfig {
    pub after: HumanDuration,
    pub channels: Vec<String>,
}

impl EscalationConfig {
    /// The policy a level gets when the config has none: every page goes to the `log` channel; L1 repeats
    /// at 5m and every 30m, L2 at 15m, L3 once, L4 in the digest.
    pub fn default_for(level: Level) -> Self {
        let step = |secs: u64| EscalationStepConfig {
            after: HumanDuration::from_secs(secs),
            channels: vec!["log".to_owned()],
        };
        let (steps, repeat) = match level {
            Level::L1 => (
                vec![step(0), step(300)],
                Some(HumanDuration::from_secs(1800)),
            ),
            Level::L2 => (vec![step(0), step(900)], None),
            Level::L3 => (vec![step(0)], None),
            Level::L4 => (Vec::new(), None),
        };
        Self {
            level,
            steps,
            repeat,
            schedule: None,
        }
    }
}

/// A source incident suppresses paging for target incidents that are equal in the `equal` labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    pub name: String,
    pub source: Vec<Matcher>,
    pub target: Vec<Matcher>,
    #[serde(default)]
    pub equal: Vec<String>,
}

impl InhibitRuleConfig {
    /// The default rules:
    /// - `chain-head-stalled`: a stalled chain head (detector rules on `chain_head_age_seconds` or
    ///   `core_chain_height`, or an alert named `ChainHalted`/`ChainHeadStalled`) inhibits module-level
    ///   incidents (those with a `module` label) on the same `chain`;
    /// - `core-rpc-down`: the embedded core's RPC target down (`target="core-rpc"` on `up` or
    ///   `probe_success`) inhibits chain incidents.
    pub fn defaults() -> Vec<Self> {
        let matchers = |texts: &[&str]| {
            texts
                .iter()
                .map(|text| Matcher::parse(text).expect("default matchers parse"))
                .collect::<Vec<_>>()
        };
        vec![
            Self {
                name: "chain-head-stalled".to_owned(),
                source: matchers(&[r#"series=~"chain_head_age_seconds|core_chain_height""#]),
                target: matchers(&[r#"module!="""#]),
                equal: vec!["chain".to_owned()],
            },
            Self {
                name: "chain-halted-alert".to_owned(),
                source: matchers(&[r#"alertname=~"ChainHalted|ChainHeadStalled""#]),
                target: matchers(&[r#"module!="""#]),
                equal: vec!["chain".to_owned()],
            },
            Self {
                name: "core-rpc-down".to_owned(),
                source: matchers(&[r#"target="core-rpc""#, r#"series=~"up|probe_success""#]),
                target: matchers(&[r#"category="chain""#]),
                equal: Vec::new(),
            },
        ]
    }
}

/// A period during which the listed components are not paged for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceConfig {
    pub name: String,
    /// Components muted; empty or `["*"]` means all.
    #[serde(default)]
    pub components: Vec<String>,
    /// IANA time zone of `start`, `cron` and `weekly`. Default `UTC`.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// One-off: local start, `YYYY-MM-DDTHH:MM[:SS]`.
    #[serde(default)]
    pub start: Option<String>,
    /// Recurring: a cron expression (5 or 6 fields, seconds first when 6), local time.
    #[serde(default)]
    pub cron: Option<String>,
    /// Recurring: days of the week and a local start time.
    #[serde(default)]
    pub weekly: Option<WeeklyConfig>,
    pub duration: HumanDuration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklyConfig {
    /// `mon` … `sun`.
    pub days: Vec<String>,
    /// `HH:MM`.
    pub at: String,
}

fn utc() -> String {
    "UTC".to_owned()
}

/// An on-call rotation: members take turns, handing off at a local time of day every `rotation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub name: String,
    /// IANA time zone of `handoff`, `start`, `hours` and overrides.
    pub time_zone: String,
    /// Local hand-off time, `HH:MM`. Hand-offs stay at this local time across DST changes.
    pub handoff: String,
    /// Whole days per turn, e.g. `"1d"` or `"7d"`.
    pub rotation: HumanDuration,
    /// The local date of the first hand-off (to `members[0]`), `YYYY-MM-DD`.
    pub start: String,
    pub members: Vec<String>,
    /// Only cover these local hours, `HH:MM-HH:MM` (may wrap midnight); outside them nobody is on call.
    #[serde(default)]
    pub hours: Option<String>,
    #[serde(default)]
    pub overrides: Vec<OverrideConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideConfig {
    /// Local `YYYY-MM-DDTHH:MM`.
    pub start: String,
    pub end: String,
    pub member: String,
}

/// A job that must check in (`POST /api/v1/heartbeats/{name}`) at least every `interval`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    pub name: String,
    pub interval: HumanDuration,
    /// Extra slack before a missed check-in opens an incident. Default 1m.
    #[serde(default = "default_grace")]
    pub grace: HumanDuration,
    /// Level of the incident a silent job opens. Default L2.
    #[serde(default = "default_heartbeat_level")]
    pub level: Level,
}

fn default_grace() -> HumanDuration {
    HumanDuration::from_secs(60)
}

fn default_heartbeat_level() -> Level {
    Level::L2
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadMansSwitchConfig {
    pub url: String,
    /// Default 1m.
    #[serde(default = "default_ping_interval")]
    pub interval: HumanDuration,
}

fn default_ping_interval() -> HumanDuration {
    HumanDuration::from_secs(60)
}

impl ResponderConfig {
    /// The channels the daily digest goes to.
    pub fn digest_channels(&self) -> Vec<String> {
        if !self.digest.channels.is_empty() {
            return self.digest.channels.clone();
        }
        self.policies()
            .into_iter()
            .find(|policy| policy.level == Level::L3)
            .and_then(|policy| policy.steps.first().map(|step| step.channels.clone()))
            .unwrap_or_default()
    }

    /// The effective policy of every level: configured ones, defaults for the rest.
    pub fn policies(&self) -> Vec<EscalationConfig> {
        Level::ALL
            .iter()
            .map(|level| {
                self.escalation
                    .iter()
                    .find(|policy| policy.level == *level)
                    .cloned()
                    .unwrap_or_else(|| EscalationConfig::default_for(*level))
            })
            .collect()
    }

    /// Every problem in the config, as (path, message), paths starting with `prefix` (e.g. `responder`).
    pub fn validate(&self, prefix: &str) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let at = |path: &str| {
            if prefix.is_empty() {
                path.to_owned()
            } else {
                format!("{prefix}.{path}")
            }
        };
        let mut report = |path: String, message: String| problems.push((path, message));

        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            report(
                at("base_url"),
                format!("{:?} is not an http(s) URL", self.base_url),
            );
        }
        if self.ack_link_ttl.get().is_zero() {
            report(at("ack_link_ttl"), "must be longer than 0s".to_owned());
        }
        if self.alert_group_by.is_empty() {
            report(at("alert_group_by"), "needs at least one label".to_owned());
        }
        let delivery = &self.delivery;
        if delivery.max_attempts == 0 {
            report(at("delivery.max_attempts"), "must be at least 1".to_owned());
        }
        if delivery.batch == 0 {
            report(at("delivery.batch"), "must be at least 1".to_owned());
        }
        for (name, value) in [
            ("poll_interval", delivery.poll_interval),
            ("lease", delivery.lease),
            ("send_timeout", delivery.send_timeout),
            ("initial_backoff", delivery.initial_backoff),
        ] {
            if value.get().is_zero() {
                report(
                    at(&format!("delivery.{name}")),
                    "must be longer than 0s".to_owned(),
                );
            }
        }
        if delivery.lease.get() <= delivery.send_timeout.get() {
            report(
                at("delivery.lease"),
                "must be longer than delivery.send_timeout, or a slow send could be claimed twice"
                    .to_owned(),
            );
        }

        let mut names = BTreeSet::new();
        for (index, channel) in self.channels.iter().enumerate() {
            let path = at(&format!("channels[{index}]"));
            if channel.name().trim().is_empty() {
                report(format!("{path}.name"), "must not be empty".to_owned());
            } else if crate::status::RESERVED_CHANNELS.contains(&channel.name()) {
                report(
                    format!("{path}.name"),
                    format!(
                        "{:?} is reserved for status-page subscribers",
                        channel.name()
                    ),
                );
            } else if !names.insert(channel.name().to_owned()) {
                report(
                    format!("{path}.name"),
                    format!("duplicate channel name {:?}", channel.name()),
                );
            }
            match channel {
                ChannelConfig::Log(_) => {}
                ChannelConfig::Email(email) => {
                    if email.smtp_host.trim().is_empty() {
                        report(format!("{path}.smtp_host"), "must not be empty".to_owned());
                    }
                    if email.from.parse::<lettre::message::Mailbox>().is_err() {
                        report(
                            format!("{path}.from"),
                            format!("{:?} is not an email address", email.from),
                        );
                    }
                    if email.to.is_empty() {
                        report(
                            format!("{path}.to"),
                            "needs at least one address".to_owned(),
                        );
                    }
                    for (to_index, to) in email.to.iter().enumerate() {
                        if to.parse::<lettre::message::Mailbox>().is_err() {
                            report(
                                format!("{path}.to[{to_index}]"),
                                format!("{to:?} is not an email address"),
                            );
                        }
                    }
                    if email.password_env.is_some() != email.username.is_some() {
                        report(
                            format!("{path}.password_env"),
                            "username and password_env go together".to_owned(),
                        );
                    }
                }
                ChannelConfig::Slack(SlackChannelConfig { url, .. })
                | ChannelConfig::Webhook(WebhookChannelConfig { url, .. })
                | ChannelConfig::Pagerduty(PagerDutyChannelConfig { url, .. }) => {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        report(
                            format!("{path}.url"),
                            format!("{url:?} is not an http(s) URL"),
                        );
                    }
                }
            }
        }
        self.subscriptions
            .validate(&at("subscriptions"), &self.channels, &mut report);
        for (index, channel) in self.channels.iter().enumerate() {
            if let Some(fallback) = channel.fallback() {
                if !names.contains(fallback) {
                    report(
                        at(&format!("channels[{index}].fallback")),
                        format!("no channel is named {fallback:?}"),
                    );
                } else if fallback == channel.name() {
                    report(
                        at(&format!("channels[{index}].fallback")),
                        "cannot be the channel itself".to_owned(),
                    );
                }
            }
        }
        let known_channel = |name: &str| names.contains(name);

        let schedules: BTreeSet<&str> = self.oncall.iter().map(|s| s.name.as_str()).collect();
        let mut levels = BTreeSet::new();
        for (index, policy) in self.escalation.iter().enumerate() {
            let path = at(&format!("escalation[{index}]"));
            if !levels.insert(policy.level) {
                report(
                    format!("{path}.level"),
                    format!("a second policy for {}", policy.level),
                );
            }
            if policy.level == Level::L4 && !policy.steps.is_empty() {
                report(
                    format!("{path}.steps"),
                    "L4 incidents go to the daily digest and are never paged; remove the steps"
                        .to_owned(),
                );
            }
            if policy.level != Level::L4 && policy.steps.is_empty() {
                report(
                    format!("{path}.steps"),
                    "needs at least one step".to_owned(),
                );
            }
            let mut previous = None;
            for (step_index, step) in policy.steps.iter().enumerate() {
                if previous.is_some_and(|previous| step.after < previous) {
                    report(
                        format!("{path}.steps[{step_index}].after"),
                        "steps must be in order of `after`".to_owned(),
                    );
                }
                previous = Some(step.after);
                if step.channels.is_empty() {
                    report(
                        format!("{path}.steps[{step_index}].channels"),
                        "needs at least one channel".to_owned(),
                    );
                }
                for channel in &step.channels {
                    if !known_channel(channel) {
                        report(
                            format!("{path}.steps[{step_index}].channels"),
                            format!("no channel is named {channel:?}"),
                        );
                    }
                }
            }
            if policy.repeat.is_some_and(|repeat| repeat.get().is_zero()) {
                report(
                    format!("{path}.repeat"),
                    "must be longer than 0s".to_owned(),
                );
            }
            if let Some(schedule) = &policy.schedule
                && !schedules.contains(schedule.as_str())
            {
                report(
                    format!("{path}.schedule"),
                    format!("no on-call schedule is named {schedule:?}"),
                );
            }
        }
        // Default policies page `log`; without such a channel they would page nobody.
        for level in Level::ALL {
            if level != Level::L4 && !levels.contains(&level) && !known_channel("log") {
                report(
                    at("escalation"),
                    format!(
                        "{level} has no policy and the default one pages the `log` channel, which is not configured"
                    ),
                );
            }
        }

        if crate::time::parse_hh_mm(&self.digest.at).is_err() {
            report(
                at("digest.at"),
                format!("{:?} is not a HH:MM time", self.digest.at),
            );
        }
        if crate::time::parse_tz(&self.digest.time_zone).is_err() {
            report(
                at("digest.time_zone"),
                format!("unknown time zone {:?}", self.digest.time_zone),
            );
        }
        for channel in &self.digest.channels {
            if !known_channel(channel) {
                report(
                    at("digest.channels"),
                    format!("no channel is named {channel:?}"),
                );
            }
        }

        for (index, window) in self.maintenance.iter().enumerate() {
            if let Err(message) = crate::maintenance::MaintenanceWindow::from_config(window) {
                report(at(&format!("maintenance[{index}]")), message);
            }
        }
        let mut schedule_names = BTreeSet::new();
        for (index, schedule) in self.oncall.iter().enumerate() {
            if !schedule_names.insert(schedule.name.as_str()) {
                report(
                    at(&format!("oncall[{index}].name")),
                    format!("duplicate schedule {:?}", schedule.name),
                );
            }
            if let Err(message) = crate::oncall::Schedule::from_config(schedule) {
                report(at(&format!("oncall[{index}]")), message);
            }
        }
        let mut heartbeat_names = BTreeSet::new();
        for (index, heartbeat) in self.heartbeats.iter().enumerate() {
            if !heartbeat_names.insert(heartbeat.name.as_str()) {
                report(
                    at(&format!("heartbeats[{index}].name")),
                    format!("duplicate heartbeat {:?}", heartbeat.name),
                );
            }
            if heartbeat.interval.get().is_zero() {
                report(
                    at(&format!("heartbeats[{index}].interval")),
                    "must be longer than 0s".to_owned(),
                );
            }
        }
        if let Some(switch) = &self.dead_mans_switch {
            if !(switch.url.starts_with("http://") || switch.url.starts_with("https://")) {
                report(
                    at("dead_mans_switch.url"),
                    format!("{:?} is not an http(s) URL", switch.url),
                );
            }
            if switch.interval.get().is_zero() {
                report(
                    at("dead_mans_switch.interval"),
                    "must be longer than 0s".to_owned(),
                );
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_config_is_valid() {
        assert_eq!(ResponderConfig::default().validate("responder"), Vec::new());
    }

    #[test]
    fn parses_the_contract_keys() {
        let config: ResponderConfig = toml::from_str(
            r#"
            [[channels]]
            name = "log"
            kind = "log"
            [[channels]]
            name = "email"
            kind = "email"
            smtp_host = "127.0.0.1"
            smtp_port = 2525
            tls = "none"
            from = "vigil@example.test"
            to = ["oncall@example.test"]
            fallback = "log"
            [[escalation]]
            level = "L1"
            steps = [{after = "0s", channels = ["log", "email"]}, {after = "5m", channels = ["email"]}]
            repeat = "30m"
            "#,
        )
        .unwrap();
        assert_eq!(config.validate(""), Vec::new());
        assert_eq!(config.channels[1].fallback(), Some("log"));
        assert_eq!(
            config.policies()[0].steps[1].after,
            HumanDuration::from_secs(300)
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let error = toml::from_str::<ResponderConfig>(
            r#"
            [[channels]]
            name = "x"
            kind = "webhook"
            url = "http://x"
            secret = "inline secrets are not allowed"
            "#,
        )
        .unwrap_err();
        assert!(error.to_string().contains("secret"), "{error}");
    }

    #[test]
    fn validation_reports_every_problem_with_its_path() {
        let config: ResponderConfig = toml::from_str(
            r#"
            [[channels]]
            name = "log"
            kind = "log"
            fallback = "pager"
            [[escalation]]
            level = "L4"
            steps = [{after = "0s", channels = ["log"]}]
            [[escalation]]
            level = "L1"
            steps = [{after = "5m", channels = ["sms"]}, {after = "1m", channels = ["log"]}]
            [[oncall]]
            name = "primary"
            time_zone = "Mars/Olympus"
            handoff = "06:00"
            rotation = "1d"
            start = "2026-01-01"
            members = ["alice"]
            "#,
        )
        .unwrap();
        let problems = config.validate("responder");
        let paths: Vec<&str> = problems.iter().map(|(path, _)| path.as_str()).collect();
        assert!(
            paths.contains(&"responder.channels[0].fallback"),
            "{problems:?}"
        );
        assert!(
            paths.contains(&"responder.escalation[0].steps"),
            "{problems:?}"
        );
        assert!(
            paths.contains(&"responder.escalation[1].steps[0].channels"),
            "{problems:?}"
        );
        assert!(
            paths.contains(&"responder.escalation[1].steps[1].after"),
            "{problems:?}"
        );
        assert!(paths.contains(&"responder.oncall[0]"), "{problems:?}");
    }
}
