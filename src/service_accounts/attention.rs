//! What about service accounts needs attention, for the overview: keys that expire
//! soon, keys never used or unused for 90 days, and accounts that hold no binding.

use super::keys::EXPIRY_WARNING_MS;
use super::repo;
use crate::access::{self, Grants, KIND_SERVICE_ACCOUNT};
use crate::db::DbConnection;
use crate::errors::AppResult;
use crate::web::attention::Attention;
use crate::web::format::when;

/// A key unused this long needs a look (it may be forgotten, or leaked and idle).
const UNUSED_MS: i64 = 90 * 24 * 60 * 60 * 1000;
/// Most lines of each kind.
const MOST: i64 = 20;

/// What needs attention among the accounts and keys `grants` may read, at `now`.
pub fn needing_attention(
    conn: &mut DbConnection,
    grants: &Grants,
    now: i64,
) -> AppResult<Vec<Attention>> {
    let bounds = (now.saturating_add(EXPIRY_WARNING_MS), now - UNUSED_MS);
    let mut out = Vec::new();
    for ((ns, account), key) in repo::keys_needing_attention(conn, grants, bounds, MOST)? {
        let what = match (key.expires_at, key.last_used_at) {
            (Some(at), _) if at <= now => format!("expired {}", when(Some(at))),
            (Some(at), _) if at < bounds.0 => format!("expires {}", when(Some(at))),
            (_, None) => format!(
                "has never been used (created {})",
                when(Some(key.created_at))
            ),
            (_, last) => format!("has not been used since {}", when(last)),
        };
        out.push(Attention {
            what: format!("Key {} of {ns}/{account} {what}", key.name),
            href: super::account_url(&ns, &account),
        });
    }
    let holding = access::principals_holding(conn, KIND_SERVICE_ACCOUNT)?;
    for (ns, account) in repo::accounts_holding_nothing(conn, grants, &holding, MOST)? {
        out.push(Attention {
            what: format!("{ns}/{account} has no role bindings: its keys can read nothing"),
            href: format!("{}#access", super::account_url(&ns, &account)),
        });
    }
    Ok(out)
}
