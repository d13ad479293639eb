//! The responder's error type, classified by [`model::ErrorKind`] for the HTTP layer.

use crate::channels::ChannelError;
use crate::signing::AckLinkError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ResponderError {
    #[error("incident {0} not found")]
    IncidentNotFound(String),
    #[error("silence {0} not found")]
    SilenceNotFound(i64),
    #[error("heartbeat {0:?} is not configured")]
    UnknownHeartbeat(String),
    #[error("on-call schedule {0:?} is not configured")]
    UnknownSchedule(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("incident {id} is {state}; cannot {action}")]
    WrongState {
        id: String,
        state: &'static str,
        action: &'static str,
    },
    #[error(transparent)]
    AckLink(#[from] AckLinkError),
    /// A confirm or unsubscribe link that is malformed, forged, expired or superseded.
    #[error("subscription link is not valid: {0}")]
    SubscriptionLink(String),
    #[error("subscription {0} not found")]
    SubscriptionNotFound(String),
    /// Subscriptions (or this kind of them) are switched off in the config.
    #[error("{0}")]
    SubscriptionsUnavailable(String),
    #[error("responder storage failed")]
    Store(#[from] StoreError),
    #[error("invalid responder configuration: {}", .0.iter().map(|(path, message)| format!("{path}: {message}")).collect::<Vec<_>>().join("; "))]
    Config(Vec<(String, String)>),
    #[error("cannot build channel {name}")]
    Channel {
        name: String,
        #[source]
        source: ChannelError,
    },
}

impl model::HasKind for ResponderError {
    fn kind(&self) -> model::ErrorKind {
        use model::ErrorKind;
        match self {
            ResponderError::IncidentNotFound(_)
            | ResponderError::SilenceNotFound(_)
            | ResponderError::UnknownHeartbeat(_)
            | ResponderError::UnknownSchedule(_)
            | ResponderError::SubscriptionNotFound(_) => ErrorKind::NotFound,
            ResponderError::SubscriptionLink(_) => ErrorKind::Forbidden,
            ResponderError::SubscriptionsUnavailable(_) => ErrorKind::Conflict,
            ResponderError::InvalidInput(_) | ResponderError::Config(_) => ErrorKind::InvalidInput,
            ResponderError::WrongState { .. } => ErrorKind::Conflict,
            ResponderError::AckLink(error) => error.kind(),
            ResponderError::Store(error) => error.kind(),
            ResponderError::Channel { .. } => ErrorKind::InvalidInput,
        }
    }
}

pub type Result<T, E = ResponderError> = std::result::Result<T, E>;
