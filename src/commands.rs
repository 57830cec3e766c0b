//! The command-line commands other than `serve`.

use std::io::BufRead;

use crate::auth;
use crate::cli::CommonArgs;
use crate::config::Config;
use crate::server::open_database;

/// `portcullis migrate`
pub fn migrate(common: &CommonArgs) -> anyhow::Result<()> {
    let url = Config::database_from(common).map_err(anyhow::Error::msg)?;
    open_database(&url, 1)?;
    eprintln!("Migrations applied to {}", url.redacted());
    Ok(())
}

/// `portcullis user create NAME [--admin] [--password-stdin]`
pub fn create_user(
    common: &CommonArgs,
    name: &str,
    admin: bool,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let url = Config::database_from(common).map_err(anyhow::Error::msg)?;
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        (line.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else {
        (auth::random_password(), true)
    };
    let hash = auth::hash_new_password(&password)?;
    let db = open_database(&url, 1)?;
    let mut conn = db.get()?;
    auth::create_local_user(&mut conn, name, Some(&hash), admin, "cli")?;
    eprintln!(
        "Created user '{name}'{}",
        if admin { " (global administrator)" } else { "" }
    );
    if generated {
        eprintln!("One-time password: {password}");
    }
    Ok(())
}

/// `portcullis secrets rekey [--old-secret-key-file PATH]`: re-encrypts connector
/// secrets from the previous server secret to the configured one, in one transaction.
pub fn rekey(common: &CommonArgs, old_file: Option<&std::path::Path>) -> anyhow::Result<()> {
    use crate::connectors::{SECRETS_KEY_LABEL, registry};
    use crate::crypto::Sealer;
    use crate::secrets::ServerSecret;

    let old_text = match (old_file, std::env::var("PORTCULLIS_OLD_SECRET_KEY")) {
        (Some(path), _) => std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?,
        (None, Ok(text)) if !text.is_empty() => text,
        _ => anyhow::bail!(
            "give the previous server secret in PORTCULLIS_OLD_SECRET_KEY or --old-secret-key-file"
        ),
    };
    let old = ServerSecret::from_text(&old_text)
        .map_err(|e| anyhow::anyhow!("the previous secret: {e}"))?;
    let new = ServerSecret::load_or_create(common.secret_key.as_deref(), &common.data_dir)?;
    if old.same_as(&new) {
        anyhow::bail!("the previous and the configured server secret are the same");
    }
    let url = Config::database_from(common).map_err(anyhow::Error::msg)?;
    let db = open_database(&url, 1)?;
    let mut conn = db.get()?;
    let (done, already) = registry::rekey(
        &mut conn,
        &Sealer::new(&old.derive(SECRETS_KEY_LABEL)),
        &Sealer::new(&new.derive(SECRETS_KEY_LABEL)),
    )?;
    eprintln!(
        "Re-encrypted the secrets of {done} connector{} ({already} already used the configured secret).",
        if done == 1 { "" } else { "s" }
    );
    Ok(())
}
