//! Command-line interface: every flag is also a `PORTCULLIS_*` environment variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Portcullis: a control plane for machine access (service accounts, API keys,
/// connectors, role bindings).
#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Server options, used when no command is given (same as `serve`).
    #[command(flatten)]
    pub serve: ServeArgs,
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve the dashboard and API.
    Serve(Box<ServeArgs>),
    /// Apply pending migrations and exit.
    Migrate,
    /// Manage local users.
    User {
        /// The user action.
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Server-secret maintenance.
    Secrets {
        /// The action.
        #[command(subcommand)]
        action: SecretsCommand,
    },
    /// Fetch credentials brokered by a Portcullis server, in the format a standard tool
    /// reads. The server is `PORTCULLIS_URL`; the API key or token is
    /// `PORTCULLIS_API_KEY` or `PORTCULLIS_TOKEN` (never an argument).
    Credentials {
        /// The tool to serve.
        #[command(subcommand)]
        tool: CredentialsCommand,
    },
}

/// `portcullis credentials …`
#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// AWS `credential_process` JSON (Version 1): use as
    /// `credential_process = portcullis credentials aws --connector C --resource s3://b`.
    Aws(Wanted),
    /// The Docker credential-helper protocol: `get` reads a registry on stdin and prints
    /// `{"ServerURL","Username","Secret"}`; `list` prints the registries reachable.
    /// Install as `docker-credential-portcullis` (a link to this binary).
    Docker {
        /// `get`, `list` (`store` and `erase` are refused: Portcullis holds the
        /// credentials).
        action: String,
    },
    /// A `client.authentication.k8s.io/v1` ExecCredential for a kubeconfig's `exec`.
    Kubernetes {
        /// The connector: `namespace/name`, or a name unique among those you may read.
        #[arg(long)]
        connector: String,
        /// The cluster; the connector's pin when omitted.
        #[arg(long)]
        cluster: Option<String>,
    },
    /// A bare access token (GCP, Azure, OAuth2, registries).
    Token(Wanted),
}

/// The credentials asked for: `--connector`, and `--resource`/`--resource-type` where
/// the connector reaches more than one.
#[derive(Debug, Args)]
pub struct Wanted {
    /// The connector: `namespace/name`, or a name unique among those you may read.
    #[arg(long)]
    pub connector: String,
    /// The resource (`s3://bucket`, a cluster, a registry); the connector's pin when
    /// omitted.
    #[arg(long)]
    pub resource: Option<String>,
    /// The resource type, when the connector reaches several and `--resource` does not
    /// say (`s3://…` is an S3 bucket).
    #[arg(long)]
    pub resource_type: Option<String>,
}

/// `portcullis secrets …`
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Re-encrypt every connector's secrets after the server secret changed. The new
    /// secret is the configured one (`PORTCULLIS_SECRET_KEY` or `<data dir>/secret.key`);
    /// the previous one is read from `PORTCULLIS_OLD_SECRET_KEY` or
    /// `--old-secret-key-file`, never from the command line. Safe to run twice.
    Rekey {
        /// File holding the previous server secret.
        #[arg(long)]
        old_secret_key_file: Option<std::path::PathBuf>,
    },
}

/// `portcullis user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a local user.
    Create {
        /// User name (1–64 characters from `A-Z a-z 0-9 - _ . + @`).
        name: String,
        /// Give the user `*/*: admin` (global administrator).
        #[arg(long)]
        admin: bool,
        /// Read the password from standard input (one line). Without it a random
        /// password is generated and printed once.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Options every command understands.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Directory for the SQLite database and the generated secret key.
    #[arg(
        long,
        global = true,
        env = "PORTCULLIS_DATA_DIR",
        default_value = "./portcullis-data"
    )]
    pub data_dir: PathBuf,
    /// `sqlite://path` or `postgres://user@host:port/db`. Default: `<data dir>/portcullis.db`.
    #[arg(long, global = true, env = "PORTCULLIS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Server secret (≥ 32 characters) from which cookie, token and encryption keys are
    /// derived. Default: generated once into `<data dir>/secret.key` (mode 0600).
    #[arg(
        long,
        global = true,
        env = "PORTCULLIS_SECRET_KEY",
        hide_env_values = true
    )]
    pub secret_key: Option<String>,
    /// Log filter in `tracing` syntax, e.g. `info` or `portcullis=debug,actix_web=info`.
    #[arg(long, global = true, env = "PORTCULLIS_LOG", default_value = "info")]
    pub log: String,
}

