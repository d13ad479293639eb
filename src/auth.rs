//! Bearer tokens and roles.
//!
//! Roles are ordered `viewer < responder < guardian < admin`, each with the rights of those before it;
//! `governor` is separate (viewer rights plus approving unpauses). Tokens are kept only as SHA-256 digests and
//! compared in constant time. With no tokens configured Vigil serves loopback only and treats every request
//! as `admin` (config validation refuses anything else).

use std::fmt;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::api::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Responder,
    Guardian,
    Governor,
    Admin,
}

impl Role {
    /// Whether a holder of `self` may do what `required` allows.
    pub fn allows(self, required: Role) -> bool {
        fn rank(role: Role) -> u8 {
            match role {
                Role::Viewer | Role::Governor => 0,
                Role::Responder => 1,
                Role::Guardian => 2,
                Role::Admin => 3,
            }
        }
        match required {
            // Approving an unpause is the governors' alone.
            Role::Governor => self == Role::Governor,
            _ => rank(self) >= rank(required),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Guardian => "guardian",
            Role::Governor => "governor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The configured tokens.
#[derive(Clone, Default)]
pub struct TokenTable {
    entries: Arc<Vec<(String, Role, [u8; 32])>>,
}

impl TokenTable {
    pub fn new(entries: Vec<(String, Role, [u8; 32])>) -> Self {
        Self {
            entries: Arc::new(entries),
        }
    }

    /// True when no tokens are configured: loopback-only, everyone is admin.
    pub fn is_open(&self) -> bool {
        self.entries.is_empty()
    }

    /// The holder of `token`, checked against every entry so timing does not reveal which one matched.
    pub fn identify(&self, token: &str) -> Option<Principal> {
        let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (name, role, digest) in self.entries.iter() {
            if bool::from(presented.ct_eq(digest)) && found.is_none() {
                found = Some(Principal {
                    name: name.clone(),
                    role: *role,
                });
            }
        }
        found
    }
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

impl Principal {
    /// Fails with 403 unless the principal's role allows `required`.
    pub fn require(&self, required: Role) -> Result<(), ApiError> {
        if self.role.allows(required) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "{} ({}) may not do this: it needs the {required} role",
                self.name, self.role
            )))
        }
    }
}

/// Anything that can hand out the token table (the app state).
pub trait HasTokens {
    fn tokens(&self) -> &TokenTable;
}

impl<S: HasTokens + Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let tokens = state.tokens();
        if tokens.is_open() {
            return Ok(Principal {
                name: "local".into(),
                role: Role::Admin,
            });
        }
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthenticated(
                "missing Authorization header; send \"Authorization: Bearer TOKEN\"",
            )
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ApiError::unauthenticated(
                    "malformed Authorization header; expected \"Bearer TOKEN\"",
                )
            })?;
        tokens
            .identify(token)
            .ok_or_else(|| ApiError::unauthenticated("unknown token"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_include_the_rights_of_those_before_them() {
        assert!(Role::Admin.allows(Role::Guardian));
        assert!(Role::Guardian.allows(Role::Responder));
        assert!(!Role::Responder.allows(Role::Guardian));
        assert!(!Role::Viewer.allows(Role::Responder));
        assert!(Role::Governor.allows(Role::Viewer));
        assert!(!Role::Governor.allows(Role::Responder));
        assert!(Role::Governor.allows(Role::Governor));
        assert!(
            !Role::Admin.allows(Role::Governor),
            "approving unpauses is the governors' alone"
        );
    }

    #[test]
    fn tokens_are_identified_by_digest() {
        let table = TokenTable::new(vec![(
            "ops".into(),
            Role::Admin,
            Sha256::digest(b"secret-token-1234").into(),
        )]);
        assert_eq!(table.identify("secret-token-1234").unwrap().name, "ops");
        assert!(table.identify("secret-token-1235").is_none());
        assert!(!table.is_open());
    }
}
