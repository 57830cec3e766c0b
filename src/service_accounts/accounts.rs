//! Service-account operations: authorize, validate, change, audit — one transaction
//! each. Handlers (HTML and JSON) call these and only shape the answer.

use super::cache::KeyCache;
use super::models::{AccountSummary, ServiceAccount};
use super::repo::{self, ListFilter};
use crate::access::KIND_SERVICE_ACCOUNT;
use crate::access::Principal;
use crate::access::sql::{Columns, permission_filter};
use crate::access::{self, Pattern, Permission, Role};
use crate::audit::{self, Outcome};
use crate::db::{DbConnection, now_ms};
use crate::environments;
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::names::validate_name;

/// Longest description.
pub const MAX_DESCRIPTION: usize = 1024;

/// Who acts, from where, and the cache to clear after a change.
pub struct Ctx<'a> {
    /// The caller.
    pub principal: &'a Principal,
    /// Client address.
    pub client: &'a str,
    /// Key lookup cache of this instance.
    pub cache: &'a KeyCache,
}

impl Ctx<'_> {
    /// `user:alice` / `service_account:ci`.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.principal.kind.as_str(), self.principal.name)
    }

    /// Appends an audit event.
    pub fn audit(
        &self,
        conn: &mut DbConnection,
        action: &str,
        target: &str,
        detail: Option<&str>,
    ) -> AppResult<()> {
        audit::record(
            conn,
            &audit::Event {
                actor: &self.actor(),
                action,
                target,
                outcome: Outcome::Success,
                client_addr: Some(self.client),
                detail,
            },
        )?;
        Ok(())
    }
}

/// Input of account creation.
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    /// Name.
    pub name: String,
    /// Namespace (default `default`).
    pub namespace: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Active flag (default true).
    pub active: Option<bool>,
}

/// The account called `name` if the caller may read it; 404 otherwise (existence does
/// not leak).
pub fn readable_account(
    conn: &mut DbConnection,
    principal: &Principal,
    name: &str,
) -> AppResult<(ServiceAccount, String)> {
    if validate_name(name).is_err() {
        return Err(AppError::NotFound);
    }
    let (account, namespace) = repo::find_account(conn, name)?.ok_or(AppError::NotFound)?;
    if !principal
        .grants
        .can_namespace(Permission::ServiceAccountRead, &namespace)
    {
        return Err(AppError::NotFound);
    }
    Ok((account, namespace))
}

/// The account's list row (with key statistics).
pub fn summary(
    conn: &mut DbConnection,
    principal: &Principal,
    name: &str,
) -> AppResult<AccountSummary> {
    let (account, namespace) = readable_account(conn, principal, name)?;
    let (key_count, last_used_at) = repo::key_stats(conn, account.id)?;
    Ok(AccountSummary {
        account,
        namespace,
        key_count,
        last_used_at,
    })
}

fn check_description(fields: &mut FieldErrors, description: Option<&str>) {
    if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION || d.contains('\0')) {
        fields.insert(
            "description".into(),
            format!("must be at most {MAX_DESCRIPTION} characters of text"),
        );
    }
}

/// Creates an account.
pub fn create_account(
    conn: &mut DbConnection,
    ctx: &Ctx<'_>,
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
    if !fields.is_empty() {
        return Err(AppError::Validation {
            message: "the service account is not valid".into(),
            fields,
        });
    }
    access::require_namespace(ctx.principal, Permission::ServiceAccountCreate, &namespace)?;
    let ns = environments::find_namespace(conn, &namespace)?.ok_or_else(|| {
        AppError::invalid(
            "namespace",
            format!("namespace {namespace:?} does not exist"),
        )
    })?;
    let now = now_ms();
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        if repo::find_account(conn, &input.name)?.is_some() {
            return Err(AppError::Conflict(format!(
                "a service account named {:?} already exists",
                input.name
            )));
        }
        repo::insert_account(
            conn,
            &input.name,
            ns.id,
            input.description.as_deref().unwrap_or(""),
            input.active.unwrap_or(true),
            &ctx.actor(),
            now,
        )?;
        ctx.audit(
            conn,
            "service_account.create",
            &format!("service_account:{}", input.name),
            Some(&format!("namespace {namespace}")),
        )
    })?;
    summary(conn, ctx.principal, &input.name)
}

