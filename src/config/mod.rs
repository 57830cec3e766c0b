//! Validated configuration, built from the command line and `PORTCULLIS_*` variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::access::{GrantRules, Source, bindings::parse_binding_list};
use crate::cli::{CommonArgs, ServeArgs};

mod oidc;
mod values;

use oidc::comma_list;
pub use oidc::{OidcConfig, issuer_is_secure};
pub use values::{DatabaseUrl, Secret};
/// Session lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct SessionConfig {
    /// Sign out after this long without a request.
    pub idle: Duration,
    /// Sign out this long after sign-in regardless of activity.
    pub absolute: Duration,
}

/// Failed sign-in throttling (a refilling token bucket per account and per client).
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failures allowed in a burst.
    pub burst: u32,
    /// Time for one allowance to come back.
    pub refill: Duration,
}

/// Webhook delivery settings.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Whether webhooks may reach loopback and private addresses.
    pub allow_private: bool,
    /// First wait before a failed delivery is tried again.
    pub retry_base: Duration,
}

/// Everything the server needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub bind: SocketAddr,
    /// Data directory (SQLite file, generated secret).
    pub data_dir: PathBuf,
    /// Database to use.
    pub database: DatabaseUrl,
    /// Explicit server secret, if configured.
    pub secret_key: Option<Secret>,
    /// Public origin, e.g. `https://portcullis.example.com` (no trailing slash).
    pub public_url: url::Url,
    /// Password for the initial `admin`, if configured.
    pub admin_password: Option<Secret>,
    /// Seed demo data on an empty database.
    pub demo: bool,
    /// Bindings every signed-in user has, and what groups grant by configuration.
    pub grant_rules: Arc<GrantRules>,
    /// Session lifetimes.
    pub session: SessionConfig,
    /// Access-token lifetime.
    pub access_token_ttl: Duration,
    /// How long an API-key lookup is reused by this instance.
    pub key_cache_ttl: Duration,
    /// Longest lifetime of a minted token.
    pub token_max_ttl: Duration,
    /// Login throttling.
    pub login_limits: LoginLimits,
    /// Request body limit in bytes.
    pub max_body_bytes: usize,
    /// Pool size.
    pub db_pool_size: u32,
    /// HTTP workers.
    pub workers: Option<usize>,
    /// OpenID Connect sign-in, when configured.
    pub oidc: Option<OidcConfig>,
    /// Whether local passwords sign in (break-glass users always may).
    pub password_login: bool,
    /// Whether connectors may use `implicit` auth methods.
    pub connector_implicit_auth: bool,
    /// The server's key policy (namespaces may tighten it).
    pub key_policy: crate::key_policy::KeyPolicy,
    /// Webhook delivery: private targets allowed, first retry wait.
    pub webhooks: WebhookConfig,
    /// GitHub's secret-scanning public keys (leak reports), when configured.
    pub leak_keys_url: Option<url::Url>,
    /// Where connectors' outbound calls may go, and their time limit.
    pub outbound: crate::outbound::Policy,
    /// Local users who may use a password when password sign-in is off.
    pub break_glass_users: Vec<String>,
    /// Proxies whose forwarding headers name the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}
impl Config {
    /// Builds the database URL alone (for `migrate` and `user create`).
    pub fn database_from(common: &CommonArgs) -> Result<DatabaseUrl, String> {
        match &common.database_url {
            Some(url) => DatabaseUrl::parse(url),
            None => Ok(DatabaseUrl::Sqlite(common.data_dir.join("portcullis.db"))),
        }
    }

