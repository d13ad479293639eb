//! A JSON-RPC 2.0 client for one chain's providers: batches in one HTTP request, replies matched by id and
//! checked strictly, per-provider health, and the choice of the provider to use (the first healthy one in
//! configuration order).
//!
//! A provider that answers a batch with something other than an array (some proxies and gateways do) gets
//! the same calls one by one instead, so a batch never silently loses calls.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::targets::{ScrapeError, read_body_limited};

/// Largest reply accepted (a wide `eth_getLogs` can be big, but not unbounded).
const MAX_REPLY_BYTES: u64 = 64 * 1024 * 1024;
/// Calls per HTTP request; longer lists are split.
pub const MAX_BATCH: usize = 100;

/// One method call of a batch.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: &'static str,
    pub params: Value,
}

impl Call {
    pub fn new(method: &'static str, params: Value) -> Self {
        Self { method, params }
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RpcError {
    /// The request did not get a usable reply at all (connection, timeout, HTTP status, not JSON).
    #[error("{0}")]
    Transport(String),
    /// The node answered this call with a JSON-RPC error object.
    #[error("{method}: error {code}: {message}")]
    Node {
        method: String,
        code: i64,
        message: String,
    },
    /// The reply is JSON-RPC but malformed for this call.
    #[error("{method}: {message}")]
    Malformed { method: String, message: String },
}

impl RpcError {
    /// A node's "too many results / range too large" answer, after which a smaller range is tried.
    pub fn is_range_too_large(&self) -> bool {
        match self {
            RpcError::Node { code, message, .. } => {
                let lower = message.to_ascii_lowercase();
                *code == -32005
                    || lower.contains("more than")
                    || lower.contains("too large")
                    || lower.contains("range")
                    || lower.contains("limit exceeded")
            }
            _ => false,
        }
    }
}

/// Health of one provider, for `GET /api/v1/targets`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EndpointHealth {
    pub up: bool,
    pub last_error: Option<String>,
    pub last_scrape: Option<DateTime<Utc>>,
    pub duration_ms: f64,
    /// The head it reported last.
    pub head: Option<u64>,
}

struct Endpoint {
    url: String,
    health: Mutex<EndpointHealth>,
}

/// The providers of one chain.
pub struct RpcPool {
    endpoints: Vec<Endpoint>,
    client: reqwest::Client,
    timeout: Duration,
    next_id: std::sync::atomic::AtomicU64,
}

impl RpcPool {
    pub fn new(urls: &[String], client: reqwest::Client, timeout: Duration) -> Self {
        Self {
            endpoints: urls
                .iter()
                .map(|url| Endpoint {
                    url: url.clone(),
                    health: Mutex::new(EndpointHealth::default()),
                })
                .collect(),
            client,
            timeout,
            next_id: std::sync::atomic::AtomicU64::new(1),
        }
    }

    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    pub fn url(&self, index: usize) -> &str {
        &self.endpoints[index].url
    }

