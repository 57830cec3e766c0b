//! What an admin does to users in the browser — create one, deactivate or reactivate,
//! reset a password, set group memberships, edit what a group gets — and what every
//! user does for themselves: change their own password. New and reset passwords are
//! shown once, like a key.

use actix_web::web;
use serde::Deserialize;

use super::ops::{self, Grantee, UserChange};
use super::views::{GroupsPage, NewUserForm};
use crate::access::{self, Pattern, Role};
use crate::app::{Admin, AppState, Cx};
use crate::auth::{self, Checked};
use crate::db::{DbConnection, now_ms};
use crate::errors::{AppError, AppResult};
use crate::service_accounts::reveal;
use crate::web::form::Rejected;
use crate::web::layout::Section;
use crate::web::{Reply, path_segment, see_other};

/// Routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users/{name}/password").post(reset_password))
        .service(
            web::resource("/groups")
                .get(list_groups)
                .post(save_group_bindings),
        )
        .service(web::resource("/password").post(change_own_password));
}

/// `/users/{name}`.
fn user_url(name: &str) -> String {
    format!("/users/{}", path_segment(name))
}

/// A one-time password for `user`, hashed off the async workers.
async fn one_time_password() -> AppResult<(String, String)> {
    let plain = auth::random_password();
    let hash = ops::hash_password(Some(plain.clone())).await?;
    let hash = hash.ok_or_else(|| AppError::internal(anyhow::anyhow!("no hash")))?;
    Ok((plain, hash))
}

/// Seals `password` of `user` for this session's one-time reveal; the reveal's id.
fn reveal_password(
    conn: &mut DbConnection,
    st: &AppState,
    binding: &str,
    password: &str,
    user: &str,
) -> AppResult<String> {
    let label = format!("password of {user}");
    Ok(reveal::store(
        conn,
        &st.reveal_sealer,
        binding,
        password,
        &label,
        user,
        now_ms(),
    )?)
}

/// `POST /users` (`name`, `primary_namespace`): a new user with a one-time password →
/// its reveal; the list again with the messages when refused.
pub async fn create_user(Admin(cx): Admin, form: web::Form<NewUserForm>) -> Reply {
    let mut form = form.into_inner();
    let binding = reveal::session_binding(&cx.session)?;
    let (password, hash) = one_time_password().await?;
    let (name, primary) = (form.name.trim().to_owned(), form.primary_namespace.clone());
    let created = cx
        .run(move |conn, actor, st| {
            ops::create_user(
                conn,
                actor,
                (&name, Some(primary.trim())),
                Some(&hash),
                true,
            )?;
            reveal_password(conn, st, &binding, &password, &name)
        })
        .await;
    let rejected = match created {
        Ok(id) => return Ok(see_other(&format!("/reveal/{id}"))),
        Err(err) => Rejected::invalid(err)?,
    };
    form.messages = rejected.messages;
    let page = super::pages::users_page(&cx, String::new(), form).await?;
    Ok(cx.render_with(page, rejected.status))
}

/// An edit of a user from their page: the active toggle (`active=true|false`) or the
/// memberships editor (`groups`: names separated by commas or spaces; the provider's
/// stay).
#[derive(Debug, Deserialize)]
pub struct EditForm {
    active: Option<String>,
    groups: Option<String>,
}

impl EditForm {
    fn change(self) -> AppResult<UserChange> {
        if self.active.is_none() && self.groups.is_none() {
            return Err(AppError::bad_request("the form sent nothing to change"));
        }
        let active = match self.active.as_deref() {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(AppError::invalid("active", "must be true or false")),
        };
        let groups = self.groups.map(|text| {
            text.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect()
        });
        Ok(UserChange {
            active,
            groups,
            ..UserChange::default()
        })
    }
}

/// `POST /users/{name}` (see [`EditForm`]) → back to their page.
pub async fn edit_user(
    Admin(cx): Admin,
    path: web::Path<String>,
    form: web::Form<EditForm>,
) -> Reply {
    let change = form.into_inner().change()?;
    change_user(&cx, path.into_inner(), change).await
}

/// `POST /users/{name}/password`: a new one-time password (their sessions end) → its
/// reveal.
async fn reset_password(Admin(cx): Admin, path: web::Path<String>) -> Reply {
    let name = path.into_inner();
    let binding = reveal::session_binding(&cx.session)?;
    let (password, hash) = one_time_password().await?;
    let change = UserChange {
        password_hash: Some(hash),
        ..UserChange::default()
    };
    let id = cx
        .run(move |conn, actor, st| {
            ops::update_user(conn, st, actor, &name, &change)?;
            reveal_password(conn, st, &binding, &password, &name)
        })
        .await?;
    Ok(see_other(&format!("/reveal/{id}")))
}

/// Applies `change` to user `name` → back to their page.
async fn change_user(cx: &Cx, name: String, change: UserChange) -> Reply {
    let url = user_url(&name);
    let done = format!("{name} saved.");
    cx.run(move |conn, actor, st| ops::update_user(conn, st, actor, &name, &change))
        .await?;
    cx.done(&url, done)
}

