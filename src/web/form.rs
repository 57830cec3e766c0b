//! Forms: one that failed, as it is shown again (its messages and the status to
//! answer), and the namespaces a creation form offers.

use actix_web::http::StatusCode;

use crate::access::{Grants, Permission};
use crate::errors::{AppError, AppResult, FieldErrors};

/// What a form shows after a failed submission: per-field messages, or one message.
#[derive(Debug, Default, Clone)]
pub struct Messages {
    /// Per-field messages (invalid input).
    pub errors: FieldErrors,
    /// One message (any other failure).
    pub error: Option<String>,
}

impl Messages {
    /// The message of `field`, if any.
    pub fn err(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

/// A failed submission as its form shows it again: its messages and the status to
/// answer with.
#[derive(Debug)]
pub struct Rejected {
    /// The messages.
    pub messages: Messages,
    /// 422, or 403 for a refusal.
    pub status: StatusCode,
}

impl Rejected {
    /// `err` when it is invalid input or a name already taken (shown like any other
    /// invalid input: 422); any other failure stays `Err` for the error page.
    pub fn invalid(err: AppError) -> AppResult<Self> {
        match err {
            AppError::Validation { .. } | AppError::Conflict(_) => Ok(Self::new(&err)),
            other => Err(other),
        }
    }

    /// As [`Rejected::invalid`], and a refusal (403) is shown on the form too.
    pub fn invalid_or_forbidden(err: AppError) -> AppResult<Self> {
        match err {
            AppError::Forbidden(_) => Ok(Self::new(&err)),
            other => Self::invalid(other),
        }
    }

    fn new(err: &AppError) -> Self {
        let (errors, error, status) = super::form_errors(err);
        let status = match status {
            StatusCode::CONFLICT => StatusCode::UNPROCESSABLE_ENTITY,
            other => other,
        };
        let messages = Messages { errors, error };
        Self { messages, status }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_name_is_shown_as_invalid_input() {
        let r = Rejected::invalid(AppError::Conflict("taken".into())).unwrap();
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.messages.error.as_deref(), Some("taken"));
        let r = Rejected::invalid(AppError::invalid("name", "bad")).unwrap();
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.messages.err("name").map(String::as_str), Some("bad"));
    }

    #[test]
    fn refusals_are_shown_only_when_asked() {
        let refused = || AppError::Forbidden("no".into());
        assert!(matches!(
            Rejected::invalid(refused()),
            Err(AppError::Forbidden(_))
        ));
        let r = Rejected::invalid_or_forbidden(refused()).unwrap();
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(matches!(
            Rejected::invalid_or_forbidden(AppError::NotFound),
            Err(AppError::NotFound)
        ));
    }
}

/// The namespaces a list page offers: those the viewer can read (its filter) and,
/// among them, those where the viewer may create what the page lists (its creation
/// form, shown only when there is one).
#[derive(Debug, Clone, Default)]
pub struct NamespaceChoices {
    /// Readable namespaces.
    pub readable: Vec<String>,
    /// Namespaces the viewer may create in.
    pub creatable: Vec<String>,
}

impl NamespaceChoices {
    /// The choices of a viewer holding `grants` among `readable`, creating needing
    /// `create`.
    pub fn new(grants: &Grants, create: Permission, readable: Vec<String>) -> Self {
        Self {
            creatable: grants.namespaces_with(create, &readable),
            readable,
        }
    }
}