    /// Validates the serve options; the error is one line.
    pub fn from_args(common: &CommonArgs, serve: &ServeArgs) -> Result<Self, String> {
        let bind: SocketAddr = serve.bind.parse().map_err(|_| {
            format!(
                "PORTCULLIS_BIND {:?} is not an address like 127.0.0.1:8080",
                serve.bind
            )
        })?;
        let public_url = match &serve.public_url {
            Some(u) => parse_public_url(u)?,
            None => parse_public_url(&format!("http://{bind}"))?,
        };
        if let Some(secret) = &common.secret_key {
            validate_secret(secret)?;
        }
        if serve.session_idle_minutes == 0 || serve.session_max_hours == 0 {
            return Err("session timeouts must be positive".into());
        }
        if serve.token_max_days == 0 {
            return Err("PORTCULLIS_TOKEN_MAX_DAYS must be positive".into());
        }
        if serve.access_token_minutes == 0 {
            return Err("PORTCULLIS_ACCESS_TOKEN_MINUTES must be positive".into());
        }
        if serve.login_burst == 0 || serve.login_refill_seconds == 0 {
            return Err(
                "PORTCULLIS_LOGIN_BURST and PORTCULLIS_LOGIN_REFILL_SECONDS must be positive"
                    .into(),
            );
        }
        if serve.max_body_kib == 0 {
            return Err("PORTCULLIS_MAX_BODY_KIB must be positive".into());
        }
        if serve.db_pool_size == 0 {
            return Err("PORTCULLIS_DB_POOL_SIZE must be positive".into());
        }
        if let Some(pw) = &serve.admin_password {
            validate_password(pw).map_err(|e| format!("PORTCULLIS_ADMIN_PASSWORD {e}"))?;
        }
        let default_bindings = parse_binding_list(&serve.default_role_bindings, Source::Default)
            .map_err(|e| format!("PORTCULLIS_DEFAULT_ROLE_BINDINGS: {e}"))?;
        let oidc = OidcConfig::from_args(&serve.oidc)?;
        let break_glass_users = comma_list(&serve.break_glass_users);
        let trusted_proxies = comma_list(&serve.trusted_proxies)
            .iter()
            .map(|p| crate::web::client::parse_network(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("PORTCULLIS_TRUSTED_PROXIES: {e}"))?;
        if !serve.password_login && oidc.is_none() {
            return Err(
                "PORTCULLIS_PASSWORD_LOGIN=false needs OpenID Connect (PORTCULLIS_OIDC_ISSUER)"
                    .into(),
            );
        }
        let admin_groups = comma_list(&serve.oidc.oidc_admin_groups);
        if oidc.is_none() && (!admin_groups.is_empty() || serve.oidc.oidc_group_namespaces) {
            return Err(
                "PORTCULLIS_OIDC_ADMIN_GROUPS and PORTCULLIS_OIDC_GROUP_NAMESPACES need PORTCULLIS_OIDC_ISSUER"
                    .into(),
            );
        }
        let extra_ca_pem = match &serve.connector_ca_file {
            Some(path) => Some(read_ca_file(path)?),
            None => None,
        };
        Ok(Self {
            bind,
            data_dir: common.data_dir.clone(),
            database: Self::database_from(common)?,
            secret_key: common.secret_key.clone().map(Secret::from),
            public_url,
            admin_password: serve.admin_password.clone().map(Secret::from),
            demo: serve.demo,
            grant_rules: Arc::new(GrantRules {
                defaults: default_bindings,
                admin_groups,
                group_namespaces: serve.oidc.oidc_group_namespaces,
                provider_groups_ttl_ms: (serve.session_max_hours * 3600 * 1000) as i64,
            }),
            session: SessionConfig {
                idle: Duration::from_secs(serve.session_idle_minutes * 60),
                absolute: Duration::from_secs(serve.session_max_hours * 3600),
            },
            access_token_ttl: Duration::from_secs(serve.access_token_minutes * 60),
            key_cache_ttl: Duration::from_secs(serve.key_cache_seconds),
            token_max_ttl: Duration::from_secs(serve.token_max_days * 24 * 3600),
            login_limits: LoginLimits {
                burst: serve.login_burst,
                refill: Duration::from_secs(serve.login_refill_seconds),
            },
            max_body_bytes: serve.max_body_kib * 1024,
            db_pool_size: serve.db_pool_size,
            workers: serve.workers,
            oidc,
            password_login: serve.password_login,
            connector_implicit_auth: serve.connector_implicit_auth,
            key_policy: values::key_policy(&serve.hygiene)?,
            webhooks: WebhookConfig {
                allow_private: serve.hygiene.webhook_allow_private,
                retry_base: Duration::from_secs(serve.hygiene.webhook_retry_seconds),
            },
            leak_keys_url: values::leak_keys_url(serve.hygiene.leak_keys_url.as_deref())?,
            outbound: crate::outbound::Policy {
                allow_private: serve.connector_allow_private,
                timeout: Duration::from_secs(serve.connector_timeout_seconds),
                extra_ca_pem,
            },
            break_glass_users,
            trusted_proxies,
        })
    }

    /// A configuration for tests: SQLite in `data_dir`, fixed secret, public URL
    /// `http://localhost`, defaults elsewhere.
    pub fn for_tests(data_dir: &Path, database: DatabaseUrl) -> Result<Self, String> {
        Ok(Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_path_buf(),
            database,
            secret_key: Some("test-secret-key-with-at-least-32-characters".into()),
            public_url: parse_public_url("http://localhost")?,
            admin_password: Some("admin-password-for-tests".into()),
            demo: false,
            grant_rules: Arc::new(GrantRules {
                defaults: parse_binding_list("default/*=viewer", Source::Default)
                    .unwrap_or_default(),
                admin_groups: Vec::new(),
                group_namespaces: false,
                provider_groups_ttl_ms: 12 * 3600 * 1000,
            }),
            session: SessionConfig {
                idle: Duration::from_secs(3600),
                absolute: Duration::from_secs(12 * 3600),
            },
            access_token_ttl: Duration::from_secs(3600),
            key_cache_ttl: Duration::from_secs(2),
            token_max_ttl: Duration::from_secs(30 * 24 * 3600),
            login_limits: LoginLimits {
                burst: 10,
                refill: Duration::from_secs(30),
            },
            max_body_bytes: 256 * 1024,
            db_pool_size: 4,
            workers: Some(1),
            oidc: None,
            password_login: true,
            connector_implicit_auth: false,
            key_policy: crate::key_policy::KeyPolicy::default(),
            webhooks: WebhookConfig {
                allow_private: false,
                retry_base: Duration::from_secs(5),
            },
            leak_keys_url: None,
            outbound: crate::outbound::Policy::default(),
            break_glass_users: vec!["admin".into()],
            trusted_proxies: Vec::new(),
        })
    }

