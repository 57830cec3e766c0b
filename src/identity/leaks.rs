//! Leak reports: `POST /api/v1/leaks/github` (GitHub's secret-scanning partner format,
//! the request signed with GitHub's published ECDSA keys) and `POST /api/v1/leaks`
//! (anyone holding a key reports it), plus the dashboard's "Report a leaked key" page.
//! A reported key is deactivated at once, its tokens revoked, the report audited with
//! where it leaked, and its namespace alerted by webhook. A request whose signature does
//! not verify changes nothing.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::app::{AppState, Cx};
use crate::audit;
use crate::errors::AppError;
use crate::service_accounts::leaked::{self, Report, Revoked};
use crate::web::Reply;
use crate::web::api::Json;
use crate::web::client_addr;
use crate::web::layout::{Layout, Section};

/// The operations of this module in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(report_key, github_report))]
pub(super) struct Doc;

/// Routes.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/leaks").post(report_key))
        .service(web::resource("/api/v1/leaks/github").post(github_report))
        .service(
            web::resource("/report-leak")
                .get(report_page)
                .post(report_form),
        );
}

/// Body of `POST /api/v1/leaks`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeakBody {
    /// The leaked key (`pck_…`).
    key: String,
}

/// Answer of `POST /api/v1/leaks`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeakAnswer {
    /// Always true: the key is inactive now.
    deactivated: bool,
    /// `namespace/account` of the key.
    service_account: String,
    /// The key's name.
    key: String,
}

/// Revokes the key `text` for `report`; clears this instance's key cache.
async fn revoke(
    state: &AppState,
    text: String,
    report: Report,
) -> Result<Option<Revoked>, AppError> {
    let pepper = state.keys.credential_pepper;
    let found = state
        .db
        .run(move |conn| leaked::revoke_leaked(conn, &pepper, &text, &report))
        .await?;
    if found.is_some() {
        state.key_cache.clear();
        state.alerts.wake();
    }
    Ok(found)
}

/// Report a leaked key.
///
/// Anyone holding a key may report it: it is deactivated at once and its tokens
/// revoked, without knowing whose it is. Unknown keys are a 404 (and count towards the
/// client's failed-credential limit).
#[utoipa::path(post, path = "/api/v1/leaks", tag = "credentials",
    security(()),
    request_body = LeakBody,
    responses(
        (status = 200, description = "The key is deactivated.", body = LeakAnswer),
        (status = 404, description = "No key matches.", body = crate::web::api::ErrorBody),
    ))]
async fn report_key(req: HttpRequest, state: web::Data<AppState>, body: Json<LeakBody>) -> Reply {
    let client = client_addr(&req);
    let report = Report {
        reporter: "self-service".into(),
        client: client.clone(),
        ..Report::default()
    };
    match revoke(&state, body.into_inner().key, report).await? {
        Some(r) => Ok(HttpResponse::Ok().json(LeakAnswer {
            deactivated: true,
            service_account: r.account,
            key: r.key,
        })),
        None => {
            if let Err(wait) = state.login_limiter.bearer_failure(&client) {
                return Err(
                    crate::auth::audit_throttled(&state, client, "api_key.leaked", wait).await,
                );
            }
            Err(AppError::NotFound)
        }
    }
}

/// One token's verdict, in GitHub's format (the token as its SHA-256, never echoed).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Verdict {
    /// Hex SHA-256 of the reported token.
    token_hash: String,
    /// The type GitHub reported.
    token_type: String,
    /// `true_positive` (a key of ours, now deactivated) or `false_positive`.
    label: &'static str,
}

/// GitHub secret-scanning report.
///
/// GitHub's partner format: a JSON array of `{token, type, url, source}`, signed with
/// the key named by `Github-Public-Key-Identifier` (ECDSA P-256, DER signature in
/// `Github-Public-Key-Signature`, keys from `PORTCULLIS_LEAK_KEYS_URL`). Each token of
/// ours is deactivated and audited with where it leaked.
#[utoipa::path(post, path = "/api/v1/leaks/github", tag = "credentials",
    security(()),
    request_body(content = Vec<crate::leaks::LeakReport>, description = "GitHub's report."),
    responses(
        (status = 200, description = "A verdict per token.", body = Vec<Verdict>),
        (status = 401, description = "The signature does not verify: nothing changed.", body = crate::web::api::ErrorBody),
        (status = 404, description = "Leak reports from GitHub are not configured.", body = crate::web::api::ErrorBody),
    ))]
async fn github_report(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> Reply {
    let Some(keys_url) = state.config.leak_keys_url.clone() else {
        return Err(AppError::NotFound);
    };
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (key_id, signature) = (
        header("github-public-key-identifier"),
        header("github-public-key-signature"),
    );
    let client = client_addr(&req);
    let verified = state
        .leak_keys
        .verify(
            &state.outbound,
            keys_url.as_str(),
            &key_id,
            &signature,
            &body,
        )
        .await;
    if let Err(why) = verified {
        // Counted like a failed credential: a flood of bad signatures is throttled
        // before it can fill the audit log.
        if let Err(wait) = state.login_limiter.bearer_failure(&client) {
            return Err(crate::auth::audit_throttled(&state, client, "leak.report", wait).await);
        }
        let detail = format!("signature refused: {why}");
        state
            .db
            .run(move |conn| {
                audit::anonymous_failure(conn, "leak.report", "github", &client, Some(&detail))
                    .map_err(AppError::from)
            })
            .await?;
        return Err(AppError::Unauthenticated);
    }
    let reports = crate::leaks::parse_reports(&body).map_err(AppError::bad_request)?;
    let mut verdicts = Vec::with_capacity(reports.len());
    for r in reports {
        let report = Report {
            reporter: "github".into(),
            url: r.url,
            source: r.source,
            client: client.clone(),
        };
        let found = revoke(&state, r.token.clone(), report).await?;
        verdicts.push(Verdict {
            token_hash: hex::encode(sha2::Sha256::digest(r.token.as_bytes())),
            token_type: r.r#type,
            label: if found.is_some() {
                "true_positive"
            } else {
                "false_positive"
            },
        });
    }
    Ok(HttpResponse::Ok().json(verdicts))
}

/// `GET /report-leak`: paste a key to deactivate it.
#[derive(Template, WebTemplate)]
#[template(path = "service_accounts/report_leak.html")]
pub struct ReportPage {
    /// Layout.
    pub layout: Layout,
    /// What happened: the key deactivated, or why not.
    pub outcome: Option<Result<String, String>>,
}

async fn report_page(cx: Cx) -> Reply {
    Ok(cx.render(ReportPage {
        layout: cx.layout(Section::ServiceAccounts)?,
        outcome: None,
    }))
}

/// The form.
#[derive(Debug, Deserialize)]
pub struct ReportForm {
    key: String,
}

async fn report_form(cx: Cx, form: web::Form<ReportForm>) -> Reply {
    let report = Report {
        reporter: format!("self-service:{}", cx.actor.name()),
        client: cx.actor.client.clone(),
        ..Report::default()
    };
    let found = revoke(&cx.state, form.into_inner().key, report).await?;
    let (outcome, status) = match found {
        Some(r) => (
            Ok(format!(
                "Key {} of {} is deactivated and its tokens revoked.",
                r.key, r.account
            )),
            StatusCode::OK,
        ),
        None => (
            Err("No key matches what you pasted: nothing changed.".to_owned()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let page = ReportPage {
        layout: cx.layout(Section::ServiceAccounts)?,
        outcome: Some(outcome),
    };
    Ok(cx.render_with(page, status))
}
