//! htmx request detection.

use actix_web::HttpRequest;
use actix_web::dev::ServiceRequest;

/// Whether htmx sent the request (it then wants a fragment, not a page).
pub fn is_htmx(req: &HttpRequest) -> bool {
    req.headers().contains_key("HX-Request")
}

/// [`is_htmx`] for middleware.
pub fn is_htmx_service(req: &ServiceRequest) -> bool {
    req.headers().contains_key("HX-Request")
}
