//! Verifying connectors and brokering their credentials, for the request's caller:
//! permission checks and secrets on the database pool, provider calls on the async
//! runtime (a slow provider holds no worker or connection), results recorded and
//! audited, issued credentials cached per connector and resource until shortly before
//! they expire, with one upstream call per key however many callers wait for it.

use serde_json::{Map, Value};

use super::catalog::{AuthMethod, Catalog};
use super::credential_cache::CacheKey;
use super::models::Connector;
use super::providers::{self, Issued, ProviderError, Scope, Target, Verification};
use super::registry::{self, Draft, Listed};
use super::repo;
use super::sealing::open_secrets;
use super::validate::canonical_resource_id;
use crate::access::Permission;
use crate::app::Cx;
use crate::audit;
use crate::db::{now_ms, write_transaction};
use crate::errors::{AppError, AppResult};
use crate::names::Address;

/// The connector at `at` if the caller may use it (404 if unreadable, 403
/// without `connector::use`), as a provider target with its secrets opened.
async fn usable_target(cx: &Cx, at: Address) -> AppResult<(Connector, Target)> {
    cx.run(move |conn, actor, st| {
        let c = registry::readable_with(conn, actor, Permission::ConnectorUse, &at)?;
        let secrets = open_secrets(&st.connector_sealer, c.row.id, &c.row.secrets)?;
        let target = target_of(&st.catalog, &c, secrets);
        Ok((c, target))
    })
    .await
}

/// A connector and its opened secrets as a provider target.
fn target_of(catalog: &Catalog, c: &Connector, secrets: Map<String, Value>) -> Target {
    let mut config = c.plain_configuration();
    config.extend(secrets);
    let expiration_bounds = catalog
        .get(&c.row.connector_type)
        .and_then(|t| t.auth_method(&c.row.auth_method))
        .and_then(expiration_bounds);
    Target {
        name: c.row.name.clone(),
        connector_type: c.row.connector_type.clone(),
        auth_method: c.row.auth_method.clone(),
        resource_types: c.resource_types.clone(),
        resource_id: c.row.resource_id.clone(),
        config,
        expiration_seconds: c.row.expiration_seconds,
        expiration_bounds,
    }
}

/// An auth method's (min, max, default) lifetimes, when it issues temporary credentials.
fn expiration_bounds(m: &AuthMethod) -> Option<(i64, Option<i64>, i64)> {
    let default = m.default_expiration_seconds.or(m.max_expiration_seconds)?;
    Some((
        m.min_expiration_seconds.unwrap_or(0),
        m.max_expiration_seconds,
        default,
    ))
}

/// The resource type (one the connector reaches) and id (canonical) a request names.
fn checked_resource(
    catalog: &Catalog,
    c: &Connector,
    resource_type: &str,
    resource_id: Option<&str>,
) -> AppResult<(String, Option<String>)> {
    if !c.resource_types.iter().any(|rt| rt == resource_type) {
        return Err(AppError::invalid(
            "resource_type",
            format!(
                "connector {} does not reach {resource_type:?}; it reaches {}",
                c.row.name,
                c.resource_types.join(", ")
            ),
        ));
    }
    let rt = catalog
        .get(&c.row.connector_type)
        .and_then(|t| t.resource_type(resource_type))
        .ok_or_else(|| AppError::invalid("resource_type", "unknown resource type"))?;
    let id = resource_id
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|id| canonical_resource_id(rt, id).map_err(|e| AppError::invalid("resource_id", e)))
        .transpose()?;
    Ok((resource_type.to_owned(), id))
}

/// Verifies the connector at `at` within the resource type and id given (all it reaches
/// when none), records what was found and audits it.
pub(super) async fn verify(
    cx: &Cx,
    at: Address,
    resource_type: Option<String>,
    resource_id: Option<String>,
) -> AppResult<Verification> {
    let (c, target) = usable_target(cx, at).await?;
    let scope = match resource_type {
        Some(rt) => {
            let (rt, id) = checked_resource(&cx.state.catalog, &c, &rt, resource_id.as_deref())?;
            Scope {
                resource_type: Some(rt),
                resource_id: id,
            }
        }
        None if resource_id.is_some() => {
            return Err(AppError::invalid(
                "resource_id",
                "name the resource_type of the resource to verify",
            ));
        }
        None => Scope::default(),
    };
    let result = providers::verify(&cx.state.outbound, &target, &scope).await;
    record(cx, c, result.clone()).await?;
    Ok(result)
}

