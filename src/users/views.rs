//! Templates of "My access", tokens, and user administration ("view as").

use askama::Template;
use askama_web::WebTemplate;

use crate::web::format::Moment;
use crate::web::grants::{BindingRow, WhyRow};
use crate::web::layout::Layout;

/// A token as shown (never its secret).
pub struct TokenRow {
    /// Public id.
    pub id: String,
    /// Created.
    pub created: Moment,
    /// Expires.
    pub expires: Moment,
    /// Revoked, if so.
    pub revoked: Option<Moment>,
    /// Expired already.
    pub expired: bool,
    /// Down-scoping (`pattern=role, …`) or "all of your access".
    pub scope: String,
}

/// `GET /access`
#[derive(Template, WebTemplate)]
#[template(path = "access/index.html")]
pub struct AccessPage {
    /// Layout.
    pub layout: Layout,
    /// Effective bindings.
    pub bindings: Vec<BindingRow>,
    /// The viewer's groups (refreshed at each OpenID sign-in).
    pub groups: Vec<String>,
    /// Pattern → permissions.
    pub permissions: Vec<(String, String)>,
    /// The viewer's tokens.
    pub tokens: Vec<TokenRow>,
    /// Longest token lifetime, days.
    pub max_days: u64,
    /// Roles a narrower binding may name.
    pub roles: [&'static str; 3],
    /// Error of the mint form.
    pub error: Option<String>,
    /// Error of the own-password form.
    pub password_error: Option<String>,
    /// Whether the viewer has a local password to change.
    pub has_password: bool,
}

/// `GET /users`
#[derive(Template, WebTemplate)]
#[template(path = "access/users.html")]
pub struct UsersPage {
    /// Layout.
    pub layout: Layout,
    /// `(name, primary namespace, active, last login)`.
    pub rows: Vec<(String, String, bool, Moment)>,
    /// Search text.
    pub search: String,
    /// The creation form (open again with its messages after a failure).
    pub form: NewUserForm,
}

/// A new user as the admin's form submits it.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NewUserForm {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Their own namespace (named after them when empty).
    #[serde(default)]
    pub primary_namespace: String,
    /// Messages after a failed submission.
    #[serde(skip)]
    pub messages: crate::web::form::Messages,
}

/// `GET /groups`: each group's bindings as editable lines; `failed` is the editor
/// that failed — `(group, its text, the message)` — shown again.
#[derive(Template, WebTemplate)]
#[template(path = "access/groups.html")]
pub struct GroupsPage {
    pub layout: Layout,
    pub groups: Vec<(String, String)>,
    pub failed: Option<(String, String, String)>,
}

/// `GET /users/{name}`
#[derive(Template, WebTemplate)]
#[template(path = "access/user.html")]
pub struct UserPage {
    /// Layout.
    pub layout: Layout,
    /// User name.
    pub name: String,
    /// Primary namespace.
    pub primary_namespace: String,
    /// Active flag.
    pub active: bool,
    /// Whether the user has a local password.
    pub local_password: bool,
    /// OpenID identities (`issuer as subject`).
    pub identities: Vec<String>,
    /// Groups (from the provider or the groups API).
    pub groups: Vec<String>,
    /// Effective bindings with sources.
    pub bindings: Vec<BindingRow>,
    /// Explicit bindings as editable lines (`pattern=role`).
    pub explicit: String,
    /// What the user can read (first page) and why.
    pub environments: Vec<WhyRow>,
    /// Exact number the user can read.
    pub total: i64,
    /// Error of the bindings editor.
    pub error: Option<String>,
    /// The memberships set by admins, as the editor shows them.
    pub admin_groups: String,
}
