//! What a service account may do: its stored role bindings (read, replaced as a whole
//! by the API, changed one at a time from the dashboard) and what they let it read.
//! Nobody hands an account a binding they do not hold themselves.

use std::collections::BTreeMap;

use super::accounts::{authorized_account, readable_account};
use super::cache::KeyCache;
use super::models::ServiceAccount;
use crate::access::{self, Actor, Grants, KIND_SERVICE_ACCOUNT, Pattern, Permission, Role};
use crate::audit;
use crate::db::{DbConnection, write_transaction};
use crate::environments::totals::TotalsCache;
use crate::environments::{self, ViewAs};
use crate::errors::AppResult;
use crate::names::Address;

/// The account's stored role bindings as `pattern → roles`.
pub fn bindings(
    conn: &mut DbConnection,
    grants: &Grants,
    at: &Address,
) -> AppResult<BTreeMap<String, Vec<String>>> {
    let (account, _) = readable_account(conn, grants, at)?;
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
    actor: &Actor,
    cache: &KeyCache,
    at: &Address,
    bindings: &[(Pattern, Role)],
) -> AppResult<BTreeMap<String, Vec<String>>> {
    let (account, namespace) =
        authorized_account(conn, actor, Permission::ServiceAccountUpdate, at)?;
    access::require_can_grant(actor.grants(), bindings, "a service-account binding")?;
    let detail: Vec<String> = bindings.iter().map(|(p, r)| format!("{p}={r}")).collect();
    let of = (&account, namespace.as_str());
    store(conn, actor, cache, of, bindings, &detail.join(","))
}

/// One change to an account's bindings, from the dashboard's editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingChange {
    /// Adds a binding; it must be within what the caller holds.
    Add(Pattern, Role),
    /// Removes a binding. Any may go: taking access away grants nothing.
    Remove(Pattern, Role),
}

/// Applies `change` to the account's bindings (`service-account::update` on its
/// namespace); the others stay as they are, even those beyond what the caller holds.
pub fn change_binding(
    conn: &mut DbConnection,
    actor: &Actor,
    cache: &KeyCache,
    at: &Address,
    change: &BindingChange,
) -> AppResult<BTreeMap<String, Vec<String>>> {
    let (account, namespace) =
        authorized_account(conn, actor, Permission::ServiceAccountUpdate, at)?;
    let mut bindings: Vec<(Pattern, Role)> =
        access::stored_binding_list(conn, KIND_SERVICE_ACCOUNT, account.id)?;
    let detail = match change {
        BindingChange::Add(p, r) => {
            access::require_can_grant(
                actor.grants(),
                &[(p.clone(), *r)],
                "a service-account binding",
            )?;
            if !bindings.contains(&(p.clone(), *r)) {
                bindings.push((p.clone(), *r));
            }
            format!("+{p}={r}")
        }
        BindingChange::Remove(p, r) => {
            bindings.retain(|b| b != &(p.clone(), *r));
            format!("-{p}={r}")
        }
    };
    store(
        conn,
        actor,
        cache,
        (&account, &namespace),
        &bindings,
        &detail,
    )
}

/// Stores `bindings` as the account's, audited as `role_binding.update` with `detail`.
fn store(
    conn: &mut DbConnection,
    actor: &Actor,
    cache: &KeyCache,
    (account, namespace): (&ServiceAccount, &str),
    bindings: &[(Pattern, Role)],
    detail: &str,
) -> AppResult<BTreeMap<String, Vec<String>>> {
    write_transaction(conn, |conn| -> AppResult<()> {
        access::replace_bindings(conn, KIND_SERVICE_ACCOUNT, account.id, bindings)?;
        let target = super::accounts::audit_name(namespace, &account.name);
        let ns = Some(namespace);
        audit::success_in(
            conn,
            actor,
            ns,
            "role_binding.update",
            &target,
            Some(detail),
        )
    })?;
    cache.clear();
    Ok(access::stored_bindings(
        conn,
        KIND_SERVICE_ACCOUNT,
        account.id,
    )?)
}

/// Whether the account at `at` (readable by `viewer`) holds no binding at all:
/// its keys authenticate, but it can read nothing.
pub fn holds_nothing(conn: &mut DbConnection, viewer: &Grants, at: &Address) -> AppResult<bool> {
    let (account, _) = readable_account(conn, viewer, at)?;
    let grants = access::load_service_account_grants(conn, account.id)?;
    Ok(grants.bindings().is_empty())
}

/// The access of the account at `at` (readable by `viewer`): its grants, and
/// what it can read within the viewer's own reach, so nothing beyond it is disclosed.
pub fn access_of(
    conn: &mut DbConnection,
    viewer: &Grants,
    totals: &TotalsCache,
    at: &Address,
    limit: i64,
) -> AppResult<ViewAs> {
    let (account, _) = readable_account(conn, viewer, at)?;
    let grants = access::load_service_account_grants(conn, account.id)?;
    environments::view_as(conn, &grants, viewer.clone(), None, limit, totals)
}
