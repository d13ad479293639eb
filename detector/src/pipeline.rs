//! The live pipeline: samples in, signals out.
//!
//! For every series the pipeline keeps one statistical [`Ensemble`] and the state of every policy rule
//! that watches it. A series' *episode* starts when a rule fires (its level and reason come from the
//! most severe firing rule) or when the ensemble's score stays high for the policy's `for` (a minor
//! anomaly, L4 unless the learned classifier says otherwise). It changes level as rules start and stop
//! firing, and ends only after the series has been normal for `clear_after`, so a flapping series makes
//! one signal, not a storm. Groups of related series are also scored jointly by a linfa model.
//!
//! Counters (`*_total`, and gauges that only grow such as chain height) are scored on their per-second
//! rate, and a counter going backwards (a restart) is skipped rather than scored.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::detectors::surprise_to_score;
use crate::ensemble::{Ensemble, EnsembleConfig};
use crate::learn::{GroupModel, GroupModelKind, LearnError, LevelClassifier, MIN_GROUP_ROWS};
use crate::policy::{Policy, Quantity, Rule};
use model::{Evidence, Level, Sample, SeriesKey, Signal, SignalCategory, UnixMs};

/// A group of related series scored together by a multivariate model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// Name of the group; signals about it are on the series `vigil_group_anomaly{group="<name>"}`.
    pub name: String,
    /// Metric names of the members (any labels). A row is formed when the first member updates.
    pub members: Vec<String>,
    pub category: SignalCategory,
    pub component: String,
}

/// Pipeline settings (mechanics; what is an incident lives in the [`Policy`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// Most series tracked at once; the least recently updated one is dropped beyond. Default 10000.
    pub max_series: usize,
    /// The per-series ensemble. Default [`EnsembleConfig::live`].
    pub ensemble: EnsembleConfig,
    /// Name suffixes of counters, scored on their rate. Default `["_total"]`.
    pub counter_suffixes: Vec<String>,
    /// Gauges that only grow (heights, slots), also scored on their rate.
    pub monotonic_names: Vec<String>,
    /// Groups scored by a multivariate model.
    pub groups: Vec<GroupConfig>,
    /// The model used for groups. Default the Gaussian mixture.
    pub group_model: GroupModelKind,
    /// Rows of normal data each group keeps for refitting. Default 720 (an hour at 5 s).
    pub group_window_rows: usize,
    /// Commander labels needed before the learned classifier is used. Default 20.
    pub classifier_min_labels: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            max_series: 10_000,
            ensemble: EnsembleConfig::live(),
            counter_suffixes: vec!["_total".to_owned()],
            monotonic_names: ["chain_head_height", "core_chain_height", "core_chain_slot"]
                .map(str::to_owned)
                .to_vec(),
            groups: vec![GroupConfig {
                name: "chain_health".to_owned(),
                members: [
                    "chain_block_time_seconds",
                    "chain_txs_per_block",
                    "chain_peers",
                    "core_finality_lag_blocks",
                ]
                .map(str::to_owned)
                .to_vec(),
                category: SignalCategory::Chain,
                component: "chain".to_owned(),
            }],
            group_model: GroupModelKind::Gmm,
            group_window_rows: 720,
            classifier_min_labels: 20,
        }
    }
}

/// What [`Pipeline::refit`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefitReport {
    /// Groups whose model was (re)fitted.
    pub groups_fitted: Vec<String>,
    /// Whether the level classifier is in use after the refit.
    pub classifier_active: bool,
}

#[derive(Debug)]
struct RuleState {
    rule: usize,
    since: Option<UnixMs>,
    last_value: f64,
    changed_at: UnixMs,
    recent: VecDeque<(UnixMs, f64)>,
    observed: f64,
}

/// Bounded look-back for rate rules (5 s scrapes over a minute is 12).
const MAX_RATE_POINTS: usize = 32;

