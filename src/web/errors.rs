//! Renders every error response for its audience, in one place: JSON for `/api/`,
//! a fragment for htmx, a full page otherwise; 401 on a page becomes a redirect to the
//! sign-in form. Internal details are logged under a request id, never shown.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::errors::AppError;
use crate::web::api::{ErrorBody, ErrorDetail};
use crate::web::htmx;
use crate::web::layout::Layout;

/// Full error page.
#[derive(Template)]
#[template(path = "errors/error.html")]
pub struct ErrorPage {
    /// Layout (anonymous).
    pub layout: Layout,
    /// HTTP status code.
    pub status: u16,
    /// Short title.
    pub title: String,
    /// What happened, safe to show.
    pub message: String,
    /// Correlates with the log line for 5xx.
    pub request_id: Option<String>,
    /// The list the page belongs to, `(path, name)`, as the way back.
    pub back: Option<(&'static str, &'static str)>,
}

/// htmx error fragment.
#[derive(Template)]
#[template(path = "errors/_error.html")]
pub struct ErrorFragment {
    /// Short title.
    pub title: String,
    /// What happened.
    pub message: String,
    /// Correlates with the log line for 5xx.
    pub request_id: Option<String>,
}

/// The middleware.
pub async fn render_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    // Never hold a clone of the request across `next.call`: routing needs it unique.
    // Inner middleware answer errors as responses (`ServiceRequest::error_response`),
    // so every error arrives here as a response carrying its error.
    let htmx = htmx::is_htmx_service(&req);
    let res = next.call(req).await?;
    // Routing answers an unrouted method with a bare 405 (no error attached).
    let bare_405 = res.status() == StatusCode::METHOD_NOT_ALLOWED;
    if (res.response().error().is_none() && !bare_405) || res.status().as_u16() < 400 {
        return Ok(res.map_into_left_body());
    }
    Ok(rerender(res.map_into_boxed_body(), htmx).map_into_right_body())
}

fn rerender(res: ServiceResponse<BoxBody>, htmx: bool) -> ServiceResponse<BoxBody> {
    let (req, response) = res.into_parts();
    let status = response.status();
    let err = response.error();
    let app_err = err.and_then(|e| e.as_error::<AppError>());
    let (code, message) = describe(status, app_err, err);
    let request_id = status.is_server_error().then(|| {
        let id = crate::web::request_id(&req);
        tracing::error!(request_id = %id, path = %req.path(), error = ?err, "server error");
        id
    });
    let mut builder = HttpResponse::build(status);
    for name in [header::RETRY_AFTER, header::ALLOW] {
        if let Some(v) = response.headers().get(&name) {
            builder.insert_header((name.clone(), v.clone()));
        }
    }
    let new = if req.path().starts_with("/api/") {
        if status == StatusCode::UNAUTHORIZED {
            builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        builder.json(ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
                fields: app_err
                    .and_then(AppError::fields)
                    .filter(|f| !f.is_empty())
                    .cloned(),
                request_id,
            },
        })
    } else if status == StatusCode::UNAUTHORIZED {
        let target = login_redirect(&req);
        if htmx {
            HttpResponse::Ok()
                .insert_header(("HX-Redirect", target))
                .finish()
        } else {
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, target))
                .finish()
        }
    } else {
        let title = status.canonical_reason().unwrap_or("Error").to_owned();
        let html = if htmx {
            ErrorFragment {
                title,
                message,
                request_id,
            }
            .render()
        } else {
            ErrorPage {
                layout: layout_for(&req),
                status: status.as_u16(),
                title,
                message,
                request_id,
                back: way_back(req.path()),
            }
            .render()
        };
        match html {
            Ok(html) => builder.content_type("text/html; charset=utf-8").body(html),
            Err(e) => {
                tracing::error!(error = %e, "error template failed");
                builder
                    .content_type("text/plain; charset=utf-8")
                    .body("error")
            }
        }
    };
    ServiceResponse::new(req, new)
}

fn describe(
    status: StatusCode,
    app_err: Option<&AppError>,
    err: Option<&actix_web::Error>,
) -> (&'static str, String) {
    if let Some(e) = app_err {
        return (e.code(), e.to_string());
    }
    match status {
        StatusCode::NOT_FOUND => ("not_found", "not found".into()),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "method not allowed".into()),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "request body too large".into()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "unsupported content type".into())
        }
        s if s.is_client_error() => (
            "bad_request",
            err.map(|e| e.to_string())
                .unwrap_or_else(|| "bad request".into()),
        ),
        _ => ("internal_error", "internal error".into()),
    }
}

/// The layout of an error page: with the navigation for a signed-in browser user (the
/// caller, when the request got as far as resolving it), bare otherwise.
fn layout_for(req: &HttpRequest) -> Layout {
    use actix_session::SessionExt;
    use actix_web::HttpMessage;
    let who = req
        .extensions()
        .get::<crate::web::layout::SignedIn>()
        .cloned();
    match who {
        Some(who) => Layout::signed_in(&who, &req.get_session()).unwrap_or_else(|_| Layout::bare()),
        None => Layout::bare(),
    }
}

/// The list a dashboard path belongs to, `(path, name)`: where an error page leads back.
fn way_back(path: &str) -> Option<(&'static str, &'static str)> {
    const LISTS: [(&str, &str); 7] = [
        ("/environments", "Environments"),
        ("/namespaces", "Namespaces"),
        ("/service-accounts", "Service accounts"),
        ("/connectors", "Connectors"),
        ("/connector-types", "Connector types"),
        ("/users", "Users"),
        ("/audit", "Audit"),
    ];
    LISTS
        .into_iter()
        .find(|(list, _)| path.starts_with(&format!("{list}/")) || path == *list)
}

/// `/login?return_to=<current path and query>`.
fn login_redirect(req: &HttpRequest) -> String {
    let target = match req.uri().query() {
        Some(q) => format!("{}?{q}", req.path()),
        None => req.path().to_owned(),
    };
    let encoded: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
    format!("/login?return_to={encoded}")
}
