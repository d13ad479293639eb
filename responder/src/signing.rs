//! HMAC-SHA256 signatures: one-click acknowledge links and the generic webhook's `X-Vigil-Signature`.
//!
//! An ack token is `<incident id>.<expiry unix ms>.<hex HMAC(secret, "<incident id>.<expiry>")>`: readable,
//! URL-safe (incident ids are `inc-<hex>`), verifiable without a database lookup, and useless after expiry.

use hmac::{Hmac, KeyInit, Mac};
use model::UnixMs;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why an acknowledge token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckLinkError {
    #[error("acknowledge link is malformed")]
    Malformed,
    #[error("acknowledge link signature does not match")]
    BadSignature,
    #[error("acknowledge link expired at {expired_at_ms} (unix ms)")]
    Expired { expired_at_ms: UnixMs },
}

impl model::HasKind for AckLinkError {
    fn kind(&self) -> model::ErrorKind {
        match self {
            AckLinkError::Malformed => model::ErrorKind::InvalidInput,
            AckLinkError::BadSignature => model::ErrorKind::Unauthenticated,
            AckLinkError::Expired { .. } => model::ErrorKind::Forbidden,
        }
    }
}

/// Returns HMAC-SHA256(`key`, `message`) as lowercase hex.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("hmac takes keys of any length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// The `X-Vigil-Signature` header value for a webhook body sent at `timestamp` (unix seconds):
/// `sha256=<hex HMAC(secret, "<timestamp>.<body>")>`. Receivers recompute it and compare in constant time,
/// and reject old timestamps to stop replays.
pub fn webhook_signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut message = timestamp.to_string().into_bytes();
    message.push(b'.');
    message.extend_from_slice(body);
    format!("sha256={}", hmac_sha256_hex(secret, &message))
}

/// Signs acknowledge tokens for incidents.
#[derive(Clone)]
pub struct AckSigner {
    secret: Vec<u8>,
}

impl std::fmt::Debug for AckSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AckSigner(***)")
    }
}

impl AckSigner {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: secret.into(),
        }
    }

    /// HMAC-SHA256 of `message` under this secret, hex. Callers prefix `message` with what it is for
    /// (`confirm-subscription.…`), so a signature made for one purpose never verifies for another.
    pub fn sign(&self, message: &str) -> String {
        hmac_sha256_hex(&self.secret, message.as_bytes())
    }

    /// Whether `signature` (hex) is [`AckSigner::sign`] of `message`, compared in constant time.
    pub fn check(&self, message: &str, signature: &str) -> bool {
        let Ok(signature) = hex::decode(signature) else {
            return false;
        };
        let mut mac =
            HmacSha256::new_from_slice(&self.secret).expect("hmac takes keys of any length");
        mac.update(message.as_bytes());
        mac.verify_slice(&signature).is_ok()
    }

    /// A token acknowledging `incident_id`, valid until `expires_at_ms`.
    pub fn token(&self, incident_id: &str, expires_at_ms: UnixMs) -> String {
        let signed = format!("{incident_id}.{expires_at_ms}");
        let signature = hmac_sha256_hex(&self.secret, signed.as_bytes());
        format!("{signed}.{signature}")
    }

    /// Checks a token's signature and expiry at `now_ms`; returns the incident id it acknowledges.
    pub fn verify(&self, token: &str, now_ms: UnixMs) -> Result<String, AckLinkError> {
        let (signed, signature) = token.rsplit_once('.').ok_or(AckLinkError::Malformed)?;
        let (incident_id, expiry) = signed.rsplit_once('.').ok_or(AckLinkError::Malformed)?;
        let expires_at_ms: UnixMs = expiry.parse().map_err(|_| AckLinkError::Malformed)?;
        if incident_id.is_empty() {
            return Err(AckLinkError::Malformed);
        }
        let signature = hex::decode(signature).map_err(|_| AckLinkError::Malformed)?;
        let mut mac =
            HmacSha256::new_from_slice(&self.secret).expect("hmac takes keys of any length");
        mac.update(signed.as_bytes());
        // verify_slice compares in constant time.
        mac.verify_slice(&signature)
            .map_err(|_| AckLinkError::BadSignature)?;
        if now_ms >= expires_at_ms {
            return Err(AckLinkError::Expired {
                expired_at_ms: expires_at_ms,
            });
        }
        Ok(incident_id.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn webhook_signature_matches_a_known_vector() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"s3cret",b"1700000000.{\"a\":1}",hashlib.sha256).hexdigest())'
        assert_eq!(
            webhook_signature(b"s3cret", 1_700_000_000, br#"{"a":1}"#),
            "sha256=1698a50bc74d1ff1db85c4e0a5297c2ad9fdba245d5737cdb789e4cc6e098940"
        );
    }

    #[test]
    fn ack_tokens_verify_until_they_expire() {
        let signer = AckSigner::new("ack-secret");
        let token = signer.token("inc-0123abcd", 10_000);
        assert_eq!(signer.verify(&token, 9_999).unwrap(), "inc-0123abcd");
        assert_eq!(
            signer.verify(&token, 10_000).unwrap_err(),
            AckLinkError::Expired {
                expired_at_ms: 10_000
            }
        );
    }

    #[test]
    fn tampered_or_foreign_ack_tokens_are_refused() {
        let signer = AckSigner::new("ack-secret");
        let token = signer.token("inc-0123abcd", 10_000);
        let other_incident = token.replace("inc-0123abcd", "inc-ffffffff");
        assert_eq!(
            signer.verify(&other_incident, 0).unwrap_err(),
            AckLinkError::BadSignature
        );
        let later_expiry = token.replace(".10000.", ".99999.");
        assert_eq!(
            signer.verify(&later_expiry, 0).unwrap_err(),
            AckLinkError::BadSignature
        );
        let foreign = AckSigner::new("another-secret").token("inc-0123abcd", 10_000);
        assert_eq!(
            signer.verify(&foreign, 0).unwrap_err(),
            AckLinkError::BadSignature
        );
        assert_eq!(
            signer.verify("garbage", 0).unwrap_err(),
            AckLinkError::Malformed
        );
    }
}