/// Options of the server.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PORTCULLIS_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// The URL users reach Portcullis at (sets `Secure` cookies when https, checks
    /// `Origin`, appears in usage examples). Default: `http://<bind>`.
    #[arg(long, env = "PORTCULLIS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Password for the `admin` user created on first start. Default: a random one,
    /// printed once to stderr.
    #[arg(long, env = "PORTCULLIS_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Seed demo namespaces, environments and users when the database is empty.
    #[arg(long, env = "PORTCULLIS_DEMO")]
    pub demo: bool,
    /// Role bindings every signed-in user has, comma separated `pattern=role`.
    #[arg(
        long,
        env = "PORTCULLIS_DEFAULT_ROLE_BINDINGS",
        default_value = "default/*=viewer"
    )]
    pub default_role_bindings: String,
    /// Sign a session out after this many minutes without a request.
    #[arg(long, env = "PORTCULLIS_SESSION_IDLE_MINUTES", default_value_t = 60)]
    pub session_idle_minutes: u64,
    /// Sign a session out this many hours after sign-in, active or not.
    #[arg(long, env = "PORTCULLIS_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: u64,
    /// Lifetime of access tokens from `POST /api/v1/login`, in minutes.
    #[arg(long, env = "PORTCULLIS_ACCESS_TOKEN_MINUTES", default_value_t = 60)]
    pub access_token_minutes: u64,
    /// Longest lifetime of a token minted with `POST /api/v1/tokens`, in days.
    #[arg(long, env = "PORTCULLIS_TOKEN_MAX_DAYS", default_value_t = 30)]
    pub token_max_days: u64,
    /// Seconds an instance reuses an API-key lookup. Changes made through an instance
    /// apply there at once; other instances see them within this time. 0 disables.
    #[arg(long, env = "PORTCULLIS_KEY_CACHE_SECONDS", default_value_t = 2)]
    pub key_cache_seconds: u64,
    /// Failed sign-ins allowed in a burst, per account and per client address, before
    /// answering 429. The allowance refills (see `--login-refill-seconds`), so nobody is
    /// locked out for good.
    #[arg(long, env = "PORTCULLIS_LOGIN_BURST", default_value_t = 10)]
    pub login_burst: u32,
    /// Seconds for one failed-sign-in allowance to come back.
    #[arg(long, env = "PORTCULLIS_LOGIN_REFILL_SECONDS", default_value_t = 30)]
    pub login_refill_seconds: u64,
    /// Largest accepted request body, in KiB.
    #[arg(long, env = "PORTCULLIS_MAX_BODY_KIB", default_value_t = 256)]
    pub max_body_kib: usize,
    /// Database connections per instance.
    #[arg(long, env = "PORTCULLIS_DB_POOL_SIZE", default_value_t = 8)]
    pub db_pool_size: u32,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "PORTCULLIS_WORKERS")]
    pub workers: Option<usize>,
    /// Allow connectors with `implicit` auth methods, which act with this server's own
    /// cloud identity (environment credentials, instance roles). Off by default.
    #[arg(long, env = "PORTCULLIS_CONNECTOR_IMPLICIT_AUTH", default_value_t = false, action = clap::ArgAction::Set)]
    pub connector_implicit_auth: bool,
    /// Let connectors call loopback and private addresses (on-premises endpoints,
    /// emulators). Off by default: only public endpoints are reached.
    #[arg(long, env = "PORTCULLIS_CONNECTOR_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub connector_allow_private: bool,
    /// A PEM bundle of extra certificate authorities that connector calls trust on top
    /// of the public roots (TLS inspection, on-premises endpoints, emulators).
    #[arg(long, env = "PORTCULLIS_CONNECTOR_CA_FILE")]
    pub connector_ca_file: Option<std::path::PathBuf>,
    /// Limit for each call a connector makes to its provider.
    #[arg(long, env = "PORTCULLIS_CONNECTOR_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub connector_timeout_seconds: u64,
    /// OpenID Connect sign-in.
    #[command(flatten)]
    pub oidc: OidcArgs,
    /// The server's key policy, hygiene alerts and leak reports.
    #[command(flatten)]
    pub hygiene: HygieneArgs,
    /// Allow sign-in with local passwords. With `false` only the break-glass users may
    /// use a password (needs OpenID Connect configured).
    #[arg(long, env = "PORTCULLIS_PASSWORD_LOGIN", default_value_t = true, action = clap::ArgAction::Set)]
    pub password_login: bool,
    /// Local users who may sign in with a password even when password sign-in is off
    /// (comma separated; keep at least one global administrator here).
    #[arg(long, env = "PORTCULLIS_BREAK_GLASS_USERS", default_value = "admin")]
    pub break_glass_users: String,
    /// Reverse proxies (addresses or CIDR ranges, comma separated) whose
    /// `X-Forwarded-For` / `Forwarded` headers name the client; from anyone else they
    /// are ignored.
    #[arg(long, env = "PORTCULLIS_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
}

