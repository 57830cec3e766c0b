//! Templates of the connector pages, and the rows they show built from connectors.

use askama::Template;
use askama_web::WebTemplate;

use std::sync::Arc;

use super::catalog::{Attribute, AttributeKind, AuthMethod, Choices, ConnectorType};
use super::connector_pages::{ListPageQuery, ResourcesQuery};
use super::form::FormInput;
use super::models::{Connector, ResourceRow};
use crate::app::Cx;
use crate::errors::{AppResult, FieldErrors};
use crate::web::form::NamespaceChoices;
use crate::web::format::{Moment, moment};
use crate::web::layout::{Layout, Section};

/// A week, in ms: expiry warnings start then.
const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;

/// The layout of a connectors page for the caller.
pub fn layout(cx: &Cx) -> AppResult<Layout> {
    cx.layout(Section::Connectors)
}

/// "in 3 days" / "expired 2 hours ago" / "—", and whether to warn.
pub fn expires_in(expires_at: Option<i64>, now: i64) -> (String, bool) {
    let Some(at) = expires_at else {
        return ("—".into(), false);
    };
    let delta = at - now;
    let span = |ms: i64| {
        let minutes = ms / 60_000;
        if minutes < 60 {
            format!(
                "{} minute{}",
                minutes.max(1),
                if minutes == 1 { "" } else { "s" }
            )
        } else if minutes < 48 * 60 {
            let h = minutes / 60;
            format!("{h} hour{}", if h == 1 { "" } else { "s" })
        } else {
            format!("{} days", minutes / (24 * 60))
        }
    };
    if delta <= 0 {
        (format!("expired {} ago", span(-delta)), true)
    } else {
        (format!("in {}", span(delta)), delta < WEEK_MS)
    }
}

/// Ids of a resource row for people.
pub fn ids_text(r: &ResourceRow) -> String {
    match r.ids() {
        Some(ids) if !ids.is_empty() => ids.join(", "),
        Some(_) => "none".into(),
        None if r.origin == "verified" && r.error.is_some() => "unknown".into(),
        None if r.origin == "verified" => format!("the {}", r.resource_type),
        None => format!("any {} it can reach (not verified)", r.resource_type),
    }
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
    pub verified: Moment,
}

impl ConnectorRow {
    /// Its page.
    pub fn url(&self) -> String {
        super::connector_url(&self.namespace, &self.name)
    }
}

impl ConnectorRow {
    /// The row of connector `c` reaching `resources`, at time `now`.
    pub fn of(c: &Connector, resources: &[ResourceRow], now: i64) -> Self {
        let (expires_in, expiry_warning) = expires_in(c.row.expires_at, now);
        Self {
            name: c.row.name.clone(),
            connector_type: c.row.connector_type.clone(),
            auth_method: c.row.auth_method.clone(),
            resource_types: c.resource_types.clone(),
            resource: c.resource_label(),
            namespace: c.namespace.clone(),
            owner: c.row.created_by.clone(),
            expires_in,
            expiry_warning,
            labels: c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            verified: moment(Connector::verified_at(resources)),
        }
    }
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
    /// The filters, as asked.
    pub filter: ListPageQuery,
    /// Readable namespaces, and where the viewer may register.
    pub namespaces: NamespaceChoices,
    /// Type and resource type ids.
    pub choices: Arc<Choices>,
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
    /// The entries, as typed (the namespace defaulted, the version the form was
    /// opened at).
    pub input: FormInput,
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
    /// Field errors (attribute errors sit with their fields).
    pub errors: FieldErrors,
    /// Summary error.
    pub error: Option<String>,
    /// On an edit: which stored secrets a blank field keeps, which must be entered, and
    /// what makes them needed again.
    pub stored_note: Option<String>,
}

impl FormPage {
    /// Error of a top-level field.
    pub fn err(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }

    /// Where the form posts.
    pub fn action(&self) -> String {
        if self.editing {
            format!("{}/edit", self.connector_url())
        } else {
            "/connectors".into()
        }
    }

    /// The page of the connector being edited.
    pub fn connector_url(&self) -> String {
        super::connector_url(&self.input.namespace, &self.input.name)
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
    pub when: Moment,
}

impl ResourceLine {
    /// The line of resource row `r`.
    pub fn of(r: &ResourceRow) -> Self {
        Self {
            resource_type: r.resource_type.clone(),
            ids: ids_text(r),
            error: r.error.clone(),
            origin: r.origin.clone(),
            when: moment(Some(r.checked_at)),
        }
    }
}

/// An audit event on the detail page.
pub struct HistoryRow {
    /// When.
    pub at: Moment,
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
    /// What the connectors table says of it.
    pub row: ConnectorRow,
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
    /// Session length text.
    pub session: String,
    /// Created.
    pub created: Moment,
    /// Updated.
    pub updated: Moment,
    /// History.
    pub history: Vec<HistoryRow>,
    /// May edit.
    pub can_update: bool,
    /// May delete.
    pub can_delete: bool,
    /// Whether the viewer may verify and use it (`connector::use`).
    pub can_use: bool,
}

/// A row of the resources page: a connector and one resource type it reaches.
pub struct ResourcesRow {
    /// Connector.
    pub connector: String,
    /// Type.
    pub connector_type: String,
    /// Namespace.
    pub namespace: String,
    /// What it reaches.
    pub line: ResourceLine,
}

impl ResourcesRow {
    /// The connector's page.
    pub fn url(&self) -> String {
        super::connector_url(&self.namespace, &self.connector)
    }
}

/// `GET /resources`
#[derive(Template, WebTemplate)]
#[template(path = "connectors/resources.html")]
pub struct ResourcesPage {
    /// Layout.
    pub layout: Layout,
    /// The chosen resource type and connector type.
    pub filter: ResourcesQuery,
    /// Every type and resource type.
    pub choices: Arc<Choices>,
    /// Rows.
    pub rows: Vec<ResourcesRow>,
}

#[cfg(test)]
mod tests {
    use super::expires_in;

    #[test]
    fn expiry_reads_naturally_and_warns_within_a_week() {
        let now = 1_000_000_000_000;
        let h = 3_600_000;
        assert_eq!(expires_in(None, now), ("—".into(), false));
        assert_eq!(
            expires_in(Some(now + 3 * 24 * h), now),
            ("in 3 days".into(), true)
        );
        assert_eq!(
            expires_in(Some(now + 30 * 24 * h), now),
            ("in 30 days".into(), false)
        );
        assert_eq!(
            expires_in(Some(now + 5 * h), now),
            ("in 5 hours".into(), true)
        );
        assert_eq!(
            expires_in(Some(now - 2 * h), now),
            ("expired 2 hours ago".into(), true)
        );
    }
}
