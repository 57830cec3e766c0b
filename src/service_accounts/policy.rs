//! A namespace's key policy (`crate::key_policy`): read by its readers, tightened (or
//! relaxed back to the server's) by its admins, audited; where its keys are checked
//! against it (creation, activation); and which existing keys break a newly tightened
//! policy — listed, never silently broken.

use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use serde::Serialize;

use super::models::ApiKey;
use crate::access::{Actor, Grants, Permission};
use crate::app::Cx;
use crate::audit;
use crate::db::schema::{api_keys, namespace_key_policies, service_accounts};
use crate::db::{DbConnection, now_ms, write_transaction};
use crate::environments;
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::key_policy::{self, DAY_MS, KeyPolicy};
use crate::web::Reply;
use crate::web::api::Json;

/// The operations of this module in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(get_policy, put_policy))]
pub(super) struct Doc;

/// Routes.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/namespaces/{ns}/policy")
            .get(get_policy)
            .put(put_policy),
    );
}

/// A key or account that breaks the effective policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Violation {
    /// The service account.
    pub service_account: String,
    /// The key, or `null` for the account as a whole (too many active keys).
    pub key: Option<String>,
    /// What is wrong, in words.
    pub problem: String,
}

/// A namespace's policy: its own settings (what `PUT` replaces, at the top level as in
/// the request), the server's, the effective one, and what breaks it today.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyAnswer {
    /// The namespace's own: keys expire within this many days.
    pub max_key_lifetime_days: Option<i64>,
    /// The namespace's own: tokens live at most this many minutes.
    pub max_token_lifetime_minutes: Option<i64>,
    /// The namespace's own: most active keys per account.
    pub max_active_keys_per_account: Option<i64>,
    /// The namespace's own: networks the accounts' credentials may be used from.
    pub allowed_networks: Option<Vec<String>>,
    /// The namespace's own: rotate keys this often (days).
    pub rotate_every_days: Option<i64>,
    /// The namespace's own: deactivate keys whose rotation is overdue.
    pub deactivate_unrotated: Option<bool>,
    /// The namespace's own settings, as one policy (not sent: the fields above are).
    #[serde(skip)]
    pub own: KeyPolicy,
    /// The server's policy (the bound a namespace may only tighten).
    pub server: KeyPolicy,
    /// What applies: the tightest of both.
    pub effective: KeyPolicy,
    /// Active keys and accounts that break the effective policy.
    pub violations: Vec<Violation>,
}

/// The namespace `ns` if `grants` may read it (404 otherwise): its row id.
fn readable_namespace(conn: &mut DbConnection, grants: &Grants, ns: &str) -> AppResult<i64> {
    if !grants.can_namespace(Permission::NamespaceRead, ns) {
        return Err(AppError::NotFound);
    }
    let found = environments::find_namespace(conn, ns)?.ok_or(AppError::NotFound)?;
    Ok(found.id)
}

/// The policy of `ns` as its readers see it.
pub fn policy_of(
    conn: &mut DbConnection,
    grants: &Grants,
    server: &KeyPolicy,
    ns: &str,
) -> AppResult<PolicyAnswer> {
    let id = readable_namespace(conn, grants, ns)?;
    let own = key_policy::stored(conn, ns)?;
    let effective = own.tightest(server);
    let violations = violations(conn, id, &effective, now_ms())?;
    Ok(PolicyAnswer {
        max_key_lifetime_days: own.max_key_lifetime_days,
        max_token_lifetime_minutes: own.max_token_lifetime_minutes,
        max_active_keys_per_account: own.max_active_keys_per_account,
        allowed_networks: own.allowed_networks.clone(),
        rotate_every_days: own.rotate_every_days,
        deactivate_unrotated: own.deactivate_unrotated,
        own,
        server: server.clone(),
        effective,
        violations,
    })
}

/// Replaces the own policy of `ns` (`namespace::update`): each setting within the
/// server's, else 422 naming it.
pub fn set_policy(
    conn: &mut DbConnection,
    actor: &Actor,
    server: &KeyPolicy,
    ns: &str,
    policy: KeyPolicy,
) -> AppResult<PolicyAnswer> {
    let id = readable_namespace(conn, actor.grants(), ns)?;
    actor.require_namespace(Permission::NamespaceUpdate, ns)?;
    let fields = policy.check(server);
    if !fields.is_empty() {
        return Err(AppError::Validation {
            message: "the key policy is not valid".into(),
            fields,
        });
    }
    let json = serde_json::to_string(&policy).map_err(AppError::internal)?;
    write_transaction(conn, |conn| -> AppResult<()> {
        diesel::delete(namespace_key_policies::table.find(id)).execute(conn)?;
        if !policy.is_empty() {
            diesel::insert_into(namespace_key_policies::table)
                .values((
                    namespace_key_policies::namespace_id.eq(id),
                    namespace_key_policies::policy.eq(&json),
                    namespace_key_policies::updated_at.eq(now_ms()),
                    namespace_key_policies::updated_by.eq(actor.name()),
                ))
                .execute(conn)?;
        }
        audit::success(
            conn,
            actor,
            "namespace.policy",
            &format!("namespace:{ns}"),
            Some(&json),
        )
    })?;
    policy_of(conn, actor.grants(), server, ns)
}

