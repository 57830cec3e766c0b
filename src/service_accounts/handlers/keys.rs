//! API-key pages: the new-key and rotation forms (each answered with a 303 to the
//! one-time reveal), and the (de)activate and delete actions.

use actix_web::web;
use serde::Deserialize;

use super::{ActiveForm, address_url, store_reveal};
use crate::access::Permission;
use crate::app::Cx;
use crate::db::now_ms;
use crate::errors::{AppError, AppResult};
use crate::names::Address;
use crate::service_accounts::accounts::authorized_account;
use crate::service_accounts::actions;
use crate::service_accounts::api_keys::{self, IssuedKey, KeyAt, NewKeyInput};
use crate::service_accounts::keys::{DAY_MS, MAX_RETAIN_MINUTES};
use crate::service_accounts::reveal;
use crate::service_accounts::views::{KeyForm, KeyRow, Linked, NewKeyPage, RotateKeyPage};
use crate::web::Reply;
use crate::web::form::Rejected;
use crate::web::layout::Section;
use crate::web::see_other;

/// Routes of the keys of the account at `account`.
pub(super) fn configure(cfg: &mut web::ServiceConfig, account: &str) {
    let keys = format!("{account}/api-keys");
    let one = format!("{keys}/{{key}}");
    cfg.service(web::resource(format!("{keys}/new")).get(new_key_form))
        .service(web::resource(keys).post(create_key))
        .service(
            web::resource(format!("{one}/rotate"))
                .get(rotate_key_form)
                .post(rotate_key),
        )
        .service(web::resource(format!("{one}/active")).post(set_key_active))
        .service(web::resource(format!("{one}/delete")).post(delete_key));
}

/// `GET /service-accounts/{sa}/api-keys/new`
async fn new_key_form(cx: Cx, account: Address) -> Reply {
    let max_days = max_days(&cx, &account).await?;
    let default = match max_days {
        Some(m) if m < 30 => "date",
        Some(m) if m < 90 => "30",
        _ => "90",
    };
    let page = NewKeyPage {
        layout: cx.layout(Section::ServiceAccounts)?,
        account: Linked::account(&account),
        form: KeyForm {
            expires: default.into(),
            ..Default::default()
        },
        max_days,
    };
    Ok(cx.render(page))
}

/// The longest key lifetime the policy of `account`'s namespace allows (checking that
/// the caller may manage its keys).
async fn max_days(cx: &Cx, account: &Address) -> AppResult<Option<i64>> {
    let n = account.clone();
    cx.run(move |conn, actor, st| {
        let (_, ns) = authorized_account(conn, actor, Permission::ApiKeyManage, &n)?;
        let policy = crate::key_policy::effective(conn, &st.config.key_policy, &ns)?;
        Ok(policy.max_key_lifetime_days)
    })
    .await
}

