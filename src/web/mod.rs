//! Web plumbing shared by every area: embedded assets, security headers, CSRF, error
//! rendering, the page layout and htmx helpers.

pub mod api;
pub mod assets;
pub mod attention;
pub mod client;
pub mod csrf;
pub mod errors;
pub mod flash;
pub mod form;
pub mod format;
pub mod grants;
pub mod headers;
pub mod htmx;
pub mod layout;
pub mod pagination;

use actix_web::HttpRequest;

/// What a handler answers: a response, or an error the error renderer shows.
pub type Reply = Result<actix_web::HttpResponse, crate::errors::AppError>;

/// The client address for rate limiting and audit: the TCP peer, or behind a trusted
/// proxy (`PORTCULLIS_TRUSTED_PROXIES`) the client its forwarding headers name.
pub fn client_addr(req: &HttpRequest) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".into();
    };
    let trusted = req
        .app_data::<actix_web::web::Data<crate::app::AppState>>()
        .map(|s| s.config.trusted_proxies.as_slice())
        .unwrap_or_default();
    client::behind(peer, trusted, req.headers()).to_string()
}

/// This request's id (12 hex digits, random), made on first use and kept in the
/// request's extensions so the caller's [`crate::access::Actor`], the logs and error
/// pages all name the same one.
pub fn request_id(req: &HttpRequest) -> String {
    use actix_web::HttpMessage;
    #[derive(Clone)]
    struct RequestId(String);
    if let Some(RequestId(id)) = req.extensions().get::<RequestId>() {
        return id.clone();
    }
    let mut bytes = [0u8; 6];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let id = hex::encode(bytes);
    req.extensions_mut().insert(RequestId(id.clone()));
    id
}

/// Renders `page` with `status` instead of 200: a form shown again with its messages
/// (422, 403, 409 …), a reveal that is gone (410).
pub fn respond_with_status(
    page: impl actix_web::Responder,
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
) -> actix_web::HttpResponse {
    let mut res = page.respond_to(req).map_into_boxed_body();
    *res.status_mut() = status;
    res
}

/// What a form shows for a failed submission: per-field messages for a validation
/// error, or one message otherwise; and the status to answer with.
pub fn form_errors(
    err: &crate::errors::AppError,
) -> (
    crate::errors::FieldErrors,
    Option<String>,
    actix_web::http::StatusCode,
) {
    use actix_web::ResponseError;
    match err {
        crate::errors::AppError::Validation { fields, .. } => {
            (fields.clone(), None, err.status_code())
        }
        other => (
            Default::default(),
            Some(other.to_string()),
            other.status_code(),
        ),
    }
}

/// A `303 See Other` to `location` (POST → redirect → GET).
pub fn see_other(location: &str) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location))
        .finish()
}

/// The page of `name`, a `kind` of thing named per namespace (`service-accounts`,
/// `connectors`), in namespace `ns`: `/namespaces/{ns}/{kind}/{name}`.
pub fn namespaced_url(kind: &str, ns: &str, name: &str) -> String {
    format!(
        "/namespaces/{}/{kind}/{}",
        path_segment(ns),
        path_segment(name)
    )
}

/// The page at `at`: [`namespaced_url`] with a namespace, else the older `/{kind}/{name}`
/// (a bare name that was answered was unambiguous).
pub fn address_url(kind: &str, at: &crate::names::Address) -> String {
    match &at.namespace {
        Some(ns) => namespaced_url(kind, ns, &at.name),
        None => format!("/{kind}/{}", path_segment(&at.name)),
    }
}

/// `text` percent-encoded for use as one URL path segment.
pub fn path_segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
