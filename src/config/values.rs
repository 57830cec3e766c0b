//! Configuration values that guard what they hold: secrets whose `Debug` is
//! `[REDACTED]`, and database URLs that print without credentials.

use std::path::PathBuf;

/// A secret from the configuration (server secret, initial admin password, OpenID
/// client secret). `Debug` prints `[REDACTED]`, so a logged configuration never shows
/// it; [`Secret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret text, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

/// Where the data lives. `Debug` shows a PostgreSQL URL without its credentials.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://…`).
    Postgres(String),
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl DatabaseUrl {
    /// Parses `sqlite://path`, `sqlite:path` or `postgres(ql)://…`.
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| {
                "PORTCULLIS_DATABASE_URL must start with sqlite:// or postgres://".to_owned()
            })?;
        if path.is_empty() {
            return Err("PORTCULLIS_DATABASE_URL: sqlite:// needs a file path".into());
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    /// A description without credentials, for logs.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => match url::Url::parse(url) {
                Ok(u) => format!(
                    "postgres://{}:{}{}",
                    u.host_str().unwrap_or(""),
                    u.port().unwrap_or(5432),
                    u.path()
                ),
                Err(_) => "postgres://…".into(),
            },
        }
    }
}

/// The server's key policy from its variables, checked as a namespace's is (against
/// no bound).
pub(super) fn key_policy(
    args: &crate::cli::HygieneArgs,
) -> Result<crate::key_policy::KeyPolicy, String> {
    let policy = crate::key_policy::KeyPolicy {
        max_key_lifetime_days: args.policy_max_key_lifetime_days,
        max_token_lifetime_minutes: args.policy_max_token_lifetime_minutes,
        max_active_keys_per_account: args.policy_max_active_keys_per_account,
        allowed_networks: args.policy_allowed_networks.as_deref().map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect()
        }),
        rotate_every_days: args.policy_rotate_every_days,
        deactivate_unrotated: args.policy_deactivate_unrotated,
    };
    match policy
        .check(&crate::key_policy::KeyPolicy::default())
        .pop_first()
    {
        None => Ok(policy),
        Some((field, why)) => Err(format!(
            "PORTCULLIS_POLICY_{}: {why}",
            field.to_ascii_uppercase()
        )),
    }
}

/// `PORTCULLIS_LEAK_KEYS_URL`: an https URL (http only on a loopback host, for tests).
pub(super) fn leak_keys_url(text: Option<&str>) -> Result<Option<url::Url>, String> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let url = url::Url::parse(text)
        .map_err(|e| format!("PORTCULLIS_LEAK_KEYS_URL {text:?} is not a URL: {e}"))?;
    let loopback = url.host_str().is_some_and(|h| {
        h == "localhost"
            || h.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err(format!(
            "PORTCULLIS_LEAK_KEYS_URL {text:?} must be https (http only on a loopback host)"
        ));
    }
    Ok(Some(url))
}