impl RuleState {
    /// Updates with a sample and returns the observed quantity (None when it cannot be computed yet).
    fn update(&mut self, rule: &Rule, at: UnixMs, value: f64) -> Option<f64> {
        let observed = match rule.quantity {
            Quantity::Value => Some(value),
            Quantity::Abs => Some(value.abs()),
            Quantity::UnchangedFor => {
                if value != self.last_value {
                    self.last_value = value;
                    self.changed_at = at;
                }
                Some((at - self.changed_at).max(0) as f64 / 1000.0)
            }
            Quantity::RatePctPerMin => {
                let over_ms = rule.over.get().as_millis() as i64;
                // Keep the newest point at or before the look-back edge as the base.
                while self.recent.len() >= 2 && self.recent[1].0 <= at - over_ms {
                    self.recent.pop_front();
                }
                if self.recent.len() == MAX_RATE_POINTS {
                    // Thin out the points after the base rather than drop the base: a fast series (a
                    // read every 100 ms block) must still be measured over the whole look-back.
                    self.recent.remove(1);
                }
                // Until half the look-back is covered there is no rate: extrapolating a per-minute rate
                // from a few hundred milliseconds of noise is how a quiet series looks like a drain.
                let rate = self.recent.front().and_then(|(base_at, base)| {
                    let span_ms = at - base_at;
                    let minutes = span_ms as f64 / 60_000.0;
                    (span_ms * 2 >= over_ms && minutes > 0.0 && *base != 0.0)
                        .then(|| 100.0 * (value - base) / base.abs() / minutes)
                });
                self.recent.push_back((at, value));
                rate
            }
        };
        self.observed = observed.unwrap_or(f64::NAN);
        observed
    }
}

#[derive(Debug, Clone)]
struct Episode {
    id: String,
    started_at: UnixMs,
    level: Level,
    category: SignalCategory,
    component: String,
    reason: String,
    score: f64,
    last_bad: UnixMs,
    evidence: Vec<Evidence>,
    /// Whether a policy rule (rather than the ensemble alone) last set the level.
    from_rule: bool,
}

/// After a rule-driven episode ends, the ensemble may not open a new one on the series for this long:
/// its baselines are still re-learning normal after the incident, and that is not a new anomaly.
const QUIET_AFTER_RULE_MS: i64 = 10 * 60 * 1000;

/// What the series' current sample says should be happening.
struct Verdict {
    level: Level,
    category: SignalCategory,
    component: String,
    reason: String,
    evidence: Vec<Evidence>,
}

/// Tracks "score high for long enough" and the open episode of one series or group.
#[derive(Debug, Default)]
struct Tracker {
    high_since: Option<UnixMs>,
    score: f64,
    episode: Option<Box<Episode>>,
    quiet_until: UnixMs,
}

struct SeriesState {
    key: Arc<SeriesKey>,
    ensemble: Ensemble,
    rate_input: bool,
    previous: Option<(UnixMs, f64)>,
    last_seen: UnixMs,
    rules: Vec<RuleState>,
    tracker: Tracker,
}

impl SeriesState {
    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.ensemble.state_bytes()
            + self
                .rules
                .iter()
                .map(|r| std::mem::size_of::<RuleState>() + r.recent.capacity() * 16)
                .sum::<usize>()
            + self.tracker.episode.as_ref().map_or(0, |e| {
                std::mem::size_of::<Episode>() + e.reason.len() + e.evidence.len() * 128
            })
    }
}

struct GroupState {
    config: GroupConfig,
    key: Arc<SeriesKey>,
    latest: Vec<Option<(UnixMs, f64)>>,
    rows: VecDeque<Vec<f64>>,
    model: Option<GroupModel>,
    tracker: Tracker,
}

/// The live detection pipeline. Not thread-safe by itself: the binary owns it in one task.
pub struct Pipeline {
    config: PipelineConfig,
    policy: Policy,
    series: HashMap<Arc<SeriesKey>, SeriesState>,
    groups: Vec<GroupState>,
    classifier: LevelClassifier,
    episodes_started: u64,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("series", &self.series.len())
            .field("rules", &self.policy.rules.len())
            .finish()
    }
}

