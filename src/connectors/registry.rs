//! Connector operations: authorize, validate against the catalog, seal secrets, write,
//! audit — one transaction each. Handlers (HTML and JSON) call these and only shape
//! the answer.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::catalog::Catalog;
use super::models::{Connector, ResourceRow};
use super::repo::{self, ListFilter, NewConnector};
use super::validate::{self, HIDDEN};
use crate::access::Principal;
use crate::access::sql::{Columns, permission_filter};
use crate::access::{self, Permission};
use crate::audit::{self, Outcome};
use crate::crypto::Sealer;
use crate::db::{DbConnection, now_ms};
use crate::environments;
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::names::validate_name;

/// Longest description.
pub const MAX_DESCRIPTION: usize = 1024;
/// Most declared resource ids.
pub const MAX_DECLARED_IDS: usize = 100;

/// Who acts, from where, with which catalog and secret key.
pub struct Ctx<'a> {
    /// The caller.
    pub principal: &'a Principal,
    /// Client address.
    pub client: &'a str,
    /// The catalog.
    pub catalog: &'a Catalog,
    /// Seals connector secrets.
    pub sealer: &'a Sealer,
}

impl Ctx<'_> {
    fn actor(&self) -> String {
        format!("{}:{}", self.principal.kind.as_str(), self.principal.name)
    }

    fn audit(
        &self,
        conn: &mut DbConnection,
        action: &str,
        name: &str,
        detail: &str,
    ) -> AppResult<()> {
        audit::record(
            conn,
            &audit::Event {
                actor: &self.actor(),
                action,
                target: &format!("connector:{name}"),
                outcome: Outcome::Success,
                client_addr: Some(self.client),
                detail: Some(detail),
            },
        )?;
        Ok(())
    }
}

/// The desired state of a connector (creation, or an existing one with changes).
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Catalog type.
    pub connector_type: String,
    /// Auth method.
    pub auth_method: String,
    /// Resource types (empty: all of the type's).
    pub resource_types: Vec<String>,
    /// Pinned resource.
    pub resource_id: Option<String>,
    /// Declared resource ids (one resource type that supports instances).
    pub resource_ids: Option<Vec<String>>,
    /// `resource_id` is the stored pin, not one the caller gave now: when the
    /// configuration no longer names it, it is dropped rather than refused.
    pub pin_inherited: bool,
    /// Attributes; a secret given as `""`, `null` or `"[HIDDEN]"` keeps its stored value.
    pub configuration: Map<String, Value>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Free text.
    pub description: String,
    /// When the stored credentials expire (RFC 3339).
    pub expires_at: Option<String>,
    /// Session length of issued credentials.
    pub expiration_seconds: Option<i64>,
}

/// What an edited connector held before (plain attributes and expiry).
struct Previous<'a> {
    plain: &'a Map<String, Value>,
    expires_at: Option<i64>,
}

/// A draft checked against the catalog.
struct Resolved {
    resource_types: Vec<String>,
    resource_id: Option<String>,
    declared: Option<Vec<String>>,
    /// Per resource type: ids named by the configuration (`from_attribute`) or the
    /// type's default.
    implied: Vec<(String, Vec<String>)>,
    shown: Map<String, Value>,
    secrets: Map<String, Value>,
    expires_at: Option<i64>,
    expiration_seconds: Option<i64>,
}

fn invalid(message: &str, fields: FieldErrors) -> AppError {
    AppError::Validation {
        message: message.into(),
        fields,
    }
}

