//! Dashboard pages of service accounts ([`accounts`]), their API keys ([`keys`]) and
//! the one-time reveal of a new key ([`reveal`]), and what those pages share.

mod accounts;
mod bindings;
mod keys;
mod reveal;
mod trust;

use actix_web::web;
use serde::Deserialize;

use super::accounts::Edit;
use super::api_keys::IssuedKey;
use crate::app::AppState;
use crate::db::{DbConnection, now_ms};
use crate::errors::{AppError, AppResult};
use crate::names::Address;

/// Routes. Each account's pages are under `/namespaces/{ns}/service-accounts/{name}`,
/// and also under the older `/service-accounts/{name}` (answered where the name is
/// unambiguous).
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    accounts::configure(cfg);
    for one in [
        "/namespaces/{ns}/service-accounts/{name}",
        "/service-accounts/{name}",
    ] {
        accounts::configure_one(cfg, one);
        bindings::configure(cfg, one);
        keys::configure(cfg, one);
        trust::configure(cfg, one);
    }
    cfg.service(web::resource("/reveal/{id}").get(reveal::show_reveal));
}

/// The page of the account at `at` (see `web::address_url`).
pub(super) fn address_url(at: &Address) -> String {
    crate::web::address_url("service-accounts", at)
}

/// Form of the active toggles (accounts and keys).
#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    active: String,
    back: Option<String>,
}

impl ActiveForm {
    /// The change the toggle asks for: the chosen flag.
    fn edit(&self) -> AppResult<Edit> {
        let active = match self.active.as_str() {
            "true" => true,
            "false" => false,
            _ => return Err(AppError::invalid("active", "must be true or false")),
        };
        Ok(Edit {
            description: None,
            active: Some(active),
        })
    }
}

/// Seals a new key's plaintext for the session `binding`; the reveal's id.
fn store_reveal(
    conn: &mut DbConnection,
    st: &AppState,
    binding: &str,
    issued: &IssuedKey,
) -> AppResult<String> {
    Ok(super::reveal::store(
        conn,
        &st.reveal_sealer,
        binding,
        &issued.plaintext,
        &format!("API key {}", issued.key.name),
        &issued.account.to_string(),
        now_ms(),
    )?)
}
