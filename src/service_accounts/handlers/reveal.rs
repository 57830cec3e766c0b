//! `GET /reveal/{id}`: a new key (or token) once, to the session that created it.

use actix_session::Session;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, Responder, web};

use super::account_url;
use crate::access::Actor;
use crate::app::AppState;
use crate::db::now_ms;
use crate::errors::AppResult;
use crate::service_accounts::reveal;
use crate::service_accounts::views::{RevealPage, RevealedPage};
use crate::web::layout::{Layout, Section};
use crate::web::respond_with_status;

/// `GET /reveal/{id}`: the key once, to the session that created it; 410 afterwards.
pub(super) async fn show_reveal(
    state: web::Data<AppState>,
    req: HttpRequest,
    actor: Actor,
    session: Session,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let binding = reveal::session_binding(&session)?;
    let st = state.clone();
    let revealed = state
        .db
        .run(move |conn| reveal::take(conn, &st.reveal_sealer, &id, &binding, now_ms()))
        .await?;
    let layout = Layout::new(&actor.principal, &session, Section::ServiceAccounts)?;
    let Some(r) = revealed else {
        return Ok(respond_with_status(
            RevealedPage { layout },
            &req,
            StatusCode::GONE,
        ));
    };
    let is_key = r.label.starts_with("API key");
    let page = RevealPage {
        layout,
        key: r.key,
        label: r.label,
        done_url: if is_key {
            account_url(&r.account)
        } else {
            "/access".to_owned()
        },
        is_key,
        account: r.account,
        base_url: state
            .config
            .public_url
            .as_str()
            .trim_end_matches('/')
            .to_owned(),
    };
    let mut res = page.respond_to(&req).map_into_boxed_body();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}
