//! The one application error type and how each variant maps to an HTTP status.
//!
//! Handlers return `Result<_, AppError>`. The response body is rendered later by
//! [`crate::web::errors`], which knows whether the caller wanted JSON, an htmx fragment
//! or a full page; this module only decides the status and the user-facing message.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, ResponseError, http::StatusCode};

/// Field name → human message, for 400/422 answers.
pub type FieldErrors = BTreeMap<String, String>;

/// Everything a request can fail with. Few variants, each with one status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request could not be understood (bad JSON, bad query string).
    #[error("{message}")]
    BadRequest {
        /// What was wrong, safe to show.
        message: String,
        /// Per-field details.
        fields: FieldErrors,
    },
    /// 401: no valid credentials.
    #[error("authentication required")]
    Unauthenticated,
    /// 403: authenticated but not allowed (or a CSRF/origin check failed).
    #[error("{0}")]
    Forbidden(String),
    /// 404: missing, or not readable by the caller (existence does not leak).
    #[error("not found")]
    NotFound,
    /// 409: conflicts with existing state (duplicate name …).
    #[error("{0}")]
    Conflict(String),
    /// 409: a name without its namespace matches entries in several namespaces the
    /// caller may read; the message names them.
    #[error("{0}")]
    AmbiguousName(String),
    /// 413: request body too large.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 422: well-formed but invalid input.
    #[error("{message}")]
    Validation {
        /// Summary, safe to show.
        message: String,
        /// Per-field details.
        fields: FieldErrors,
    },
    /// 429: rate limited; retry after this many seconds.
    #[error("too many attempts; retry in {0} seconds")]
    RateLimited(u64),
    /// 502: the provider behind a connector refused or failed (the reason is safe to
    /// show: no secret).
    #[error("{0}")]
    Upstream(String),
    /// 503: a dependency (the database) is unavailable.
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// 500: a bug or an unexpected failure. The cause is logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    /// A 422 for a single field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut fields = FieldErrors::new();
        fields.insert(field.to_owned(), message.clone());
        Self::Validation { message, fields }
    }

    /// A 400 without field details.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            fields: FieldErrors::new(),
        }
    }

    /// Wraps any unexpected error as a 500.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        Self::Internal(err.into())
    }

    /// The stable snake_case code of the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "bad_request",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict(_) => "conflict",
            Self::AmbiguousName(_) => "ambiguous_name",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Validation { .. } => "validation_failed",
            Self::RateLimited(_) => "rate_limited",
            Self::Upstream(_) => "upstream_error",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// Field details, if any.
    pub fn fields(&self) -> Option<&FieldErrors> {
        match self {
            Self::BadRequest { fields, .. } | Self::Validation { fields, .. } => Some(fields),
            _ => None,
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => Self::NotFound,
            // The database went away under a pooled connection: unavailable, not a bug.
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                Self::Unavailable(anyhow::anyhow!("{}", info.message()))
            }
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Self::Conflict("a record with this name already exists".into())
            }
            // PostgreSQL refuses NUL in text; that is bad input, not a server fault.
            Error::DatabaseError(_, info) if info.message().contains("0x00") => {
                Self::bad_request("text must not contain NUL characters")
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl From<crate::db::DbError> for AppError {
    fn from(err: crate::db::DbError) -> Self {
        match err {
            crate::db::DbError::Query(e) => e.into(),
            crate::db::DbError::Pool(e) => Self::Unavailable(e.into()),
            crate::db::DbError::Blocking(e) => Self::Internal(e),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) | Self::AmbiguousName(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // The body is replaced by `web::errors::render_errors`, which sees the request.
        let mut res = HttpResponse::build(self.status_code());
        if let Self::RateLimited(secs) = self {
            res.insert_header(("Retry-After", secs.to_string()));
        }
        if let Self::Unavailable(_) | Self::Internal(_) = self {
            tracing::error!(error = ?self, "request failed");
        }
        res.body(self.to_string())
    }
}

/// Shorthand for handler results.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind, Error};

    use super::*;

    #[test]
    fn a_database_gone_away_is_unavailable_not_internal() {
        let closed = Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("server closed the connection unexpectedly".to_owned()),
        );
        let err = AppError::from(closed);
        assert_eq!(err.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let other = Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new("x".to_owned()));
        assert_eq!(
            AppError::from(other).status_code(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
