//! Namespaces come and go in the browser: the list with its creation form (for those
//! who may create namespaces), and deleting one after a confirmation that names what
//! goes with it and asks for its name again.

use actix_web::web;

use super::manage;
use super::views::{DeletePage, NamespaceForm, NamespacesPage, Takes};
use crate::access::{self, Permission};
use crate::app::Cx;
use crate::environments;
use crate::errors::{AppError, AppResult};
use crate::web::form::{Messages, Rejected};
use crate::web::layout::Section;
use crate::web::{Reply, path_segment};
use crate::{connectors, service_accounts};

/// Routes.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/namespaces")
            .get(list_namespaces)
            .post(create_namespace),
    )
    .service(
        web::resource("/namespaces/{ns}/delete")
            .get(confirm_delete)
            .post(delete_namespace),
    );
}

/// The list page, its creation form showing `form` (open after a failure).
async fn list_page(cx: &Cx, form: NamespaceForm) -> AppResult<NamespacesPage> {
    let list = cx
        .run(move |conn, actor, _| {
            Ok(environments::list_namespaces(
                conn,
                actor.grants(),
                None,
                None,
                1000,
            )?)
        })
        .await?;
    let under = cx.actor.grants().creatable_namespaces();
    Ok(NamespacesPage {
        layout: cx.layout(Section::Namespaces)?,
        rows: list.into_iter().map(|n| (n.name, n.description)).collect(),
        create: (!under.is_empty()).then_some((under, form)),
    })
}

async fn list_namespaces(cx: Cx) -> Reply {
    let page = list_page(&cx, NamespaceForm::default()).await?;
    Ok(cx.render(page))
}

/// `POST /namespaces` → the new namespace's page, or the list again with the messages.
async fn create_namespace(cx: Cx, form: web::Form<NamespaceForm>) -> Reply {
    let mut form = form.into_inner();
    let (name, description) = (form.name.trim().to_owned(), form.description.clone());
    let n = name.clone();
    let created = cx
        .run(move |conn, actor, _| manage::create(conn, actor, &n, &description, None))
        .await;
    let rejected = match created {
        Ok(ns) => {
            let url = format!("/namespaces/{}", path_segment(&ns.name));
            return cx.done(&url, format!("{} created.", ns.name));
        }
        Err(err) => Rejected::invalid_or_forbidden(err)?,
    };
    form.messages = rejected.messages;
    let page = list_page(&cx, form).await?;
    Ok(cx.render_with(page, rejected.status))
}

/// The confirmation page of deleting namespace `name` (`namespace::delete` on it).
async fn delete_page(cx: &Cx, name: String, messages: Messages) -> AppResult<DeletePage> {
    let n = name.clone();
    let takes = cx
        .run(move |conn, actor, _| {
            let ns = environments::readable_namespace(conn, actor.grants(), &n)?;
            actor.require_namespace(Permission::NamespaceDelete, &n)?;
            if n == "default" {
                return Err(AppError::Conflict(
                    "the default namespace always exists".into(),
                ));
            }
            let accounts = service_accounts::accounts_in(conn, ns.id)?;
            Ok(Takes {
                environments: environments::count_environments_in(conn, ns.id)?,
                accounts: accounts.into_iter().map(|(name, _)| name).collect(),
                connectors: connectors::names_in(conn, ns.id)?,
                shares: access::list_shares_in(conn, ns.id)?.len(),
            })
        })
        .await?;
    Ok(DeletePage {
        layout: cx.layout(Section::Namespaces)?,
        name,
        takes,
        messages,
    })
}

/// `GET /namespaces/{ns}/delete`
async fn confirm_delete(cx: Cx, path: web::Path<String>) -> Reply {
    let page = delete_page(&cx, path.into_inner(), Messages::default()).await?;
    Ok(cx.render(page))
}

/// The confirmation as submitted: the namespace's name typed again.
#[derive(Debug, serde::Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

/// `POST /namespaces/{ns}/delete` → the list, or the confirmation again (422) when the
/// name typed is not the namespace's.
async fn delete_namespace(cx: Cx, path: web::Path<String>, form: web::Form<ConfirmForm>) -> Reply {
    let name = path.into_inner();
    if form.confirm.trim() != name {
        let err = AppError::invalid("confirm", format!("type {name} to confirm"));
        let rejected = Rejected::invalid(err)?;
        let page = delete_page(&cx, name, rejected.messages).await?;
        return Ok(cx.render_with(page, rejected.status));
    }
    let done = format!("{name} deleted, with everything in it.");
    cx.run(move |conn, actor, st| manage::delete(conn, actor, &st.key_cache, &name))
        .await?;
    cx.done("/namespaces", done)
}
