//! Dashboard pages of the connector catalog: the types, one type with its auth
//! methods, one auth method with its attributes and schema, one resource type with the
//! connectors that reach it.

use actix_web::web;
use serde::Deserialize;

use super::calls;
use super::catalog::ConnectorType;
use super::catalog_views::{
    MethodPage, MethodRow, ReachRow, ResourceTypePage, TypePage, TypeRow, TypeRows, TypesPage,
};
use super::registry::ListQuery;
use super::views::{ids_text, layout};
use crate::app::{AppState, Cx};
use crate::errors::{AppError, AppResult};
use crate::web::Reply;

/// How many connectors a catalog page lists at most.
const REACHING: i64 = 500;

/// Query of the types page.
#[derive(Debug, Default, Deserialize)]
pub struct TypesQuery {
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub auth_method: String,
}

/// `GET /connector-types` (htmx: the rows only).
pub async fn list_types(cx: Cx, query: web::Query<TypesQuery>) -> Reply {
    let (q, catalog) = (query.into_inner(), &cx.state.catalog);
    let rows = TypeRows {
        rows: catalog
            .filtered(
                Some(q.resource_type.as_str()).filter(|s| !s.is_empty()),
                Some(q.auth_method.as_str()).filter(|s| !s.is_empty()),
            )
            .into_iter()
            .map(|t| TypeRow {
                id: t.connector_type.clone(),
                name: t.name.clone(),
                description: t.description.clone(),
                resource_types: t
                    .resource_types
                    .iter()
                    .map(|r| (r.resource_type.clone(), r.name.clone()))
                    .collect(),
                auth_methods: t
                    .auth_methods
                    .iter()
                    .map(|m| (m.auth_method.clone(), catalog.disabled_reason(m).is_none()))
                    .collect(),
                temporary: t.issues_temporary_credentials(),
            })
            .collect(),
    };
    cx.rows_or_page(rows, async |rows| {
        Ok(TypesPage {
            layout: layout(&cx)?,
            rows,
            filter: q,
            choices: catalog.choices(),
            implicit_enabled: catalog.implicit_enabled,
        })
    })
    .await
}

/// The catalog type `id`; 404 if there is none.
fn catalog_type(state: &AppState, id: &str) -> AppResult<ConnectorType> {
    state.catalog.get(id).cloned().ok_or(AppError::NotFound)
}

/// `GET /connector-types/{type}`
pub async fn show_type(cx: Cx, path: web::Path<String>) -> AppResult<TypePage> {
    let t = catalog_type(&cx.state, &path)?;
    let filter = ListQuery {
        connector_type: Some(t.connector_type.clone()),
        ..Default::default()
    };
    let (connectors, _) = calls::list(&cx, filter, None, REACHING).await?;
    let methods = t
        .auth_methods
        .iter()
        .map(|m| MethodRow {
            id: m.auth_method.clone(),
            name: m.name.clone(),
            description: m.description.clone(),
            kind: m.credential_kind.label().into(),
            expiration: m.expiration_text(),
            disabled: cx.state.catalog.disabled_reason(m).map(str::to_owned),
        })
        .collect();
    Ok(TypePage {
        layout: layout(&cx)?,
        t,
        methods,
        connectors: connectors.len(),
    })
}

/// `GET /connector-types/{type}/auth-methods/{method}`
pub async fn show_method(cx: Cx, path: web::Path<(String, String)>) -> AppResult<MethodPage> {
    let (type_id, method_id) = path.into_inner();
    let t = catalog_type(&cx.state, &type_id)?;
    let m = t.auth_method(&method_id).ok_or(AppError::NotFound)?.clone();
    Ok(MethodPage {
        layout: layout(&cx)?,
        disabled: cx.state.catalog.disabled_reason(&m).map(str::to_owned),
        t,
        m,
    })
}

/// `GET /connector-types/{type}/resource-types/{rt}`
pub async fn show_resource_type(
    cx: Cx,
    path: web::Path<(String, String)>,
) -> AppResult<ResourceTypePage> {
    let (type_id, rt_id) = path.into_inner();
    let t = catalog_type(&cx.state, &type_id)?;
    let rt = t.resource_type(&rt_id).ok_or(AppError::NotFound)?.clone();
    let filter = ListQuery {
        connector_type: Some(t.connector_type.clone()),
        resource_type: Some(rt.resource_type.clone()),
        ..Default::default()
    };
    let (connectors, _) = calls::list(&cx, filter, None, REACHING).await?;
    let connectors = connectors
        .into_iter()
        .map(|(c, resources)| ReachRow {
            ids: resources
                .iter()
                .find(|r| r.resource_type == rt.resource_type)
                .map(ids_text)
                .unwrap_or_default(),
            name: c.row.name,
            namespace: c.namespace,
            auth_method: c.row.auth_method,
        })
        .collect();
    Ok(ResourceTypePage {
        layout: layout(&cx)?,
        t,
        rt,
        connectors,
    })
}
