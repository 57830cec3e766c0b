//! Demo data for `serve --demo`: namespaces, environments and users with different
//! role bindings, so a newcomer sees a populated dashboard. Only seeds an empty
//! database (no environments yet).

use crate::access::{self, Pattern, Role};
use crate::auth;
use crate::connectors::catalog::Catalog;
use crate::connectors::registry::{self, Draft};
use crate::crypto::Sealer;
use crate::db::Db;
use crate::{environments, service_accounts};

/// Demo users: name and their explicit bindings.
const USERS: &[(&str, &[(&str, Role)])] = &[
    (
        "alice",
        &[
            ("team-*/*", Role::Viewer),
            ("data-science/*", Role::Developer),
        ],
    ),
    ("bob", &[("data-science/*", Role::Viewer)]),
    (
        "carol",
        &[
            ("ml-platform/*", Role::Admin),
            ("team-a/training", Role::Developer),
        ],
    ),
];

/// Namespaces and their environments.
const NAMESPACES: &[(&str, &str, &[&str])] = &[
    (
        "default",
        "Shared namespace every user can read by default.",
        &["base-python", "r-tidyverse"],
    ),
    (
        "data-science",
        "Notebooks and analysis.",
        &["pandas-2", "spark-3.5", "jupyter-lab"],
    ),
    (
        "ml-platform",
        "Training and serving infrastructure.",
        &["pytorch-cuda", "triton-serving", "ray-2"],
    ),
    (
        "team-a",
        "Team A's projects.",
        &["training", "feature-store"],
    ),
    ("team-b", "Team B's projects.", &["etl", "dbt-core"]),
];

/// Service accounts: name, namespace, description (no keys: a key's plaintext would
/// have to be printed; create them in the dashboard).
const SERVICE_ACCOUNTS: &[(&str, &str, &str)] = &[
    (
        "ci-pipeline",
        "data-science",
        "Builds and tests notebooks on every merge.",
    ),
    (
        "nightly-etl",
        "team-a",
        "Loads the feature store every night.",
    ),
    (
        "model-deployer",
        "ml-platform",
        "Promotes models to Triton.",
    ),
];

/// A demo connector: name, namespace, type, auth method, resource types, resource id,
/// configuration (placeholder values), labels, credentials expiring in days.
type DemoConnector = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    Option<&'static str>,
    &'static str,
    &'static [(&'static str, &'static str)],
    Option<i64>,
);

/// Connectors of the demo (placeholder credentials that reach nothing).
const CONNECTORS: &[DemoConnector] = &[
    (
        "s3-training-data",
        "team-a",
        "aws",
        "secret-key",
        &["s3-bucket"],
        Some("s3://team-a-training-data"),
        r#"{"region": "eu-west-1", "aws_access_key_id": "AKIADEMOPLACEHOLDER0", "aws_secret_access_key": "demo-placeholder-not-a-real-secret"}"#,
        &[("team", "a"), ("env", "prod")],
        Some(5),
    ),
    (
        "aws-ml-platform",
        "ml-platform",
        "aws",
        "session-token",
        &[],
        None,
        r#"{"region": "us-east-1", "aws_access_key_id": "AKIADEMOPLACEHOLDER1", "aws_secret_access_key": "demo-placeholder-not-a-real-secret"}"#,
        &[("env", "prod")],
        Some(90),
    ),
    (
        "gke-research",
        "data-science",
        "gcp",
        "oauth2-token",
        &["kubernetes-cluster"],
        Some("research-cluster"),
        r#"{"project_id": "demo-research", "token": "demo-placeholder-token"}"#,
        &[("team", "data-science")],
        None,
    ),
    (
        "dockerhub",
        "default",
        "docker",
        "password",
        &[],
        None,
        r#"{"username": "demo", "password": "demo-placeholder-password"}"#,
        &[],
        None,
    ),
];

/// A demo user as printed at start-up.
pub struct DemoUser {
    /// Name.
    pub name: String,
    /// One-time password.
    pub password: String,
    /// Their bindings in words (`admin on ml-platform/*, …`).
    pub role: String,
}

/// Seeds the demo; returns each new demo user with their one-time password and their
/// role in words (empty when the database already had environments).
pub fn seed(db: &Db, catalog: &Catalog, sealer: &Sealer) -> anyhow::Result<Vec<DemoUser>> {
    let mut conn = db.get()?;
    if environments::any_environment(&mut conn)? {
        return Ok(Vec::new());
    }
    for (ns, description, envs) in NAMESPACES {
        let ns_id = environments::ensure_namespace(&mut conn, ns, description)?;
        for env in *envs {
            let spec =
                format!("channels: [conda-forge]\ndependencies:\n  - python=3.12\n  - {env}\n");
            environments::create_environment(&mut conn, ns_id, env, "Demo environment.", &spec)?;
        }
    }
    for (name, ns, description) in SERVICE_ACCOUNTS {
        service_accounts::create_unchecked(&mut conn, name, ns, description, "demo")?;
    }
    for (name, ns, ty, method, resource_types, resource_id, config, labels, expires_days) in
        CONNECTORS
    {
        let configuration = serde_json::from_str(config)?;
        let draft = Draft {
            name: (*name).into(),
            namespace: (*ns).into(),
            connector_type: (*ty).into(),
            auth_method: (*method).into(),
            resource_types: resource_types.iter().map(|s| (*s).to_owned()).collect(),
            resource_id: resource_id.map(str::to_owned),
            resource_ids: None,
            pin_inherited: false,
            configuration,
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            description: "Demo connector (placeholder credentials).".into(),
            expires_at: expires_days
                .map(|d| crate::db::rfc3339(crate::db::now_ms() + d * 24 * 3600 * 1000)),
            expiration_seconds: None,
            unread: Default::default(),
        };
        registry::create_unchecked(&mut conn, catalog, sealer, &draft, "demo")
            .map_err(|e| anyhow::anyhow!("demo connector {name}: {e}"))?;
    }
    let mut passwords = Vec::new();
    for (name, bindings) in USERS {
        if auth::find_user_by_name(&mut conn, name)?.is_some() {
            continue;
        }
        let password = auth::random_password();
        let hash = auth::hash_new_password(&password)?;
        let id = auth::create_local_user(&mut conn, name, Some(&hash), false, "demo")?;
        for (pattern, role) in *bindings {
            let pattern = Pattern::parse(pattern).map_err(anyhow::Error::msg)?;
            access::bind_user(&mut conn, id, &pattern, *role)?;
        }
        let role: Vec<String> = bindings
            .iter()
            .map(|(p, r)| format!("{r} on {p}"))
            .collect();
        passwords.push(DemoUser {
            name: (*name).to_owned(),
            password,
            role: role.join(", "),
        });
    }
    Ok(passwords)
}
