//! Templates of the connector pages.

use askama::Template;
use askama_web::WebTemplate;

use super::catalog::{Attribute, AttributeKind, AuthMethod, ConnectorType, ResourceType};
use crate::errors::FieldErrors;
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
    /// Filter: resource type.
    pub resource_type: String,
    /// Filter: auth method.
    pub auth_method: String,
    /// Every resource type id.
    pub resource_types: Vec<String>,
    /// Every auth method id.
    pub auth_methods: Vec<String>,
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
    /// Its attributes.
    pub attributes: Vec<Attribute>,
    /// Why it cannot be used here.
    pub disabled: Option<String>,
    /// Expiration bounds.
    pub expiration: String,
    /// The schema, pretty-printed.
    pub schema: String,
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

/// One row of the connectors table.
pub struct ConnectorRow {
    /// Name.
    pub name: String,
    /// Type id.
    pub connector_type: String,
    /// Auth method.
    pub auth_method: String,
    /// Resource types.
    pub resource_types: Vec<String>,
    /// Resource id or `<multiple>`.
    pub resource: String,
    /// Namespace.
    pub namespace: String,
    /// Creator.
    pub owner: String,
    /// "in 3 days", "expired", "—".
    pub expires_in: String,
    /// Expires within a week (or has).
    pub expiry_warning: bool,
    /// `key=value`.
    pub labels: Vec<String>,
    /// Last verification, or "never".
    pub verified: String,
}

/// The rows of the connectors table.
#[derive(Template, WebTemplate)]
#[template(path = "connectors/_rows.html")]
pub struct ConnectorRows {
    /// Rows.
    pub rows: Vec<ConnectorRow>,
    /// Next page (htmx "load more").
    pub next_url: Option<String>,
}

/// `GET /connectors`
#[derive(Template, WebTemplate)]
#[template(path = "connectors/index.html")]
pub struct ConnectorsPage {
    /// Layout.
    pub layout: Layout,
    /// Rows.
    pub rows: ConnectorRows,
    /// Filters.
    pub search: String,
    /// Filter: namespace.
    pub namespace: String,
    /// Filter: type.
    pub connector_type: String,
    /// Filter: resource type.
    pub resource_type: String,
    /// Filter: label.
    pub label: String,
    /// Readable namespaces.
    pub namespaces: Vec<String>,
    /// Type ids.
    pub types: Vec<String>,
    /// Resource type ids.
    pub resource_types: Vec<String>,
    /// Whether the viewer may register somewhere.
    pub can_create: bool,
}

/// An attribute as a form field.
pub struct Field {
    /// The attribute.
    pub a: Attribute,
    /// Current value (never a secret's).
    pub value: String,
    /// A secret that is stored (blank keeps it).
    pub stored: bool,
    /// Error.
    pub error: Option<String>,
}

impl Field {
    /// Input name.
    pub fn input_name(&self) -> String {
        format!("cfg.{}", self.a.name)
    }

    /// Multi-line input (JSON documents, certificates, keys, lists).
    pub fn multiline(&self) -> bool {
        self.a.json
            || self.a.kind == AttributeKind::List
            || matches!(
                self.a.name.as_str(),
                "certificate_authority" | "client_certificate" | "client_key"
            )
    }

    /// A boolean attribute.
    pub fn boolean(&self) -> bool {
        self.a.kind == AttributeKind::Boolean
    }

    /// The HTML input type of single-line fields.
    pub fn input_type(&self) -> &'static str {
        if self.a.secret {
            "password"
        } else if self.a.format.as_deref() == Some("uri") {
            "url"
        } else {
            "text"
        }
    }

    /// Whether the browser should insist on a value.
    pub fn html_required(&self) -> bool {
        self.a.required && !self.stored && !self.boolean()
    }
}

