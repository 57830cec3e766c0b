//! Start-up: secret, database, migrations, first admin, demo data, then the HTTP server
//! and its housekeeping.

use std::time::Duration;

use actix_web::{HttpServer, web};

use crate::app::{AppState, build_app};
use crate::auth::{self, CreateUserError};
use crate::config::{Config, Secret};
use crate::db::{self, Db};
use crate::secrets::ServerSecret;
use crate::{demo, service_accounts};

/// Opens the database and applies pending migrations.
pub fn open_database(url: &crate::config::DatabaseUrl, pool_size: u32) -> anyhow::Result<Db> {
    if let crate::config::DatabaseUrl::Sqlite(path) = url {
        crate::files::private_database(path)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    }
    let db = Db::connect(url, pool_size)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", url.redacted()))?;
    db::run_migrations(&mut *db.get()?)?;
    Ok(db)
}

/// Creates `admin` (global administrator) when there are no users yet; returns the
/// generated password when one was generated.
pub fn ensure_admin(db: &Db, configured: Option<&str>) -> anyhow::Result<Option<String>> {
    let mut conn = db.get()?;
    if auth::count_users(&mut conn)? > 0 {
        return Ok(None);
    }
    let (password, generated) = match configured {
        Some(p) => (p.to_owned(), false),
        None => (auth::random_password(), true),
    };
    let hash = auth::hash_new_password(&password)?;
    match auth::create_local_user(&mut conn, "admin", Some(&hash), true, "system") {
        Ok(_) => Ok(generated.then_some(password)),
        // Another instance created it first (seen as the user, or as its namespace when
        // that instance committed in between).
        Err(CreateUserError::Exists(_)) => Ok(None),
        Err(_) if auth::find_user_by_name(&mut conn, "admin")?.is_some() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Everything `serve` does before listening; returns the state to serve.
pub fn prepare(config: Config) -> anyhow::Result<AppState> {
    let secret = ServerSecret::load_or_create(
        config.secret_key.as_ref().map(Secret::expose),
        &config.data_dir,
    )?;
    // One read-only connection per thread that serves requests (actix-web starts one
    // per CPU unless told), for reads that run in place (`Db::read`).
    let serving = config.workers.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let db = open_database(&config.database, config.db_pool_size)?
        .with_readers(u32::try_from(serving).unwrap_or(1).min(config.db_pool_size));
    if let Some(password) = ensure_admin(&db, config.admin_password.as_ref().map(Secret::expose))? {
        // Printed once, to stderr, never logged.
        eprintln!("Created user 'admin' (global administrator) with one-time password: {password}");
        eprintln!("Sign in and keep it safe; it will not be shown again.");
    }
    let state = AppState::new(config, db, &secret)?;
    let moved = crate::connectors::registry::unseal_plain_attributes(
        &mut *state.db.get()?,
        &state.catalog,
        &state.connector_sealer,
    )?;
    if moved > 0 {
        tracing::info!(
            connectors = moved,
            "moved identifiers (not secrets) out of sealed connector secrets"
        );
    }
    if state.config.demo {
        for user in demo::seed(&state.db, &state.catalog, &state.connector_sealer)? {
            let (name, role, password) = (user.name, user.role, user.password);
            eprintln!("Demo user '{name}' ({role}) password: {password}");
        }
    }
    Ok(state)
}

/// Writes the coalesced API-key `last_used_at` updates.
pub async fn flush_key_usage(state: &AppState) {
    let uses = state.key_usage.drain();
    if uses.is_empty() {
        return;
    }
    let written = state
        .db
        .run(move |conn| service_accounts::flush_key_usage(conn, &uses).map_err(db::DbError::from))
        .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, "recording API-key use failed");
    }
}

/// Writes the networks keys were used from, queuing `api_key.new_network` alerts.
pub async fn flush_key_networks(state: &AppState) {
    let pairs = state.key_networks.drain();
    if pairs.is_empty() {
        return;
    }
    let written = state
        .db
        .run(move |conn| {
            crate::alerts::record_networks(conn, &pairs, service_accounts::hygiene::key_names)
                .map_err(db::DbError::from)
        })
        .await;
    match written {
        Ok(0) => {}
        Ok(_) => state.alerts.wake(),
        Err(e) => tracing::warn!(error = %e, "could not record the networks keys were used from"),
    }
}

/// Queues the hygiene alerts due now (keys and connectors expiring, keys unused).
pub async fn scan_hygiene(state: &AppState) {
    let scanned = state
        .db
        .run(|conn| {
            let now = db::now_ms();
            let keys = service_accounts::hygiene::scan(conn, now)?;
            let connectors = crate::connectors::hygiene::scan(conn, now)?;
            Ok::<_, db::DbError>(keys + connectors)
        })
        .await;
    match scanned {
        Ok(0) => {}
        Ok(_) => state.alerts.wake(),
        Err(e) => tracing::warn!(error = %e, "could not scan for hygiene alerts"),
    }
}

/// Serves until Ctrl-C / SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.bind;
    let workers = config.workers;
    let public_url = config.public_url.clone();
    let database = config.database.redacted();
    let oidc = config.oidc.clone();
    let state = web::Data::new(prepare(config)?);
    if let Err(e) = state.db.checkpoint_in_background() {
        tracing::warn!(error = %e, "could not start the checkpointer: commits checkpoint by themselves");
    }
    let flusher = state.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            flush_key_usage(&flusher).await;
            flush_key_networks(&flusher).await;
        }
    });
    actix_web::rt::spawn(crate::alerts::worker::run(
        state.db.clone(),
        state.alerts.clone(),
    ));
    let housekeeping = state.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            housekeeping.login_limiter.shrink();
            let purged = housekeeping
                .db
                .run(|conn| {
                    auth::purge_expired(conn)?;
                    let before = db::now_ms() - crate::alerts::LOG_KEPT_MS;
                    crate::alerts::purge_done(conn, before).map_err(db::DbError::from)?;
                    service_accounts::purge_expired_reveals(conn).map_err(db::DbError::from)
                })
                .await;
            if let Err(e) = purged {
                tracing::warn!(error = %e, "housekeeping failed");
            }
            service_accounts::policy::enforce(&housekeeping).await;
            scan_hygiene(&housekeeping).await;
        }
    });
    let mut server = HttpServer::new(move || build_app(state.clone()))
        .bind(bind)
        .map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?;
    if let Some(n) = workers {
        server = server.workers(n);
    }
    let addrs = server.addrs();
    let listening = addrs
        .first()
        .map(|a| a.to_string())
        .unwrap_or_else(|| bind.to_string());
    tracing::info!(%listening, %database, "Portcullis started");
    if let Some(oidc) = &oidc {
        tracing::info!(issuer = %oidc.issuer, "OpenID Connect sign-in enabled");
        if oidc.allowed_groups.is_empty() {
            tracing::warn!(
                "PORTCULLIS_OIDC_ALLOWED_GROUPS is empty: every account the provider vouches for may sign in"
            );
        }
    }
    let login = public_url
        .join("/login")
        .map(|u| u.to_string())
        .unwrap_or_default();
    eprintln!("Portcullis is listening on http://{listening} — sign in at {login}");
    server.run().await?;
    Ok(())
}