    pub fn health(&self, index: usize) -> EndpointHealth {
        self.endpoints[index]
            .health
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Records the outcome of a round on provider `index`.
    pub fn record(&self, index: usize, outcome: Result<u64, String>, elapsed: Duration) {
        let mut health = self.endpoints[index]
            .health
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        health.last_scrape = Some(Utc::now());
        health.duration_ms = elapsed.as_secs_f64() * 1000.0;
        match outcome {
            Ok(head) => {
                health.up = true;
                health.last_error = None;
                health.head = Some(head);
            }
            Err(error) => {
                health.up = false;
                health.last_error = Some(error);
            }
        }
    }

    /// Sends `calls` to provider `index` in batches of at most [`MAX_BATCH`] (providers limit batch
    /// sizes), all at once; one result per call, in order. `Err` when a batch got no answer at all.
    pub async fn batch(
        &self,
        index: usize,
        calls: &[Call],
    ) -> Result<Vec<Result<Value, RpcError>>, RpcError> {
        // Chunks go out at once: a long batch costs one round trip of latency, not one per chunk.
        let chunks = futures::future::join_all(
            calls
                .chunks(MAX_BATCH)
                .map(|chunk| self.batch_chunk(index, chunk)),
        )
        .await;
        let mut results = Vec::with_capacity(calls.len());
        for chunk in chunks {
            results.extend(chunk?);
        }
        Ok(results)
    }

    async fn batch_chunk(
        &self,
        index: usize,
        calls: &[Call],
    ) -> Result<Vec<Result<Value, RpcError>>, RpcError> {
        let first_id = self
            .next_id
            .fetch_add(calls.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let body: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(offset, call)| {
                json!({"jsonrpc": "2.0", "id": first_id + offset as u64, "method": call.method, "params": call.params})
            })
            .collect();
        let reply = self.post(index, &Value::Array(body)).await?;
        let Value::Array(replies) = reply else {
            // Not a batch reply: ask one by one.
            let mut results = Vec::with_capacity(calls.len());
            for call in calls {
                results.push(self.single(index, call).await);
            }
            return Ok(results);
        };
        let mut results: Vec<Option<Result<Value, RpcError>>> = vec![None; calls.len()];
        for reply in &replies {
            let Some(id) = reply.get("id").and_then(Value::as_u64) else {
                continue;
            };
            let Some(offset) = id.checked_sub(first_id).map(|offset| offset as usize) else {
                continue;
            };
            if let Some(slot) = results.get_mut(offset)
                && slot.is_none()
            {
                *slot = Some(check_reply(calls[offset].method, reply));
            }
        }
        Ok(results
            .into_iter()
            .zip(calls)
            .map(|(result, call)| {
                result.unwrap_or_else(|| {
                    Err(RpcError::Malformed {
                        method: call.method.to_owned(),
                        message: "no reply with this call's id in the batch".to_owned(),
                    })
                })
            })
            .collect())
    }

    async fn single(&self, index: usize, call: &Call) -> Result<Value, RpcError> {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let reply = self
            .post(
                index,
                &json!({"jsonrpc": "2.0", "id": id, "method": call.method, "params": call.params}),
            )
            .await?;
        if reply.get("id").and_then(Value::as_u64) != Some(id) {
            return Err(RpcError::Malformed {
                method: call.method.to_owned(),
                message: format!(
                    "id: expected {id}, found {}",
                    reply.get("id").unwrap_or(&Value::Null)
                ),
            });
        }
        check_reply(call.method, &reply)
    }

    async fn post(&self, index: usize, body: &Value) -> Result<Value, RpcError> {
        let url = &self.endpoints[index].url;
        let started = Instant::now();
        let response = self
            .client
            .post(url)
            .timeout(self.timeout)
            .json(body)
            .send()
            .await
            .map_err(|error| {
                RpcError::Transport(ScrapeError::from_reqwest(error, self.timeout).chain())
            })?;
        let status = response.status();
        let remaining = self.timeout.saturating_sub(started.elapsed());
        let bytes = read_body_limited(response, MAX_REPLY_BYTES, remaining)
            .await
            .map_err(|error| RpcError::Transport(error.chain()))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => Ok(value),
            Err(error) if status.is_success() => Err(RpcError::Transport(format!(
                "the reply is not JSON ({error}): {}",
                preview(&bytes)
            ))),
            Err(_) => Err(RpcError::Transport(format!(
                "HTTP {status}: {}",
                preview(&bytes)
            ))),
        }
    }
}

fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(120)]);
    text.replace(['\n', '\r'], " ")
}

/// Checks one reply object: `jsonrpc`, then `error` or `result`.
fn check_reply(method: &str, reply: &Value) -> Result<Value, RpcError> {
    let malformed = |message: String| RpcError::Malformed {
        method: method.to_owned(),
        message,
    };
    let Some(fields) = reply.as_object() else {
        return Err(malformed(format!(
            "expected a reply object, found {}",
            crate::targets::json_type(reply)
        )));
    };
    match fields.get("jsonrpc") {
        Some(Value::String(version)) if version == "2.0" => {}
        Some(other) => {
            return Err(malformed(format!(
                "jsonrpc: expected \"2.0\", found {other}"
            )));
        }
        None => return Err(malformed("jsonrpc: missing".to_owned())),
    }
    if let Some(error) = fields.get("error").filter(|error| !error.is_null()) {
        let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("(no message)");
        return Err(RpcError::Node {
            method: method.to_owned(),
            code,
            message: message.chars().take(300).collect(),
        });
    }
    fields
        .get("result")
        .cloned()
        .ok_or_else(|| malformed("neither result nor error".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_checks_name_the_method_and_field() {
        assert_eq!(
            check_reply(
                "eth_call",
                &json!({"jsonrpc": "2.0", "id": 1, "result": "0x"})
            ),
            Ok(json!("0x"))
        );
        let error = check_reply(
            "eth_call",
            &json!({"jsonrpc": "2.0", "id": 1, "error": {"code": 3, "message": "execution reverted"}}),
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "eth_call: error 3: execution reverted");
        assert!(
            check_reply("eth_getLogs", &json!({"jsonrpc": "1.0", "result": []}))
                .unwrap_err()
                .to_string()
                .contains("jsonrpc: expected \"2.0\"")
        );
        assert!(
            check_reply("eth_getLogs", &json!("junk"))
                .unwrap_err()
                .to_string()
                .contains("found a string")
        );
        assert!(
            check_reply("eth_getLogs", &json!({"jsonrpc": "2.0", "id": 1}))
                .unwrap_err()
                .to_string()
                .contains("neither result nor error")
        );
    }

    #[test]
    fn recognises_range_errors_of_common_providers() {
        for (code, message) in [
            (-32005, "query returned more than 10000 results"),
            (-32602, "block range too large"),
            (
                -32000,
                "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range",
            ),
        ] {
            assert!(
                RpcError::Node {
                    method: "eth_getLogs".into(),
                    code,
                    message: message.into()
                }
                .is_range_too_large(),
                "{message}"
            );
        }
        assert!(
            !RpcError::Node {
                method: "eth_getLogs".into(),
                code: -32000,
                message: "header not found".into()
            }
            .is_range_too_large()
        );
    }
}
