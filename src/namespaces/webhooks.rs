//! A namespace's webhooks (hygiene alerts), for its admins: the JSON API, and the
//! namespace page's Webhooks section with each webhook's delivery log. The secret of a
//! new webhook is shown once (the API answer; in the browser, a one-time reveal).

use actix_web::{HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use crate::alerts::{self, CreatedWebhook, DeliveryJson, NewWebhook, WebhookJson};
use crate::app::Cx;
use crate::errors::AppError;
use crate::web::Reply;
use crate::web::api::{Json, Page};
use crate::web::form::{Messages, Rejected};
use crate::web::layout::{Layout, Section};
use crate::web::{path_segment, see_other};

/// The operations of this module in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(list_webhooks, create_webhook, delete_webhook, list_deliveries))]
pub(super) struct Doc;

/// Routes.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    const API: &str = "/api/v1/namespaces/{ns}/webhooks";
    cfg.service(web::resource(API).get(list_webhooks).post(create_webhook))
        .service(web::resource(format!("{API}/{{id}}")).delete(delete_webhook))
        .service(web::resource(format!("{API}/{{id}}/deliveries")).get(list_deliveries))
        .service(web::resource("/namespaces/{ns}/webhooks").post(create_from_form))
        .service(web::resource("/namespaces/{ns}/webhooks/{id}").get(show_webhook))
        .service(web::resource("/namespaces/{ns}/webhooks/{id}/delete").post(delete_from_form));
}

/// Deliveries listed.
const LOG: i64 = 200;

/// Makes a webhook of `ns` after checking its URL (with DNS).
async fn create(cx: &Cx, ns: String, body: NewWebhook) -> Result<CreatedWebhook, AppError> {
    let url = cx
        .state
        .alerts
        .check_url(&body.url)
        .await
        .map_err(|e| AppError::invalid("url", e))?;
    cx.run(move |conn, actor, st| alerts::create(conn, &st.alerts, actor, &ns, (&body, &url)))
        .await
}

/// List a namespace's webhooks.
///
/// For its admins (`namespace::update`); never their secrets.
#[utoipa::path(get, path = "/api/v1/namespaces/{ns}/webhooks", tag = "namespaces",
    params(("ns" = String, Path, description = "The namespace.")),
    responses((status = 200, description = "Its webhooks.", body = Page<WebhookJson>)))]
async fn list_webhooks(cx: Cx, ns: web::Path<String>) -> Reply {
    let ns = ns.into_inner();
    let list = cx
        .read(move |conn, actor, _| alerts::list(conn, actor, &ns))
        .await?;
    Ok(HttpResponse::Ok().json(Page::all(list)))
}

/// Make a webhook.
///
/// Signed hygiene alerts for the namespace's keys and connectors. The answer carries
/// the signing secret, this once.
#[utoipa::path(post, path = "/api/v1/namespaces/{ns}/webhooks", tag = "namespaces",
    params(("ns" = String, Path, description = "The namespace.")),
    request_body = NewWebhook,
    responses((status = 201, description = "The webhook and its secret (shown once).", body = CreatedWebhook)))]
async fn create_webhook(cx: Cx, ns: web::Path<String>, body: Json<NewWebhook>) -> Reply {
    let created = create(&cx, ns.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(created))
}

/// Delete a webhook, with its queued deliveries.
#[utoipa::path(delete, path = "/api/v1/namespaces/{ns}/webhooks/{id}", tag = "namespaces",
    params(("ns" = String, Path, description = "The namespace."), ("id" = i64, Path, description = "The webhook.")),
    responses((status = 204, description = "Deleted.")))]
async fn delete_webhook(cx: Cx, path: web::Path<(String, i64)>) -> Reply {
    let (ns, id) = path.into_inner();
    cx.run(move |conn, actor, _| alerts::delete(conn, actor, &ns, id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A webhook's delivery log, newest first.
#[utoipa::path(get, path = "/api/v1/namespaces/{ns}/webhooks/{id}/deliveries", tag = "namespaces",
    params(("ns" = String, Path, description = "The namespace."), ("id" = i64, Path, description = "The webhook.")),
    responses((status = 200, description = "Its newest 200 deliveries.", body = Page<DeliveryJson>)))]
async fn list_deliveries(cx: Cx, path: web::Path<(String, i64)>) -> Reply {
    let (ns, id) = path.into_inner();
    let log = cx
        .read(move |conn, actor, _| alerts::deliveries(conn, actor, &ns, id, LOG))
        .await?;
    Ok(HttpResponse::Ok().json(Page::all(log)))
}

/// The form of a new webhook.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct WebhookForm {
    /// Where to POST.
    #[serde(default)]
    pub url: String,
    /// Ticked events (`event=…` repeated).
    #[serde(default)]
    pub event: Vec<String>,
    /// Days for expiring / unused.
    #[serde(default)]
    pub within_days: String,
    /// Messages after a failed submission.
    #[serde(skip)]
    pub messages: Messages,
}

