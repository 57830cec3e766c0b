//! Templates of the environment pages, and the environment row the namespace page
//! shows too.

use askama::Template;
use askama_web::WebTemplate;

use super::models::Environment;
use crate::errors::FieldErrors;
use crate::web::form::Messages;
use crate::web::form::NamespaceChoices;
use crate::web::format::{Moment, moment};
use crate::web::layout::Layout;

/// One environment row.
pub struct EnvRow {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Build status or "".
    pub status: String,
    /// Last change.
    pub updated: Moment,
}

impl EnvRow {
    /// The row of `env` in `namespace`.
    pub fn new(env: &Environment, namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: env.name.clone(),
            description: env.description.clone(),
            status: env.build_status.clone().unwrap_or_default(),
            updated: moment(Some(env.updated_at)),
        }
    }
}

/// The rows and "load more" (also the htmx answer).
#[derive(Template, WebTemplate)]
#[template(path = "environments/_rows.html")]
pub struct EnvRows {
    /// Rows.
    pub rows: Vec<EnvRow>,
    /// Next page URL.
    pub next_url: Option<String>,
    /// Exact number of readable environments under the filters.
    pub total: i64,
    /// Whether to render the total (first page only).
    pub with_total: bool,
}

/// Form state of a new environment: what was submitted, and its messages when shown
/// again.
#[derive(Default, serde::Deserialize)]
pub struct EnvForm {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Specification.
    #[serde(default)]
    pub specification: String,
    /// Messages after a failed submission.
    #[serde(skip)]
    pub messages: Messages,
}

/// `GET /environments`
#[derive(Template, WebTemplate)]
#[template(path = "environments/index.html")]
pub struct EnvironmentsPage {
    /// Layout.
    pub layout: Layout,
    /// The rows.
    pub rows: EnvRows,
    /// Filter: search.
    pub search: String,
    /// Filter: namespace.
    pub namespace: String,
    /// Filter: status.
    pub status: String,
    /// Readable namespaces, and where the viewer may create environments.
    pub namespaces: NamespaceChoices,
    /// Build statuses.
    pub statuses: Vec<String>,
    /// Creation form.
    pub form: EnvForm,
    /// Form starts open.
    pub form_open: bool,
}

/// `GET /environments/{ns}/{name}`
#[derive(Template, WebTemplate)]
#[template(path = "environments/show.html")]
pub struct EnvironmentPage {
    /// Layout.
    pub layout: Layout,
    /// The environment.
    pub env: EnvRow,
    /// Specification text.
    pub specification: String,
    /// Whether the viewer may open the namespace's page (the breadcrumb links it).
    pub namespace_readable: bool,
    /// Build times.
    pub scheduled: Moment,
    /// Build start.
    pub started: Moment,
    /// Build end.
    pub ended: Moment,
    /// May edit.
    pub can_update: bool,
    /// May delete.
    pub can_delete: bool,
    /// Edit errors.
    pub errors: FieldErrors,
}
