//! Who acts: the authenticated [`Principal`] with its effective grants, and the
//! [`Actor`] every handler receives (principal, client address, request id). The
//! types live here, below every area; `crate::identity` resolves them from a request.

use super::bindings::Grants;
use super::roles::Permission;
use crate::errors::AppError;

/// `principal_kind` value for users.
pub const KIND_USER: &str = "user";
/// `principal_kind` value for service accounts.
pub const KIND_SERVICE_ACCOUNT: &str = "service_account";

/// What kind of principal is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// A human.
    User,
    /// A non-human principal of one namespace (API keys only).
    ServiceAccount,
}

impl PrincipalKind {
    /// Wire name (`user`, `service_account`), also the stored `principal_kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => KIND_USER,
            Self::ServiceAccount => KIND_SERVICE_ACCOUNT,
        }
    }
}

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// Browser session cookie.
    Session,
    /// Bearer access token with this id.
    AccessToken(String),
    /// Bearer API key (row id), and the secret generation that matched.
    ApiKey {
        /// Key row id.
        key: i64,
        /// Generation of the secret presented (current, or previous in its grace window).
        generation: i64,
    },
}

/// An authenticated caller and its effective grants.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Row id of the user or service account.
    pub id: i64,
    /// Kind.
    pub kind: PrincipalKind,
    /// Name.
    pub name: String,
    /// Primary namespace (users) or the account's namespace.
    pub primary_namespace: Option<String>,
    /// Union of every binding.
    pub grants: Grants,
    /// How it authenticated.
    pub method: AuthMethod,
}

impl Principal {
    /// `user:alice` / `service_account:team-a/ci`, as the audit log names actors.
    pub fn actor_name(&self) -> String {
        match (self.kind, &self.primary_namespace) {
            (PrincipalKind::ServiceAccount, Some(ns)) => {
                format!("{}:{ns}/{}", self.kind.as_str(), self.name)
            }
            _ => format!("{}:{}", self.kind.as_str(), self.name),
        }
    }
}

/// The caller of one request: who, from where, and the request's id. Resolved once
/// per request by `crate::identity`; HTML and JSON handlers alike take it.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Who is calling.
    pub principal: Principal,
    /// Client address (the TCP peer).
    pub client: String,
    /// Request id, for logs and audit correlation.
    pub request_id: String,
}

impl Actor {
    /// The caller's effective grants.
    pub fn grants(&self) -> &Grants {
        &self.principal.grants
    }

    /// `user:alice` / `service_account:ci`.
    pub fn name(&self) -> String {
        self.principal.actor_name()
    }

    /// Requires global administration (`*/*: admin`); 403 otherwise.
    pub fn require_global_admin(&self) -> Result<(), AppError> {
        require_global_admin(&self.principal)
    }

    /// What the caller oversees of other principals (what they can read, view as): `None`
    /// for a global admin (everything), the namespaces they administer for a namespace
    /// admin (`Some`, to cap by); 403 for anyone else.
    pub fn oversight(&self) -> Result<Option<Grants>, AppError> {
        let grants = &self.principal.grants;
        if grants.is_global_admin() {
            return Ok(None);
        }
        let administered = grants.administered();
        if administered.bindings().is_empty() {
            return Err(AppError::Forbidden(
                "this needs global administration or admin on a namespace".into(),
            ));
        }
        Ok(Some(administered))
    }

    /// Requires a namespace-level `permission` on `namespace`; 403 otherwise.
    pub fn require_namespace(
        &self,
        permission: Permission,
        namespace: &str,
    ) -> Result<(), AppError> {
        require_namespace(&self.principal, permission, namespace)
    }
}

/// A request's caller, if any (for pages that also render anonymously).
#[derive(Debug, Clone)]
pub struct MaybeActor(pub Option<Actor>);

/// Requires global administration (`*/*: admin`); 403 otherwise. The one admin guard.
pub fn require_global_admin(principal: &Principal) -> Result<(), AppError> {
    if principal.grants.is_global_admin() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "this needs the global administrator role (*/*: admin)".into(),
        ))
    }
}

/// Requires a namespace-level `permission` on `namespace`; 403 otherwise. Every
/// handler authorizes through this (or [`require_global_admin`]).
pub fn require_namespace(
    principal: &Principal,
    permission: Permission,
    namespace: &str,
) -> Result<(), AppError> {
    if principal.grants.can_namespace(permission, namespace) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "you need {} on namespace {namespace:?}",
            permission.as_str()
        )))
    }
}
