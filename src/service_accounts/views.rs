//! Templates of the service-account pages and the view models they show.

use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::keys::{self, EXPIRY_WARNING_MS, ROTATION_WARNING_MS};
use super::models::{AccountSummary, ApiKey};
use crate::web::form::Messages;
use crate::web::form::NamespaceChoices;
use crate::web::format::{Moment, moment};
use crate::web::grants::{BindingRow, WhyRow};
use crate::web::layout::Layout;

pub use crate::web::format::when;

/// One row of the accounts table.
pub struct AccountRow {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Description.
    pub description: String,
    /// Active flag.
    pub active: bool,
    /// Number of keys.
    pub keys: i64,
    /// Most recent key use.
    pub last_used: Moment,
    /// Whether the viewer may (de)activate it.
    pub can_update: bool,
}

impl AccountRow {
    /// The row as `grants` may act on it.
    pub fn for_viewer(s: &AccountSummary, grants: &crate::access::Grants) -> Self {
        Self {
            can_update: grants.can_namespace(
                crate::access::Permission::ServiceAccountUpdate,
                &s.namespace,
            ),
            ..Self::from(s)
        }
    }
}

impl AccountRow {
    /// Its page.
    pub fn url(&self) -> String {
        super::account_url(&self.namespace, &self.name)
    }
}

impl From<&AccountSummary> for AccountRow {
    fn from(s: &AccountSummary) -> Self {
        Self {
            can_update: false,
            name: s.account.name.clone(),
            namespace: s.namespace.clone(),
            description: s.account.description.clone(),
            active: s.account.active,
            keys: s.key_count,
            last_used: moment(s.last_used_at),
        }
    }
}

/// The form of a new account as submitted, re-shown with errors.
#[derive(Default, Deserialize)]
pub struct AccountForm {
    /// Name typed.
    pub name: String,
    /// Namespace chosen.
    #[serde(default)]
    pub namespace: String,
    /// Description typed.
    #[serde(default)]
    pub description: String,
    /// "Create a default API key" (a checkbox: checked when sent at all).
    #[serde(default, deserialize_with = "checked")]
    pub create_key: bool,
    /// Messages after a failed submission.
    #[serde(skip)]
    pub messages: Messages,
}

/// A checkbox field is checked whatever value it was sent with.
fn checked<'de, D: serde::Deserializer<'de>>(field: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(field).map(|_| true)
}

/// `GET /service-accounts`
#[derive(Template, WebTemplate)]
#[template(path = "service_accounts/index.html")]
pub struct AccountsPage {
    /// Layout.
    pub layout: Layout,
    /// The table.
    pub table: AccountsTable,
    /// Filter: search text.
    pub search: String,
    /// Filter: namespace.
    pub namespace: String,
    /// Readable namespaces, and where the viewer may create accounts.
    pub namespaces: NamespaceChoices,
    /// The creation form.
    pub form: AccountForm,
    /// Whether the form starts open (after an error).
    pub form_open: bool,
}

/// The rows and the "load more" link (`_rows.html`, also the htmx answer).
#[derive(Template, WebTemplate)]
#[template(path = "service_accounts/_rows.html")]
pub struct AccountsTable {
    /// CSRF token for the row toggles.
    pub csrf: String,
    /// Rows.
    pub rows: Vec<AccountRow>,
    /// URL of the next page, if any.
    pub next_url: Option<String>,
}

/// One row of a keys table.
pub struct KeyRow {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Non-secret fragment.
    pub display: String,
    /// Created.
    pub created: Moment,
    /// Last used or `never`.
    pub last_used: Moment,
    /// Last rotated or `never`.
    pub last_rotated: Moment,
    /// A rotation warning: overdue under the namespace's key policy (or older than 90
    /// days without one), or due within a week.
    pub rotation_note: Option<String>,
    /// "in 12 days", "expired", "never".
    pub expires: String,
    /// Expires within 7 days (or has).
    pub expiry_warning: bool,
    /// Has expired.
    pub expired: bool,
    /// "both keys valid until … (N minutes left)".
    pub grace: Option<String>,
    /// Active flag.
    pub active: bool,
}

impl KeyRow {
    /// The row of `key` at `now`.
    pub fn new(key: &ApiKey, now: i64) -> Self {
        Self::under_policy(key, now, None)
    }

