//! Dashboard pages of namespaces: the list, one namespace with its environments,
//! service accounts and shares, and the share editor. Buttons appear only when
//! allowed; every action is checked again on the server.

use actix_web::web;
use serde::Deserialize;

use super::policy::{PolicyForm, PolicySection};
use super::views::WebhooksSection;
use super::views::{AdminSection, NamespacePage, ShareRow};
use super::webhooks::WebhookForm;
use super::{members, sharing};
use crate::access::{Pattern, Permission, Role};
use crate::app::Cx;
use crate::environments::{self, EnvFilter, EnvRow};
use crate::errors::{AppError, AppResult};
use crate::service_accounts;
use crate::web::Reply;
use crate::web::grants::why_rows;
use crate::web::layout::Section;
use crate::web::{form_errors, path_segment};

/// Environments shown on a namespace's page.
const ENV_PAGE: i64 = 25;

/// Routes.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    const SHARES: &str = "/namespaces/{ns}/shares";
    cfg.service(web::resource("/namespaces/{ns}").get(show_namespace))
        .service(web::resource(SHARES).post(add_share))
        .service(web::resource(format!("{SHARES}/delete")).post(remove_share));
}

/// Query of a namespace's page: "view as" a user or service account.
#[derive(Debug, Default, Deserialize)]
pub struct NamespaceQuery {
    #[serde(default)]
    view_as: String,
}

/// Environments listed by "view as".
const VIEW_AS_PAGE: i64 = 100;

/// Who has access to namespace `name` and, when `view_as` names someone, what they
/// can read there: for its admins only (None for anyone else).
async fn admin_section(cx: &Cx, name: &str, view_as: String) -> AppResult<Option<AdminSection>> {
    if !cx
        .actor
        .grants()
        .can_namespace(Permission::NamespaceRoleMappingCreate, name)
    {
        return Ok(None);
    }
    let (n, who) = (name.to_owned(), view_as.clone());
    let (members, seen) = cx
        .run(move |conn, actor, st| {
            let rules = &st.config.grant_rules;
            let members = members::members(conn, actor, rules, &n)?;
            let seen = if who.trim().is_empty() {
                None
            } else {
                let limits = (&**rules, &st.env_totals);
                Some(members::view_as(
                    conn,
                    actor,
                    limits,
                    &n,
                    &who,
                    VIEW_AS_PAGE,
                ))
            };
            Ok((members, seen))
        })
        .await?;
    let (readable, view_as_error) = match seen {
        None => (None, None),
        Some(Ok(v)) => {
            let envs = v.environments.iter();
            let rows = why_rows(
                &v.grants,
                envs.map(|(e, ns)| (ns.as_str(), e.name.as_str())),
            );
            (Some((rows, v.total)), None)
        }
        Some(Err(err @ AppError::Validation { .. })) => {
            (None, form_errors(&err).0.into_values().next())
        }
        Some(Err(other)) => return Err(other),
    };
    Ok(Some(AdminSection {
        members,
        view_as,
        readable,
        view_as_error,
    }))
}

pub(super) async fn namespace_page(
    cx: &Cx,
    name: String,
    share_error: Option<String>,
    view_as: String,
    policy_form: Option<PolicyForm>,
) -> AppResult<NamespacePage> {
    namespace_page_forms(cx, name, (share_error, view_as), policy_form, None).await
}

/// The namespace page showing the webhook form again with its messages.
pub(super) async fn namespace_page_with(
    cx: &Cx,
    name: String,
    webhook_form: WebhookForm,
) -> AppResult<NamespacePage> {
    namespace_page_forms(cx, name, (None, String::new()), None, Some(webhook_form)).await
}

