//! Leaked keys: a key reported as leaked (by GitHub's secret scanning, or by anyone
//! holding it) is deactivated at once, its tokens revoked, the report audited with
//! where it leaked, and its namespace alerted (`api_key.leaked`).

use diesel::prelude::*;
use serde_json::json;

use super::keys;
use super::repo::{self, KeyRef};
use crate::audit;
use crate::credential::{self, CredentialKind};
use crate::db::schema::api_keys;
use crate::db::{DbConnection, now_ms, write_transaction};
use crate::errors::AppResult;

/// A key found and deactivated: `namespace/account` and the key's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    /// `namespace/account`.
    pub account: String,
    /// The key's name.
    pub key: String,
}

/// Where a leak was seen, as the report says.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Who reported it (`github`, `self-service`).
    pub reporter: String,
    /// Where it was found (a URL), if said.
    pub url: String,
    /// What kind of place (`content`, `commit`, `issue`…), if said.
    pub source: String,
    /// The reporter's address.
    pub client: String,
}

/// Deactivates the key whose plaintext is `text` (current secret, or the previous one
/// in its grace window) and revokes its tokens; `None` when `text` is no such key. A
/// key already inactive is reported again (audited) but changes nothing else.
pub fn revoke_leaked(
    conn: &mut DbConnection,
    pepper: &[u8; 32],
    text: &str,
    report: &Report,
) -> AppResult<Option<Revoked>> {
    let Some(presented) =
        credential::parse(text.trim()).filter(|p| p.kind == CredentialKind::ApiKey)
    else {
        return Ok(None);
    };
    let Some((key, account, namespace)) =
        repo::find_key_for_auth(conn, KeyRef::Public(presented.id))?
    else {
        return Ok(None);
    };
    let hash = presented.secret_hash(pepper);
    // The secrets that still work: the current one, or the previous in its grace
    // window. A secret rotated out for good opens nothing, so reporting it changes
    // nothing (else whoever found an old secret could switch the key off at will).
    let matches = keys::match_secret(
        &hash,
        &key.secret_hash,
        key.previous_secret_hash.as_deref(),
        key.retain_until,
        now_ms(),
    );
    if matches.is_none() {
        return Ok(None);
    }
    let revoked = Revoked {
        account: format!("{namespace}/{}", account.name),
        key: key.name.clone(),
    };
    write_transaction(conn, |conn| -> AppResult<()> {
        diesel::update(api_keys::table.find(key.id))
            .set(api_keys::active.eq(false))
            .execute(conn)?;
        crate::auth::delete_key_tokens(conn, &[key.id])?;
        let target = format!("api_key:{}/{}", revoked.account, revoked.key);
        let actor = format!("leak-report:{}", report.reporter);
        let detail = format!(
            "reported leaked{}{}; deactivated{}",
            if report.url.is_empty() {
                String::new()
            } else {
                format!(" at {}", report.url)
            },
            if report.source.is_empty() {
                String::new()
            } else {
                format!(" ({})", report.source)
            },
            if key.active { "" } else { " already" },
        );
        let event = audit::Event::new(&actor, "api_key.leaked", &target, audit::Outcome::Success);
        let event = event.from(Some(&report.client)).detail(Some(&detail));
        audit::record(conn, &event.within(Some(&namespace)))?;
        let data = json!({
            "service_account": account.name,
            "api_key": key.name,
            "reporter": report.reporter,
            "url": report.url,
            "source": report.source,
            "action": "deactivated; its tokens revoked",
        });
        let dedupe = format!("api_key.leaked:{}:{}", key.id, now_ms());
        crate::alerts::enqueue(conn, &namespace, "api_key.leaked", &dedupe, data)?;
        Ok(())
    })?;
    Ok(Some(revoked))
}
