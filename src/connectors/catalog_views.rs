//! Templates of the catalog pages: connector types, one type, one auth method, one
//! resource type.

use askama::Template;
use askama_web::WebTemplate;

use std::sync::Arc;

use super::catalog::{AuthMethod, Choices, ConnectorType, ResourceType};
use super::catalog_pages::TypesQuery;
use crate::web::layout::Layout;

/// One row of the types table.
pub struct TypeRow {
    /// Type id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// `(id, name)` of resource types.
    pub resource_types: Vec<(String, String)>,
    /// `(id, enabled)` of auth methods.
    pub auth_methods: Vec<(String, bool)>,
    /// Whether any method issues temporary credentials.
    pub temporary: bool,
}

/// The rows of the types table (htmx swaps them when a filter changes).
#[derive(Template, WebTemplate)]
#[template(path = "connectors/_type_rows.html")]
pub struct TypeRows {
    /// Rows.
    pub rows: Vec<TypeRow>,
}

/// `GET /connector-types`
#[derive(Template, WebTemplate)]
#[template(path = "connectors/types.html")]
pub struct TypesPage {
    /// Layout.
    pub layout: Layout,
    /// Rows.
    pub rows: TypeRows,
    /// The filters, as asked.
    pub filter: TypesQuery,
    /// Every resource type and auth method id.
    pub choices: Arc<Choices>,
    /// Whether implicit methods are enabled here.
    pub implicit_enabled: bool,
}

/// One auth method as listed on a type page.
pub struct MethodRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// long-lived / temporary / implicit.
    pub kind: String,
    /// Expiration bounds.
    pub expiration: String,
    /// Why it cannot be used here.
    pub disabled: Option<String>,
}

/// `GET /connector-types/{type}`
#[derive(Template, WebTemplate)]
#[template(path = "connectors/type.html")]
pub struct TypePage {
    /// Layout.
    pub layout: Layout,
    /// The type.
    pub t: ConnectorType,
    /// Its methods.
    pub methods: Vec<MethodRow>,
    /// Registered connectors of the type the viewer may read.
    pub connectors: usize,
}

/// `GET /connector-types/{type}/auth-methods/{method}`
#[derive(Template, WebTemplate)]
#[template(path = "connectors/method.html")]
pub struct MethodPage {
    /// Layout.
    pub layout: Layout,
    /// The type.
    pub t: ConnectorType,
    /// The method.
    pub m: AuthMethod,
    /// Why it cannot be used here.
    pub disabled: Option<String>,
}

impl MethodPage {
    /// The method's schema, pretty-printed.
    pub fn schema(&self) -> String {
        serde_json::to_string_pretty(&self.m.config_schema).unwrap_or_default()
    }
}

/// A connector that reaches a resource type, as listed on its page.
pub struct ReachRow {
    /// Connector name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Auth method.
    pub auth_method: String,
    /// Ids, or "any … (not verified)".
    pub ids: String,
}

impl ReachRow {
    /// The connector's page.
    pub fn url(&self) -> String {
        super::connector_url(&self.namespace, &self.name)
    }
}

/// `GET /connector-types/{type}/resource-types/{rt}`
#[derive(Template, WebTemplate)]
#[template(path = "connectors/resource_type.html")]
pub struct ResourceTypePage {
    /// Layout.
    pub layout: Layout,
    /// The type.
    pub t: ConnectorType,
    /// The resource type.
    pub rt: ResourceType,
    /// Connectors reaching it.
    pub connectors: Vec<ReachRow>,
}
