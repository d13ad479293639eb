//! `prometheus`: a Prometheus text exposition (0.0.4) or OpenMetrics 1.0 endpoint.
//!
//! The series are ingested with the names and labels the target exposes. Malformed lines are skipped and
//! the scrape reports an error naming the first one, while the good lines are kept (see
//! [`crate::exposition`] for why). A body over `max_body_bytes` or with more samples than the per-target
//! limit fails the whole scrape.

use async_trait::async_trait;
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::{ScrapeContext, ScrapeError, Scraper, read_text_limited};
use crate::config::TargetConfig;
use crate::exposition::{self, Format, ParseLimits};
use crate::series::Batch;

/// OpenMetrics preferred, the classic text format accepted, as Prometheus itself asks.
const ACCEPT_HEADER: &str =
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";

pub(crate) struct PrometheusScraper {
    url: String,
    max_body_bytes: u64,
    limits: ParseLimits,
}

impl PrometheusScraper {
    pub(crate) fn new(target: &TargetConfig) -> Self {
        Self {
            url: target.url.clone(),
            max_body_bytes: target.max_body_bytes,
            limits: ParseLimits::default(),
        }
    }

    /// Caps the samples of one scrape (the engine passes its per-target series limit).
    pub(crate) fn with_max_samples(mut self, max_samples: usize) -> Self {
        self.limits.max_samples = max_samples;
        self
    }
}

#[async_trait]
impl Scraper for PrometheusScraper {
    async fn scrape(&mut self, cx: &ScrapeContext<'_>, out: &mut Batch) -> Result<(), ScrapeError> {
        let response = cx
            .client
            .get(&self.url)
            .header(ACCEPT, ACCEPT_HEADER)
            .timeout(cx.timeout)
            .send()
            .await
            .map_err(|error| ScrapeError::from_reqwest(error, cx.timeout))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ScrapeError::Status {
                status: status.as_u16(),
            });
        }
        let format = Format::from_content_type(
            response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|value| value.to_str().ok()),
        );
        let body = read_text_limited(response, self.max_body_bytes, cx.timeout).await?;
        let parsed = exposition::parse(&body, format, &self.limits, |sample| {
            out.push_parsed(sample)
        });
        match parsed {
            Ok(stats) => match stats.error_summary() {
                Some(summary) => Err(ScrapeError::MalformedLines(summary)),
                None => Ok(()),
            },
            Err(error) => {
                // The parse streams samples into `out`; a rejected scrape must not be half-ingested.
                out.clear();
                Err(ScrapeError::Exposition(error))
            }
        }
    }
}
