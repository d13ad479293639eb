//! The responder: what Vigil does about problems — incidents and their timeline, noise control, escalation
//! and on-call, paging through a durable outbox — and the store all of it lives in.
//!
//! How it fits: the binary feeds it detector [`model::Signal`]s and Alertmanager alerts
//! ([`AlertInput`]); each becomes or folds into one incident per problem (see [`dedup`] for the keys). A
//! change that should page writes its outbox rows in the same transaction as the incident change
//! ([`store`]), and per-channel delivery workers send them with retries, backoff, a dead-letter state and
//! a fallback channel. The HTTP routes map 1:1 onto [`Responder`] methods.
//!
//! Two design decisions carry the rest:
//! - **Pages never live only in memory.** Every page is an outbox row with a unique idempotency key per
//!   (incident, escalation step, channel); workers claim rows with an expiring lease. A crash delays a page
//!   but neither loses nor duplicates it (receivers see stable PagerDuty `dedup_key`s and Message-IDs).
//! - **Incidents are written whole under a version check.** Several replicas may act on one incident; the
//!   loser of a race re-reads and re-applies, and escalation steps are idempotent because their pages are.
//!
//! Wall-clock time comes from an injectable [`Clock`], so timelines and escalations can be pinned in tests.

pub mod channels;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod dedup;
mod delivery;
pub mod error;
mod evidence;
pub mod healthchecks;
pub mod maintenance;
pub mod matchers;
pub mod oncall;
pub mod page;
pub mod pause;
mod postmortem;
pub mod runbooks;
mod service;
pub mod signing;
pub mod status;
pub mod store;
pub mod time;
mod workers;

pub use channels::{Channel, ChannelError, Delivery};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::ResponderConfig;
pub use error::{ResponderError, Result};
pub use maintenance::MaintenancePeriod;
pub use oncall::OnCallView;
pub use page::{Page, PageAction};
pub use service::{
    AlertInput, AlertStatus, Assign, IncidentDetail, IncidentList, IncidentSummary, IngestOutcome,
    NewIncidentInput, NewSilenceInput, PageList, PageView, Responder, ResponderBuilder, SetLevel,
    SilenceList, SilenceView, StatusUpdate, TimelineView,
};
pub use status::{
    SubscribeOutcome, SubscribeRequest, SubscriptionList, SubscriptionView, SubscriptionsConfig,
};
pub use store::{NewScenarioEvent, ScenarioEvent, Store, StoreError, connect};
