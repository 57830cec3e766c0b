//! "Key used from a new network": the networks (/24 for IPv4, /64 for IPv6) each API
//! key has been used from. Authentication only looks in memory; networks not seen by
//! this instance yet are queued and written by the background flush, which alerts
//! (`api_key.new_network`) when a key that already had networks shows up from another.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Mutex;

use diesel::prelude::*;
use ipnet::IpNet;
use serde_json::json;

use crate::db::schema::api_key_networks;
use crate::db::{DbConnection, now_ms};

/// Pairs remembered in memory before the set starts over (bounded memory).
const MAX_SEEN: usize = 100_000;

/// The network a client address belongs to, for this purpose.
pub fn network_of(client: &str) -> Option<String> {
    client.parse().ok().and_then(network).map(|n| n.to_string())
}

/// Key-and-network pairs seen by this instance, and those still to write.
#[derive(Default)]
pub struct NetworkTracker {
    seen: Mutex<HashSet<(i64, IpNet)>>,
    pending: Mutex<Vec<(i64, String, i64)>>,
}

/// The network of `ip` (`/24`, `/64`).
fn network(ip: IpAddr) -> Option<IpNet> {
    let prefix = if ip.is_ipv4() { 24 } else { 64 };
    IpNet::new(ip, prefix).ok().map(|n| n.trunc())
}

impl NetworkTracker {
    /// Notes that key `key` (row id) was used from `client`; a lookup without an
    /// allocation when seen before.
    pub fn touch(&self, key: i64, client: &str) {
        let Some(net) = client.parse().ok().and_then(network) else {
            return;
        };
        {
            let Ok(mut seen) = self.seen.lock() else {
                return;
            };
            if !seen.insert((key, net)) {
                return;
            }
            if seen.len() > MAX_SEEN {
                seen.clear();
            }
        }
        if let Ok(mut pending) = self.pending.lock() {
            pending.push((key, net.to_string(), now_ms()));
        }
    }

    /// Takes the pairs to write.
    pub fn drain(&self) -> Vec<(i64, String, i64)> {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }
}

/// Writes `pairs` (key row id, network, first seen); for each pair new to the database
/// whose key had other networks, `describe(key)` names the key (`(namespace, account,
/// key)`) and an `api_key.new_network` alert is queued. The alerts queued.
pub fn record(
    conn: &mut DbConnection,
    pairs: &[(i64, String, i64)],
    describe: impl Fn(&mut DbConnection, i64) -> QueryResult<Option<(String, String, String)>>,
) -> QueryResult<usize> {
    let mut alerts = 0;
    for (key, network, at) in pairs {
        let known: i64 = api_key_networks::table
            .filter(api_key_networks::api_key_id.eq(key))
            .count()
            .get_result(conn)?;
        let seen = api_key_networks::table
            .filter(api_key_networks::api_key_id.eq(key))
            .filter(api_key_networks::network.eq(network));
        if diesel::select(diesel::dsl::exists(seen)).get_result(conn)? {
            continue;
        }
        let inserted = super::insert_once(conn, |conn| {
            diesel::insert_into(api_key_networks::table)
                .values((
                    api_key_networks::api_key_id.eq(key),
                    api_key_networks::network.eq(network),
                    api_key_networks::first_seen_at.eq(at),
                ))
                .execute(conn)
        })?;
        if inserted == 0 || known == 0 {
            continue;
        }
        if let Some((namespace, account, name)) = describe(conn, *key)? {
            alerts += super::enqueue(
                conn,
                &namespace,
                "api_key.new_network",
                &format!("api_key.new_network:{key}:{network}"),
                json!({
                    "service_account": account,
                    "api_key": name,
                    "network": network,
                    "known_networks": known,
                }),
            )?;
        }
    }
    Ok(alerts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_slash_24_and_slash_64_and_seen_once() {
        assert_eq!(network_of("10.1.2.3").as_deref(), Some("10.1.2.0/24"));
        assert_eq!(
            network_of("2001:db8:1:2:3::9").as_deref(),
            Some("2001:db8:1:2::/64")
        );
        assert_eq!(network_of("unknown"), None);
        let t = NetworkTracker::default();
        t.touch(1, "10.1.2.3");
        t.touch(1, "10.1.2.200");
        t.touch(2, "10.1.2.3");
        t.touch(1, "10.1.3.1");
        let drained: Vec<(i64, String)> = t.drain().into_iter().map(|(k, n, _)| (k, n)).collect();
        assert_eq!(
            drained,
            [
                (1, "10.1.2.0/24".into()),
                (2, "10.1.2.0/24".into()),
                (1, "10.1.3.0/24".into())
            ]
        );
        assert!(t.drain().is_empty());
    }
}