/// The register/edit form.
#[derive(Template, WebTemplate)]
#[template(path = "connectors/form.html")]
pub struct FormPage {
    /// Layout.
    pub layout: Layout,
    /// Editing an existing connector (name and namespace fixed).
    pub editing: bool,
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Namespaces the viewer may register in.
    pub namespaces: Vec<String>,
    /// Every type.
    pub types: Vec<(String, String)>,
    /// Chosen type.
    pub t: ConnectorType,
    /// Chosen method.
    pub m: AuthMethod,
    /// `(method, label, disabled)` of the chosen type.
    pub methods: Vec<(String, String, bool)>,
    /// Attribute fields (required first).
    pub fields: Vec<Field>,
    /// `(id, name, checked)` of resource types.
    pub resource_types: Vec<(String, String, bool)>,
    /// Pinned resource.
    pub resource_id: String,
    /// Declared ids, one per line.
    pub resource_ids: String,
    /// `key=value` lines.
    pub labels: String,
    /// Description.
    pub description: String,
    /// Credential expiry (UTC, `YYYY-MM-DDTHH:MM`).
    pub expires_at: String,
    /// Session length.
    pub expiration_seconds: String,
    /// `updated_at` of the connector being edited (0 when registering).
    pub version: i64,
    /// Field errors (attribute errors sit with their fields).
    pub errors: FieldErrors,
    /// Summary error.
    pub error: Option<String>,
}

impl FormPage {
    /// Error of a top-level field.
    pub fn err(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }

    /// Where the form posts.
    pub fn action(&self) -> String {
        if self.editing {
            format!("/connectors/{}/edit", crate::web::path_segment(&self.name))
        } else {
            "/connectors".into()
        }
    }
}

/// A configuration row of the detail page.
pub struct ConfigRow {
    /// Attribute title.
    pub title: String,
    /// Attribute key.
    pub name: String,
    /// Value, `[HIDDEN]`, or "not set".
    pub value: String,
    /// Secret attribute.
    pub secret: bool,
    /// Set at all.
    pub set: bool,
}

/// A resource row.
pub struct ResourceLine {
    /// Resource type.
    pub resource_type: String,
    /// Ids or "any … (not verified)".
    pub ids: String,
    /// Error of the last verification.
    pub error: Option<String>,
    /// `declared` / `verified`.
    pub origin: String,
    /// When.
    pub when: String,
}

/// An audit event on the detail page.
pub struct HistoryRow {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Detail.
    pub detail: String,
}

/// `GET /connectors/{name}`
#[derive(Template, WebTemplate)]
#[template(path = "connectors/show.html")]
pub struct ShowPage {
    /// Layout.
    pub layout: Layout,
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Type.
    pub t: ConnectorType,
    /// Method id and name.
    pub method: (String, String),
    /// Description.
    pub description: String,
    /// Configuration.
    pub config: Vec<ConfigRow>,
    /// Resources.
    pub resources: Vec<ResourceLine>,
    /// Labels.
    pub labels: Vec<String>,
    /// Resource id or `<multiple>`.
    pub resource: String,
    /// "in 3 days".
    pub expires_in: String,
    /// Expiry warning.
    pub expiry_warning: bool,
    /// Session length text.
    pub session: String,
    /// Owner.
    pub owner: String,
    /// Created.
    pub created: String,
    /// Updated.
    pub updated: String,
    /// Last verified.
    pub verified: String,
    /// History.
    pub history: Vec<HistoryRow>,
    /// May edit.
    pub can_update: bool,
    /// May delete.
    pub can_delete: bool,
}

/// A row of the resources page.
pub struct ResourcesRow {
    /// Connector.
    pub connector: String,
    /// Type.
    pub connector_type: String,
    /// Namespace.
    pub namespace: String,
    /// Resource type.
    pub resource_type: String,
    /// Ids or "any … (not verified)".
    pub ids: String,
    /// Error.
    pub error: Option<String>,
    /// Origin.
    pub origin: String,
    /// When.
    pub when: String,
}

/// `GET /resources`
#[derive(Template, WebTemplate)]
#[template(path = "connectors/resources.html")]
pub struct ResourcesPage {
    /// Layout.
    pub layout: Layout,
    /// Chosen resource type.
    pub resource_type: String,
    /// Chosen connector type.
    pub connector_type: String,
    /// Every resource type.
    pub resource_types: Vec<String>,
    /// Every type.
    pub types: Vec<String>,
    /// Rows.
    pub rows: Vec<ResourcesRow>,
}
