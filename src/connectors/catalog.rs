//! The connector catalog: every connector type with its auth methods (each with a JSON
//! Schema of its attributes) and resource types. Written as data in
//! `src/connectors/catalog/*.json`, embedded in the binary, and loaded and checked at
//! start-up: a schema that does not compile, names an unknown format or keyword, or
//! contradicts its own markers stops the server with the reason.

mod check;
mod model;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

/// The catalog files, in the order types are listed.
const FILES: [(&str, &str); 7] = [
    ("aws.json", include_str!("catalog/aws.json")),
    ("gcp.json", include_str!("catalog/gcp.json")),
    ("azure.json", include_str!("catalog/azure.json")),
    ("kubernetes.json", include_str!("catalog/kubernetes.json")),
    ("docker.json", include_str!("catalog/docker.json")),
    ("hyperai.json", include_str!("catalog/hyperai.json")),
    ("oauth2.json", include_str!("catalog/oauth2.json")),
];

pub use model::{
    Attribute, AttributeKind, AuthMethod, ConnectorType, CredentialKind, ResourceIdInfo,
    ResourceType, duration_text, value_text,
};

/// The loaded catalog and the compiled validators of its schemas.
#[derive(Clone)]
pub struct Catalog {
    types: Arc<Vec<ConnectorType>>,
    validators: Arc<BTreeMap<(String, String), jsonschema::Validator>>,
    /// Each type's API JSON, serialized once at load.
    serialized: Arc<Vec<String>>,
    /// The ids filters offer, gathered once at load.
    choices: Arc<Choices>,
    /// Whether implicit auth methods may be used on this server.
    pub implicit_enabled: bool,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("types", &self.types.len())
            .field("implicit_enabled", &self.implicit_enabled)
            .finish()
    }
}

/// The ids the filters of the connector pages offer.
#[derive(Debug, Default)]
pub struct Choices {
    /// Type ids, in catalog order.
    pub types: Vec<String>,
    /// Resource type ids, sorted, without duplicates.
    pub resource_types: Vec<String>,
    /// Auth method ids, sorted, without duplicates.
    pub auth_methods: Vec<String>,
}

impl Choices {
    /// The choices of `types`.
    fn of(types: &[ConnectorType]) -> Self {
        let sorted = |of: fn(&ConnectorType) -> Vec<&String>| {
            let ids: std::collections::BTreeSet<&String> = types.iter().flat_map(of).collect();
            ids.into_iter().cloned().collect()
        };
        Self {
            types: types.iter().map(|t| t.connector_type.clone()).collect(),
            resource_types: sorted(|t| t.resource_types.iter().map(|r| &r.resource_type).collect()),
            auth_methods: sorted(|t| t.auth_methods.iter().map(|m| &m.auth_method).collect()),
        }
    }
}

/// Builds a validator for one schema (formats checked; `password` is any string).
pub fn compile_schema(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .with_format("password", |_: &str| true)
        .build(schema)
        .map_err(|e| e.to_string())
}

impl Catalog {
    /// Loads and checks the embedded catalog.
    pub fn load(implicit_enabled: bool) -> Result<Self, String> {
        let mut types = Vec::new();
        let mut validators = BTreeMap::new();
        for (file, text) in FILES {
            let t: ConnectorType =
                serde_json::from_str(text).map_err(|e| format!("connector catalog {file}: {e}"))?;
            check::check_type(&t).map_err(|e| format!("connector catalog {file}: {e}"))?;
            for m in &t.auth_methods {
                let v = compile_schema(&m.config_schema)
                    .map_err(|e| format!("connector catalog {file}: {}: {e}", m.auth_method))?;
                validators.insert((t.connector_type.clone(), m.auth_method.clone()), v);
            }
            types.push(t);
        }
        let mut catalog = Self {
            choices: Arc::new(Choices::of(&types)),
            types: Arc::new(types),
            validators: Arc::new(validators),
            serialized: Arc::new(Vec::new()),
            implicit_enabled,
        };
        catalog.serialized = Arc::new(
            catalog
                .types()
                .iter()
                .map(|t| serde_json::to_string(&catalog.type_json(t)).map_err(|e| e.to_string()))
                .collect::<Result<_, _>>()?,
        );
        Ok(catalog)
    }

    /// The API JSON of type `t` (one of [`Catalog::types`]), serialized at load.
    pub fn serialized(&self, t: &ConnectorType) -> &str {
        self.types
            .iter()
            .position(|x| x.connector_type == t.connector_type)
            .and_then(|i| self.serialized.get(i))
            .map_or("null", String::as_str)
    }

