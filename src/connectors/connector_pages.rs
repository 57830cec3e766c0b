//! Dashboard pages of registered connectors: the list (with htmx filters and "load
//! more"), one connector with its configuration, resources and history, deleting one,
//! and the resources every readable connector reaches.

use actix_web::web;
use serde::Deserialize;

use super::brokering;
use super::calls;
use super::catalog::{AuthMethod, duration_text, value_text};
use super::models::{Connector, ResourceRow};
use super::registry::{self, ListQuery};
use super::validate::HIDDEN;
use super::views::{
    ConfigRow, ConnectorRow, ConnectorRows, ConnectorsPage, HistoryRow, ResourceLine,
    ResourcesPage, ResourcesRow, ShowPage, layout,
};
use crate::access::Permission;
use crate::app::Cx;
use crate::audit;
use crate::db::now_ms;
use crate::errors::{AppError, AppResult};
use crate::names::Address;
use crate::web::Reply;
use crate::web::format::moment;
use crate::web::pagination::{decode_cursor, encode_cursor};

/// The page of the connector at `at` (see `web::address_url`).
pub(super) fn address_url(at: &Address) -> String {
    crate::web::address_url("connectors", at)
}

/// Page size of the connectors table.
const PAGE: i64 = 25;
/// How many connectors the resources page lists at most.
const REACHING: i64 = 500;
/// How many audit events a connector's page shows.
const HISTORY: i64 = 50;

/// Query of the list page.
#[derive(Debug, Default, Deserialize)]
pub struct ListPageQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub connector_type: String,
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub label: String,
    cursor: Option<String>,
}

impl ListPageQuery {
    /// This list from `cursor` on.
    fn url(&self, cursor: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &self.q)
            .append_pair("namespace", &self.namespace)
            .append_pair("connector_type", &self.connector_type)
            .append_pair("resource_type", &self.resource_type)
            .append_pair("label", &self.label)
            .append_pair("cursor", cursor)
            .finish();
        format!("/connectors?{query}")
    }
}

/// `GET /connectors` (htmx: the rows only).
pub async fn list_connectors(cx: Cx, query: web::Query<ListPageQuery>) -> Reply {
    let q = query.into_inner();
    let filter = ListQuery {
        namespace: Some(q.namespace.clone()),
        connector_type: Some(q.connector_type.clone()),
        resource_type: Some(q.resource_type.clone()),
        label: Some(q.label.clone()),
        search: Some(q.q.clone()),
    };
    let after = decode_cursor(q.cursor.as_deref())?;
    let (items, next) = calls::list(&cx, filter, after, PAGE).await?;
    let now = now_ms();
    let rows = ConnectorRows {
        rows: items
            .iter()
            .map(|(c, r)| ConnectorRow::of(c, r, now))
            .collect(),
        next_url: next.map(|n| q.url(&encode_cursor(&n))),
    };
    cx.rows_or_page(rows, async |rows| {
        Ok(ConnectorsPage {
            layout: layout(&cx)?,
            rows,
            filter: q,
            namespaces: calls::namespaces(&cx).await?,
            choices: cx.state.catalog.choices(),
        })
    })
    .await
}

/// The configuration rows of `c`: the method's attributes in order, then attributes
/// stored but not in the catalog any more (plain only).
fn config_rows(c: &Connector, method: Option<&AuthMethod>) -> Vec<ConfigRow> {
    let attributes = method.map(AuthMethod::attributes).unwrap_or_default();
    let mut config: Vec<ConfigRow> = attributes
        .iter()
        .map(|a| {
            let v = c.configuration.get(&a.name);
            ConfigRow {
                title: a.title.clone(),
                name: a.name.clone(),
                value: v.map(|v| value_text(v, ", ")).unwrap_or_default(),
                secret: a.secret,
                set: v.is_some(),
            }
        })
        .collect();
    for (k, v) in &c.configuration {
        if !attributes.iter().any(|a| &a.name == k) {
            let secret = v.as_str() == Some(HIDDEN);
            config.push(ConfigRow {
                title: k.clone(),
                name: k.clone(),
                value: if secret { HIDDEN.into() } else { v.to_string() },
                secret,
                set: true,
            });
        }
    }
    config
}