impl Pipeline {
    pub fn new(config: PipelineConfig, policy: Policy) -> Self {
        let groups = config
            .groups
            .iter()
            .map(|group| GroupState {
                key: Arc::new(
                    SeriesKey::new("vigil_group_anomaly").with_label("group", group.name.clone()),
                ),
                latest: vec![None; group.members.len()],
                rows: VecDeque::new(),
                model: None,
                tracker: Tracker::default(),
                config: group.clone(),
            })
            .collect();
        let classifier = LevelClassifier::new(config.classifier_min_labels, 10_000);
        Self {
            config,
            policy,
            series: HashMap::new(),
            groups,
            classifier,
            episodes_started: 0,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Scores a sample, learns it, and returns the signals that started, changed level or ended.
    pub fn observe(&mut self, sample: &Sample) -> Vec<Signal> {
        self.observe_inner(sample, true)
    }

    /// Like [`Pipeline::observe`] but leaves every baseline untouched: for maintenance windows, whose
    /// data must not teach the detectors what normal looks like. Rules still apply; the statistical
    /// ensemble does not start new episodes from such samples.
    pub fn observe_excluded(&mut self, sample: &Sample) -> Vec<Signal> {
        self.observe_inner(sample, false)
    }

    fn observe_inner(&mut self, sample: &Sample, learn: bool) -> Vec<Signal> {
        let mut out = Vec::new();
        if !sample.value.is_finite() {
            return out;
        }
        if !self.series.contains_key(&sample.key) {
            if self.series.len() >= self.config.max_series.max(1) {
                self.evict_oldest(sample.at_ms, &mut out);
            }
            let state = self.new_series_state(&sample.key, sample.at_ms, sample.value);
            self.series.insert(Arc::clone(&sample.key), state);
        }
        let Self {
            series,
            policy,
            classifier,
            episodes_started,
            ..
        } = self;
        let Some(state) = series.get_mut(&sample.key) else {
            return out;
        };
        let at = sample.at_ms;
        state.last_seen = at;

        // Hard rules.
        let mut firing: Option<(&Rule, f64, i64)> = None;
        for rule_state in &mut state.rules {
            let rule = &policy.rules[rule_state.rule];
            let held = match rule_state.update(rule, at, sample.value) {
                Some(observed) if rule.op.holds(observed, rule.threshold) => {
                    let since = *rule_state.since.get_or_insert(at);
                    at - since
                }
                _ => {
                    rule_state.since = None;
                    continue;
                }
            };
            if held >= rule.for_duration.get().as_millis() as i64
                && firing.is_none_or(|(best, _, _)| rule.level < best.level)
            {
                firing = Some((rule, rule_state.observed, held));
            }
        }

        // The statistical ensemble (on the rate for counters).
        let input = if state.rate_input {
            let previous = state.previous;
            if learn || previous.is_none() {
                state.previous = Some((at, sample.value));
            }
            match previous {
                Some((before_at, before)) if at > before_at && sample.value >= before => {
                    Some((sample.value - before) * 1000.0 / (at - before_at) as f64)
                }
                // A counter that went backwards restarted: neither score nor learn the jump.
                _ => None,
            }
        } else {
            Some(sample.value)
        };
        let raw_score = match input {
            Some(value) => state.ensemble.observe(at, value, learn).raw_score,
            None => state.tracker.score,
        };
        let ensemble_evidence = |state: &SeriesState| {
            input
                .map(|v| state.ensemble.evidence(v))
                .unwrap_or_default()
        };

        let verdict = if let Some((rule, observed, held)) = firing {
            let mut evidence = vec![Evidence {
                detector: "threshold".to_owned(),
                score: 1.0,
                value: observed,
                baseline: rule.threshold,
                detail: format!("rule {}", rule.name),
            }];
            evidence.extend(ensemble_evidence(state).into_iter().take(2));
            Some(Verdict {
                level: rule.level,
                category: rule.category,
                component: rule.component_for(&state.key),
                reason: rule.reason(observed, held),
                evidence,
            })
        } else {
            let anomalous = state
                .tracker
                .sustained(at, raw_score, learn, &policy.anomaly)
                && at >= state.tracker.quiet_until;
            anomalous.then(|| {
                let (category, component) = default_category(&state.key);
                let held = state.tracker.high_since.map_or(0, |since| at - since);
                Verdict {
                    level: policy.anomaly.level,
                    category,
                    component,
                    reason: format!(
                        "minor anomaly: ensemble score >= {:.2} for {} s (now {:.2}) → {}",
                        policy.anomaly.score,
                        held / 1000,
                        raw_score,
                        policy.anomaly.level
                    ),
                    evidence: ensemble_evidence(state),
                }
            })
        };
        if firing.is_some() {
            // Keep the anomaly clock honest while a rule owns the episode.
            state
                .tracker
                .sustained(at, raw_score, learn, &policy.anomaly);
        }
        state.tracker.score = raw_score;
        // A firing rule is certain by policy, whatever the statistics say.
        let signal_score = if firing.is_some() { 1.0 } else { raw_score };
        if let Some(signal) = advance(
            &mut state.tracker,
            &state.key,
            at,
            signal_score,
            verdict,
            firing.is_some(),
            policy,
            classifier,
            episodes_started,
        ) {
            out.push(signal);
        }

        self.observe_groups(sample, learn, &mut out);
        out
    }

    fn observe_groups(&mut self, sample: &Sample, learn: bool, out: &mut Vec<Signal>) {
        let Self {
            groups,
            policy,
            classifier,
            episodes_started,
            config,
            ..
        } = self;
        for group in groups.iter_mut() {
            let Some(member) = group
                .config
                .members
                .iter()
                .position(|m| *m == sample.key.name)
            else {
                continue;
            };
            group.latest[member] = Some((sample.at_ms, sample.value));
            if member != 0 {
                continue;
            }
            // Members scraped by other targets may lag a little; older than a minute counts as missing.
            let fresh = |entry: &Option<(UnixMs, f64)>| {
                entry
                    .filter(|(at, _)| sample.at_ms - at <= 60_000)
                    .map(|(_, v)| v)
            };
            let Some(row) = group.latest.iter().map(fresh).collect::<Option<Vec<f64>>>() else {
                continue;
            };
            let surprise = group
                .model
                .as_ref()
                .map_or(0.0, |model| model.surprise(&row));
            let score = surprise_to_score(surprise);
            if learn {
                if group.rows.len() >= config.group_window_rows.max(MIN_GROUP_ROWS) {
                    group.rows.pop_front();
                }
                group.rows.push_back(row.clone());
            }
            let anomalous = group
                .tracker
                .sustained(sample.at_ms, score, learn, &policy.anomaly);
            let verdict = anomalous.then(|| Verdict {
                level: policy.anomaly.level,
                category: group.config.category,
                component: group.config.component.clone(),
                reason: format!(
                    "unusual combination of {}: group score {:.2} → {}",
                    group.config.members.join(", "),
                    score,
                    policy.anomaly.level
                ),
                evidence: vec![Evidence {
                    detector: format!(
                        "group_{}",
                        if config.group_model == GroupModelKind::Knn {
                            "knn"
                        } else {
                            "gmm"
                        }
                    ),
                    score,
                    value: surprise,
                    baseline: 0.0,
                    detail: format!(
                        "row {row:?} against {} rows of normal data",
                        group.rows.len()
                    ),
                }],
            });
            group.tracker.score = score;
            if let Some(signal) = advance(
                &mut group.tracker,
                &group.key,
                sample.at_ms,
                score,
                verdict,
                false,
                policy,
                classifier,
                episodes_started,
            ) {
                out.push(signal);
            }
        }
    }

    fn new_series_state(&self, key: &Arc<SeriesKey>, at: UnixMs, value: f64) -> SeriesState {
        let rules = self
            .policy
            .rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| rule.matches(key))
            .map(|(rule, _)| RuleState {
                rule,
                since: None,
                last_value: value,
                changed_at: at,
                recent: VecDeque::new(),
                observed: f64::NAN,
            })
            .collect();
        let rate_input = self
            .config
            .counter_suffixes
            .iter()
            .any(|s| key.name.ends_with(s.as_str()))
            || self.config.monotonic_names.iter().any(|n| *n == key.name);
        SeriesState {
            key: Arc::clone(key),
            ensemble: Ensemble::new(&self.config.ensemble),
            rate_input,
            previous: None,
            last_seen: at,
            rules,
            tracker: Tracker::default(),
        }
    }

    fn evict_oldest(&mut self, at: UnixMs, out: &mut Vec<Signal>) {
        let Some(oldest) = self
            .series
            .values()
            .min_by_key(|s| s.last_seen)
            .map(|s| Arc::clone(&s.key))
        else {
            return;
        };
        if let Some(state) = self.series.remove(&oldest)
            && let Some(episode) = state.tracker.episode
        {
            out.push(signal_of(&state.key, &episode, at, false));
        }
    }

    /// Every open episode as a signal.
    pub fn active_signals(&self) -> Vec<Signal> {
        let series = self.series.values().filter_map(|s| {
            s.tracker
                .episode
                .as_ref()
                .map(|e| signal_of(&s.key, e, e.last_bad.max(s.last_seen), true))
        });
        let groups = self.groups.iter().filter_map(|g| {
            g.tracker
                .episode
                .as_ref()
                .map(|e| signal_of(&g.key, e, e.last_bad, true))
        });
        let mut signals: Vec<Signal> = series.chain(groups).collect();
        signals.sort_by(|a, b| a.level.cmp(&b.level).then(b.score.total_cmp(&a.score)));
        signals
    }

    /// The `n` series with the highest current ensemble score.
    pub fn hottest(&self, n: usize) -> Vec<(SeriesKey, f64)> {
        let mut all: Vec<(SeriesKey, f64)> = self
            .series
            .values()
            .map(|s| ((*s.key).clone(), s.tracker.score))
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1));
        all.truncate(n);
        all
    }

    /// Number of series tracked.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Approximate bytes of detection state held (series keys excluded).
    pub fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self
                .series
                .values()
                .map(SeriesState::state_bytes)
                .sum::<usize>()
            + self
                .groups
                .iter()
                .map(|g| g.rows.len() * (g.config.members.len() * 8 + 24))
                .sum::<usize>()
    }

    /// Records that an incident commander set `level` for `signal`; used from the next refit.
    pub fn record_label(&mut self, signal: &Signal, level: Level) {
        self.classifier.record(signal, level);
    }

    /// Replaces the classifier's labelled history (e.g. loaded from the incident store at start).
    pub fn set_labels(&mut self, labels: impl IntoIterator<Item = (Signal, Level)>) {
        self.classifier.set_labels(labels);
    }

    /// Rows of normal data each group has collected, to fit a model off the hot path.
    pub fn group_training_rows(&self) -> Vec<(String, Vec<Vec<f64>>)> {
        self.groups
            .iter()
            .map(|g| (g.config.name.clone(), g.rows.iter().cloned().collect()))
            .collect()
    }

    /// Swaps in a model fitted elsewhere (see [`GroupModel::fit`]); returns false for an unknown group.
    pub fn install_group_model(&mut self, group: &str, model: GroupModel) -> bool {
        match self.groups.iter_mut().find(|g| g.config.name == group) {
            Some(state) => {
                state.model = Some(model);
                true
            }
            None => false,
        }
    }

    /// Refits the group models and the level classifier in place. Costs milliseconds (see the
    /// benches); call it from a blocking task every few minutes, not per sample.
    pub fn refit(&mut self) -> Result<RefitReport, LearnError> {
        let mut report = RefitReport::default();
        for group in &mut self.groups {
            if group.rows.len() < MIN_GROUP_ROWS {
                continue;
            }
            let rows: Vec<Vec<f64>> = group.rows.iter().cloned().collect();
            group.model = Some(GroupModel::fit(self.config.group_model, &rows)?);
            report.groups_fitted.push(group.config.name.clone());
        }
        report.classifier_active = self.classifier.refit()?;
        Ok(report)
    }
}

