//! Trust policies of a service account (workload identity): which external OpenID
//! Connect tokens it accepts in exchange for a token of its own. Read by whoever may
//! read the account, replaced by those who administer it (`service-account::update` on
//! its namespace), audited; the token exchange itself reads them without a caller
//! ([`exchange_target`]).

use actix_web::HttpResponse;
use diesel::prelude::*;

use super::accounts::{audit_name, authorized_account, readable_account, require_covers};
use crate::access::{self, Actor, Grants, Permission};
use crate::app::Cx;
use crate::audit;
use crate::db::schema::{namespaces, service_account_trust, service_accounts};
use crate::db::{DbConnection, now_ms, write_transaction};
use crate::errors::{AppError, AppResult};
use crate::federation::{TrustPolicies, TrustPolicy};
use crate::names::Address;
use crate::web::Reply;
use crate::web::api::Json;

/// The stored policies of account `id` (none when it has no row).
fn stored(conn: &mut DbConnection, id: i64) -> AppResult<TrustPolicies> {
    let json: Option<String> = service_account_trust::table
        .find(id)
        .select(service_account_trust::policies)
        .first(conn)
        .optional()?;
    match json {
        None => Ok(TrustPolicies::default()),
        Some(text) => serde_json::from_str(&text).map_err(AppError::internal),
    }
}

/// The trust policies of the account at `at`, if `grants` may read it.
pub fn policies(
    conn: &mut DbConnection,
    grants: &Grants,
    at: &Address,
) -> AppResult<TrustPolicies> {
    let (account, _) = readable_account(conn, grants, at)?;
    stored(conn, account.id)
}

/// Replaces the trust policies of the account at `at` (422 naming each bad field; 403
/// without `service-account::update` on its namespace); the policies now held.
pub fn set_policies(
    conn: &mut DbConnection,
    actor: &Actor,
    at: &Address,
    policies: TrustPolicies,
) -> AppResult<TrustPolicies> {
    change_policies(conn, actor, at, |held| {
        *held = policies;
        Ok(())
    })
}

/// Changes the trust policies of the account at `at` with `edit`, in one write
/// transaction: authorized and checked as [`set_policies`], audited.
pub fn change_policies(
    conn: &mut DbConnection,
    actor: &Actor,
    at: &Address,
    edit: impl FnOnce(&mut TrustPolicies) -> AppResult<()>,
) -> AppResult<TrustPolicies> {
    let (account, namespace) =
        authorized_account(conn, actor, Permission::ServiceAccountUpdate, at)?;
    // Trusting an issuer hands its tokens the account's grants, as a key would: only
    // those who hold everything the account holds may do it (as for keys).
    require_covers(conn, actor.grants(), account.id)?;
    write_transaction(conn, |conn| -> AppResult<TrustPolicies> {
        let mut policies = stored(conn, account.id)?;
        edit(&mut policies)?;
        policies.check().map_err(|fields| AppError::Validation {
            message: "the trust policies are not valid".into(),
            fields,
        })?;
        let json = serde_json::to_string(&policies).map_err(AppError::internal)?;
        diesel::delete(service_account_trust::table.find(account.id)).execute(conn)?;
        if !policies.policies.is_empty() {
            diesel::insert_into(service_account_trust::table)
                .values((
                    service_account_trust::service_account_id.eq(account.id),
                    service_account_trust::policies.eq(&json),
                    service_account_trust::updated_at.eq(now_ms()),
                    service_account_trust::updated_by.eq(actor.name()),
                ))
                .execute(conn)?;
        }
        let target = audit_name(&namespace, &account.name);
        let detail = describe(&policies.policies);
        audit::success_in(
            conn,
            actor,
            Some(&namespace),
            "service_account.trust",
            &target,
            Some(&detail),
        )?;
        Ok(policies)
    })
}

/// `2 policies: https://a (aud x; sub=…), …` for the audit log.
fn describe(policies: &[TrustPolicy]) -> String {
    if policies.is_empty() {
        return "trusts no issuer".into();
    }
    let each: Vec<String> = policies
        .iter()
        .map(|p| {
            let conditions: Vec<String> =
                p.claims.iter().map(|(c, g)| format!("{c}={g}")).collect();
            format!(
                "{} (aud {}; {})",
                p.issuer,
                p.audience,
                conditions.join(", ")
            )
        })
        .collect();
    format!("{} policies: {}", policies.len(), each.join("; "))
}

/// What a token exchange needs of the account at `at`.
pub struct ExchangeTarget {
    /// Row id.
    pub id: i64,
    /// `namespace/name`.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Inactive accounts get no token.
    pub active: bool,
    /// Its trust policies.
    pub policies: Vec<TrustPolicy>,
    /// Its grants (a requested scope must lie within them).
    pub grants: Grants,
}

/// The account at `at` for a token exchange, whoever asks (the caller is the token);
/// `None` when there is none, 409 `ambiguous_name` for a bare name in several
/// namespaces.
pub fn exchange_target(conn: &mut DbConnection, at: &Address) -> AppResult<Option<ExchangeTarget>> {
    if !at.is_valid() {
        return Ok(None);
    }
    let mut query = service_accounts::table
        .inner_join(namespaces::table)
        .filter(service_accounts::name.eq(&at.name))
        .select((
            service_accounts::id,
            service_accounts::active,
            namespaces::name,
        ))
        .into_boxed();
    if let Some(ns) = &at.namespace {
        query = query.filter(namespaces::name.eq(ns));
    }
    let found: Vec<(i64, bool, String)> = query.load(conn)?;
    let found = found
        .into_iter()
        .map(|(id, active, ns)| ((id, active), ns))
        .collect();
    let ((id, active), namespace) = match at.resolve("service account", found) {
        Ok(one) => one,
        Err(AppError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(ExchangeTarget {
        id,
        namespace,
        name: at.name.clone(),
        active,
        policies: stored(conn, id)?.policies,
        grants: access::load_service_account_grants(conn, id)?,
    }))
}

/// Show a service account's trust policies.
///
/// The external OpenID Connect issuers whose tokens it accepts at
/// `POST /api/v1/token-exchange`.
#[utoipa::path(get, path = "/api/v1/service-accounts/{name}/trust", tag = "service accounts",
    params(("name" = String, Path, description = "The service account.")),
    responses((status = 200, description = "Its trust policies, in order.", body = TrustPolicies)))]
pub(super) async fn get_trust(cx: Cx, at: Address) -> Reply {
    let policies = cx
        .read(move |conn, actor, _| policies(conn, actor.grants(), &at))
        .await?;
    Ok(HttpResponse::Ok().json(policies))
}

/// Replace a service account's trust policies.
///
/// Each names an issuer (https, or http on a loopback host), the audience its tokens
/// must carry, and claim conditions (globs) that must all hold; at least one condition
/// narrower than `*`. An empty list trusts no issuer.
#[utoipa::path(put, path = "/api/v1/service-accounts/{name}/trust", tag = "service accounts",
    params(("name" = String, Path, description = "The service account.")),
    request_body = TrustPolicies,
    responses((status = 200, description = "The policies now held.", body = TrustPolicies)))]
pub(super) async fn put_trust(cx: Cx, at: Address, body: Json<TrustPolicies>) -> Reply {
    let body = body.into_inner();
    let policies = cx
        .run(move |conn, actor, _| set_policies(conn, actor, &at, body))
        .await?;
    Ok(HttpResponse::Ok().json(policies))
}
