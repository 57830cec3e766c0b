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