    /// Every type, in catalog order.
    pub fn types(&self) -> &[ConnectorType] {
        &self.types
    }

    /// The type `id`.
    pub fn get(&self, id: &str) -> Option<&ConnectorType> {
        self.types.iter().find(|t| t.connector_type == id)
    }

    /// The validator of `(type, method)`.
    pub fn validator(
        &self,
        connector_type: &str,
        auth_method: &str,
    ) -> Option<&jsonschema::Validator> {
        self.validators
            .get(&(connector_type.to_owned(), auth_method.to_owned()))
    }

    /// Why `method` cannot be used on this server, if it cannot.
    pub fn disabled_reason(&self, method: &AuthMethod) -> Option<&'static str> {
        (method.implicit && !self.implicit_enabled).then_some(
            "Implicit authentication uses the Portcullis server's own cloud identity, so it is \
             disabled unless an operator enables it with PORTCULLIS_CONNECTOR_IMPLICIT_AUTH=true.",
        )
    }

    /// Types offering `resource_type` and `auth_method` (each filter optional).
    pub fn filtered(
        &self,
        resource_type: Option<&str>,
        auth_method: Option<&str>,
    ) -> Vec<&ConnectorType> {
        self.types
            .iter()
            .filter(|t| resource_type.is_none_or(|r| t.resource_type(r).is_some()))
            .filter(|t| auth_method.is_none_or(|m| t.auth_method(m).is_some()))
            .collect()
    }

    /// The ids the filters offer.
    pub fn choices(&self) -> Arc<Choices> {
        self.choices.clone()
    }

    /// The API shape of a type (CONTRACT.md), plus docs and per-method availability.
    pub fn type_json(&self, t: &ConnectorType) -> TypeJson {
        let all_methods: Vec<String> = t
            .auth_methods
            .iter()
            .map(|m| m.auth_method.clone())
            .collect();
        TypeJson {
            connector_type: t.connector_type.clone(),
            name: t.name.clone(),
            description: t.description.clone(),
            docs: t.docs.clone(),
            supports_auto_configuration: t.supports_auto_configuration,
            issues_temporary_credentials: t.issues_temporary_credentials(),
            auth_methods: t
                .auth_methods
                .iter()
                .map(|m| MethodJson {
                    auth_method: m.auth_method.clone(),
                    name: m.name.clone(),
                    description: m.description.clone(),
                    credential_kind: m.credential_kind,
                    good_for: m.good_for.clone(),
                    trade_offs: m.trade_offs.clone(),
                    enabled: self.disabled_reason(m).is_none(),
                    disabled_reason: self.disabled_reason(m),
                    config_schema: m.config_schema.clone(),
                    min_expiration_seconds: m.min_expiration_seconds,
                    max_expiration_seconds: m.max_expiration_seconds,
                    default_expiration_seconds: m.default_expiration_seconds,
                })
                .collect(),
            resource_types: t
                .resource_types
                .iter()
                .map(|r| ResourceTypeJson {
                    resource_type: r.resource_type.clone(),
                    name: r.name.clone(),
                    description: r.description.clone(),
                    auth_methods: all_methods.clone(),
                    supports_instances: r.supports_instances,
                    resource_id: r.resource_id.clone(),
                    default_resource_id: r.default_resource_id.clone(),
                })
                .collect(),
        }
    }
}

/// A connector type as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TypeJson {
    /// Id, e.g. `aws`.
    pub connector_type: String,
    /// Display name.
    pub name: String,
    /// What it gives access to.
    pub description: String,
    /// How to use it.
    pub docs: String,
    /// Whether configuration can be read from a local environment.
    pub supports_auto_configuration: bool,
    /// Whether any auth method issues short-lived credentials.
    pub issues_temporary_credentials: bool,
    /// Its auth methods.
    pub auth_methods: Vec<MethodJson>,
    /// The resource types it reaches.
    pub resource_types: Vec<ResourceTypeJson>,
}

/// An auth method of a connector type.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MethodJson {
    /// Id, e.g. `secret-key`.
    pub auth_method: String,
    /// Display name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Long-lived, temporary or implicit credentials.
    pub credential_kind: CredentialKind,
    /// When to use it.
    pub good_for: String,
    /// Security trade-offs.
    pub trade_offs: String,
    /// Whether connectors may use it on this server.
    pub enabled: bool,
    /// Why not, when disabled.
    pub disabled_reason: Option<&'static str>,
    /// JSON Schema of its `configuration` (`format: password` marks secrets).
    #[schema(value_type = Object)]
    pub config_schema: Value,
    /// Shortest session of issued credentials, seconds.
    pub min_expiration_seconds: Option<i64>,
    /// Longest session, seconds.
    pub max_expiration_seconds: Option<i64>,
    /// Default session, seconds.
    pub default_expiration_seconds: Option<i64>,
}

