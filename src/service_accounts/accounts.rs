//! Service-account operations: authorize, validate, change, audit — one transaction
//! each. Handlers (HTML and JSON) call these and only shape the answer. A change clears
//! the identity caches (`cache`) so no stale grant or key outlives it.

use serde::Deserialize;

use super::cache::KeyCache;
use super::models::{AccountSummary, ServiceAccount};
use super::repo::{self, AccountChanges, ListFilter, NewAccountRow};
use crate::access::{self, Actor, Grants, Permission};
use crate::audit;
use crate::db::{DbConnection, now_ms, write_transaction};
use crate::environments;
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::names::{Address, validate_name};
use crate::web::pagination::split_page;

/// Longest description.
pub const MAX_DESCRIPTION: usize = 1024;

/// Input of account creation (also the JSON body of `POST /api/v1/service-accounts`).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Name.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._+@-]{0,63}$")]
    pub name: String,
    /// Namespace (default `default`).
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._+@-]{0,63}$")]
    pub namespace: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Active flag (default true).
    pub active: Option<bool>,
}

impl crate::names::Namespaced for NewAccount {
    fn namespace_mut(&mut self) -> &mut Option<String> {
        &mut self.namespace
    }
}

/// A change of description and/or active flag, of an account or a key: what is `Some`
/// changes (also the JSON body of their `PATCH`).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    /// New description.
    pub description: Option<String>,
    /// New active flag.
    pub active: Option<bool>,
}

/// The account at `at` if `grants` may read it; 404 otherwise (existence does not
/// leak), 409 `ambiguous_name` for a bare name readable in several namespaces.
pub fn readable_account(
    conn: &mut DbConnection,
    grants: &Grants,
    at: &Address,
) -> AppResult<(ServiceAccount, String)> {
    if !at.is_valid() {
        return Err(AppError::NotFound);
    }
    let mut found = repo::find_accounts(conn, at)?;
    found.retain(|(_, ns)| grants.can_namespace(Permission::ServiceAccountRead, ns));
    at.resolve("service account", found)
}

/// `service_account:<namespace>/<name>`, as the audit log names an account.
pub fn audit_name(namespace: &str, name: &str) -> String {
    format!("service_account:{namespace}/{name}")
}

/// The account at `at` when `actor` may read it (404 otherwise) and holds
/// `permission` on its namespace (403 otherwise).
pub fn authorized_account(
    conn: &mut DbConnection,
    actor: &Actor,
    permission: Permission,
    at: &Address,
) -> AppResult<(ServiceAccount, String)> {
    let (account, namespace) = readable_account(conn, actor.grants(), at)?;
    actor.require_namespace(permission, &namespace)?;
    Ok((account, namespace))
}

/// The account's list row (with key statistics).
pub fn summary(
    conn: &mut DbConnection,
    grants: &Grants,
    at: &Address,
) -> AppResult<AccountSummary> {
    let (account, namespace) = readable_account(conn, grants, at)?;
    let (key_count, last_used_at) = repo::key_stats(conn, account.id)?;
    Ok(AccountSummary {
        account,
        namespace,
        key_count,
        last_used_at,
    })
}

/// Adds a message for `description` when it is too long or not text.
pub fn check_description(fields: &mut FieldErrors, description: Option<&str>) {
    if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION || d.contains('\0')) {
        fields.insert(
            "description".into(),
            format!("must be at most {MAX_DESCRIPTION} characters of text"),
        );
    }
}

/// `Err(422)` with `fields` unless there are none.
pub fn valid(message: &str, fields: FieldErrors) -> AppResult<()> {
    if fields.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation {
            message: message.into(),
            fields,
        })
    }
}

/// Creates an account.
pub fn create_account(
    conn: &mut DbConnection,
    actor: &Actor,
    input: &NewAccount,
) -> AppResult<AccountSummary> {
    let namespace = input.namespace.clone().unwrap_or_else(|| "default".into());
    let mut fields = FieldErrors::new();
    if let Err(e) = validate_name(&input.name) {
        fields.insert("name".into(), format!("name {e}"));
    }
    if let Err(e) = validate_name(&namespace) {
        fields.insert("namespace".into(), format!("namespace {e}"));
    }
    check_description(&mut fields, input.description.as_deref());
    valid("the service account is not valid", fields)?;
    actor.require_namespace(Permission::ServiceAccountCreate, &namespace)?;
    let ns = environments::find_namespace(conn, &namespace)?.ok_or_else(|| {
        AppError::invalid(
            "namespace",
            format!("namespace {namespace:?} does not exist"),
        )
    })?;
    let now = now_ms();
    let at = Address::qualified(&namespace, &input.name);
    write_transaction(conn, |conn| -> AppResult<()> {
        if !repo::find_accounts(conn, &at)?.is_empty() {
            return Err(AppError::Conflict(format!(
                "a service account named {:?} already exists in {namespace}",
                input.name
            )));
        }
        repo::insert_account(
            conn,
            &NewAccountRow {
                name: &input.name,
                namespace_id: ns.id,
                description: input.description.as_deref().unwrap_or(""),
                active: input.active.unwrap_or(true),
                created_by: &actor.name(),
                created_at: now,
                updated_at: now,
            },
        )?;
        audit::success_in(
            conn,
            actor,
            Some(&namespace),
            "service_account.create",
            &audit_name(&namespace, &input.name),
            Some(&format!("namespace {namespace}")),
        )
    })?;
    summary(conn, actor.grants(), &at)
}