/// The namespace page, its forms as given (or fresh).
async fn namespace_page_forms(
    cx: &Cx,
    name: String,
    (share_error, view_as): (Option<String>, String),
    policy_form: Option<PolicyForm>,
    webhook_form: Option<WebhookForm>,
) -> AppResult<NamespacePage> {
    let admin = admin_section(cx, &name, view_as).await?;
    let n = name.clone();
    let (ns, envs_page, total, accounts, shares) = cx
        .run(move |conn, a, st| {
            let grants = a.grants();
            let ns = environments::readable_namespace(conn, grants, &n)?;
            let filter = EnvFilter {
                namespace: Some(n.clone()),
                limit: ENV_PAGE,
                ..Default::default()
            };
            let (list, total) =
                environments::list_environments(conn, grants, &filter, &st.env_totals)?;
            let accounts = service_accounts::accounts_in(conn, ns.id)?;
            let shares = if grants.can_namespace(Permission::NamespaceRoleMappingRead, &n) {
                Some(sharing::shares(conn, a, &n)?)
            } else {
                None
            };
            let policy =
                service_accounts::policy::policy_of(conn, grants, &st.config.key_policy, &n)?;
            let hooks = if grants.can_namespace(Permission::NamespaceUpdate, &n) {
                Some(crate::alerts::list(conn, a, &n)?)
            } else {
                None
            };
            Ok((ns, list, total, accounts, (shares, policy, hooks)))
        })
        .await?;
    let (shares, policy, hooks) = shares;
    let grants = cx.actor.grants();
    let pattern = Pattern::parse(&format!("{name}/*")).map_err(AppError::bad_request)?;
    Ok(NamespacePage {
        layout: cx.layout(Section::Namespaces)?,
        name: ns.name,
        description: ns.description,
        envs: envs_page
            .iter()
            .take(ENV_PAGE as usize)
            .map(|(e, ns)| EnvRow::new(e, ns))
            .collect(),
        env_total: total,
        accounts,
        shares: shares.map(|list| list.into_iter().map(ShareRow::from).collect()),
        can_share: grants.can_namespace(Permission::NamespaceRoleMappingCreate, &name),
        shareable_roles: Role::ALL
            .iter()
            .filter(|r| grants.covers(&pattern, **r))
            .map(|r| r.as_str())
            .collect(),
        share_error,
        admin,
        can_delete: name != "default" && grants.can_namespace(Permission::NamespaceDelete, &name),
        policy: PolicySection {
            form: policy_form.unwrap_or_else(|| PolicyForm::of(&policy.own)),
            answer: policy,
            can_edit: grants.can_namespace(Permission::NamespaceUpdate, &name),
        },
        webhooks: hooks.map(|list| WebhooksSection {
            list,
            form: webhook_form.unwrap_or_else(|| WebhookForm {
                within_days: "7".into(),
                ..WebhookForm::default()
            }),
            events: crate::alerts::EVENTS,
        }),
    })
}

async fn show_namespace(
    cx: Cx,
    path: web::Path<String>,
    query: web::Query<NamespaceQuery>,
) -> Reply {
    let view_as = query.into_inner().view_as;
    let page = namespace_page(&cx, path.into_inner(), None, view_as, None).await?;
    Ok(cx.render(page))
}

/// Form of the share editor.
#[derive(Debug, Deserialize)]
pub struct ShareForm {
    principal: String,
    role: Option<String>,
}

/// `/namespaces/{ns}`.
pub(super) fn namespace_url(name: &str) -> String {
    format!("/namespaces/{}", path_segment(name))
}

async fn add_share(cx: Cx, path: web::Path<String>, form: web::Form<ShareForm>) -> Reply {
    let name = path.into_inner();
    let f = form.into_inner();
    let role = f.role.unwrap_or_else(|| "viewer".into());
    let target = f.principal.trim().to_owned();
    let done = format!("{name} shared with {target} as {role}.");
    match super::api::share(&cx, (name.clone(), target), role).await {
        Ok(()) => cx.done(&namespace_url(&name), done),
        Err(err @ (AppError::Validation { .. } | AppError::Forbidden(_))) => {
            // The form has one message line: the first field's message, or the error's.
            let (fields, message, status) = form_errors(&err);
            let message = fields
                .into_values()
                .next()
                .or(message)
                .unwrap_or_else(|| err.to_string());
            let page = namespace_page(&cx, name, Some(message), String::new(), None).await?;
            Ok(cx.render_with(page, status))
        }
        Err(other) => Err(other),
    }
}

async fn remove_share(cx: Cx, path: web::Path<String>, form: web::Form<ShareForm>) -> Reply {
    let name = path.into_inner();
    let (url, principal) = (namespace_url(&name), form.into_inner().principal);
    let done = format!("{name} no longer shared with {principal}.");
    super::api::unshare(&cx, (name, principal)).await?;
    cx.done(&url, done)
}