/// Records what verifying `c` found, and audits it. Only a connector unchanged since it
/// was read gets the findings: after an edit they would describe a configuration that
/// no longer exists.
async fn record(cx: &Cx, c: Connector, found: Verification) -> AppResult<()> {
    cx.run(move |conn, actor, _| {
        let now = now_ms();
        write_transaction(conn, |conn| -> AppResult<()> {
            if repo::version_of(conn, c.row.id)? == Some(c.row.updated_at) {
                repo::record_discoveries(conn, c.row.id, &found.resources, now)?;
            }
            let outcome = match failure(&found) {
                Some(e) => format!("failed: {e}"),
                None => "ok".to_owned(),
            };
            let target = c.audit_name();
            let ns = Some(c.namespace.as_str());
            audit::success_in(conn, actor, ns, "connector.verify", &target, Some(&outcome))
        })
    })
    .await
}

/// Why a verification failed: the sign-in, else the first resource type's error.
pub(super) fn failure(v: &Verification) -> Option<&String> {
    v.error
        .as_ref()
        .or_else(|| v.resources.iter().find_map(|r| r.error.as_ref()))
}

/// Registers `draft` only if the provider accepts it first ("verify before saving"):
/// a refusal is a 422 naming why, and nothing is stored; on success the connector is
/// stored with what verification found.
pub(super) async fn create_verified(cx: &Cx, draft: Draft) -> AppResult<Listed> {
    cx.actor
        .require_namespace(Permission::ConnectorCreate, &draft.namespace)?;
    let target = draft_target(&cx.state.catalog, &draft)?;
    let found = providers::verify(&cx.state.outbound, &target, &Scope::default()).await;
    if let Some(e) = failure(&found) {
        return Err(AppError::invalid(
            "verify_first",
            format!("verification failed, nothing was saved: {e}"),
        ));
    }
    let (c, _) = super::calls::create(cx, draft).await?;
    record(cx, c.clone(), found).await?;
    cx.run(move |conn, _, _| registry::with_resources(conn, c))
        .await
}

/// A draft as a provider target, before it is stored.
fn draft_target(catalog: &Catalog, d: &Draft) -> AppResult<Target> {
    let r = super::changes::resolve_new(catalog, d)?.0;
    let mut config: Map<String, Value> = r
        .shown
        .into_iter()
        .filter(|(_, v)| v.as_str() != Some(super::validate::HIDDEN))
        .collect();
    config.extend(r.secrets);
    let bounds = catalog
        .get(&d.connector_type)
        .and_then(|t| t.auth_method(&d.auth_method))
        .and_then(expiration_bounds);
    Ok(Target {
        name: d.name.clone(),
        connector_type: d.connector_type.clone(),
        auth_method: d.auth_method.clone(),
        resource_types: r.resource_types,
        resource_id: r.resource_id,
        config,
        expiration_seconds: r.expiration_seconds,
        expiration_bounds: bounds,
    })
}