/// A resource type of a connector type.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResourceTypeJson {
    /// Id, e.g. `s3-bucket`.
    pub resource_type: String,
    /// Display name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// The auth methods that reach it.
    pub auth_methods: Vec<String>,
    /// Whether one connector may reach several instances.
    pub supports_instances: bool,
    /// How its ids are written.
    pub resource_id: ResourceIdInfo,
    /// The id used when none is given (e.g. `docker.io`).
    pub default_resource_id: Option<String>,
}
#[cfg(test)]
mod tests {
    use super::*;

    /// CONNECTORS.md, transcribed: `type/method: attribute markers …` where R =
    /// required, O = optional, S = secret; then `exp` as min/max/default (`-` = none).
    const REFERENCE: &str = "
aws/implicit: region R, endpoint_url O, policy_arns O, policy O, profile_name O, role_arn O; exp 900/-/3600
aws/secret-key: region R, endpoint_url O, aws_access_key_id RS, aws_secret_access_key RS; exp -/-/-
aws/sts-token: region R, endpoint_url O, aws_access_key_id RS, aws_secret_access_key RS, aws_session_token RS; exp -/-/-
aws/iam-role: region R, endpoint_url O, aws_access_key_id RS, aws_secret_access_key RS, role_arn R, policy_arns O, policy O; exp 900/-/3600
aws/session-token: region R, endpoint_url O, aws_access_key_id RS, aws_secret_access_key RS; exp 900/129600/43200
aws/federation-token: region R, endpoint_url O, aws_access_key_id RS, aws_secret_access_key RS, policy_arns O, policy O; exp 900/129600/43200
gcp/implicit: project_id R, endpoint_url O; exp -/-/-
gcp/user-account: project_id R, user_account_json RS, generate_temporary_tokens O, endpoint_url O; exp -/-/-
gcp/service-account: project_id R, service_account_json RS, generate_temporary_tokens O, endpoint_url O; exp -/-/-
gcp/external-account: project_id R, external_account_json RS, generate_temporary_tokens O, endpoint_url O; exp -/-/-
gcp/oauth2-token: project_id R, token RS, service_account_email O, endpoint_url O; exp -/-/-
gcp/impersonation: project_id R, service_account_json RS, target_principal R, generate_temporary_tokens O, endpoint_url O; exp -/3600/3600
azure/implicit: subscription_id O, tenant_id O, resource_group O, storage_account O, blob_endpoint O; exp -/-/-
azure/service-principal: subscription_id O, tenant_id R, client_id R, client_secret RS, resource_group O, storage_account O, authority_host O, blob_endpoint O; exp -/-/-
azure/access-token: subscription_id O, tenant_id O, resource_group O, storage_account O, token RS, blob_endpoint O; exp -/-/3600
kubernetes/password: server R, insecure O, certificate_authority OS, cluster_name R, username RS, password RS; exp -/-/-
kubernetes/token: server R, insecure O, certificate_authority OS, cluster_name R, client_certificate OS, client_key OS, token OS; exp -/-/-
docker/password: username RS, password RS, registry O; exp -/-/-
hyperai/rsa-key: base64_ssh_key RS, ssh_passphrase OS, hostnames R, username R; exp -/-/-
hyperai/dsa-key: base64_ssh_key RS, ssh_passphrase OS, hostnames R, username R; exp -/-/-
hyperai/ecdsa-key: base64_ssh_key RS, ssh_passphrase OS, hostnames R, username R; exp -/-/-
hyperai/ed25519-key: base64_ssh_key RS, ssh_passphrase OS, hostnames R, username R; exp -/-/-
oauth2/client-credentials: api_url R, token_url R, client_id R, client_secret RS, scope O, audience O; exp -/-/-
oauth2/refresh-token: api_url R, token_url R, client_id R, refresh_token RS, client_secret OS, scope O; exp -/-/-
oauth2/token: api_url R, access_token RS; exp -/-/-
";

    /// Resource types per type (`*` = supports instances) and auto-configuration.
    const RESOURCES: &str = "
aws yes: aws-generic, s3-bucket*, kubernetes-cluster*, docker-registry
gcp yes: gcp-generic, gcs-bucket*, kubernetes-cluster*, docker-registry
azure yes: azure-generic, blob-container*, kubernetes-cluster*, docker-registry*
kubernetes yes: kubernetes-cluster
docker no: docker-registry
hyperai no: hyperai-instance*
oauth2 no: oauth2-api
";