impl Edit {
    /// What is wrong with the edit of something that is `active` now and belongs to
    /// account `account_id`: turning it on again needs the caller to cover the
    /// account's grants (403), and the description has a length.
    pub fn check(
        &self,
        conn: &mut DbConnection,
        actor: &Actor,
        active: bool,
        account_id: i64,
    ) -> AppResult<FieldErrors> {
        if self.active == Some(true) && !active {
            require_covers(conn, actor.grants(), account_id)?;
        }
        let mut fields = FieldErrors::new();
        check_description(&mut fields, self.description.as_deref());
        Ok(fields)
    }

    /// Audits what the edit changed on `target`, a `kind` (`service_account`,
    /// `api_key`) that was `active` before: `<kind>.update` for the description,
    /// `<kind>.activate` / `<kind>.deactivate` when the flag flips.
    pub fn audit(
        &self,
        conn: &mut DbConnection,
        actor: &Actor,
        (kind, target, namespace): (&str, &str, &str),
        active: bool,
    ) -> AppResult<()> {
        let ns = Some(namespace);
        if self.description.is_some() {
            let action = format!("{kind}.update");
            audit::success_in(conn, actor, ns, &action, target, Some("description"))?;
        }
        let flip = match self.active {
            Some(true) if !active => Some("activate"),
            Some(false) if active => Some("deactivate"),
            _ => None,
        };
        if let Some(flip) = flip {
            audit::success_in(conn, actor, ns, &format!("{kind}.{flip}"), target, None)?;
        }
        Ok(())
    }
}

/// Changes description and/or active flag.
pub fn update_account(
    conn: &mut DbConnection,
    actor: &Actor,
    cache: &KeyCache,
    at: &Address,
    edit: &Edit,
) -> AppResult<AccountSummary> {
    let (account, namespace) =
        authorized_account(conn, actor, Permission::ServiceAccountUpdate, at)?;
    let fields = edit.check(conn, actor, account.active, account.id)?;
    valid("the change is not valid", fields)?;
    write_transaction(conn, |conn| -> AppResult<()> {
        let changes = AccountChanges {
            description: edit.description.as_deref(),
            active: edit.active,
            updated_at: now_ms(),
        };
        repo::update_account(conn, account.id, &changes)?;
        // Deactivation ends its tokens for good: activating it again revives its keys,
        // never a token minted before.
        if edit.active == Some(false) {
            let keys = repo::key_ids_of(conn, account.id)?;
            crate::auth::delete_tokens_of(conn, access::KIND_SERVICE_ACCOUNT, account.id, &keys)?;
        }
        let target = audit_name(&namespace, &account.name);
        let what = ("service_account", target.as_str(), namespace.as_str());
        edit.audit(conn, actor, what, account.active)
    })?;
    cache.clear();
    summary(
        conn,
        actor.grants(),
        &Address::qualified(&namespace, &account.name),
    )
}

/// Deletes an account and revokes everything it owns.
pub fn delete_account(
    conn: &mut DbConnection,
    actor: &Actor,
    cache: &KeyCache,
    at: &Address,
) -> AppResult<()> {
    let (account, namespace) =
        authorized_account(conn, actor, Permission::ServiceAccountDelete, at)?;
    write_transaction(conn, |conn| -> AppResult<()> {
        super::remove(conn, account.id)?;
        let target = audit_name(&namespace, &account.name);
        let ns = Some(namespace.as_str());
        audit::success_in(conn, actor, ns, "service_account.delete", &target, None)
    })?;
    cache.clear();
    Ok(())
}

/// A page of the accounts the caller may read.
pub struct AccountPage {
    /// Rows.
    pub items: Vec<AccountSummary>,
    /// Name to continue after (raw; JSON encodes it as a cursor).
    pub next_cursor: Option<String>,
}

/// Lists readable accounts, filtered in SQL, keyset-paginated by name.
pub fn list_accounts(
    conn: &mut DbConnection,
    grants: &Grants,
    filter: &ListFilter<'_>,
) -> AppResult<AccountPage> {
    let rows = repo::list_accounts(conn, grants, filter)?;
    let (items, next_cursor) = split_page(rows, filter.limit, |s| {
        format!("{}/{}", s.account.name, s.namespace)
    });
    Ok(AccountPage { items, next_cursor })
}

/// Refuses when the account holds a binding or share the caller does not: handing out a
/// credential for it (a new or rotated key, re-activation) would grant the caller more
/// than they hold.
pub fn require_covers(conn: &mut DbConnection, grants: &Grants, account_id: i64) -> AppResult<()> {
    let held = access::load_service_account_grants(conn, account_id)?;
    if let Some(b) = held
        .bindings()
        .iter()
        .find(|b| !access::can_grant(grants, &b.pattern, b.role))
    {
        // Name the binding only where the caller can see what it covers.
        let seen = access::can_grant(grants, &b.pattern, access::Role::Viewer);
        return Err(AppError::Forbidden(if seen {
            format!(
                "this service account holds {} on {} ({}), which you do not; ask someone \
                 who does",
                b.role, b.pattern, b.source
            )
        } else {
            "this service account holds a binding beyond what you can see; ask an \
             administrator of its namespaces"
                .to_owned()
        }));
    }
    Ok(())
}