/// `POST /namespaces/{ns}/webhooks` → the one-time reveal of its secret, or the
/// namespace page again with the form's messages.
async fn create_from_form(
    cx: Cx,
    ns: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Reply {
    let ns = ns.into_inner();
    let mut form = read_form(form.into_inner());
    let within_days = match form.within_days.trim() {
        "" => Ok(None),
        t => t
            .parse()
            .map(Some)
            .map_err(|_| AppError::invalid("within_days", "must be a whole number of days")),
    };
    let created = match within_days {
        Ok(within_days) => {
            let body = NewWebhook {
                url: form.url.clone(),
                events: form.event.clone(),
                within_days,
            };
            create(&cx, ns.clone(), body).await
        }
        Err(e) => Err(e),
    };
    let rejected = match created {
        Ok(created) => {
            let binding = crate::service_accounts::reveal::session_binding(&cx.session)?;
            let label = format!("Signing secret of webhook {}", created.webhook.id);
            let target = format!("namespace {ns}");
            let id = cx
                .run(move |conn, _, st| {
                    let now = crate::db::now_ms();
                    let secret = &created.secret;
                    let sealer = &st.reveal_sealer;
                    Ok(crate::service_accounts::reveal::store(
                        conn, sealer, &binding, secret, &label, &target, now,
                    )?)
                })
                .await?;
            return Ok(see_other(&format!("/reveal/{id}")));
        }
        Err(err) => Rejected::invalid_or_forbidden(err)?,
    };
    form.messages = rejected.messages;
    let page = super::handlers::namespace_page_with(&cx, ns, form).await?;
    Ok(cx.render_with(page, rejected.status))
}

/// The form's fields (events repeat, so it is read as pairs).
fn read_form(pairs: Vec<(String, String)>) -> WebhookForm {
    let mut form = WebhookForm::default();
    for (k, v) in pairs {
        match k.as_str() {
            "url" => form.url = v,
            "event" => form.event.push(v),
            "within_days" => form.within_days = v,
            _ => {}
        }
    }
    form
}

/// `GET /namespaces/{ns}/webhooks/{id}`: a webhook and its delivery log.
#[derive(Template, WebTemplate)]
#[template(path = "namespaces/webhook.html")]
pub struct WebhookPage {
    /// Layout.
    pub layout: Layout,
    /// The namespace.
    pub namespace: String,
    /// The webhook.
    pub webhook: WebhookJson,
    /// Its newest deliveries.
    pub deliveries: Vec<DeliveryJson>,
}

async fn show_webhook(cx: Cx, path: web::Path<(String, i64)>) -> Reply {
    let (ns, id) = path.into_inner();
    let n = ns.clone();
    let (webhook, deliveries) = cx
        .run(move |conn, actor, _| {
            let webhook = alerts::list(conn, actor, &n)?
                .into_iter()
                .find(|w| w.id == id)
                .ok_or(AppError::NotFound)?;
            Ok((webhook, alerts::deliveries(conn, actor, &n, id, LOG)?))
        })
        .await?;
    Ok(cx.render(WebhookPage {
        layout: cx.layout(Section::Namespaces)?,
        namespace: ns,
        webhook,
        deliveries,
    }))
}

async fn delete_from_form(cx: Cx, path: web::Path<(String, i64)>) -> Reply {
    let (ns, id) = path.into_inner();
    let n = ns.clone();
    cx.run(move |conn, actor, _| alerts::delete(conn, actor, &n, id))
        .await?;
    cx.done(
        &format!("/namespaces/{}#webhooks", path_segment(&ns)),
        format!("Webhook {id} deleted."),
    )
}
