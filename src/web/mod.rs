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