/// Active keys and accounts of namespace `namespace_id` that break `policy` at `now`.
pub fn violations(
    conn: &mut DbConnection,
    namespace_id: i64,
    policy: &KeyPolicy,
    now: i64,
) -> AppResult<Vec<Violation>> {
    if policy.max_key_lifetime_days.is_none()
        && policy.rotate_every_days.is_none()
        && policy.max_active_keys_per_account.is_none()
    {
        return Ok(Vec::new());
    }
    let keys: Vec<(String, ApiKey)> = api_keys::table
        .inner_join(service_accounts::table)
        .filter(service_accounts::namespace_id.eq(namespace_id))
        .filter(api_keys::active.eq(true))
        .order((service_accounts::name, api_keys::name))
        .select((service_accounts::name, ApiKey::as_select()))
        .load(conn)?;
    let mut out = Vec::new();
    let mut counts: std::collections::BTreeMap<&str, i64> = Default::default();
    for (account, key) in &keys {
        if key.expires_at.is_some_and(|e| e <= now) {
            continue;
        }
        *counts.entry(account).or_default() += 1;
        let mut problem = |text: String| {
            out.push(Violation {
                service_account: account.clone(),
                key: Some(key.name.clone()),
                problem: text,
            });
        };
        if let Some(days) = policy.max_key_lifetime_days {
            match key.expires_at {
                None => problem(format!(
                    "never expires (keys must expire within {days} days)"
                )),
                Some(e) if e - key.created_at > days * DAY_MS => problem(format!(
                    "lives {} days (at most {days})",
                    (e - key.created_at) / DAY_MS
                )),
                Some(_) => {}
            }
        }
        if let Some(days) = policy.rotate_every_days {
            let since = key.last_rotated_at.unwrap_or(key.created_at);
            if now - since > days * DAY_MS {
                problem(format!(
                    "not rotated for {} days (every {days} days)",
                    (now - since) / DAY_MS
                ));
            }
        }
    }
    if let Some(max) = policy.max_active_keys_per_account {
        for (account, n) in counts.into_iter().filter(|(_, n)| *n > max) {
            out.push(Violation {
                service_account: account.to_owned(),
                key: None,
                problem: format!("holds {n} active keys (at most {max})"),
            });
        }
    }
    Ok(out)
}

/// Checks a key about to be created, or activated, in namespace `namespace` for
/// account `account_id`: its expiry (`expires_at`, ms; a new key's creation is `now`)
/// and the account's active keys (`others`: active keys besides this one).
pub fn check_key(
    conn: &mut DbConnection,
    server: &KeyPolicy,
    namespace: &str,
    (account_id, expires_at, now): (i64, Option<i64>, i64),
    fields: &mut FieldErrors,
) -> AppResult<()> {
    let policy = key_policy::effective(conn, server, namespace)?;
    if let Some(days) = policy.max_key_lifetime_days {
        let latest = now + days * DAY_MS;
        if expires_at.is_none_or(|e| e > latest) {
            fields.insert(
                "expires_at".into(),
                format!("keys of {namespace} must expire within {days} days (its key policy)"),
            );
        }
    }
    if let Some(max) = policy.max_active_keys_per_account {
        let active: i64 = api_keys::table
            .filter(api_keys::service_account_id.eq(account_id))
            .filter(api_keys::active.eq(true))
            .filter(
                api_keys::expires_at
                    .is_null()
                    .or(api_keys::expires_at.gt(now)),
            )
            .count()
            .get_result(conn)?;
        if active >= max {
            fields.insert(
                "active".into(),
                format!(
                    "the account already holds {active} active keys, the most {namespace}'s key policy allows: deactivate one first"
                ),
            );
        }
    }
    Ok(())
}

/// Show a namespace's key policy.
///
/// Its own settings, the server's, the effective (tightest) policy, and the active
/// keys and accounts that break it.
#[utoipa::path(get, path = "/api/v1/namespaces/{ns}/policy", tag = "namespaces",
    params(("ns" = String, Path, description = "The namespace.")),
    responses((status = 200, description = "The policy and what breaks it.", body = PolicyAnswer)))]
