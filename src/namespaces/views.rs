//! Templates of the namespace pages.

use askama::Template;
use askama_web::WebTemplate;

use super::members::Member;
use serde::Deserialize;

use crate::environments::EnvRow;
use crate::web::form::Messages;
use crate::web::format::{Moment, moment};
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
    /// Who shared.
    pub by: String,
    /// When.
    pub at: Moment,
}

impl From<super::sharing::ShareJson> for ShareRow {
    fn from(s: super::sharing::ShareJson) -> Self {
        Self {
            kind: s.principal_kind,
            name: s.principal_name,
            role: s.role,
            by: s.created_by,
            at: moment(
                chrono::DateTime::parse_from_rfc3339(&s.created_at)
                    .ok()
                    .map(|t| t.timestamp_millis()),
            ),
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
    /// The creation form, for those who may create namespaces: the name patterns
    /// they may create under (`team-*`), and the form as submitted.
    pub create: Option<(Vec<String>, NamespaceForm)>,
}

/// The creation form of a namespace as submitted, shown again with its messages.
#[derive(Debug, Default, Deserialize)]
pub struct NamespaceForm {
    /// Name typed.
    #[serde(default)]
    pub name: String,
    /// Description typed.
    #[serde(default)]
    pub description: String,
    /// Messages after a failed submission.
    #[serde(skip)]
    pub messages: Messages,
}

/// `GET /namespaces/{ns}/delete`: what deleting namespace `name` takes with it, and
/// the confirmation — its name typed again (`messages` after a mismatch).
#[derive(Template, WebTemplate)]
#[template(path = "namespaces/delete.html")]
pub struct DeletePage {
    pub layout: Layout,
    pub name: String,
    pub takes: Takes,
    pub messages: Messages,
}

/// What goes with a namespace: the number of its `environments`, its service
/// `accounts` (their keys and tokens go too), its `connectors`, the number of `shares`.
pub struct Takes {
    pub environments: i64,
    pub accounts: Vec<String>,
    pub connectors: Vec<String>,
    pub shares: usize,
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
    /// May delete it (`namespace::delete`; never `default`).
    pub can_delete: bool,
    /// Its key policy.
    pub policy: super::policy::PolicySection,
    /// Its webhooks, for its admins.
    pub webhooks: Option<WebhooksSection>,
}

/// The Webhooks section of a namespace's page (its admins).
pub struct WebhooksSection {
    /// The webhooks.
    pub list: Vec<crate::alerts::WebhookJson>,
    /// The new-webhook form.
    pub form: super::webhooks::WebhookForm,
    /// Events to tick.
    pub events: [&'static str; 6],
}

impl WebhooksSection {
    /// Whether the form has `event` ticked.
    pub fn ticked(&self, event: &str) -> bool {
        self.form.event.iter().any(|e| e == event)
    }
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
