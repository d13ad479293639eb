//! The API's error type: every failure becomes `{"error": {"code", "message"}}` with a fitting status.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use model::{ErrorKind, HasKind};
use serde::de::DeserializeOwned;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    /// Wraps an internal failure: logged with its cause chain, shown to the client without details.
    pub fn internal(context: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %error_chain(error), "{context}");
        Self::new(
            ErrorKind::Internal,
            format!("{context}; see the server log"),
        )
    }

    /// Maps any classified error: client errors keep their message, server errors are logged.
    pub fn from_kind<E: HasKind + std::error::Error + 'static>(context: &str, error: E) -> Self {
        match error.kind() {
            kind @ (ErrorKind::Unavailable | ErrorKind::Internal) => {
                tracing::error!(error = %error_chain(&error), "{context}");
                Self::new(kind, format!("{context}: {error}"))
            }
            kind => Self::new(kind, error.to_string()),
        }
    }
}

/// "outer: inner: innermost", for logs.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.kind.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            Json(json!({"error": {"code": self.kind.code(), "message": self.message}})),
        )
            .into_response();
        if self.kind == ErrorKind::Unauthenticated {
            response.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// `Json<T>` whose rejections use the API's error format and say what is wrong and where.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::MissingJsonContentType(_) => ApiError::invalid(
                    "expected a JSON body with \"Content-Type: application/json\"",
                ),
                JsonRejection::JsonSyntaxError(error) => {
                    ApiError::invalid(format!("malformed JSON: {}", source_text(&error)))
                }
                JsonRejection::JsonDataError(error) => {
                    ApiError::invalid(format!("invalid request body: {}", source_text(&error)))
                }
                JsonRejection::BytesRejection(error) => ApiError::new(
                    ErrorKind::InvalidInput,
                    format!("cannot read the request body: {}", source_text(&error)),
                ),
                other => ApiError::invalid(other.body_text()),
            }),
        }
    }
}

/// The innermost message of a rejection (serde's "… at line 1 column 12"), without axum's generic prefix.
fn source_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        innermost = cause.to_string();
        source = cause.source();
    }
    innermost
}

/// Serialises a response body; a value that cannot be encoded is an internal error.
pub fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(value)
        .map_err(|error| ApiError::internal("cannot encode the response", &error))
}
