//! A deliberately small, coarse error taxonomy shared by every crate.
//!
//! Each crate keeps its own precise error enum; this kind is what the HTTP layer maps to a status code and
//! what callers branch on (retry or not, 4xx or 5xx).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The caller sent something malformed or out of range.
    InvalidInput,
    /// The thing named does not exist.
    NotFound,
    /// The request conflicts with the current state.
    Conflict,
    /// No or unknown credentials.
    Unauthenticated,
    /// Known credentials without the right role.
    Forbidden,
    /// A dependency is down; retrying later may work.
    Unavailable,
    /// A bug or an unexpected failure.
    Internal,
}

impl ErrorKind {
    /// The HTTP status code this kind maps to.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InvalidInput => 400,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }

    /// A stable machine-readable code for API error bodies.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }

    /// Whether an operation failing with this kind may succeed if retried unchanged.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Unavailable)
    }
}

/// Implemented by every crate's error type so callers can classify it without knowing it.
pub trait HasKind {
    fn kind(&self) -> ErrorKind;
}
