//! The connector operations pages and the JSON API share, run on the database pool
//! for the request's caller.

use super::models::Connector;
use super::registry::{self, Draft, ListQuery, Listed, Patch};
use crate::access::Permission;
use crate::app::Cx;
use crate::environments;
use crate::errors::{AppError, AppResult};
use crate::names::Address;
use crate::web::form::NamespaceChoices;

/// A page of the connectors the caller may read, after the one named `after`; and the
/// name of its last connector when more follow.
pub(super) async fn list(
    cx: &Cx,
    filter: ListQuery,
    after: Option<String>,
    limit: i64,
) -> AppResult<(Vec<Listed>, Option<String>)> {
    cx.read(move |conn, actor, _| registry::list(conn, actor, &filter, after.as_deref(), limit))
        .await
}

/// The connector at `at` with its resources, if the caller may read it.
pub(super) async fn get(cx: &Cx, at: Address) -> AppResult<Listed> {
    cx.run(move |conn, actor, _| registry::get(conn, actor, &at))
        .await
}

/// The connector at `at` if the caller may read it and has `permission` on its
/// namespace: 404 if unreadable, 403 without the permission.
pub(super) async fn readable_with(
    cx: &Cx,
    permission: Permission,
    at: Address,
) -> AppResult<Connector> {
    cx.run(move |conn, actor, _| registry::readable_with(conn, actor, permission, &at))
        .await
}

/// The connector at `at` if the caller may edit it: 404 if unreadable, 403
/// without `connector::update`.
pub(super) async fn editable(cx: &Cx, at: Address) -> AppResult<Connector> {
    readable_with(cx, Permission::ConnectorUpdate, at).await
}

/// Registers `draft` for the caller; the connector with its resources.
pub(super) async fn create(cx: &Cx, draft: Draft) -> AppResult<Listed> {
    cx.run(move |conn, actor, st| {
        let c = registry::create(conn, actor, &st.catalog, &st.connector_sealer, &draft)?;
        registry::with_resources(conn, c)
    })
    .await
}

/// Applies `patch` to the connector at `at` for the caller; the connector with
/// its resources.
pub(super) async fn update(cx: &Cx, at: Address, patch: Patch) -> AppResult<Listed> {
    cx.run(move |conn, actor, st| {
        let (catalog, sealer) = (&st.catalog, &st.connector_sealer);
        let c = registry::update(conn, actor, catalog, sealer, &at, &patch)?;
        registry::with_resources(conn, c)
    })
    .await
}

/// Deletes the connector at `at` for the caller.
pub(super) async fn delete(cx: &Cx, at: Address) -> AppResult<()> {
    cx.run(move |conn, actor, _| registry::delete(conn, actor, &at))
        .await
}

/// Namespaces the caller may read, and those among them they may register in.
pub(super) async fn namespaces(cx: &Cx) -> AppResult<NamespaceChoices> {
    let readable = cx
        .run(|conn, actor, _| {
            environments::list_readable_namespace_names(conn, actor.grants())
                .map_err(AppError::from)
        })
        .await?;
    let grants = cx.actor.grants();
    Ok(NamespaceChoices::new(
        grants,
        Permission::ConnectorCreate,
        readable,
    ))
}