/// Turns the expiry choice into ms.
fn expiry(choice: &str, on: &str, now: i64) -> AppResult<Option<i64>> {
    match choice {
        "" | "none" => Ok(None),
        "30" | "90" | "365" => Ok(Some(now + choice.parse::<i64>().unwrap_or(0) * DAY_MS)),
        "date" => chrono::NaiveDate::parse_from_str(on, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .map(|t| Some(t.and_utc().timestamp_millis()))
            .ok_or_else(|| AppError::invalid("expires_on", "pick a date")),
        _ => Err(AppError::invalid(
            "expires",
            "choose none, 30, 90 or 365 days, or a date",
        )),
    }
}

/// A new or rotated key sealed for the session `binding`, answered with a 303 to its
/// reveal.
async fn reveal(cx: &Cx, binding: String, issued: IssuedKey) -> Reply {
    let id = cx
        .run(move |conn, _, st| store_reveal(conn, st, &binding, &issued))
        .await?;
    Ok(see_other(&format!("/reveal/{id}")))
}

/// `POST /service-accounts/{sa}/api-keys` → 303 to the reveal page.
async fn create_key(cx: Cx, account: Address, form: web::Form<KeyForm>) -> Reply {
    let mut form = form.into_inner();
    let binding = reveal::session_binding(&cx.session)?;
    let created = match expiry(&form.expires, &form.expires_on, now_ms()) {
        Ok(expires_at) => {
            let input = NewKeyInput {
                name: form.name.trim().to_owned(),
                description: Some(form.description.clone()),
                expires_at,
            };
            actions::create_key(&cx, account.clone(), input).await
        }
        Err(err) => Err(err),
    };
    let rejected = match created {
        Ok(issued) => return reveal(&cx, binding, issued).await,
        Err(err) => Rejected::invalid(err)?,
    };
    form.messages = rejected.messages;
    let page = NewKeyPage {
        layout: cx.layout(Section::ServiceAccounts)?,
        max_days: max_days(&cx, &account).await?,
        account: Linked::account(&account),
        form,
    };
    Ok(cx.render_with(page, rejected.status))
}

/// The rotation form of key `at`, for a caller who may manage it.
async fn rotate_page(cx: &Cx, at: KeyAt, form: KeyForm) -> AppResult<RotateKeyPage> {
    let account = Linked::account(&at.account);
    let key = cx
        .run(move |conn, actor, _| {
            api_keys::managed_key(conn, actor, &at.account, &at.key).map(|(key, _)| key)
        })
        .await?;
    Ok(RotateKeyPage {
        layout: cx.layout(Section::ServiceAccounts)?,
        account,
        key: KeyRow::new(&key, now_ms()),
        max_retain: MAX_RETAIN_MINUTES,
        form,
    })
}

/// `GET /service-accounts/{sa}/api-keys/{key}/rotate`
async fn rotate_key_form(cx: Cx, at: KeyAt) -> Reply {
    let form = KeyForm {
        retain: "0".into(),
        ..Default::default()
    };
    let page = rotate_page(&cx, at, form).await?;
    Ok(cx.render(page))
}

/// Form of a rotation.
#[derive(Debug, Deserialize)]
pub struct RotateForm {
    /// Required (blank: no grace period); a submission without it is a 400.
    retain_period_minutes: String,
}

/// Minutes the previous secret keeps working, as typed (blank: none).
fn retain_minutes(text: &str) -> AppResult<i64> {
    match text.trim() {
        "" => Ok(0),
        s => s.parse::<i64>().map_err(|_| {
            AppError::invalid("retain_period_minutes", "must be a whole number of minutes")
        }),
    }
}

/// `POST /service-accounts/{sa}/api-keys/{key}/rotate` → 303 to the reveal page.
async fn rotate_key(cx: Cx, at: KeyAt, form: web::Form<RotateForm>) -> Reply {
    let text = form.into_inner().retain_period_minutes;
    let binding = reveal::session_binding(&cx.session)?;
    let rotated = match retain_minutes(&text) {
        Ok(retain) => actions::rotate_key(&cx, at.clone(), retain).await,
        Err(err) => Err(err),
    };
    let rejected = match rotated {
        Ok(issued) => return reveal(&cx, binding, issued).await,
        Err(err) => Rejected::invalid(err)?,
    };
    let form = KeyForm {
        retain: text,
        messages: rejected.messages,
        ..Default::default()
    };
    let page = rotate_page(&cx, at, form).await?;
    Ok(cx.render_with(page, rejected.status))
}

/// `POST /service-accounts/{sa}/api-keys/{key}/active`
async fn set_key_active(cx: Cx, at: KeyAt, form: web::Form<ActiveForm>) -> Reply {
    let (url, edit) = (address_url(&at.account), form.edit()?);
    let done = if edit.active == Some(false) {
        format!("Key {} deactivated.", at.key)
    } else {
        format!("Key {} activated.", at.key)
    };
    actions::update_key(&cx, at, edit).await?;
    cx.done(&url, done)
}

/// `POST /service-accounts/{sa}/api-keys/{key}/delete`
async fn delete_key(cx: Cx, at: KeyAt) -> Reply {
    let (url, done) = (address_url(&at.account), format!("Key {} deleted.", at.key));
    actions::delete_key(&cx, at).await?;
    cx.done(&url, done)
}