/// Checks a draft; `kept` are the stored secrets a blank secret keeps; `previous_expiry`
/// is the stored expiry (kept even if past).
fn resolve(
    catalog: &Catalog,
    d: &Draft,
    kept: &Map<String, Value>,
    previous: Option<&Previous<'_>>,
) -> Result<Resolved, FieldErrors> {
    let previous_expiry = previous.and_then(|p| p.expires_at);
    let mut fields = FieldErrors::new();
    let Some(ty) = catalog.get(&d.connector_type) else {
        let known: Vec<&str> = catalog
            .types()
            .iter()
            .map(|t| t.connector_type.as_str())
            .collect();
        fields.insert(
            "connector_type".into(),
            format!("is not a connector type; one of {}", known.join(", ")),
        );
        return Err(fields);
    };
    let Some(method) = ty.auth_method(&d.auth_method) else {
        let known: Vec<&str> = ty
            .auth_methods
            .iter()
            .map(|m| m.auth_method.as_str())
            .collect();
        fields.insert(
            "auth_method".into(),
            format!(
                "is not an auth method of {}; one of {}",
                ty.connector_type,
                known.join(", ")
            ),
        );
        return Err(fields);
    };
    if let Some(reason) = catalog.disabled_reason(method) {
        fields.insert("auth_method".into(), reason.into());
    }
    // Resource types.
    let mut resource_types: Vec<String> = Vec::new();
    for rt in &d.resource_types {
        if ty.resource_type(rt).is_none() {
            fields.insert(
                "resource_types".into(),
                format!("{rt:?} is not a resource type of {}", ty.connector_type),
            );
        } else if !resource_types.contains(rt) {
            resource_types.push(rt.clone());
        }
    }
    if d.resource_types.is_empty() {
        resource_types = ty
            .resource_types
            .iter()
            .map(|r| r.resource_type.clone())
            .collect();
    }
    let single = match resource_types.as_slice() {
        [one] => ty.resource_type(one),
        _ => None,
    };
    let mut resource_id = None;
    let mut declared = None;
    match (
        d.resource_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty()),
        single,
    ) {
        (Some(_), None) => {
            fields.insert(
                "resource_id".into(),
                "pins one resource: choose exactly one resource type".into(),
            );
        }
        (Some(id), Some(rt)) => match validate::canonical_resource_id(rt, id) {
            Ok(c) => resource_id = Some(c),
            Err(e) => {
                fields.insert("resource_id".into(), e);
            }
        },
        (None, Some(rt)) if !rt.supports_instances => {
            resource_id = rt.default_resource_id.clone();
        }
        (None, _) => {}
    }
    if let Some(ids) = d.resource_ids.as_ref().filter(|ids| !ids.is_empty()) {
        match single {
            Some(rt) if rt.supports_instances && d.resource_id.is_none() => {
                if ids.len() > MAX_DECLARED_IDS {
                    fields.insert(
                        "resource_ids".into(),
                        format!("at most {MAX_DECLARED_IDS} ids"),
                    );
                }
                let mut out = Vec::new();
                for id in ids {
                    match validate::canonical_resource_id(rt, id) {
                        Ok(c) if !out.contains(&c) => out.push(c),
                        Ok(_) => {}
                        Err(e) => {
                            fields.insert("resource_ids".into(), e);
                        }
                    }
                }
                declared = Some(out);
            }
            _ => {
                fields.insert(
                    "resource_ids".into(),
                    "are declared for one resource type that supports several instances, without resource_id".into(),
                );
            }
        }
    }
    // Configuration: blank secrets keep their stored value.
    let secret_names = method.secret_names();
    let mut merged = Map::new();
    let mut kept_names: Vec<String> = Vec::new();
    for (k, v) in &d.configuration {
        let blank =
            matches!(v, Value::Null) || v.as_str().is_some_and(|s| s.is_empty() || s == HIDDEN);
        if secret_names.contains(k) && blank {
            if let Some(old) = kept.get(k) {
                merged.insert(k.clone(), old.clone());
                kept_names.push(k.clone());
            }
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in kept {
        if secret_names.contains(k) && !merged.contains_key(k) && !d.configuration.contains_key(k) {
            merged.insert(k.clone(), v.clone());
            kept_names.push(k.clone());
        }
    }
    for (k, v) in &merged {
        if !secret_names.contains(k) && v.as_str() == Some(HIDDEN) {
            fields.insert(
                format!("configuration.{k}"),
                format!("{HIDDEN} is reserved for secret attributes"),
            );
        }
    }
    let merged = validate::drop_blanks(&merged);
    // A stored secret is never kept for a new destination (server, endpoint, API URL,
    // registry, hosts): whoever changes where it would be sent must know it.
    if let Some(prev) = previous {
        // Plain destinations (server, URLs, hosts, TLS checking) compare with the stored
        // configuration; a secret one (a CA certificate) moved when a new value was given.
        let moved: Vec<String> = method
            .attributes()
            .into_iter()
            .filter(|a| {
                a.destination
                    && if a.secret {
                        merged.contains_key(&a.name)
                            && !kept_names.contains(&a.name)
                            && kept.get(&a.name) != merged.get(&a.name)
                    } else {
                        merged.get(&a.name) != prev.plain.get(&a.name)
                    }
            })
            .map(|a| a.name)
            .collect();
        if !moved.is_empty() {
            for k in kept_names.iter().filter(|k| !moved.contains(k)) {
                fields.insert(
                    format!("configuration.{k}"),
                    format!(
                        "enter it again: {} changed, and a stored secret is never sent somewhere new",
                        moved.join(", ")
                    ),
                );
            }
        }
    }
    if let Some(v) = catalog.validator(&ty.connector_type, &method.auth_method) {
        fields.extend(validate::check_configuration(v, ty, method, &merged));
    }
    // Resources the configuration itself names (a cluster name, a registry, hosts, an
    // API URL), else the resource type's default.
    let mut implied: Vec<(String, Vec<String>)> = Vec::new();
    for id in &resource_types {
        let Some(rt) = ty.resource_type(id) else {
            continue;
        };
        let mut from_config: Vec<String> = Vec::new();
        if let Some(attr) = &rt.resource_id.from_attribute
            && let Some(value) = merged.get(attr)
        {
            let raw: Vec<String> = match value {
                Value::String(s) => vec![s.clone()],
                Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            for i in raw {
                // A value that names no valid resource is an error, never a silent
                // fall-back to the default (credentials would go elsewhere).
                match validate::canonical_resource_id(rt, &i) {
                    Ok(c) if !from_config.contains(&c) => from_config.push(c),
                    Ok(_) => {}
                    Err(e) => {
                        fields
                            .entry(format!("configuration.{attr}"))
                            .or_insert(format!("names no {}: {e}", rt.resource_type));
                    }
                }
            }
        }
        let ids: Vec<String> = if from_config.is_empty() {
            rt.default_resource_id.clone().into_iter().collect()
        } else {
            from_config
        };
        if !ids.is_empty() {
            implied.push((id.clone(), ids));
        }
    }
    if let Some(rt) = single {
        let named = implied.iter().find(|(id, _)| *id == rt.resource_type);
        match (&resource_id, named) {
            (Some(pin), Some((_, ids))) if !ids.contains(pin) && d.pin_inherited => {
                resource_id = None;
            }
            (Some(pin), Some((_, ids))) if !ids.contains(pin) && d.resource_id.is_some() => {
                fields.insert(
                    "resource_id".into(),
                    format!("must be what the configuration names ({})", ids.join(", ")),
                );
            }
            (_, Some((_, ids))) if !rt.supports_instances && ids.len() == 1 => {
                resource_id = Some(ids[0].clone());
            }
            _ => {}
        }
    }
    if let Err(e) = validate::check_labels(&d.labels) {
        fields.insert("labels".into(), e);
    }
    if d.description.chars().count() > MAX_DESCRIPTION || d.description.contains('\0') {
        fields.insert(
            "description".into(),
            format!("must be at most {MAX_DESCRIPTION} characters of text"),
        );
    }
    let mut expires_at = None;
    if let Some(text) = d.expires_at.as_deref().filter(|t| !t.trim().is_empty()) {
        match chrono::DateTime::parse_from_rfc3339(text.trim()) {
            Ok(t) => {
                let ms = t.timestamp_millis();
                // The stored expiry, shown to the second, is kept exactly (even if past).
                let unchanged =
                    previous_expiry.filter(|p| p.div_euclid(1000) == ms.div_euclid(1000));
                if unchanged.is_none() && ms <= now_ms() {
                    fields.insert("expires_at".into(), "is in the past".into());
                }
                expires_at = Some(unchanged.unwrap_or(ms));
            }
            Err(_) => {
                fields.insert(
                    "expires_at".into(),
                    "must be an RFC 3339 time, like 2027-01-31T12:00:00Z".into(),
                );
            }
        }
    }
    let expiration_seconds = match validate::check_expiration(method, d.expiration_seconds) {
        Ok(s) => s,
        Err(e) => {
            fields.insert("expiration_seconds".into(), e);
            None
        }
    };
    if !fields.is_empty() {
        return Err(fields);
    }
    let split = validate::split(method, &merged);
    let mut shown = split.plain.clone();
    for k in split.secrets.keys() {
        shown.insert(k.clone(), Value::String(HIDDEN.into()));
    }
    Ok(Resolved {
        resource_types,
        resource_id,
        declared,
        implied,
        shown,
        secrets: split.secrets,
        expires_at,
        expiration_seconds,
    })
}

/// Whether the connector's resource id is a pin the user chose: one resource type that
/// supports several instances.
pub fn pinnable(catalog: &Catalog, c: &Connector) -> bool {
    catalog
        .get(&c.row.connector_type)
        .and_then(|t| match c.resource_types.as_slice() {
            [one] => t.resource_type(one),
            _ => None,
        })
        .is_some_and(|rt| rt.supports_instances)
}

/// The associated data binding sealed secrets to their row.
fn aad(id: i64) -> Vec<u8> {
    format!("connector:{id}").into_bytes()
}

/// Seals a connector's secret attributes.
pub fn seal_secrets(sealer: &Sealer, id: i64, secrets: &Map<String, Value>) -> String {
    let plain = Value::Object(secrets.clone()).to_string();
    sealer.seal(plain.as_bytes(), &aad(id))
}

/// Opens a connector's secret attributes.
pub fn open_secrets(sealer: &Sealer, id: i64, sealed: &str) -> AppResult<Map<String, Value>> {
    let bytes = sealer.open(sealed, &aad(id)).map_err(|_| {
        AppError::internal(anyhow::anyhow!(
            "the secrets of connector {id} cannot be decrypted: was the server secret changed \
             without `portcullis secrets rekey`?"
        ))
    })?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(AppError::internal(anyhow::anyhow!(
            "the secrets of connector {id} are not a JSON object"
        ))),
    }
}

fn resource_rows(id: i64, r: &Resolved, now: i64) -> Vec<ResourceRow> {
    r.resource_types
        .iter()
        .map(|rt| {
            let implied = r
                .implied
                .iter()
                .find(|(id, _)| id == rt)
                .map(|(_, ids)| ids.clone());
            let ids = match (&r.resource_id, &r.declared) {
                (Some(one), _) if r.resource_types.len() == 1 => Some(vec![one.clone()]),
                (_, Some(list)) => Some(list.clone()),
                _ => implied,
            };
            ResourceRow {
                connector_id: id,
                resource_type: rt.clone(),
                resource_ids: ids.map(|i| Value::from(i).to_string()),
                error: None,
                origin: "declared".into(),
                checked_at: now,
            }
        })
        .collect()
}

/// The connector called `name` if the caller may read it; 404 otherwise.
pub fn readable(
    conn: &mut DbConnection,
    principal: &Principal,
    name: &str,
) -> AppResult<Connector> {
    if validate_name(name).is_err() {
        return Err(AppError::NotFound);
    }
    let (row, namespace) = repo::find(conn, name)?.ok_or(AppError::NotFound)?;
    if !principal
        .grants
        .can_namespace(Permission::ConnectorRead, &namespace)
    {
        return Err(AppError::NotFound);
    }
    Ok(Connector::from_row(row, namespace))
}

/// A readable connector with its resources.
pub fn get(conn: &mut DbConnection, principal: &Principal, name: &str) -> AppResult<Listed> {
    let c = readable(conn, principal, name)?;
    with_resources(conn, c)
}

/// A connector with its resources.
pub fn with_resources(conn: &mut DbConnection, c: Connector) -> AppResult<Listed> {
    let resources = repo::resources_of(conn, &[c.row.id])?;
    Ok((c, resources))
}

/// Registers a connector.
pub fn create(conn: &mut DbConnection, ctx: &Ctx<'_>, d: &Draft) -> AppResult<Connector> {
    let mut fields = FieldErrors::new();
    if let Err(e) = validate_name(&d.name) {
        fields.insert("name".into(), format!("name {e}"));
    }
    if let Err(e) = validate_name(&d.namespace) {
        fields.insert("namespace".into(), format!("namespace {e}"));
    }
    if !fields.is_empty() {
        return Err(invalid("the connector is not valid", fields));
    }
    access::require_namespace(ctx.principal, Permission::ConnectorCreate, &d.namespace)?;
    let ns = environments::find_namespace(conn, &d.namespace)?.ok_or_else(|| {
        AppError::invalid(
            "namespace",
            format!("namespace {:?} does not exist", d.namespace),
        )
    })?;
    store_new(
        conn,
        ctx.catalog,
        ctx.sealer,
        ns.id,
        d,
        &ctx.actor(),
        ctx.client,
    )?;
    readable(conn, ctx.principal, &d.name)
}

/// Registers a connector without an authorization check (demo data); the namespace
/// must exist.
pub fn create_unchecked(
    conn: &mut DbConnection,
    catalog: &Catalog,
    sealer: &Sealer,
    d: &Draft,
    actor: &str,
) -> AppResult<()> {
    let ns = environments::find_namespace(conn, &d.namespace)?.ok_or_else(|| {
        AppError::invalid(
            "namespace",
            format!("namespace {:?} does not exist", d.namespace),
        )
    })?;
    store_new(conn, catalog, sealer, ns.id, d, actor, "local")
}

/// Validates and stores a new connector, its sealed secrets and resources, and the
/// audit event: one transaction.
fn store_new(
    conn: &mut DbConnection,
    catalog: &Catalog,
    sealer: &Sealer,
    namespace_id: i64,
    d: &Draft,
    actor: &str,
    client: &str,
) -> AppResult<()> {
    let r = resolve(catalog, d, &Map::new(), None)
        .map_err(|f| invalid("the connector is not valid", f))?;
    let now = now_ms();
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        if repo::find(conn, &d.name)?.is_some() {
            return Err(AppError::Conflict(format!(
                "a connector named {:?} already exists",
                d.name
            )));
        }
        let shown = Value::Object(r.shown.clone()).to_string();
        let id = repo::insert(
            conn,
            &NewConnector {
                name: &d.name,
                namespace_id,
                connector_type: &d.connector_type,
                auth_method: &d.auth_method,
                resource_types: &Value::from(r.resource_types.clone()).to_string(),
                resource_id: r.resource_id.as_deref(),
                configuration: &shown,
                labels: &serde_json::to_string(&d.labels).unwrap_or_else(|_| "{}".into()),
                description: &d.description,
                expires_at: r.expires_at,
                expiration_seconds: r.expiration_seconds,
                created_by: actor,
                now,
            },
        )?;
        // The row and its sealed secrets commit together (no orphaned secret).
        repo::set_secrets(conn, id, &seal_secrets(sealer, id, &r.secrets))?;
        repo::replace_resources(conn, id, &resource_rows(id, &r, now))?;
        audit::record(
            conn,
            &audit::Event {
                actor,
                action: "connector.create",
                target: &format!("connector:{}", d.name),
                outcome: Outcome::Success,
                client_addr: Some(client),
                detail: Some(&format!(
                    "{}/{} in namespace {}",
                    d.connector_type, d.auth_method, d.namespace
                )),
            },
        )?;
        Ok(())
    })
}

