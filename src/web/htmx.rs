//! htmx request detection.

use actix_web::HttpRequest;
use actix_web::dev::ServiceRequest;
use actix_web::http::header::HeaderMap;

/// Whether htmx sent the request and wants a fragment, not a page. A history restore
/// (back to a URL htmx pushed, not in its cache) wants the whole page.
pub fn is_htmx(req: &HttpRequest) -> bool {
    wants_fragment(req.headers())
}

/// [`is_htmx`] for middleware.
pub fn is_htmx_service(req: &ServiceRequest) -> bool {
    wants_fragment(req.headers())
}

fn wants_fragment(h: &HeaderMap) -> bool {
    h.contains_key("HX-Request") && !h.contains_key("HX-History-Restore-Request")
}
