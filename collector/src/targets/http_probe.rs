//! `http_probe`: one HTTP(S) request checked like a blackbox exporter would: expected status, optional body
//! match, duration, and for HTTPS the days until the server's leaf certificate expires.
//!
//! A failed check still records its series (`probe_success 0`, the status code or 0 when there was no
//! response, the duration) and then reports the failure, so the detector sees the failure as data and the
//! targets page says why.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use tokio::time::Instant;

use super::{ScrapeContext, ScrapeError, Scraper, certificate_not_after, read_body_limited};
use crate::config::{BodyMatch, TargetConfig};
use crate::series::Batch;

pub(crate) struct HttpProbeScraper {
    url: String,
    method: reqwest::Method,
    expect_status: u16,
    body_match: Option<BodyMatch>,
    max_body_bytes: u64,
}

impl HttpProbeScraper {
    pub(crate) fn new(target: &TargetConfig) -> Result<Self, ScrapeError> {
        let method = reqwest::Method::from_bytes(target.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| {
                ScrapeError::Config(format!("method {:?} is not an http method", target.method))
            })?;
        let body_match = target
            .body_match
            .as_deref()
            .map(BodyMatch::parse)
            .transpose()
            .map_err(ScrapeError::Config)?;
        Ok(Self {
            url: target.url.clone(),
            method,
            expect_status: target.expect_status,
            body_match,
            max_body_bytes: target.max_body_bytes,
        })
    }

    /// Runs the request and the checks; returns (status code or 0, TLS expiry days, failure).
    async fn probe(&self, cx: &ScrapeContext<'_>) -> (u16, Option<f64>, Option<ScrapeError>) {
        let response = match cx
            .client
            .request(self.method.clone(), &self.url)
            .timeout(cx.timeout)
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => return (0, None, Some(ScrapeError::from_reqwest(error, cx.timeout))),
        };
        let status = response.status().as_u16();
        let tls_days = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .and_then(certificate_not_after)
            .map(|not_after| (not_after - Utc::now()).num_seconds() as f64 / 86_400.0);
        // The body is always read (within the limit): the duration should cover the whole response, and a
        // server that fails mid-body has failed the probe.
        let body = match read_body_limited(response, self.max_body_bytes, cx.timeout).await {
            Ok(body) => body,
            Err(error) => return (status, tls_days, Some(error)),
        };
        if status != self.expect_status {
            return (
                status,
                tls_days,
                Some(ScrapeError::Unhealthy(format!(
                    "status {status}, expected {}",
                    self.expect_status
                ))),
            );
        }
        if let Some(body_match) = &self.body_match {
            let text = String::from_utf8_lossy(&body);
            if !body_match.is_match(&text) {
                return (
                    status,
                    tls_days,
                    Some(ScrapeError::Unhealthy(format!(
                        "body does not match {body_match}"
                    ))),
                );
            }
        }
        (status, tls_days, None)
    }
}

#[async_trait]
impl Scraper for HttpProbeScraper {
    async fn scrape(&mut self, cx: &ScrapeContext<'_>, out: &mut Batch) -> Result<(), ScrapeError> {
        let started = Instant::now();
        let (status, tls_days, failure) = self.probe(cx).await;
        let duration: Duration = started.elapsed();
        let none: [(&str, &str); 0] = [];
        out.push(
            "probe_success",
            none,
            None,
            if failure.is_none() { 1.0 } else { 0.0 },
        );
        out.push("probe_duration_seconds", none, None, duration.as_secs_f64());
        out.push("probe_status_code", none, None, f64::from(status));
        if let Some(days) = tls_days {
            out.push("probe_tls_expiry_days", none, None, days);
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}
