//! Users from an OpenID provider: found by `(issuer, subject)` — never by e-mail or by a
//! name the provider lets people choose — created on first sign-in, with their groups
//! refreshed at every sign-in.

use rand::RngCore;

use super::oidc::{Identity, username_base};
use super::{CreateUserError, repo};
use crate::audit::{self, Outcome};
use crate::db::{DbConnection, now_ms};
use crate::environments;
use crate::names::validate_name;

/// The outcome of a federated sign-in.
#[derive(Debug, PartialEq, Eq)]
pub enum SignIn {
    /// Signed in as this user.
    User {
        /// Row id.
        id: i64,
        /// User name.
        name: String,
        /// Whether the user was created now.
        created: bool,
    },
    /// The linked user is deactivated.
    Deactivated(String),
}

/// Options of the group mapping applied at sign-in.
#[derive(Debug, Clone, Copy)]
pub struct GroupOptions {
    /// Create namespace `G` for each group `G` that lacks one.
    pub create_group_namespaces: bool,
}

/// Finds or creates the user behind `identity`, replaces their groups and records the
/// sign-in; one transaction.
pub fn sign_in(
    conn: &mut DbConnection,
    identity: &Identity,
    options: GroupOptions,
    client: &str,
) -> Result<SignIn, CreateUserError> {
    crate::db::write_transaction(conn, |conn| {
        let now = now_ms();
        let existing = repo::find_identity_user(conn, &identity.issuer, &identity.subject)?;
        let (user_id, created) = match existing {
            Some(id) => {
                repo::touch_identity(
                    conn,
                    &identity.issuer,
                    &identity.subject,
                    identity.email.as_deref(),
                    now,
                )?;
                (id, false)
            }
            None => {
                let name = free_username(conn, identity)?;
                let actor = format!("oidc:{}", identity.issuer);
                let id = super::create_user(conn, &name, None, &name, true, false, &actor)?;
                repo::insert_identity(
                    conn,
                    id,
                    &identity.issuer,
                    &identity.subject,
                    identity.email.as_deref(),
                    now,
                )?;
                (id, true)
            }
        };
        let user = repo::find_user(conn, user_id)?.ok_or(diesel::result::Error::NotFound)?;
        let actor = format!("user:{}", user.name);
        if !user.active {
            audit::own(
                conn,
                &actor,
                "login",
                Outcome::Failure,
                Some(client),
                Some("oidc: account deactivated"),
            )?;
            return Ok(SignIn::Deactivated(user.name));
        }
        crate::access::replace_provider_groups(conn, user_id, &identity.groups, now)?;
        if options.create_group_namespaces {
            for group in identity.groups.iter().filter(|g| validate_name(g).is_ok()) {
                environments::ensure_namespace(
                    conn,
                    group,
                    &format!("Namespace of group {group} (OpenID Connect)."),
                )?;
            }
        }
        repo::update_last_login(conn, user_id, now)?;
        let detail = format!(
            "oidc {} ({} group{})",
            identity.issuer,
            identity.groups.len(),
            if identity.groups.len() == 1 { "" } else { "s" }
        );
        audit::own(
            conn,
            &actor,
            "login",
            Outcome::Success,
            Some(client),
            Some(&detail),
        )?;
        Ok(SignIn::User {
            id: user_id,
            name: user.name,
            created,
        })
    })
}

/// A name for a new federated user: the claim (cleaned), or with `-2`, `-3` … when a
/// user *or a namespace* of that name exists — the new user administers its primary
/// namespace, so it must never inherit someone else's.
fn free_username(conn: &mut DbConnection, identity: &Identity) -> Result<String, CreateUserError> {
    let base = username_base(identity.username.as_deref(), &identity.subject);
    let taken = |conn: &mut DbConnection, name: &str| -> diesel::QueryResult<bool> {
        Ok(repo::find_user_by_name(conn, name)?.is_some()
            || environments::namespace_exists(conn, name)?)
    };
    let mut candidates: Vec<String> = vec![base.clone()];
    candidates.extend((2..=20).map(|n| format!("{base}-{n}")));
    for _ in 0..5 {
        let mut bytes = [0u8; 4];
        rand::rng().fill_bytes(&mut bytes);
        candidates.push(format!("{base}-{}", hex::encode(bytes)));
    }
    for name in candidates {
        if validate_name(&name).is_ok() && !taken(conn, &name)? {
            return Ok(name);
        }
    }
    Err(CreateUserError::Invalid(
        "no free user name for this identity".into(),
    ))
}

/// Drops the memberships the provider reported for `identity`'s user, if it has one
/// (a sign-in refused because the user left every allowed group).
pub fn forget_provider_groups(
    conn: &mut DbConnection,
    identity: &Identity,
) -> diesel::QueryResult<()> {
    if let Some(user_id) = repo::find_identity_user(conn, &identity.issuer, &identity.subject)? {
        crate::access::replace_provider_groups(conn, user_id, &[], now_ms())?;
    }
    Ok(())
}