impl Tracker {
    /// Updates the high-score clock and says whether the score has been high for long enough.
    fn sustained(
        &mut self,
        at: UnixMs,
        score: f64,
        learn: bool,
        policy: &crate::policy::AnomalyPolicy,
    ) -> bool {
        if score >= policy.score && learn {
            self.high_since.get_or_insert(at);
        } else if score < policy.clear_score || !learn {
            self.high_since = None;
        }
        self.high_since
            .is_some_and(|since| at - since >= policy.for_duration.get().as_millis() as i64)
    }
}

/// Moves an episode forward; returns a signal when it started, changed level or ended.
#[allow(clippy::too_many_arguments)]
fn advance(
    tracker: &mut Tracker,
    key: &SeriesKey,
    at: UnixMs,
    score: f64,
    verdict: Option<Verdict>,
    from_rule: bool,
    policy: &Policy,
    classifier: &LevelClassifier,
    episodes_started: &mut u64,
) -> Option<Signal> {
    match (tracker.episode.as_mut(), verdict) {
        (None, Some(verdict)) => {
            *episodes_started += 1;
            let mut episode = Box::new(Episode {
                id: format!("sig-{at:x}-{episodes_started}"),
                started_at: at,
                level: verdict.level,
                category: verdict.category,
                component: verdict.component,
                reason: verdict.reason,
                score,
                last_bad: at,
                evidence: verdict.evidence,
                from_rule,
            });
            apply_classifier(&mut episode, key, from_rule, classifier, at);
            let signal = signal_of(key, &episode, at, true);
            tracker.episode = Some(episode);
            Some(signal)
        }
        (Some(episode), Some(verdict)) => {
            episode.last_bad = at;
            episode.score = score;
            let previous = episode.level;
            episode.level = verdict.level;
            episode.reason = verdict.reason;
            episode.category = verdict.category;
            episode.component = verdict.component;
            episode.evidence = verdict.evidence;
            episode.from_rule = from_rule;
            apply_classifier(episode, key, from_rule, classifier, at);
            (episode.level != previous).then(|| signal_of(key, episode, at, true))
        }
        (Some(episode), None) => {
            episode.score = score;
            // A rule-driven episode ends when its rules have been quiet for `clear_after`; a statistical
            // one also needs the score to have settled.
            if !episode.from_rule && score >= policy.anomaly.clear_score {
                episode.last_bad = at;
            }
            if at - episode.last_bad >= policy.anomaly.clear_after.get().as_millis() as i64 {
                let signal = signal_of(key, episode, at, false);
                if episode.from_rule {
                    tracker.quiet_until = at + QUIET_AFTER_RULE_MS;
                }
                tracker.episode = None;
                tracker.high_since = None;
                Some(signal)
            } else {
                None
            }
        }
        (None, None) => None,
    }
}

