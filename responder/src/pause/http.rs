//! [`HttpAdmin`]: pauses through a protocol's HTTP admin API.
//!
//! `POST {url}/pause` and `POST {url}/unpause` with `{"module": "…"}` and `Authorization: Bearer TOKEN`;
//! any 2xx is success. The state is read with `GET {url}/paused?module=…` answering `{"paused": bool}`.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{BackendError, BackendReceipt, HttpAdminConfig, PauseBackend};

pub struct HttpAdmin {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl HttpAdmin {
    /// `token` is the bearer token itself (the caller reads it from `token_env`).
    pub fn new(config: &HttpAdminConfig, token: Option<String>) -> Result<Self, BackendError> {
        let client = crate::channels::http_client(config.timeout.get())
            .map_err(|error| BackendError::Misconfigured(error.to_string()))?;
        Ok(Self {
            client,
            url: config.url.trim_end_matches('/').to_owned(),
            token,
        })
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn post(&self, action: &str, module: &str) -> Result<BackendReceipt, BackendError> {
        let url = format!("{}/{action}", self.url);
        let response = self
            .authorized(self.client.post(&url).json(&json!({ "module": module })))
            .send()
            .await
            .map_err(BackendError::Transport)?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(BackendError::UnknownModule(module.to_owned()));
        }
        if !status.is_success() {
            return Err(BackendError::Status {
                status: status.as_u16(),
                body: body.chars().take(300).collect(),
            });
        }
        Ok(BackendReceipt {
            backend: "http".to_owned(),
            tx_hash: None,
            status: Some(status.as_u16().to_string()),
            block_number: None,
            detail: format!("http POST {url} answered {}", status.as_u16()),
        })
    }
}

#[async_trait]
impl PauseBackend for HttpAdmin {
    fn name(&self) -> &str {
        "http"
    }

    async fn pause(&self, module: &str) -> Result<BackendReceipt, BackendError> {
        self.post("pause", module).await
    }

    async fn unpause(&self, module: &str) -> Result<BackendReceipt, BackendError> {
        self.post("unpause", module).await
    }

    async fn is_paused(&self, module: &str) -> Result<bool, BackendError> {
        let response = self
            .authorized(
                self.client
                    .get(format!("{}/paused", self.url))
                    .query(&[("module", module)]),
            )
            .send()
            .await
            .map_err(BackendError::Transport)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(BackendError::UnknownModule(module.to_owned()));
        }
        if !status.is_success() {
            return Err(BackendError::Status {
                status: status.as_u16(),
                body: response.text().await.unwrap_or_default(),
            });
        }
        let body: Value = response.json().await.map_err(BackendError::Transport)?;
        body.get("paused")
            .and_then(Value::as_bool)
            .ok_or_else(|| BackendError::Invalid(format!("GET /paused answered {body}")))
    }
}