async fn get_policy(cx: Cx, ns: web::Path<String>) -> Reply {
    let ns = ns.into_inner();
    let answer = cx
        .read(move |conn, actor, st| policy_of(conn, actor.grants(), &st.config.key_policy, &ns))
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// Replace a namespace's key policy.
///
/// Settings may only tighten the server's (`namespace::update`); an empty body
/// leaves the server's alone in force. Existing keys that break the new policy keep
/// working and are listed as violations.
#[utoipa::path(put, path = "/api/v1/namespaces/{ns}/policy", tag = "namespaces",
    params(("ns" = String, Path, description = "The namespace.")),
    request_body = KeyPolicy,
    responses((status = 200, description = "The policy now in force and what breaks it.", body = PolicyAnswer)))]
async fn put_policy(cx: Cx, ns: web::Path<String>, body: Json<KeyPolicy>) -> Reply {
    let (ns, body) = (ns.into_inner(), body.into_inner());
    let answer = cx
        .run(move |conn, actor, st| set_policy(conn, actor, &st.config.key_policy, &ns, body))
        .await?;
    // This instance's network checks see the change at once.
    cx.state.identity_epoch.bump();
    Ok(HttpResponse::Ok().json(answer))
}

/// Deactivates the active keys whose rotation is overdue in namespaces whose effective
/// policy says so (housekeeping), ending their tokens; audited as the key policy's
/// doing. The keys deactivated, as `namespace/account/key`.
pub fn deactivate_unrotated(conn: &mut DbConnection, server: &KeyPolicy) -> AppResult<Vec<String>> {
    use crate::db::schema::namespaces;
    let now = now_ms();
    let mut done = Vec::new();
    let all: Vec<(i64, String)> = namespaces::table
        .select((namespaces::id, namespaces::name))
        .load(conn)?;
    for (namespace_id, ns) in all {
        let policy = key_policy::effective(conn, server, &ns)?;
        let (Some(days), Some(true)) = (policy.rotate_every_days, policy.deactivate_unrotated)
        else {
            continue;
        };
        let cutoff = now - days * DAY_MS;
        let overdue: Vec<(i64, String, String)> = api_keys::table
            .inner_join(service_accounts::table)
            .filter(service_accounts::namespace_id.eq(namespace_id))
            .filter(api_keys::active.eq(true))
            .filter(
                api_keys::last_rotated_at
                    .lt(cutoff)
                    .or(api_keys::last_rotated_at
                        .is_null()
                        .and(api_keys::created_at.lt(cutoff))),
            )
            .select((api_keys::id, service_accounts::name, api_keys::name))
            .load(conn)?;
        if overdue.is_empty() {
            continue;
        }
        write_transaction(conn, |conn| -> AppResult<()> {
            let ids: Vec<i64> = overdue.iter().map(|(id, _, _)| *id).collect();
            diesel::update(api_keys::table.filter(api_keys::id.eq_any(&ids)))
                .set(api_keys::active.eq(false))
                .execute(conn)?;
            crate::auth::delete_key_tokens(conn, &ids)?;
            for (id, account, key) in &overdue {
                let target = format!("api_key:{ns}/{account}/{key}");
                let detail = format!("not rotated in {days} days (key policy)");
                let data = serde_json::json!({
                    "service_account": account,
                    "api_key": key,
                    "violation": detail,
                    "action": "deactivated",
                });
                let dedupe = format!("policy.violation:unrotated:{id}:{now}");
                crate::alerts::enqueue(conn, &ns, "policy.violation", &dedupe, data)?;
                let event = audit::Event::new(
                    "system:key-policy",
                    "api_key.deactivate",
                    &target,
                    audit::Outcome::Success,
                );
                audit::record(conn, &event.within(Some(&ns)).detail(Some(&detail)))?;
            }
            Ok(())
        })?;
        done.extend(overdue.into_iter().map(|(_, a, k)| format!("{ns}/{a}/{k}")));
    }
    Ok(done)
}

/// Housekeeping: [`deactivate_unrotated`], logged, clearing this instance's key cache
/// when a key went.
pub async fn enforce(state: &crate::app::AppState) {
    let server = state.config.key_policy.clone();
    match state
        .db
        .run(move |conn| deactivate_unrotated(conn, &server))
        .await
    {
        Ok(keys) if keys.is_empty() => {}
        Ok(keys) => {
            state.key_cache.clear();
            tracing::info!(keys = ?keys, "deactivated keys whose rotation is overdue");
        }
        Err(e) => tracing::warn!(error = %e, "could not enforce key rotation"),
    }
}
