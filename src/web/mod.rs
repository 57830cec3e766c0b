//! Web plumbing shared by every area: embedded assets, security headers, CSRF, error
//! rendering, the page layout and htmx helpers.

pub mod assets;
pub mod csrf;
pub mod errors;
pub mod format;
pub mod headers;
pub mod htmx;
pub mod layout;
pub mod pagination;

use actix_web::HttpRequest;

/// The client address for rate limiting and audit: the TCP peer. Forwarded headers are
/// not trusted, since any client can set them.
pub fn client_addr(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// A `303 See Other` to `location` (POST → redirect → GET).
pub fn see_other(location: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location))
        .finish()
}

/// `text` percent-encoded for use as one URL path segment.
pub fn path_segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