/// The server's key policy (each namespace may tighten it, never loosen it), webhook
/// delivery and leak reports.
#[derive(Debug, Clone, Default, Args)]
pub struct HygieneArgs {
    /// Keys must expire within this many days of creation (keys without expiry are
    /// refused).
    #[arg(long, env = "PORTCULLIS_POLICY_MAX_KEY_LIFETIME_DAYS")]
    pub policy_max_key_lifetime_days: Option<i64>,
    /// Service accounts' access tokens live at most this many minutes.
    #[arg(long, env = "PORTCULLIS_POLICY_MAX_TOKEN_LIFETIME_MINUTES")]
    pub policy_max_token_lifetime_minutes: Option<i64>,
    /// Most active keys per service account.
    #[arg(long, env = "PORTCULLIS_POLICY_MAX_ACTIVE_KEYS_PER_ACCOUNT")]
    pub policy_max_active_keys_per_account: Option<i64>,
    /// Networks (CIDR or addresses, comma separated) that service accounts' keys and
    /// tokens may be used from.
    #[arg(long, env = "PORTCULLIS_POLICY_ALLOWED_NETWORKS")]
    pub policy_allowed_networks: Option<String>,
    /// Keys must be rotated this often, in days.
    #[arg(long, env = "PORTCULLIS_POLICY_ROTATE_EVERY_DAYS")]
    pub policy_rotate_every_days: Option<i64>,
    /// Deactivate keys whose rotation is overdue.
    #[arg(long, env = "PORTCULLIS_POLICY_DEACTIVATE_UNROTATED", action = clap::ArgAction::Set)]
    pub policy_deactivate_unrotated: Option<bool>,
    /// Let webhooks reach loopback and private addresses (and plain http there).
    #[arg(long, env = "PORTCULLIS_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
    /// First wait before a failed webhook delivery is tried again (doubling each time,
    /// at most an hour).
    #[arg(long, env = "PORTCULLIS_WEBHOOK_RETRY_SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub webhook_retry_seconds: u64,
    /// Where GitHub's secret-scanning public keys are published (enables
    /// `POST /api/v1/leaks/github`).
    #[arg(long, env = "PORTCULLIS_LEAK_KEYS_URL")]
    pub leak_keys_url: Option<String>,
}

/// OpenID Connect options (all unset: no OpenID sign-in).
#[derive(Debug, Clone, Args)]
pub struct OidcArgs {
    /// Issuer URL of the OpenID provider (discovery reads
    /// `<issuer>/.well-known/openid-configuration`). https, or http on a loopback host.
    #[arg(long, env = "PORTCULLIS_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// Client id registered at the provider (redirect URI
    /// `<public URL>/auth/oidc/callback`).
    #[arg(long, env = "PORTCULLIS_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// Client secret (omit for a public client; PKCE is always used).
    #[arg(long, env = "PORTCULLIS_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// Name on the sign-in button ("Sign in with <name>"). Default: the issuer's host.
    #[arg(long, env = "PORTCULLIS_OIDC_NAME")]
    pub oidc_name: Option<String>,
    /// Scopes to request, space separated (`openid` is always included).
    #[arg(
        long,
        env = "PORTCULLIS_OIDC_SCOPES",
        default_value = "openid profile email groups"
    )]
    pub oidc_scopes: String,
    /// ID-token claim that names a new user (made unique if taken).
    #[arg(
        long,
        env = "PORTCULLIS_OIDC_USERNAME_CLAIM",
        default_value = "preferred_username"
    )]
    pub oidc_username_claim: String,
    /// ID-token claim listing the user's groups (refreshed at every sign-in).
    #[arg(long, env = "PORTCULLIS_OIDC_GROUPS_CLAIM", default_value = "groups")]
    pub oidc_groups_claim: String,
    /// Only members of these groups may sign in through the provider (comma separated;
    /// empty: everyone the provider vouches for). Set it for multi-tenant providers.
    #[arg(long, env = "PORTCULLIS_OIDC_ALLOWED_GROUPS", default_value = "")]
    pub oidc_allowed_groups: String,
    /// Groups whose members get `*/*: admin` (comma separated).
    #[arg(long, env = "PORTCULLIS_OIDC_ADMIN_GROUPS", default_value = "")]
    pub oidc_admin_groups: String,
    /// Every group `G` gives its members `G/*: developer` (Nebari style).
    #[arg(long, env = "PORTCULLIS_OIDC_GROUP_NAMESPACES", default_value_t = false, action = clap::ArgAction::Set)]
    pub oidc_group_namespaces: bool,
    /// With group namespaces: create namespace `G` at a member's sign-in if missing.
    #[arg(long, env = "PORTCULLIS_OIDC_CREATE_GROUP_NAMESPACES", default_value_t = true, action = clap::ArgAction::Set)]
    pub oidc_create_group_namespaces: bool,
}
