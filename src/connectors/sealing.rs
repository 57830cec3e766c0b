//! Connector secrets at rest: sealed under the connector key with the row id as
//! associated data, opened for an edit, and re-sealed when the server secret rotates.

use serde_json::{Map, Value};

use super::repo;
use crate::crypto::Sealer;
use crate::db::DbConnection;
use crate::errors::{AppError, AppResult};

/// The associated data binding sealed secrets to their row.
fn aad(id: i64) -> Vec<u8> {
    format!("connector:{id}").into_bytes()
}

/// Seals a connector's secret attributes.
pub fn seal_secrets(sealer: &Sealer, id: i64, secrets: &Map<String, Value>) -> String {
    let plain = Value::Object(secrets.clone()).to_string();
    sealer.seal(plain.as_bytes(), &aad(id))
}

/// Opens a connector's secret attributes.
pub fn open_secrets(sealer: &Sealer, id: i64, sealed: &str) -> AppResult<Map<String, Value>> {
    let bytes = sealer.open(sealed, &aad(id)).map_err(|_| {
        AppError::internal(anyhow::anyhow!(
            "the secrets of connector {id} cannot be decrypted: was the server secret changed \
             without `portcullis secrets rekey`?"
        ))
    })?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(AppError::internal(anyhow::anyhow!(
            "the secrets of connector {id} are not a JSON object"
        ))),
    }
}

/// Re-encrypts every connector's secrets from `old` to `new` (server-secret rotation);
/// rows already sealed under `new` are left alone. Returns `(re-encrypted, already)`.
pub fn rekey(
    conn: &mut DbConnection,
    old: &Sealer,
    new: &Sealer,
) -> anyhow::Result<(usize, usize)> {
    crate::db::write_transaction(conn, |conn| {
        let mut done = (0, 0);
        for (id, sealed) in repo::all_sealed(conn)? {
            if new.open(&sealed, &aad(id)).is_ok() {
                done.1 += 1;
                continue;
            }
            let plain = old.open(&sealed, &aad(id)).map_err(|_| {
                anyhow::anyhow!(
                    "connector {id}: its secrets open with neither the old nor the new secret"
                )
            })?;
            repo::set_secrets(conn, id, &new.seal(&plain, &aad(id)))?;
            done.0 += 1;
        }
        Ok(done)
    })
}
