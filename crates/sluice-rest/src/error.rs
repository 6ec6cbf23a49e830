use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sluice_api::{ConnectError, ErrorKind};

use crate::entities::ErrorMessage;

/// An error answered as Kafka's `ErrorMessage` with the matching status code.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl From<ConnectError> for ApiError {
    fn from(e: ConnectError) -> Self {
        let status = match e.kind() {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::AlreadyExists => StatusCode::CONFLICT,
            ErrorKind::Config => StatusCode::BAD_REQUEST,
            // Kafka's 409 for a write that reached a worker during a rebalance.
            ErrorKind::IllegalState
                if e.message() == sluice_runtime::herder::distributed::CONFLICT_MESSAGE =>
            {
                StatusCode::CONFLICT
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.message())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorMessage {
            error_code: self.status.as_u16(),
            message: sluice_runtime::secrets::redact(&self.message).into_owned(),
        };
        (self.status, Json(body)).into_response()
    }
}
