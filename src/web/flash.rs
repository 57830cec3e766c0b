//! A one-time message for the next page ("Key ci rotated."): stored in the session by
//! the action that redirects, shown once by the page it redirects to — a success toast
//! that works without JavaScript. When htmx sent the change (and followed the redirect
//! for a fragment), the message travels as an `HX-Trigger: {"toast": …}` header of that
//! fragment instead, and the page's script shows it in the same place.

use actix_session::Session;

use crate::errors::AppError;

const KEY: &str = "flash";

/// Leaves `message` for the next page this session opens.
pub fn set(session: &Session, message: impl Into<String>) -> Result<(), AppError> {
    session
        .insert(KEY, message.into())
        .map_err(|e| AppError::internal(anyhow::anyhow!("session write failed: {e}")))
}

/// A message for the `HX-Trigger` header of this (htmx) response: a request extension.
#[derive(Debug, Clone)]
pub struct Toast(pub String);

/// `{"toast": "<message>"}` for `HX-Trigger`, non-ASCII escaped (`\uXXXX`) so that the
/// header stays ASCII.
pub fn trigger_header(message: &str) -> actix_web::http::header::HeaderValue {
    let json = serde_json::json!({ "toast": message }).to_string();
    let mut ascii = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            ascii.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                ascii.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    actix_web::http::header::HeaderValue::from_str(&ascii)
        .unwrap_or_else(|_| actix_web::http::header::HeaderValue::from_static("{}"))
}

/// Adds the `HX-Trigger` toast a handler left on the request (see [`Toast`]).
pub fn add_trigger<B>(res: &mut actix_web::dev::ServiceResponse<B>) {
    let toast = actix_web::HttpMessage::extensions(res.request())
        .get::<Toast>()
        .cloned();
    if let Some(Toast(message)) = toast {
        res.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("hx-trigger"),
            trigger_header(&message),
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trigger_header_is_json_in_ascii() {
        let header = trigger_header("ci — \"prod\" ✓ 🔑");
        let text = header.to_str().unwrap();
        assert!(text.is_ascii());
        let back: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(back["toast"], "ci — \"prod\" ✓ 🔑");
    }
}
