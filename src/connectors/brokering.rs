//! Verifying connectors and brokering their credentials, for the request's caller:
//! permission checks and secrets on the database pool, provider calls on the async
//! runtime (a slow provider holds no worker or connection), results recorded and
//! audited, issued credentials cached per connector and resource until shortly before
//! they expire, with one upstream call per key however many callers wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use tokio::sync::OnceCell;

use super::catalog::{AuthMethod, Catalog};
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

/// The connector called `name` if the caller may use it (404 if unreadable, 403
/// without `connector::use`), as a provider target with its secrets opened.
async fn usable_target(cx: &Cx, name: String) -> AppResult<(Connector, Target)> {
    cx.run(move |conn, actor, st| {
        let c = registry::readable_with(conn, actor, Permission::ConnectorUse, &name)?;
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

/// Verifies connector `name` within the resource type and id given (all it reaches
/// when none), records what was found and audits it.
pub(super) async fn verify(
    cx: &Cx,
    name: String,
    resource_type: Option<String>,
    resource_id: Option<String>,
) -> AppResult<Verification> {
    let (c, target) = usable_target(cx, name).await?;
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
            let current = repo::find(conn, &c.row.name)?;
            if current.is_some_and(|(row, _)| row.updated_at == c.row.updated_at) {
                repo::record_discoveries(conn, c.row.id, &found.resources, now)?;
            }
            let outcome = match failure(&found) {
                Some(e) => format!("failed: {e}"),
                None => "ok".to_owned(),
            };
            let target = format!("connector:{}", c.row.name);
            audit::success(conn, actor, "connector.verify", &target, Some(&outcome))
        })
    })
    .await
}

/// Why a verification failed: the sign-in, else the first resource type's error.
fn failure(v: &Verification) -> Option<&String> {
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

/// Credentials for one resource of connector `name`, for callers with `connector::use`.
pub(super) async fn client_credentials(
    cx: &Cx,
    name: String,
    resource_type: String,
    resource_id: Option<String>,
) -> AppResult<(String, String, Issued)> {
    let (c, target) = usable_target(cx, name).await?;
    let (rt, asked) = checked_resource(
        &cx.state.catalog,
        &c,
        &resource_type,
        resource_id.as_deref(),
    )?;
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
    let key = CacheKey {
        connector_id: c.row.id,
        version: c.row.updated_at,
        resource_type: rt.clone(),
        resource_id: id.clone(),
    };
    let outbound = cx.state.outbound.clone();
    let lifetime = target.lifetime(None);
    let (issued, fresh) = cx
        .state
        .credential_cache
        .get_or_issue(key, || async move {
            providers::issue(&outbound, &target, &rt, &id, lifetime).await
        })
        .await;
    let (rt, id) = (resource_type, resource_id_or(&c, &resource_id));
    let detail = |outcome: &str| format!("{rt} {id}: {outcome}");
    let outcome = match &issued {
        Ok(i) => match (fresh, i.expires_at) {
            (true, Some(at)) => format!("issued, expires {}", crate::db::rfc3339(at)),
            (false, Some(at)) => format!("served from cache, expires {}", crate::db::rfc3339(at)),
            (_, None) => "configured long-lived credentials passed through".to_owned(),
        },
        Err(e) => format!("failed: {e}"),
    };
    let name = c.row.name.clone();
    let text = detail(&outcome);
    cx.run(move |conn, actor, _| {
        audit::success(
            conn,
            actor,
            "connector.credentials",
            &format!("connector:{name}"),
            Some(&text),
        )
    })
    .await?;
    let issued = issued.map_err(provider_refusal)?;
    Ok((rt, id, issued))
}

/// The id a credentials request was answered for (the pin when it named none).
fn resource_id_or(c: &Connector, asked: &Option<String>) -> String {
    asked
        .clone()
        .or_else(|| c.row.resource_id.clone())
        .unwrap_or_default()
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

/// What issued credentials are cached under: the connector at one version (an edit
/// starts afresh) and one resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    connector_id: i64,
    version: i64,
    resource_type: String,
    resource_id: String,
}

type Slot = Arc<OnceCell<Result<Issued, ProviderError>>>;

/// Issued credentials per connector and resource, shared by every caller allowed to
/// use the connector, until shortly before they expire.
#[derive(Default)]
pub struct CredentialCache {
    slots: Mutex<HashMap<CacheKey, Slot>>,
}

/// Most cached entries before expired ones are pruned.
const PRUNE_AT: usize = 10_000;

impl CredentialCache {
    /// The credentials under `key`, issued by `issue` when none are cached or they are
    /// about to expire; `true` when this call issued them. Concurrent callers for one
    /// key wait for the same single call.
    async fn get_or_issue<F, Fut>(
        &self,
        key: CacheKey,
        issue: F,
    ) -> (Result<Issued, ProviderError>, bool)
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Issued, ProviderError>>,
    {
        let now = now_ms();
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            if slots.len() > PRUNE_AT {
                slots.retain(|_, s| s.get().is_some_and(|r| usable(r, now)));
            }
            let slot = slots.entry(key.clone()).or_default();
            if slot.get().is_some_and(|r| !usable(r, now)) {
                *slot = Slot::default();
            }
            slot.clone()
        };
        let mut fresh = false;
        let result = slot
            .get_or_init(|| {
                fresh = true;
                issue()
            })
            .await;
        (result.clone(), fresh)
    }
}