    /// The row of `key` at `now`, its rotation judged by a policy of rotating every
    /// `rotate_every_days` (none: a warning past 90 days).
    pub fn under_policy(key: &ApiKey, now: i64, rotate_every_days: Option<i64>) -> Self {
        let expired = key.expires_at.is_some_and(|e| e <= now);
        let expires = match key.expires_at {
            None => "never".to_owned(),
            Some(_) if expired => "expired".to_owned(),
            Some(e) => format!("in {} ({})", keys::humanize(e - now), when(Some(e))),
        };
        let rotated_or_created = key.last_rotated_at.unwrap_or(key.created_at);
        Self {
            name: key.name.clone(),
            description: key.description.clone(),
            display: key.display.clone(),
            created: moment(Some(key.created_at)),
            last_used: moment(key.last_used_at),
            last_rotated: moment(key.last_rotated_at),
            rotation_note: rotation_note(now - rotated_or_created, rotate_every_days),
            expires,
            expiry_warning: key.expires_at.is_some_and(|e| e - now < EXPIRY_WARNING_MS),
            expired,
            grace: key.retain_until.filter(|u| *u > now).map(|u| {
                format!(
                    "both keys valid until {} ({} left)",
                    when(Some(u)),
                    keys::humanize(u - now)
                )
            }),
            active: key.active,
        }
    }
}

/// `GET /service-accounts/{sa}`
#[derive(Template, WebTemplate)]
#[template(path = "service_accounts/show.html")]
pub struct AccountPage {
    /// Layout.
    pub layout: Layout,
    /// The account.
    pub account: AccountRow,
    /// Created by / at.
    pub created: Moment,
    /// Creator.
    pub created_by: String,
    /// Its keys.
    pub keys: Vec<KeyRow>,
    /// Caller may edit / (de)activate.
    pub can_update: bool,
    /// Caller may delete.
    pub can_delete: bool,
    /// Caller may manage keys.
    pub can_manage_keys: bool,
    /// The Access section.
    pub access: AccessSection,
    /// The Trust section (workload identity).
    pub trust: TrustSection,
}

/// The Trust section of an account's page: the issuers whose tokens it accepts in
/// exchange for its own, and (for those who administer it) the form to add one.
pub struct TrustSection {
    /// The policies, in order.
    pub policies: Vec<TrustRow>,
    /// The form, shown again with its messages after a failure.
    pub form: TrustForm,
    /// The form's bounds: shortest and longest token lifetime.
    pub bounds: (i64, i64),
    /// The audience to suggest: this server's public origin.
    pub audience_hint: String,
}

/// One policy as the page shows it.
pub struct TrustRow {
    /// Position (the remove form names it).
    pub index: usize,
    /// Issuer URL.
    pub issuer: String,
    /// Audience.
    pub audience: String,
    /// `claim = glob` each.
    pub conditions: Vec<String>,
    /// Token lifetime.
    pub token_seconds: i64,
}

/// The trust editor as submitted: add a policy, or remove the one at `index`.
#[derive(Debug, Default, Deserialize)]
pub struct TrustForm {
    /// `add` or `remove`.
    #[serde(default)]
    pub op: String,
    /// Issuer URL.
    #[serde(default)]
    pub issuer: String,
    /// Audience.
    #[serde(default)]
    pub audience: String,
    /// One `claim = glob` per line.
    #[serde(default)]
    pub conditions: String,
    /// Token lifetime in seconds (blank: the longest).
    #[serde(default)]
    pub max_token_seconds: String,
    /// Remove: the position.
    #[serde(default)]
    pub index: String,
    /// Messages after a failed submission.
    #[serde(skip)]
    pub messages: Messages,
}