/// Changes to a connector; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct Patch {
    /// New auth method (secrets of the same name are kept).
    pub auth_method: Option<String>,
    /// New resource types.
    pub resource_types: Option<Vec<String>>,
    /// `Some(None)` unpins.
    pub resource_id: Option<Option<String>>,
    /// New declared ids.
    pub resource_ids: Option<Vec<String>>,
    /// Attributes to set; `null` removes one; a blank or `[HIDDEN]` secret keeps it.
    pub configuration: Option<Map<String, Value>>,
    /// Whether `configuration` is the whole new configuration (forms) rather than
    /// changes to merge (API).
    pub replace_configuration: bool,
    /// New labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// New description.
    pub description: Option<String>,
    /// `Some(None)` clears.
    pub expires_at: Option<Option<String>>,
    /// `Some(None)` resets to the method's default.
    pub expiration_seconds: Option<Option<i64>>,
    /// The version (`updated_at`) the change was based on, if the caller knows it: a
    /// newer stored version is a 409.
    pub expected_version: Option<i64>,
}

/// Applies a patch to a connector.
pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx<'_>,
    name: &str,
    p: &Patch,
) -> AppResult<Connector> {
    let c = readable(conn, ctx.principal, name)?;
    access::require_namespace(ctx.principal, Permission::ConnectorUpdate, &c.namespace)?;
    if p.expected_version.is_some_and(|v| v != c.row.updated_at) {
        return Err(stale_edit());
    }
    let stored = open_secrets(ctx.sealer, c.row.id, &c.row.secrets)?;
    let previous_plain = c.plain_configuration();
    let mut configuration = previous_plain.clone();
    if let Some(changes) = &p.configuration {
        if p.replace_configuration {
            configuration = changes.clone();
        } else {
            for (k, v) in changes {
                configuration.insert(k.clone(), v.clone());
            }
        }
    }
    // A secret removed explicitly (`null` in a merge) is not kept.
    let mut kept = stored.clone();
    if let Some(changes) = &p.configuration
        && !p.replace_configuration
    {
        for (k, v) in changes {
            if v.is_null() {
                kept.remove(k);
                configuration.remove(k);
            }
        }
    }
    let draft = Draft {
        name: c.row.name.clone(),
        namespace: c.namespace.clone(),
        connector_type: c.row.connector_type.clone(),
        auth_method: p
            .auth_method
            .clone()
            .unwrap_or_else(|| c.row.auth_method.clone()),
        resource_types: p
            .resource_types
            .clone()
            .unwrap_or_else(|| c.resource_types.clone()),
        resource_id: match &p.resource_id {
            Some(v) => v.clone(),
            None if p.resource_types.is_some() || p.resource_ids.is_some() => None,
            // Only a pin among several instances is the user's choice; otherwise the
            // resource follows the configuration (or the type's default).
            None if pinnable(ctx.catalog, &c) => c.row.resource_id.clone(),
            None => None,
        },
        resource_ids: p.resource_ids.clone(),
        pin_inherited: p.resource_id.is_none()
            && p.resource_types.is_none()
            && p.resource_ids.is_none()
            && pinnable(ctx.catalog, &c),
        configuration,
        labels: p.labels.clone().unwrap_or_else(|| c.labels.clone()),
        description: p
            .description
            .clone()
            .unwrap_or_else(|| c.row.description.clone()),
        expires_at: match &p.expires_at {
            Some(v) => v.clone(),
            None => c.row.expires_at.map(crate::db::rfc3339),
        },
        expiration_seconds: match p.expiration_seconds {
            Some(v) => v,
            None if p.auth_method.is_some() => None,
            None => c.row.expiration_seconds,
        },
    };
    let previous = Previous {
        plain: &previous_plain,
        expires_at: c.row.expires_at,
    };
    let r = resolve(ctx.catalog, &draft, &kept, Some(&previous))
        .map_err(|f| invalid("the change is not valid", f))?;
    let mut changed: Vec<String> = Vec::new();
    if draft.auth_method != c.row.auth_method {
        changed.push(format!("auth method {}", draft.auth_method));
    }
    let changed_attrs: Vec<&String> = r
        .shown
        .keys()
        .chain(c.configuration.keys())
        .filter(|k| {
            r.shown.get(*k) != c.configuration.get(*k) || r.secrets.get(*k) != stored.get(*k)
        })
        .collect();
    let mut attrs: Vec<&str> = changed_attrs.iter().map(|s| s.as_str()).collect();
    attrs.sort_unstable();
    attrs.dedup();
    if !attrs.is_empty() {
        changed.push(format!("attributes {}", attrs.join(", ")));
    }
    for (what, differs) in [
        (
            "resources",
            r.resource_types != c.resource_types
                || r.resource_id != c.row.resource_id
                || r.declared.is_some(),
        ),
        ("labels", draft.labels != c.labels),
        ("description", draft.description != c.row.description),
        ("expiry", r.expires_at != c.row.expires_at),
        (
            "expiration",
            r.expiration_seconds != c.row.expiration_seconds,
        ),
    ] {
        if differs {
            changed.push(what.into());
        }
    }
    // Strictly after the version read, so the next edit's check sees this one.
    let now = now_ms().max(c.row.updated_at + 1);
    let id = c.row.id;
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        let shown = Value::Object(r.shown.clone()).to_string();
        // Optimistic concurrency: an edit based on an older read (whose secrets it
        // would write back) is refused instead of undoing the other change.
        let changed_rows = repo::update(
            conn,
            id,
            c.row.updated_at,
            &NewConnector {
                name: &c.row.name,
                namespace_id: c.row.namespace_id,
                connector_type: &c.row.connector_type,
                auth_method: &draft.auth_method,
                resource_types: &Value::from(r.resource_types.clone()).to_string(),
                resource_id: r.resource_id.as_deref(),
                configuration: &shown,
                labels: &serde_json::to_string(&draft.labels).unwrap_or_else(|_| "{}".into()),
                description: &draft.description,
                expires_at: r.expires_at,
                expiration_seconds: r.expiration_seconds,
                created_by: &c.row.created_by,
                now,
            },
        )?;
        if changed_rows == 0 {
            return Err(stale_edit());
        }
        repo::set_secrets(conn, id, &seal_secrets(ctx.sealer, id, &r.secrets))?;
        // What the connector reaches follows its types, pin, declared ids and
        // configuration (a new region, cluster or host list): rewrite the rows when any
        // of that moved.
        let wanted = resource_rows(id, &r, now);
        let stored = repo::resources_of(conn, &[id])?;
        let key = |rows: &[ResourceRow]| -> Vec<(String, Option<String>, String)> {
            rows.iter()
                .map(|x| {
                    (
                        x.resource_type.clone(),
                        x.resource_ids.clone(),
                        x.origin.clone(),
                    )
                })
                .collect()
        };
        let mut a = key(&wanted);
        let mut b = key(&stored);
        a.sort();
        b.sort();
        if a != b {
            repo::replace_resources(conn, id, &wanted)?;
        }
        let detail = if changed.is_empty() {
            "no change".to_owned()
        } else {
            changed.join("; ")
        };
        ctx.audit(conn, "connector.update", name, &detail)
    })?;
    readable(conn, ctx.principal, name)
}