/// Whether a cached result may still be served at `now`: a success until a tenth of its
/// lifetime (at least a minute) is left; a failure never (the next call tries again).
fn usable(result: &Result<Issued, ProviderError>, now: i64) -> bool {
    match result {
        Ok(Issued {
            expires_at: Some(at),
            ..
        }) => *at - now > 60_000,
        Ok(_) => true,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn key(version: i64) -> CacheKey {
        CacheKey {
            connector_id: 1,
            version,
            resource_type: "s3-bucket".into(),
            resource_id: "s3://b".into(),
        }
    }

    fn issued(expires_in_ms: Option<i64>) -> Issued {
        Issued {
            credentials: Map::new(),
            expires_at: expires_in_ms.map(|ms| now_ms() + ms),
        }
    }

    #[tokio::test]
    async fn concurrent_callers_for_one_resource_share_one_upstream_call() {
        let cache = Arc::new(CredentialCache::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut waiting = Vec::new();
        for _ in 0..200 {
            let (cache, calls) = (cache.clone(), calls.clone());
            waiting.push(tokio::spawn(async move {
                cache
                    .get_or_issue(key(1), || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        Ok(issued(Some(3_600_000)))
                    })
                    .await
            }));
        }
        let mut fresh = 0;
        for w in waiting {
            let (result, was_fresh) = w.await.unwrap();
            assert!(result.is_ok());
            fresh += usize::from(was_fresh);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one upstream call");
        assert_eq!(fresh, 1, "one caller issued, 199 were served");
    }

    #[tokio::test]
    async fn failures_expiring_credentials_and_edits_are_issued_again() {
        let cache = CredentialCache::default();
        let count = AtomicUsize::new(0);
        let call = |result: Result<Issued, ProviderError>| {
            count.fetch_add(1, Ordering::SeqCst);
            async move { result }
        };
        let denied = Err(ProviderError::Denied("no".into()));
        assert!(
            cache
                .get_or_issue(key(1), || call(denied.clone()))
                .await
                .0
                .is_err()
        );
        // A failure is not kept: the next call tries again.
        assert!(
            cache
                .get_or_issue(key(1), || call(Ok(issued(Some(30_000)))))
                .await
                .0
                .is_ok()
        );
        // Credentials with less than a minute left are issued again.
        let (_, fresh) = cache
            .get_or_issue(key(1), || call(Ok(issued(Some(3_600_000)))))
            .await;
        assert!(fresh);
        let (_, fresh) = cache
            .get_or_issue(key(1), || call(Ok(issued(Some(3_600_000)))))
            .await;
        assert!(!fresh, "served from the cache");
        // An edited connector (new version) starts afresh.
        let (_, fresh) = cache.get_or_issue(key(2), || call(Ok(issued(None)))).await;
        assert!(fresh);
        assert_eq!(count.load(Ordering::SeqCst), 4);
    }
}