/// The audit events of connector `c`, newest first.
async fn history(cx: &Cx, c: &Connector) -> AppResult<Vec<HistoryRow>> {
    let filter = audit::Filter {
        exact: vec![(audit::Exact::Target, c.audit_name())],
        limit: HISTORY,
        ..Default::default()
    };
    let events = cx
        // Readers of the connector read its own history.
        .run(move |conn, _, _| audit::list(conn, &filter, None).map_err(AppError::from))
        .await?;
    let created_at = c.row.created_at;
    Ok(events
        .into_iter()
        // Names can be reused after a delete: only this connector's own events.
        .filter(|e| e.at >= created_at)
        .take(HISTORY as usize)
        .map(|e| HistoryRow {
            at: moment(Some(e.at)),
            actor: e.actor,
            action: e.action,
            detail: e.detail.unwrap_or_default(),
        })
        .collect())
}

/// `GET /connectors/{name}`
pub async fn show_connector(cx: Cx, at: Address) -> AppResult<ShowPage> {
    let (c, resources) = calls::get(&cx, at).await?;
    let history = history(&cx, &c).await?;
    let t = cx
        .state
        .catalog
        .get(&c.row.connector_type)
        .ok_or(AppError::NotFound)?
        .clone();
    let method = t.auth_method(&c.row.auth_method);
    let may = |permission| cx.actor.grants().can_namespace(permission, &c.namespace);
    Ok(ShowPage {
        layout: layout(&cx)?,
        row: ConnectorRow::of(&c, &resources, now_ms()),
        method: (
            c.row.auth_method.clone(),
            method.map_or_else(|| c.row.auth_method.clone(), |m| m.name.clone()),
        ),
        description: c.row.description.clone(),
        config: config_rows(&c, method),
        resources: resources.iter().map(ResourceLine::of).collect(),
        session: c.row.expiration_seconds.map_or_else(
            || "credentials are handed out as stored".into(),
            duration_text,
        ),
        created: moment(Some(c.row.created_at)),
        updated: moment(Some(c.row.updated_at)),
        history,
        can_update: may(Permission::ConnectorUpdate),
        can_delete: may(Permission::ConnectorDelete),
        can_use: may(Permission::ConnectorUse),
        t,
    })
}

/// `POST /connectors/{name}/delete`
pub async fn delete_connector(cx: Cx, at: Address) -> Reply {
    let name = at.name.clone();
    calls::delete(&cx, at).await?;
    cx.done(
        "/connectors",
        format!("{name} deleted, with its stored secrets."),
    )
}

/// `POST /connectors/{name}/verify` → 303 to the connector page, which shows what
/// verification found (htmx swaps in just its resources section).
pub async fn verify_connector(cx: Cx, at: Address) -> Reply {
    let (url, name) = (address_url(&at), at.name.clone());
    let found = brokering::verify(&cx, at, None, None).await?;
    let said = match brokering::failure(&found) {
        Some(e) => format!("{name} verified: the provider said {e}"),
        None => format!("{name} verified: it reaches what is listed below."),
    };
    cx.done(&url, said)
}

/// Query of the resources page.
#[derive(Debug, Default, Deserialize)]
pub struct ResourcesQuery {
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub connector_type: String,
}

/// `GET /resources`
pub async fn list_resources(cx: Cx, query: web::Query<ResourcesQuery>) -> AppResult<ResourcesPage> {
    let q = query.into_inner();
    let filter = ListQuery {
        resource_type: Some(q.resource_type.clone()),
        connector_type: Some(q.connector_type.clone()),
        ..Default::default()
    };
    let (items, _) = calls::list(&cx, filter, None, REACHING).await?;
    let resource_type = Some(q.resource_type.as_str()).filter(|t| !t.is_empty());
    let rows = registry::resources_of(&items, resource_type)
        .map(|(c, r): (&Connector, &ResourceRow)| ResourcesRow {
            connector: c.row.name.clone(),
            connector_type: c.row.connector_type.clone(),
            namespace: c.namespace.clone(),
            line: ResourceLine::of(r),
        })
        .collect();
    Ok(ResourcesPage {
        layout: layout(&cx)?,
        choices: cx.state.catalog.choices(),
        filter: q,
        rows,
    })
}
