//! What every page's layout needs: the signed-in user for the navigation, the CSRF
//! token for forms and htmx, and which section is active.

use actix_session::Session;

use crate::access::Principal;
use crate::errors::AppError;
use crate::web::csrf;

/// Navigation sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The overview.
    Overview,
    /// Environments.
    Environments,
    /// Namespaces and sharing.
    Namespaces,
    /// Service accounts and keys.
    ServiceAccounts,
    /// Connectors, their catalog and resources.
    Connectors,
    /// The viewer's own access and tokens.
    Access,
    /// User administration.
    Users,
    /// The audit log.
    Audit,
    /// Sign-in and errors (no section highlighted).
    None,
}

/// Who is signed in, as the navigation shows them: what error pages rendered by the
/// middleware need to keep it (left in the request's extensions by identity).
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Name.
    pub name: String,
    /// A global admin.
    pub is_admin: bool,
}

impl SignedIn {
    /// `principal` as the navigation shows it.
    pub fn of(principal: &Principal) -> Self {
        Self {
            name: principal.name.clone(),
            is_admin: principal.grants.is_global_admin(),
        }
    }
}

/// Layout data passed to `base.html`.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Signed-in user's name.
    pub user: Option<String>,
    /// Whether the user is a global admin.
    pub is_admin: bool,
    /// CSRF token for forms and the `hx-headers` of `<body>`.
    pub csrf: String,
    /// Active section.
    pub section: Section,
    /// What the previous action did, shown once ([`super::flash`]).
    pub flash: Option<String>,
}

impl Layout {
    /// Layout for a signed-in page.
    pub fn new(
        principal: &Principal,
        session: &Session,
        section: Section,
    ) -> Result<Self, AppError> {
        Ok(Self {
            user: Some(principal.name.clone()),
            is_admin: principal.grants.is_global_admin(),
            csrf: csrf::token(session)?,
            section,
            flash: super::flash::take(session),
        })
    }

    /// Layout of a page rendered outside a handler (an error page) for `who`.
    pub fn signed_in(who: &SignedIn, session: &Session) -> Result<Self, AppError> {
        Ok(Self {
            user: Some(who.name.clone()),
            is_admin: who.is_admin,
            csrf: csrf::token(session)?,
            section: Section::None,
            flash: None,
        })
    }

    /// Layout for an anonymous page that has forms (sign-in), with their `csrf` token
    /// (see `csrf::form_token`).
    pub fn anonymous(csrf: String) -> Self {
        Self {
            user: None,
            is_admin: false,
            csrf,
            section: Section::None,
            flash: None,
        }
    }

    /// Layout without a session (error pages rendered by middleware).
    pub fn bare() -> Self {
        Self {
            user: None,
            is_admin: false,
            csrf: String::new(),
            section: Section::None,
            flash: None,
        }
    }

    /// Whether `s` is the active section (for `aria-current`).
    pub fn is(&self, s: Section) -> bool {
        self.section == s
    }
}
