//! The reads that pages and the JSON API share, run on the database pool for the
//! request's caller.

use actix_web::web;

use super::registry::{self, ListQuery, Listed};
use crate::access::Actor;
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
