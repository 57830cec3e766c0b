//! Connector secrets at rest: sealed under the connector key with the row id as
//! associated data, opened for an edit, and re-sealed when the server secret rotates.

use serde_json::{Map, Value};

use super::catalog::Catalog;
use super::repo;
use super::validate::HIDDEN;
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

/// Moves the attributes the catalog does not mark secret (an access key ID, a user name,
/// a CA certificate: identifiers, not credentials) out of each connector's sealed
/// secrets into its plain configuration, where forms show them and nobody has to type
/// them again. Connectors registered while the catalog sealed them need this once; it
/// runs at every start and decrypts only rows whose configuration still hides such an
/// attribute. A row that cannot be opened (a server secret changed without a rekey) is
/// left as it is, with a warning. Returns how many connectors changed.
pub fn unseal_plain_attributes(
    conn: &mut DbConnection,
    catalog: &Catalog,
    sealer: &Sealer,
) -> anyhow::Result<usize> {
    crate::db::write_transaction(conn, |conn| {
        let mut changed = 0;
        for (id, (kind, method), configuration) in repo::all_classified(conn)? {
            let Some(m) = catalog.get(&kind).and_then(|t| t.auth_method(&method)) else {
                continue;
            };
            let Ok(Value::Object(mut plain)) = serde_json::from_str::<Value>(&configuration) else {
                continue;
            };
            let hidden_plain: Vec<String> = m
                .attributes()
                .into_iter()
                .filter(|a| !a.secret && plain.get(&a.name).and_then(Value::as_str) == Some(HIDDEN))
                .map(|a| a.name)
                .collect();
            if hidden_plain.is_empty() {
                continue;
            }
            let sealed = repo::sealed_of(conn, id)?;
            let mut secrets = match open_secrets(sealer, id, &sealed) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(connector = id, error = %e, "cannot move plain attributes out of its secrets");
                    continue;
                }
            };
            for name in hidden_plain {
                match secrets.remove(&name) {
                    Some(value) => plain.insert(name, value),
                    None => plain.remove(&name),
                };
            }
            let configuration = Value::Object(plain).to_string();
            repo::set_attributes(
                conn,
                id,
                &configuration,
                &seal_secrets(sealer, id, &secrets),
            )?;
            changed += 1;
        }
        Ok(changed)
    })
}