    /// Whether cookies must carry `Secure` (public URL is https).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The public origin (`scheme://host[:port]`), compared with `Origin` headers.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }
}

/// The PEM bundle of `PORTCULLIS_CONNECTOR_CA_FILE`, checked.
fn read_ca_file(path: &Path) -> Result<String, String> {
    let name = format!("PORTCULLIS_CONNECTOR_CA_FILE {}", path.display());
    let pem = std::fs::read_to_string(path).map_err(|e| format!("{name} cannot be read: {e}"))?;
    crate::outbound::check_ca_bundle(&pem).map_err(|e| format!("{name}: {e}"))?;
    Ok(pem)
}

fn parse_public_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text)
        .map_err(|e| format!("PORTCULLIS_PUBLIC_URL {text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!(
            "PORTCULLIS_PUBLIC_URL {text:?} must be an http(s) URL with a host"
        ));
    }
    Ok(url)
}

/// Minimum length of a configured server secret.
pub const MIN_SECRET_LEN: usize = 32;

/// Checks a configured server secret.
pub fn validate_secret(secret: &str) -> Result<(), String> {
    if secret.trim().len() < MIN_SECRET_LEN {
        return Err(format!(
            "PORTCULLIS_SECRET_KEY must be at least {MIN_SECRET_LEN} characters"
        ));
    }
    Ok(())
}