/// Changes description and/or active flag.
pub fn update_account(
    conn: &mut DbConnection,
    ctx: &Ctx<'_>,
    name: &str,
    description: Option<&str>,
    active: Option<bool>,
) -> AppResult<AccountSummary> {
    let (account, namespace) = readable_account(conn, ctx.principal, name)?;
    access::require_namespace(ctx.principal, Permission::ServiceAccountUpdate, &namespace)?;
    if active == Some(true) && !account.active {
        require_covers(conn, ctx.principal, account.id)?;
    }
    let mut fields = FieldErrors::new();
    check_description(&mut fields, description);
    if !fields.is_empty() {
        return Err(AppError::Validation {
            message: "the change is not valid".into(),
            fields,
        });
    }
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        repo::update_account(conn, account.id, description, active, now_ms())?;
        let target = format!("service_account:{name}");
        if description.is_some() {
            ctx.audit(conn, "service_account.update", &target, Some("description"))?;
        }
        match active {
            Some(true) if !account.active => {
                ctx.audit(conn, "service_account.activate", &target, None)?
            }
            Some(false) if account.active => {
                ctx.audit(conn, "service_account.deactivate", &target, None)?
            }
            _ => {}
        }
        Ok(())
    })?;
    ctx.cache.clear();
    summary(conn, ctx.principal, name)
}

/// Deletes an account and revokes everything it owns.
pub fn delete_account(conn: &mut DbConnection, ctx: &Ctx<'_>, name: &str) -> AppResult<()> {
    let (account, namespace) = readable_account(conn, ctx.principal, name)?;
    access::require_namespace(ctx.principal, Permission::ServiceAccountDelete, &namespace)?;
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        super::remove(conn, account.id)?;
        ctx.audit(
            conn,
            "service_account.delete",
            &format!("service_account:{name}"),
            None,
        )
    })?;
    ctx.cache.clear();
    Ok(())
}

/// A page of the accounts the caller may read.
pub struct AccountPage {
    /// Rows.
    pub items: Vec<AccountSummary>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

/// Lists readable accounts, filtered in SQL, keyset-paginated by name.
pub fn list_accounts(
    conn: &mut DbConnection,
    principal: &Principal,
    namespace: Option<&str>,
    search: Option<&str>,
    cursor: Option<&str>,
    limit: i64,
) -> AppResult<AccountPage> {
    let readable = permission_filter(
        &principal.grants,
        Permission::ServiceAccountRead,
        Columns {
            namespace: "namespaces.name",
            environment: None,
        },
        conn.dialect(),
    );
    let mut items = repo::list_accounts(
        conn,
        ListFilter {
            readable,
            namespace,
            search,
            after: cursor,
            limit,
        },
    )?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|s| s.account.name.clone())
    } else {
        None
    };
    Ok(AccountPage { items, next_cursor })
}

/// The account's stored role bindings.
pub fn bindings(
    conn: &mut DbConnection,
    principal: &Principal,
    name: &str,
) -> AppResult<std::collections::BTreeMap<String, Vec<String>>> {
    let (account, _) = readable_account(conn, principal, name)?;
    Ok(access::stored_bindings(
        conn,
        KIND_SERVICE_ACCOUNT,
        account.id,
    )?)
}

/// Replaces the account's role bindings. Needs `service-account::update` on its
/// namespace, and every binding must be within what the caller holds.
pub fn set_bindings(
    conn: &mut DbConnection,
    ctx: &Ctx<'_>,
    name: &str,
    bindings: &[(Pattern, Role)],
) -> AppResult<std::collections::BTreeMap<String, Vec<String>>> {
    let (account, namespace) = readable_account(conn, ctx.principal, name)?;
    access::require_namespace(ctx.principal, Permission::ServiceAccountUpdate, &namespace)?;
    access::require_can_grant(&ctx.principal.grants, bindings, "a service-account binding")?;
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        access::replace_bindings(conn, KIND_SERVICE_ACCOUNT, account.id, bindings)?;
        let detail: Vec<String> = bindings.iter().map(|(p, r)| format!("{p}={r}")).collect();
        ctx.audit(
            conn,
            "role_binding.update",
            &format!("service_account:{name}"),
            Some(&detail.join(",")),
        )
    })?;
    ctx.cache.clear();
    Ok(access::stored_bindings(
        conn,
        KIND_SERVICE_ACCOUNT,
        account.id,
    )?)
}

/// Refuses when the account holds a binding or share the caller does not: handing out a
/// credential for it (a new or rotated key, re-activation) would grant the caller more
/// than they hold.
pub fn require_covers(
    conn: &mut DbConnection,
    principal: &Principal,
    account_id: i64,
) -> AppResult<()> {
    let held = access::load_service_account_grants(conn, account_id)?;
    if let Some(b) = held
        .bindings()
        .iter()
        .find(|b| !access::can_grant(&principal.grants, &b.pattern, b.role))
    {
        return Err(AppError::Forbidden(format!(
            "this service account holds {} on {} ({}), which you do not; ask someone who does",
            b.role, b.pattern, b.source
        )));
    }
    Ok(())
}
