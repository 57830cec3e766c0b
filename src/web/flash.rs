//! A one-time message for the next page ("Key ci rotated."): stored in the session by
//! the action that redirects, shown once by the page it redirects to — a success toast
//! that works without JavaScript.

use actix_session::Session;

use crate::errors::AppError;

const KEY: &str = "flash";

/// Leaves `message` for the next page this session opens.
pub fn set(session: &Session, message: impl Into<String>) -> Result<(), AppError> {
    session
        .insert(KEY, message.into())
        .map_err(|e| AppError::internal(anyhow::anyhow!("session write failed: {e}")))
}

/// The message left for this page, if any (it is gone afterwards). A session without
/// one is left untouched: removing marks a session changed, and a changed session is
/// written back to the database.
pub fn take(session: &Session) -> Option<String> {
    if !session.contains_key(KEY) {
        return None;
    }
    session.remove_as::<String>(KEY).and_then(Result::ok)
}
