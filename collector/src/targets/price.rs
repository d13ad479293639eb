//! `price`: a JSON price feed. The price is found with an RFC 6901 JSON pointer (`pointer`, default
//! `/price`) and may be a JSON number or a numeric string (many exchanges send `"0.9993"` to keep
//! precision). Series: `peg_price` and `peg_deviation_percent` = 100 × (price − target) / target.

use async_trait::async_trait;
use reqwest::header::ACCEPT;
use serde_json::Value;

use super::{ScrapeContext, ScrapeError, Scraper, read_body_limited};
use crate::config::TargetConfig;
use crate::series::Batch;

pub(crate) struct PriceScraper {
    url: String,
    pointer: String,
    peg_target: f64,
    max_body_bytes: u64,
}

impl PriceScraper {
    pub(crate) fn new(target: &TargetConfig) -> Self {
        Self {
            url: target.url.clone(),
            pointer: target.pointer.clone(),
            peg_target: target.target,
            max_body_bytes: target.max_body_bytes,
        }
    }

    fn problem(&self, problem: String) -> ScrapeError {
        ScrapeError::Price {
            pointer: self.pointer.clone(),
            problem,
        }
    }

    fn price_in(&self, document: &Value) -> Result<f64, ScrapeError> {
        let value = document
            .pointer(&self.pointer)
            .ok_or_else(|| self.problem("not found in the reply".to_owned()))?;
        let price = match value {
            Value::Number(number) => number.as_f64(),
            Value::String(text) => text.trim().parse::<f64>().ok(),
            _ => None,
        };
        match price {
            Some(price) if price.is_finite() => Ok(price),
            Some(price) => Err(self.problem(format!("{price} is not a finite number"))),
            None => {
                let mut shown = value.to_string();
                shown.truncate(80);
                Err(self.problem(format!(
                    "expected a number or a numeric string, found {shown}"
                )))
            }
        }
    }
}

#[async_trait]
impl Scraper for PriceScraper {
    async fn scrape(&mut self, cx: &ScrapeContext<'_>, out: &mut Batch) -> Result<(), ScrapeError> {
        let response = cx
            .client
            .get(&self.url)
            .header(ACCEPT, "application/json")
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
        let body = read_body_limited(response, self.max_body_bytes, cx.timeout).await?;
        let document: Value = serde_json::from_slice(&body)
            .map_err(|error| self.problem(format!("reply is not json ({error})")))?;
        let price = self.price_in(&document)?;
        let none: [(&str, &str); 0] = [];
        out.push("peg_price", none, None, price);
        out.push(
            "peg_deviation_percent",
            none,
            None,
            100.0 * (price - self.peg_target) / self.peg_target,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TargetKind;
    use serde_json::json;

    fn scraper(pointer: &str) -> PriceScraper {
        let mut target = TargetConfig::new("p", TargetKind::Price, "http://127.0.0.1:1/");
        target.pointer = pointer.to_owned();
        PriceScraper::new(&target)
    }

    #[test]
    fn finds_numbers_and_numeric_strings() {
        assert_eq!(
            scraper("/price")
                .price_in(&json!({"price": 0.9993}))
                .unwrap(),
            0.9993
        );
        assert_eq!(
            scraper("/data/0/p")
                .price_in(&json!({"data": [{"p": " 1.02 "}]}))
                .unwrap(),
            1.02
        );
        assert_eq!(scraper("/a~1b").price_in(&json!({"a/b": 3})).unwrap(), 3.0);
    }

    #[test]
    fn explains_what_is_wrong() {
        let error = scraper("/price")
            .price_in(&json!({"px": 1}))
            .unwrap_err()
            .to_string();
        assert_eq!(error, "price at \"/price\": not found in the reply");
        let error = scraper("/price")
            .price_in(&json!({"price": {"usd": 1}}))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("expected a number or a numeric string"),
            "{error}"
        );
        let error = scraper("/price")
            .price_in(&json!({"price": "n/a"}))
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"n/a\""), "{error}");
    }
}