    fn catalog() -> Catalog {
        Catalog::load(false).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The lines of a reference table: the line, and its head split at `sep` from the
    /// rest after `": "`.
    fn entries(table: &str, sep: char) -> impl Iterator<Item = (&str, (&str, &str), &str)> {
        table
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(move |line| {
                let (head, rest) = line.split_once(": ").unwrap_or_else(|| panic!("{line}"));
                let head = head.split_once(sep).unwrap_or_else(|| panic!("{line}"));
                (line, head, rest)
            })
    }

    /// Attributes the reference marks secret that we keep plain: identifiers and public
    /// certificates, not credentials. Sealing them made every edit ask for them again.
    const PLAIN_BY_CHOICE: [(&str, &str); 5] = [
        ("aws", "aws_access_key_id"),
        ("docker", "username"),
        ("kubernetes", "username"),
        ("kubernetes", "certificate_authority"),
        ("kubernetes", "client_certificate"),
    ];

    #[test]
    fn every_method_and_attribute_of_the_reference_is_present_with_its_markers() {
        let c = catalog();
        let mut seen = 0;
        for (line, (ty, method), rest) in entries(REFERENCE, '/') {
            let (attrs, exp) = rest
                .split_once("; exp ")
                .unwrap_or_else(|| panic!("{line}"));
            let t = c.get(ty).unwrap_or_else(|| panic!("type {ty} missing"));
            let m = t
                .auth_method(method)
                .unwrap_or_else(|| panic!("{ty}/{method} missing"));
            let actual = m.attributes();
            let expected: Vec<(&str, &str)> = attrs
                .split(", ")
                .map(|a| a.split_once(' ').unwrap_or_else(|| panic!("{a}")))
                .collect();
            assert_eq!(
                actual.len(),
                expected.len(),
                "{ty}/{method}: attribute count"
            );
            for (name, markers) in expected {
                let a = actual
                    .iter()
                    .find(|a| a.name == name)
                    .unwrap_or_else(|| panic!("{ty}/{method}.{name} missing"));
                assert_eq!(
                    a.required,
                    markers.contains('R'),
                    "{ty}/{method}.{name} required"
                );
                let sealed_there = markers.contains('S') && !PLAIN_BY_CHOICE.contains(&(ty, name));
                assert_eq!(a.secret, sealed_there, "{ty}/{method}.{name} secret");
            }
            let bounds: Vec<Option<i64>> = exp.split('/').map(|s| s.parse().ok()).collect();
            assert_eq!(
                bounds,
                vec![
                    m.min_expiration_seconds,
                    m.max_expiration_seconds,
                    m.default_expiration_seconds
                ],
                "{ty}/{method} expiration"
            );
            assert_eq!(m.implicit, method == "implicit", "{ty}/{method} implicit");
            seen += 1;
        }
        let total: usize = c.types().iter().map(|t| t.auth_methods.len()).sum();
        assert_eq!(
            seen, total,
            "the catalog has methods the reference does not"
        );
    }

    #[test]
    fn every_resource_type_is_present_with_instance_support() {
        let c = catalog();
        let mut lines = 0;
        for (_, (ty, auto), list) in entries(RESOURCES, ' ') {
            let t = c.get(ty).unwrap_or_else(|| panic!("type {ty} missing"));
            assert_eq!(t.supports_auto_configuration, auto == "yes", "{ty} auto");
            let expected: Vec<&str> = list.split(", ").collect();
            assert_eq!(
                t.resource_types.len(),
                expected.len(),
                "{ty} resource types"
            );
            for r in expected {
                let (id, inst) = match r.strip_suffix('*') {
                    Some(id) => (id, true),
                    None => (r, false),
                };
                let rt = t
                    .resource_type(id)
                    .unwrap_or_else(|| panic!("{ty}: {id} missing"));
                assert_eq!(rt.supports_instances, inst, "{ty}: {id} instances");
            }
            lines += 1;
        }
        assert_eq!(lines, c.types().len());
        assert_eq!(
            c.get("docker")
                .and_then(|t| t.resource_type("docker-registry"))
                .and_then(|r| r.default_resource_id.as_deref()),
            Some("docker.io")
        );
    }

    #[test]
    fn implicit_methods_are_disabled_unless_enabled() {
        let off = catalog();
        let on = Catalog::load(true).unwrap_or_else(|e| panic!("{e}"));
        for t in off.types() {
            for m in &t.auth_methods {
                assert_eq!(off.disabled_reason(m).is_some(), m.implicit);
                assert!(on.disabled_reason(m).is_none());
            }
        }
    }
}
