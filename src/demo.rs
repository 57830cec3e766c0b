//! Demo data for `serve --demo`: namespaces, environments and users with different
//! role bindings, so a newcomer sees a populated dashboard. Only seeds an empty
//! database (no environments yet).

use crate::access::{self, Pattern, Role};
use crate::auth;
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

/// Seeds the demo; returns the generated passwords of the demo users (empty when the
/// database already had environments).
pub fn seed(db: &Db) -> anyhow::Result<Vec<(String, String)>> {
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
        passwords.push(((*name).to_owned(), password));
    }
    Ok(passwords)
}