/// The groups page, its editor showing `(group, bindings text, message)` again after a
/// failure.
async fn groups_page(cx: &Cx, failed: Option<(String, String, String)>) -> AppResult<GroupsPage> {
    let rows = cx
        .run(|conn, _, _| Ok(access::list_all_group_bindings(conn)?))
        .await?;
    let mut groups: Vec<(String, String)> = Vec::new();
    for (group, pattern, role) in rows {
        let line = format!("{pattern}={role}");
        match groups.last_mut() {
            Some((g, lines)) if *g == group => {
                lines.push('\n');
                lines.push_str(&line);
            }
            _ => groups.push((group, line)),
        }
    }
    Ok(GroupsPage {
        layout: cx.layout(Section::Users)?,
        groups,
        failed,
    })
}

/// `GET /groups`: every group with bindings, each editable, and a new group's.
async fn list_groups(Admin(cx): Admin) -> Reply {
    let page = groups_page(&cx, None).await?;
    Ok(cx.render(page))
}

/// Form of a group's bindings: the group, and one `pattern=role` a line.
#[derive(Debug, Deserialize)]
pub struct GroupBindingsForm {
    #[serde(default)]
    group: String,
    /// Required: a submission without it is a 400, never "no bindings".
    bindings: String,
}

/// `pattern=role` lines (or commas), each checked.
pub fn parse_lines(text: &str) -> Result<Vec<(Pattern, Role)>, String> {
    text.replace(',', "\n")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (p, r) = line
                .split_once('=')
                .or_else(|| line.split_once(':'))
                .ok_or_else(|| format!("{line:?} must look like pattern=role"))?;
            Ok((Pattern::parse(p.trim())?, Role::parse(r.trim())?))
        })
        .collect()
}

/// `POST /groups` (`group`, `bindings`) → the groups page (again with the message,
/// 422, when the name or a line is wrong).
async fn save_group_bindings(Admin(cx): Admin, form: web::Form<GroupBindingsForm>) -> Reply {
    let GroupBindingsForm {
        group,
        bindings: text,
    } = form.into_inner();
    let group = group.trim().to_owned();
    let parsed = crate::names::validate_name(&group)
        .map_err(|e| format!("group name {e}"))
        .and_then(|()| parse_lines(&text));
    let bindings = match parsed {
        Ok(b) => b,
        Err(message) => {
            let page = groups_page(&cx, Some((group, text, message))).await?;
            let status = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(cx.render_with(page, status));
        }
    };
    cx.run(move |conn, actor, st| {
        ops::replace_bindings(conn, st, actor, Grantee::Group(&group), &bindings)
    })
    .await?;
    cx.done("/groups", "Group bindings saved.")
}

/// The own-password form: the current one, the new one twice.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /password`: the signed-in user changes their own password — the current one
/// required — and every other session of theirs ends; this one goes on under a new
/// key. → `/access`, or the page again with the message.
async fn change_own_password(cx: Cx, form: web::Form<PasswordForm>) -> Reply {
    let f = form.into_inner();
    let name = cx.actor.principal.name.clone();
    let checked = match cx.actor.principal.kind {
        access::PrincipalKind::User if f.new != f.confirm => Err(AppError::invalid(
            "confirm",
            "the new password and its confirmation differ",
        )),
        access::PrincipalKind::User => {
            let given = (name.as_str(), f.current.as_str());
            auth::check_password_as(&cx.state, &cx.req, given, "user.reauthenticate").await
        }
        _ => Err(AppError::Forbidden("only users have passwords".into())),
    };
    let result = match checked {
        Ok(Checked::Ok { user_id, .. }) => match ops::hash_password(Some(f.new)).await {
            Ok(hash) => {
                let change = UserChange {
                    password_hash: hash,
                    ..UserChange::default()
                };
                cx.run(move |conn, actor, st| {
                    ops::update_user(conn, st, actor, &name, &change)?;
                    Ok(user_id)
                })
                .await
            }
            Err(e) => Err(e),
        },
        Ok(Checked::Refused) => Err(AppError::invalid(
            "current",
            "the current password is wrong",
        )),
        Err(e) => Err(e),
    };
    let rejected = match result {
        Ok(_) => {
            // The others were deleted with the change; this one lives on, renewed.
            cx.session.renew();
            let done = "Password changed; your other sessions have ended.";
            return cx.done("/access#password", done);
        }
        Err(err) => Rejected::invalid_or_forbidden(err)?,
    };
    let message = rejected.messages.errors.into_values().next();
    let message = message.or(rejected.messages.error);
    let page = super::pages::access_page(&cx.state, &cx.actor.principal, &cx.session, None).await?;
    let page = super::views::AccessPage {
        password_error: message,
        ..page
    };
    Ok(cx.render_with(page, rejected.status))
}
