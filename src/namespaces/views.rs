//! Templates of the namespace pages.

use askama::Template;
use askama_web::WebTemplate;

use super::members::Member;
use crate::environments::EnvRow;
use crate::web::grants::WhyRow;
use crate::web::layout::Layout;

/// One share row.
pub struct ShareRow {
    /// `user` or `service_account`.
    pub kind: String,
    /// Principal name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Who shared, when.
    pub by: String,
}

impl From<super::sharing::ShareJson> for ShareRow {
    fn from(s: super::sharing::ShareJson) -> Self {
        Self {
            kind: s.principal_kind,
            name: s.principal_name,
            role: s.role,
            by: format!("{} on {}", s.created_by, s.created_at),
        }
    }
}

/// `GET /namespaces`
#[derive(Template, WebTemplate)]
#[template(path = "namespaces/index.html")]
pub struct NamespacesPage {
    /// Layout.
    pub layout: Layout,
    /// `(name, description)` rows.
    pub rows: Vec<(String, String)>,
}

/// `GET /namespaces/{ns}`
#[derive(Template, WebTemplate)]
#[template(path = "namespaces/show.html")]
pub struct NamespacePage {
    /// Layout.
    pub layout: Layout,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Its environments (first page).
    pub envs: Vec<EnvRow>,
    /// Total environments readable in it.
    pub env_total: i64,
    /// Its service accounts `(name, active)`.
    pub accounts: Vec<(String, bool)>,
    /// Shares, when the viewer may read them.
    pub shares: Option<Vec<ShareRow>>,
    /// May add/change/remove shares.
    pub can_share: bool,
    /// Roles the viewer may share.
    pub shareable_roles: Vec<&'static str>,
    /// Share form error.
    pub share_error: Option<String>,
    /// Who has access and "view as", for the namespace's admins.
    pub admin: Option<AdminSection>,
}

/// What a namespace's admins see: who has access to it, and what one of them can
/// read there.
pub struct AdminSection {
    /// Every binding that reaches the namespace.
    pub members: Vec<Member>,
    /// The principal asked for with `?view_as=`, as typed.
    pub view_as: String,
    /// What they can read in the namespace (first page) and why, and how many.
    pub readable: Option<(Vec<WhyRow>, i64)>,
    /// Why `view_as` could not be shown.
    pub view_as_error: Option<String>,
}