/// Minimum password length for local users.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Checks a new local password (length only, per NIST SP 800-63B).
pub fn validate_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(format!("must be at least {MIN_PASSWORD_LEN} characters"));
    }
    if n > 1024 {
        return Err("must be at most 1024 characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_secrets_never_show_in_debug_output() {
        let mut config = Config::for_tests(
            Path::new("/tmp"),
            DatabaseUrl::Postgres("postgres://app:db-password@db:5432/portcullis".into()),
        )
        .unwrap();
        config.admin_password = Some("admin-password-123".into());
        let shown = format!("{config:?}");
        for secret in [
            "test-secret-key-with-at-least-32-characters",
            "admin-password-123",
            "db-password",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
        assert!(shown.contains("[REDACTED]"));
        assert_eq!(config.public_url.as_str(), "http://localhost/");
    }

    #[test]
    fn database_urls_are_recognised_by_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/p.db"),
            Ok(DatabaseUrl::Sqlite("data/p.db".into()))
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    fn serve_config(args: &[&str]) -> Result<Config, String> {
        use clap::Parser;
        let mut argv = vec!["portcullis"];
        argv.extend_from_slice(args);
        let cli = crate::cli::Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
        Config::from_args(&cli.common, &cli.serve)
    }

    #[test]
    fn openid_settings_are_checked() {
        let ok = serve_config(&[
            "--oidc-issuer",
            "https://id.example.com/realms/x",
            "--oidc-client-id",
            "portcullis",
            "--oidc-admin-groups",
            "admins, ops ,",
            "--oidc-group-namespaces",
            "true",
            "--password-login",
            "false",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let oidc = ok.oidc.as_ref().map(|o| o.display_name.as_str());
        assert_eq!(oidc, Some("id.example.com"));
        assert_eq!(ok.grant_rules.admin_groups, ["admins", "ops"]);
        assert!(ok.grant_rules.group_namespaces && !ok.password_login);
        assert_eq!(ok.break_glass_users, ["admin"]);
        let local = serve_config(&[
            "--oidc-issuer",
            "http://127.0.0.1:5556/dex",
            "--oidc-client-id",
            "c",
        ]);
        assert!(local.is_ok());
        for (bad, why) in [
            (
                vec![
                    "--oidc-issuer",
                    "http://id.example.com",
                    "--oidc-client-id",
                    "c",
                ],
                "https",
            ),
            (vec!["--oidc-issuer", "https://id.example.com"], "CLIENT_ID"),
            (vec!["--oidc-client-id", "c"], "ISSUER"),
            (vec!["--password-login", "false"], "OpenID"),
            (vec!["--oidc-admin-groups", "admins"], "ISSUER"),
            (
                vec![
                    "--oidc-issuer",
                    "https://i.example?x=1",
                    "--oidc-client-id",
                    "c",
                ],
                "query",
            ),
        ] {
            let err = serve_config(&bad).err().unwrap_or_default();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn the_connector_ca_file_is_read_and_checked_at_start_up() {
        let dir = std::env::temp_dir().join(format!("portcullis-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = rcgen::CertificateParams::new(vec!["ca.test".to_owned()])
            .unwrap()
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap()
            .pem();
        let good = dir.join("ca.pem");
        let bad = dir.join("bad.pem");
        std::fs::write(&good, &ca).unwrap();
        std::fs::write(&bad, "not a certificate").unwrap();
        let arg = |p: &Path| p.to_string_lossy().into_owned();
        let ok = serve_config(&["--connector-ca-file", &arg(&good)]).unwrap();
        assert_eq!(ok.outbound.extra_ca_pem.as_deref(), Some(ca.as_str()));
        assert_eq!(serve_config(&[]).unwrap().outbound.extra_ca_pem, None);
        for (path, why) in [
            (dir.join("missing.pem"), "cannot be read"),
            (bad, "no certificate"),
        ] {
            let err = serve_config(&["--connector-ca-file", &arg(&path)])
                .err()
                .unwrap_or_default();
            assert!(
                err.contains("PORTCULLIS_CONNECTOR_CA_FILE") && err.contains(why),
                "{err}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn redacted_urls_hide_credentials() {
        let url = DatabaseUrl::Postgres("postgres://me:hunter2@db:5433/p".into());
        assert_eq!(url.redacted(), "postgres://db:5433/p");
    }
}