/// The Access section of an account's page: its bindings, their editor, and what it
/// can read.
pub struct AccessSection {
    /// Effective bindings with their sources (stored, shares).
    pub bindings: Vec<BindingRow>,
    /// What it can read, within the viewer's reach, and why (first page).
    pub environments: Vec<WhyRow>,
    /// How many environments that is.
    pub total: i64,
    /// The editor's form (shown again with its messages after a failure).
    pub form: BindingForm,
    /// Roles the editor offers.
    pub roles: [&'static str; 3],
}

/// The rotation warning of a key last rotated (or created) `age` ms ago: overdue, or
/// due within a week (a quarter of the period, for short ones).
fn rotation_note(age: i64, rotate_every_days: Option<i64>) -> Option<String> {
    const WEEK_MS: i64 = 7 * keys::DAY_MS;
    match rotate_every_days {
        None => (age > ROTATION_WARNING_MS).then(|| "rotate: older than 90 days".to_owned()),
        Some(days) => {
            let due = days * keys::DAY_MS;
            if age > due {
                Some(format!("rotation overdue (key policy: every {days} days)"))
            } else if due - age < WEEK_MS.min(due / 4) {
                Some(format!(
                    "rotate within {} (key policy: every {days} days)",
                    keys::humanize(due - age)
                ))
            } else {
                None
            }
        }
    }
}

/// The bindings editor as submitted: add or remove one `pattern` + `role`.
#[derive(Debug, Default, Deserialize)]
pub struct BindingForm {
    /// `add` or `remove`.
    #[serde(default)]
    pub op: String,
    /// Pattern typed, e.g. `ml-platform/pytorch-*`.
    #[serde(default)]
    pub pattern: String,
    /// Role chosen.
    #[serde(default)]
    pub role: String,
    /// Messages after a failed submission.
    #[serde(skip)]
    pub messages: Messages,
}

/// Fields of the key forms as submitted (a new key's form is read into it), re-shown
/// with errors.
#[derive(Default, Deserialize)]
pub struct KeyForm {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// `none`, `30`, `90`, `365` or `date`.
    #[serde(default)]
    pub expires: String,
    /// Date for `date`.
    #[serde(default)]
    pub expires_on: String,
    /// Rotation: retain minutes.
    #[serde(skip)]
    pub retain: String,
    /// Messages after a failed submission.
    #[serde(skip)]
    pub messages: Messages,
}

/// Something named on a page with the link to its own page.
pub struct Linked {
    /// Name shown.
    pub name: String,
    /// Its page.
    pub url: String,
}

impl Linked {
    /// The account at `at`.
    pub fn account(at: &crate::names::Address) -> Self {
        Self {
            name: at.name.clone(),
            url: super::handlers::address_url(at),
        }
    }
}

/// `GET /service-accounts/{sa}/api-keys/new`
#[derive(Template, WebTemplate)]
#[template(path = "service_accounts/new_key.html")]
pub struct NewKeyPage {
    /// Layout.
    pub layout: Layout,
    /// The account.
    pub account: Linked,
    /// Form state.
    pub form: KeyForm,
    /// The longest lifetime the namespace's key policy allows, in days.
    pub max_days: Option<i64>,
}

impl NewKeyPage {
    /// The expiry choices the policy leaves: `(value, label)`.
    pub fn choices(&self) -> Vec<(&'static str, &'static str)> {
        [
            ("none", "never", i64::MAX),
            ("30", "in 30 days", 30),
            ("90", "in 90 days", 90),
            ("365", "in a year", 365),
            ("date", "on a date…", 0),
        ]
        .into_iter()
        .filter(|(_, _, days)| self.max_days.is_none_or(|m| *days <= m))
        .map(|(v, l, _)| (v, l))
        .collect()
    }
}

/// `GET /service-accounts/{sa}/api-keys/{key}/rotate`
#[derive(Template, WebTemplate)]
#[template(path = "service_accounts/rotate_key.html")]
pub struct RotateKeyPage {
    /// Layout.
    pub layout: Layout,
    /// The account.
    pub account: Linked,
    /// The key.
    pub key: KeyRow,
    /// Upper bound of the grace period, minutes.
    pub max_retain: i64,
    /// Form state.
    pub form: KeyForm,
}

/// `GET /reveal/{id}` (first view)
#[derive(Template, WebTemplate)]
#[template(path = "service_accounts/reveal.html")]
pub struct RevealPage {
    /// Layout.
    pub layout: Layout,
    /// The plaintext key.
    pub key: String,
    /// Key name.
    pub label: String,
    /// Account name.
    pub account: String,
    /// Public URL, for the usage examples.
    pub base_url: String,
    /// Where "Done" leads.
    pub done_url: String,
    /// An API key (can be exchanged for tokens), not an access token.
    pub is_key: bool,
    /// The key's account holds no binding: the key can read nothing yet.
    pub holds_nothing: bool,
    /// A user's one-time password, not a credential for the API.
    pub is_password: bool,
}

/// `GET /reveal/{id}` (any later view): 410.
#[derive(Template, WebTemplate)]
#[template(path = "service_accounts/revealed.html")]
pub struct RevealedPage {
    /// Layout.
    pub layout: Layout,
}
