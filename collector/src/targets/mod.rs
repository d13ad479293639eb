//! Target kinds: how one scrape of one target turns into samples.
//!
//! Each kind implements [`Scraper`]. The engine owns scheduling, timeouts, labels and ingestion; a
//! scraper only talks to its target and writes what it saw into a [`Batch`] with kind-specific names and
//! labels (the engine adds `target="<name>"` and the configured labels). A scraper keeps state between
//! scrapes (`&mut self`): the EVM scraper remembers recent block hashes to see reorgs and stalls.
//!
//! Replies are read with a byte limit ([`read_body_limited`]): a target cannot make Vigil buffer more
//! than `max_body_bytes`, whatever it sends.

mod evm_rpc;
mod http_probe;
mod price;
mod prometheus;
mod tls;

use std::time::Duration;

use async_trait::async_trait;

use crate::config::{TargetConfig, TargetKind};
use crate::exposition::ExpositionError;
use crate::series::Batch;

pub use tls::certificate_not_after;

/// What a scraper gets for one scrape.
pub struct ScrapeContext<'a> {
    pub client: &'a reqwest::Client,
    /// Limit for each request (the engine also bounds the whole scrape by the target's timeout).
    pub timeout: Duration,
}

/// One target kind. Implementations must not block the thread, and must leave `out` empty when a scrape
/// fails in a way that makes its samples untrustworthy. Anything left in `out` is ingested even when an
/// error is returned: that is how a failed probe still records `probe_success 0`.
#[async_trait]
pub trait Scraper: Send {
    /// Scrapes the target once, appending samples to `out` (which is empty on entry).
    async fn scrape(&mut self, cx: &ScrapeContext<'_>, out: &mut Batch) -> Result<(), ScrapeError>;
}

/// Builds the scraper for a validated target. `max_samples` caps one scrape of an exposition target (more
/// fails the scrape: a cardinality bomb must not flood the store).
pub fn build_scraper(
    target: &TargetConfig,
    max_samples: usize,
) -> Result<Box<dyn Scraper>, ScrapeError> {
    Ok(match target.kind {
        TargetKind::Prometheus => {
            Box::new(prometheus::PrometheusScraper::new(target).with_max_samples(max_samples))
        }
        TargetKind::EvmRpc => Box::new(evm_rpc::EvmRpcScraper::new(target)),
        TargetKind::Price => Box::new(price::PriceScraper::new(target)),
        TargetKind::HttpProbe => Box::new(http_probe::HttpProbeScraper::new(target)?),
    })
}

/// Why one scrape failed. `Display` is short; [`error_chain`] adds the causes for `last_error`.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    #[error("invalid target: {0}")]
    Config(String),
    #[error("request failed")]
    Request(#[source] reqwest::Error),
    #[error("timed out after {}", humanize(*.0))]
    Timeout(Duration),
    #[error("unexpected http status {status}")]
    Status { status: u16 },
    #[error("response body exceeds the limit of {limit} bytes (max_body_bytes)")]
    BodyTooLarge { limit: u64 },
    #[error("response body is not utf-8 (at byte {0})")]
    NotUtf8(usize),
    #[error("exposition rejected")]
    Exposition(#[source] ExpositionError),
    /// Some lines were malformed; the good ones were still ingested.
    #[error("{0}")]
    MalformedLines(String),
    /// A JSON-RPC call failed or its reply was not what the spec says.
    #[error("{method}: {problem}")]
    Rpc { method: String, problem: String },
    /// The price feed's reply did not have a usable price.
    #[error("price at {pointer:?}: {problem}")]
    Price { pointer: String, problem: String },
    /// The target answered but failed its check (http_probe); its samples were still recorded.
    #[error("{0}")]
    Unhealthy(String),
}

impl ScrapeError {
    /// A low-cardinality name for metrics labels.
    pub fn outcome(&self) -> &'static str {
        match self {
            ScrapeError::Config(_) => "config",
            ScrapeError::Request(_) => "request",
            ScrapeError::Timeout(_) => "timeout",
            ScrapeError::Status { .. } => "status",
            ScrapeError::BodyTooLarge { .. } => "body_too_large",
            ScrapeError::NotUtf8(_)
            | ScrapeError::Exposition(_)
            | ScrapeError::MalformedLines(_) => "parse",
            ScrapeError::Rpc { .. } => "rpc",
            ScrapeError::Price { .. } => "parse",
            ScrapeError::Unhealthy(_) => "unhealthy",
        }
    }

    pub(crate) fn from_reqwest(error: reqwest::Error, timeout: Duration) -> Self {
        if error.is_timeout() {
            ScrapeError::Timeout(timeout)
        } else {
            ScrapeError::Request(error)
        }
    }
}

/// The error and all its causes, `: `-separated, for `last_error` and logs.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // reqwest repeats its cause in its own message in places; avoid "x: x".
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl ScrapeError {
    /// [`error_chain`] of this error.
    pub fn chain(&self) -> String {
        error_chain(self)
    }
}

fn humanize(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// Installs ring as rustls' process-wide crypto provider, once. reqwest is built with
/// `rustls-no-provider` (see deps.md), so this must run before any client is built.
pub fn ensure_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The HTTP client the collector uses: rustls with ring, TLS info kept (for certificate expiry), a
/// bounded number of redirects, and no overall timeout (each request sets its own).
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    http_client_builder().build()
}

/// The builder behind [`http_client`], for callers that add root certificates (tests, private CAs).
pub fn http_client_builder() -> reqwest::ClientBuilder {
    ensure_crypto_provider();
    reqwest::Client::builder()
        .user_agent(concat!("vigil-collector/", env!("CARGO_PKG_VERSION")))
        .tls_info(true)
        .redirect(reqwest::redirect::Policy::limited(5))
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
}

/// Reads a response body, failing as soon as more than `limit` bytes arrive. The body is streamed, so a
/// hostile target sending gigabytes costs at most `limit` bytes of memory.
pub(crate) async fn read_body_limited(
    mut response: reqwest::Response,
    limit: u64,
    timeout: Duration,
) -> Result<Vec<u8>, ScrapeError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Err(ScrapeError::BodyTooLarge { limit });
    }
    let mut body = Vec::with_capacity(response.content_length().unwrap_or(0).min(limit) as usize);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| ScrapeError::from_reqwest(error, timeout))?
    {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(ScrapeError::BodyTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads a body as UTF-8 text within `limit`.
pub(crate) async fn read_text_limited(
    response: reqwest::Response,
    limit: u64,
    timeout: Duration,
) -> Result<String, ScrapeError> {
    let body = read_body_limited(response, limit, timeout).await?;
    String::from_utf8(body).map_err(|error| ScrapeError::NotUtf8(error.utf8_error().valid_up_to()))
}

/// How a JSON value's type reads in an error message ("a string", "an array", ...).
pub(crate) fn json_type(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_chain_includes_causes_once() {
        let error = ScrapeError::Exposition(ExpositionError::TooManySamples {
            limit: 10,
            line: 11,
        });
        assert_eq!(
            error.chain(),
            "exposition rejected: more than 10 samples in one scrape (at line 11)"
        );
        assert_eq!(error_chain(&error), error.chain());
        assert_eq!(
            ScrapeError::Timeout(Duration::from_millis(1500)).to_string(),
            "timed out after 1500ms"
        );
        assert_eq!(
            ScrapeError::Timeout(Duration::from_secs(5)).to_string(),
            "timed out after 5s"
        );
    }
}