/// The 409 of an edit based on an older version.
fn stale_edit() -> AppError {
    AppError::Conflict(
        "someone changed this connector after your copy was read; reload it and try again".into(),
    )
}

/// Deletes a connector (and its sealed secrets with it).
pub fn delete(conn: &mut DbConnection, ctx: &Ctx<'_>, name: &str) -> AppResult<()> {
    let c = readable(conn, ctx.principal, name)?;
    access::require_namespace(ctx.principal, Permission::ConnectorDelete, &c.namespace)?;
    crate::db::write_transaction(conn, |conn| -> AppResult<()> {
        repo::delete(conn, c.row.id)?;
        ctx.audit(
            conn,
            "connector.delete",
            name,
            &format!("namespace {}", c.namespace),
        )
    })
}

/// Filters of a list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Namespace.
    pub namespace: Option<String>,
    /// Type.
    pub connector_type: Option<String>,
    /// Resource type.
    pub resource_type: Option<String>,
    /// `key` or `key=value`.
    pub label: Option<String>,
    /// Name substring.
    pub search: Option<String>,
}

/// The SQL condition "the caller may read this connector" (over `namespaces.name`).
fn readable_filter(conn: &DbConnection, principal: &Principal) -> crate::access::sql::Condition {
    permission_filter(
        &principal.grants,
        Permission::ConnectorRead,
        Columns {
            namespace: "namespaces.name",
            environment: None,
        },
        conn.dialect(),
    )
}

