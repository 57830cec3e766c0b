//! The connector operations pages and the JSON API share, run on the database pool
//! for the request's caller.

use actix_web::web;

use super::models::Connector;
use super::registry::{self, Draft, ListQuery, Listed, Patch};
use crate::access::{Actor, Permission};
use crate::app::AppState;
use crate::errors::AppResult;

/// A page of the connectors `actor` may read, after the one named `after`; and the
/// name of its last connector when more follow.
pub(super) async fn list(
    state: &web::Data<AppState>,
    actor: &Actor,
    filter: ListQuery,
    after: Option<String>,
    limit: i64,
) -> AppResult<(Vec<Listed>, Option<String>)> {
    let actor = actor.clone();
    state
        .db
        .run(move |conn| registry::list(conn, &actor, &filter, after.as_deref(), limit))
        .await
}

/// The connector called `name` with its resources, if `actor` may read it.
pub(super) async fn get(
    state: &web::Data<AppState>,
    actor: &Actor,
    name: String,
) -> AppResult<Listed> {
    let actor = actor.clone();
    state
        .db
        .run(move |conn| registry::get(conn, &actor, &name))
        .await
}

/// The connector called `name` if `actor` may edit it: 404 if unreadable, 403 without
/// `connector::update`.
pub(super) async fn editable(
    state: &web::Data<AppState>,
    actor: &Actor,
    name: String,
) -> AppResult<Connector> {
    let actor = actor.clone();
    state
        .db
        .run(move |conn| registry::readable_with(conn, &actor, Permission::ConnectorUpdate, &name))
        .await
}

/// Registers `draft` for `actor`; the connector with its resources.
pub(super) async fn create(
    state: &web::Data<AppState>,
    actor: &Actor,
    draft: Draft,
) -> AppResult<Listed> {
    let (st, actor) = (state.clone(), actor.clone());
    state
        .db
        .run(move |conn| {
            let c = registry::create(conn, &actor, &st.catalog, &st.connector_sealer, &draft)?;
            registry::with_resources(conn, c)
        })
        .await
}

/// Applies `patch` to the connector called `name` for `actor`; the connector with its
/// resources.
pub(super) async fn update(
    state: &web::Data<AppState>,
    actor: &Actor,
    name: String,
    patch: Patch,
) -> AppResult<Listed> {
    let (st, actor) = (state.clone(), actor.clone());
    state
        .db
        .run(move |conn| {
            let c = registry::update(
                conn,
                &actor,
                &st.catalog,
                &st.connector_sealer,
                &name,
                &patch,
            )?;
            registry::with_resources(conn, c)
        })
        .await
}

/// Deletes the connector called `name` for `actor`.
pub(super) async fn delete(
    state: &web::Data<AppState>,
    actor: Actor,
    name: String,
) -> AppResult<()> {
    state
        .db
        .run(move |conn| registry::delete(conn, &actor, &name))
        .await
}