/// Credentials for one resource of the connector at `at`, for callers with `connector::use`.
/// Served from the cache in one database call (the permission check and the audit
/// event); otherwise issued by the provider, once for all concurrent callers.
pub(super) async fn client_credentials(
    cx: &Cx,
    at: Address,
    resource_type: String,
    resource_id: Option<String>,
) -> AppResult<(String, String, Issued)> {
    let lookup = cx
        .run(move |conn, actor, st| {
            let c = registry::readable_with(conn, actor, Permission::ConnectorUse, &at)?;
            let (rt, id) = wanted(&st.catalog, &c, &resource_type, resource_id.as_deref())?;
            let key = CacheKey {
                connector_id: c.row.id,
                version: c.row.updated_at,
                resource_type: rt.clone(),
                resource_id: id.clone(),
            };
            if let Some(issued) = st.credential_cache.peek(&key) {
                let of = (c.namespace.as_str(), c.row.name.as_str());
                let event = issue_event(actor, of, &key, Ok(&issued), false);
                // Where events are written directly, in this same database call.
                if st.audit_batch.direct() {
                    event(conn)?;
                    return Ok(Lookup::Served(key, issued, None));
                }
                return Ok(Lookup::Served(key, issued, Some(event)));
            }
            let secrets = open_secrets(&st.connector_sealer, c.row.id, &c.row.secrets)?;
            let target = target_of(&st.catalog, &c, secrets);
            Ok(Lookup::Missing(key, Box::new(target), c.namespace))
        })
        .await?;
    let (key, target, namespace) = match lookup {
        Lookup::Served(key, issued, event) => {
            if let Some(event) = event {
                cx.state.audit_batch.record(event).await?;
            }
            return Ok((key.resource_type, key.resource_id, issued));
        }
        Lookup::Missing(key, target, namespace) => (key, target, namespace),
    };
    let name = target.name.clone();
    let outbound = cx.state.outbound.clone();
    let lifetime = target.lifetime(None);
    let (rt, id) = (key.resource_type.clone(), key.resource_id.clone());
    let (issued, fresh) = cx
        .state
        .credential_cache
        .get_or_issue(key.clone(), || async move {
            let ask = providers::Ask {
                resource_type: &rt,
                resource_id: &id,
                lifetime,
            };
            providers::issue(&outbound, &target, ask).await
        })
        .await;
    let of = (namespace.as_str(), name.as_str());
    let event = issue_event(&cx.actor, of, &key, issued.as_ref(), fresh);
    cx.state.audit_batch.record(event).await?;
    let issued = issued.map_err(provider_refusal)?;
    Ok((key.resource_type, key.resource_id, issued))
}

/// What a credentials request found: credentials served from the cache, or the
/// connector as a provider target to issue them.
enum Lookup {
    /// From the cache, with the audit event still to record (group commit) or `None`
    /// when it was written in the lookup's own database call.
    Served(CacheKey, Issued, Option<audit::batch::Write>),
    /// Not cached: the connector as a provider target.
    Missing(CacheKey, Box<Target>, String),
}

/// The resource type and (canonical) id a credentials request is for: one the
/// connector reaches, within its pin (403 outside it), named when it reaches several;
/// 409 once the connector expired.
fn wanted(
    catalog: &Catalog,
    c: &Connector,
    resource_type: &str,
    resource_id: Option<&str>,
) -> AppResult<(String, String)> {
    let (rt, asked) = checked_resource(catalog, c, resource_type, resource_id)?;
    let id = match (asked, &c.row.resource_id) {
        (Some(asked), Some(pin)) if &asked != pin => {
            return Err(AppError::Forbidden(format!(
                "connector {} is pinned to {pin}; it issues credentials for nothing else",
                c.row.name
            )));
        }
        (Some(asked), _) => asked,
        (None, Some(pin)) => pin.clone(),
        (None, None) => {
            return Err(AppError::invalid(
                "resource_id",
                format!("connector {} reaches several {rt}: name one", c.row.name),
            ));
        }
    };
    if c.row.expires_at.is_some_and(|at| at <= now_ms()) {
        return Err(AppError::Conflict(format!(
            "connector {} expired; update its credentials",
            c.row.name
        )));
    }
    Ok((rt, id))
}

/// The audit event of a credentials request: the resource, and whether the credentials
/// were issued, served from the cache or passed through (never a secret).
fn issue_event(
    actor: &crate::access::Actor,
    (namespace, connector): (&str, &str),
    key: &CacheKey,
    result: Result<&Issued, &ProviderError>,
    fresh: bool,
) -> audit::batch::Write {
    let outcome = match result {
        Ok(i) => match (fresh, i.expires_at) {
            (true, Some(at)) => format!("issued, expires {}", crate::db::rfc3339(at)),
            (false, Some(at)) => format!("served from cache, expires {}", crate::db::rfc3339(at)),
            (_, None) => "configured long-lived credentials passed through".to_owned(),
        },
        Err(e) => format!("failed: {e}"),
    };
    let detail = format!("{} {}: {outcome}", key.resource_type, key.resource_id);
    let target = super::models::audit_name(namespace, connector);
    let event = (target, namespace.to_owned());
    audit::batch::event(actor, "connector.credentials", event, detail)
}

/// A provider's refusal to issue, as the API reports it: 502 for the provider's
/// answers, 422 for what the connector's method cannot do.
fn provider_refusal(e: ProviderError) -> AppError {
    match e {
        ProviderError::Unsupported(m)
        | ProviderError::Invalid(m)
        | ProviderError::NotReached(m) => AppError::invalid("resource_type", m),
        other => AppError::Upstream(other.to_string()),
    }
}