/// How many connectors `principal` may read.
pub fn count_readable(conn: &mut DbConnection, principal: &Principal) -> AppResult<i64> {
    let readable = readable_filter(conn, principal);
    Ok(repo::count(conn, readable)?)
}

/// A connector with what it reaches.
pub type Listed = (Connector, Vec<ResourceRow>);

/// A page of connectors the caller may read, with their resources; and the cursor of
/// the next page.
pub fn list(
    conn: &mut DbConnection,
    principal: &Principal,
    q: &ListQuery,
    after: Option<&str>,
    limit: i64,
) -> AppResult<(Vec<Listed>, Option<String>)> {
    let readable = readable_filter(conn, principal);
    let label = q
        .label
        .as_deref()
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (l, None),
        });
    let mut rows = repo::list(
        conn,
        ListFilter {
            readable,
            namespace: q.namespace.as_deref().filter(|s| !s.is_empty()),
            connector_type: q.connector_type.as_deref().filter(|s| !s.is_empty()),
            resource_type: q.resource_type.as_deref().filter(|s| !s.is_empty()),
            label,
            search: q.search.as_deref(),
            after,
            limit,
        },
    )?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|(r, _)| r.name.clone())
    } else {
        None
    };
    let ids: Vec<i64> = rows.iter().map(|(r, _)| r.id).collect();
    let resources = repo::resources_of(conn, &ids)?;
    let items = rows
        .into_iter()
        .map(|(row, ns)| {
            let mine: Vec<ResourceRow> = resources
                .iter()
                .filter(|r| r.connector_id == row.id)
                .cloned()
                .collect();
            (Connector::from_row(row, ns), mine)
        })
        .collect();
    Ok((items, next))
}

/// Re-encrypts every connector's secrets from `old` to `new` (server-secret rotation);
/// rows already sealed under `new` are left alone. Returns `(re-encrypted, already)`.
pub fn rekey(
    conn: &mut DbConnection,
    old: &Sealer,
    new: &Sealer,
) -> anyhow::Result<(usize, usize)> {
    crate::db::write_transaction(conn, |conn| {
        let mut done = (0, 0);
        for (id, sealed) in repo::all_sealed(conn)? {
            if new.open(&sealed, &aad(id)).is_ok() {
                done.1 += 1;
                continue;
            }
            let plain = old.open(&sealed, &aad(id)).map_err(|_| {
                anyhow::anyhow!(
                    "connector {id}: its secrets open with neither the old nor the new secret"
                )
            })?;
            repo::set_secrets(conn, id, &new.seal(&plain, &aad(id)))?;
            done.0 += 1;
        }
        Ok(done)
    })
}