/// Statistical-only episodes take the level commanders gave similar signals, once the classifier has
/// learned enough; rule-based levels stand as the policy says.
fn apply_classifier(
    episode: &mut Episode,
    key: &SeriesKey,
    from_rule: bool,
    classifier: &LevelClassifier,
    at: UnixMs,
) {
    if from_rule {
        return;
    }
    if let Some(level) = classifier.predict(&signal_of(key, episode, at, true))
        && level != episode.level
    {
        episode.level = level;
        episode.reason = format!(
            "{} (learned from {} commander labels → {level})",
            episode.reason,
            classifier.fitted_on()
        );
    }
}

fn signal_of(key: &SeriesKey, episode: &Episode, at: UnixMs, active: bool) -> Signal {
    Signal {
        id: episode.id.clone(),
        series: key.clone(),
        category: episode.category,
        component: episode.component.clone(),
        score: episode.score.clamp(0.0, 1.0),
        level: episode.level,
        reason: episode.reason.clone(),
        started_at_ms: episode.started_at,
        updated_at_ms: at,
        active,
        evidence: episode.evidence.clone(),
    }
}

/// Category and component of a series no rule claims, from its name and labels.
fn default_category(key: &SeriesKey) -> (SignalCategory, String) {
    let name = key.name.as_str();
    let label_or = |label: &str, fallback: &str| key.label(label).unwrap_or(fallback).to_owned();
    if name.starts_with("peg_")
        || name.starts_with("core_token_price")
        || name.starts_with("core_peg")
    {
        (SignalCategory::Peg, "peg".to_owned())
    } else if name.starts_with("core_module_value_locked")
        || name.starts_with("core_module_outflow")
    {
        (SignalCategory::Security, label_or("module", "modules"))
    } else if name.starts_with("core_module_") {
        (SignalCategory::Infra, label_or("module", "modules"))
    } else if name.starts_with("chain_")
        || name.starts_with("core_chain")
        || name.starts_with("core_block")
        || name.starts_with("core_finality")
        || name.starts_with("core_peers")
        || name.starts_with("core_validator")
        || name.starts_with("core_missed")
    {
        (SignalCategory::Chain, "chain".to_owned())
    } else if name.starts_with("ux_") {
        (SignalCategory::Ux, label_or("region", "ux"))
    } else {
        (SignalCategory::Infra, label_or("target", name))
    }
}

#[cfg(test)]
mod tests;
