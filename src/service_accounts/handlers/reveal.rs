//! `GET /reveal/{id}`: a new key (or token) once, to the session that created it.

use actix_web::http::{StatusCode, header};
use actix_web::web;

use super::address_url;
use crate::app::Cx;
use crate::db::now_ms;
use crate::errors::AppError;
use crate::names::Address;
use crate::service_accounts::views::{RevealPage, RevealedPage};
use crate::service_accounts::{grants, reveal};
use crate::web::Reply;
use crate::web::layout::Section;

/// `GET /reveal/{id}`: the key once, to the session that created it; 410 afterwards.
pub(super) async fn show_reveal(cx: Cx, path: web::Path<String>) -> Reply {
    let id = path.into_inner();
    let binding = reveal::session_binding(&cx.session)?;
    let revealed = cx
        .run(move |conn, _, st| reveal::take(conn, &st.reveal_sealer, &id, &binding, now_ms()))
        .await?;
    let layout = cx.layout(Section::ServiceAccounts)?;
    let Some(r) = revealed else {
        return Ok(cx.render_with(RevealedPage { layout }, StatusCode::GONE));
    };
    let is_key = r.label.starts_with("API key");
    // A user's one-time password (set by an admin), revealed the same way.
    let is_password = r.label.starts_with("password of ");
    let account = Address::parse(&r.account);
    let at = account.clone();
    // The key has been taken: it must be shown whatever happens to this check. (An
    // account deleted since is not found: nothing to warn of.)
    let holds_nothing = is_key
        && match cx
            .run(move |conn, actor, _| grants::holds_nothing(conn, actor.grants(), &account))
            .await
        {
            Ok(nothing) => nothing,
            Err(AppError::NotFound) => false,
            Err(e) => {
                tracing::warn!(error = %e, "could not check the new key's account for access");
                false
            }
        };
    let page = RevealPage {
        layout,
        key: r.key,
        label: r.label,
        done_url: if is_key {
            address_url(&at)
        } else if is_password {
            format!("/users/{}", crate::web::path_segment(&r.account))
        } else {
            "/access".to_owned()
        },
        is_key,
        is_password,
        holds_nothing,
        account: at.name.clone(),
        base_url: cx
            .state
            .config
            .public_url
            .as_str()
            .trim_end_matches('/')
            .to_owned(),
    };
    let mut res = cx.render(page);
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}
