//! Who the client is behind a reverse proxy. `X-Forwarded-For` and `Forwarded` are
//! believed only from a configured proxy (any client can send them): the client is the
//! rightmost address in them that is not itself a trusted proxy, so a forged leftmost
//! entry changes nothing.

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// An address (`10.0.0.7`, `::1`) or a CIDR range (`10.0.0.0/8`).
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an IP address or CIDR range"))
}

/// The client of a request from `peer`: `peer` itself unless it is one of `trusted`,
/// else the rightmost untrusted address its forwarding headers name (`Forwarded`
/// first, then `X-Forwarded-For`); `peer` when they name none.
pub fn behind(peer: IpAddr, trusted: &[IpNet], headers: &HeaderMap) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut chain: Vec<IpAddr> = forwarded(headers);
    if chain.is_empty() {
        chain = x_forwarded_for(headers);
    }
    chain
        .into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

/// The `for=` addresses of every `Forwarded` header, in order (RFC 7239; quoted IPv6
/// in brackets, an optional port; obfuscated or `unknown` entries are skipped).
fn forwarded(headers: &HeaderMap) -> Vec<IpAddr> {
    headers
        .get_all("forwarded")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                key.eq_ignore_ascii_case("for")
                    .then(|| node_address(value))?
            })
        })
        .collect()
}

/// The addresses of every `X-Forwarded-For` header, in order.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(node_address)
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn node_address(text: &str) -> Option<IpAddr> {
    let t = text.trim().trim_matches('"');
    if let Ok(ip) = t.parse() {
        return Some(ip);
    }
    if let Some(rest) = t.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    t.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_proxy() {
        let proxies = [
            parse_network("10.0.0.0/8").unwrap(),
            parse_network("::1").unwrap(),
        ];
        let xff = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9")]);
        // From the proxy: the rightmost untrusted address (a forged left entry loses).
        assert_eq!(behind(ip("10.1.2.3"), &proxies, &xff), ip("203.0.113.9"));
        // From anyone else: the peer, whatever the headers say.
        assert_eq!(
            behind(ip("198.51.100.4"), &proxies, &xff),
            ip("198.51.100.4")
        );
        assert_eq!(behind(ip("10.1.2.3"), &[], &xff), ip("10.1.2.3"));
        // Chains of proxies, Forwarded with ports and IPv6, and nothing usable.
        let chained = headers(&[("x-forwarded-for", "203.0.113.9, 10.9.9.9")]);
        assert_eq!(behind(ip("::1"), &proxies, &chained), ip("203.0.113.9"));
        let fwd = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https",
        )]);
        assert_eq!(behind(ip("10.0.0.1"), &proxies, &fwd), ip("2001:db8::7"));
        let junk = headers(&[("x-forwarded-for", "unknown, _hidden")]);
        assert_eq!(behind(ip("10.0.0.1"), &proxies, &junk), ip("10.0.0.1"));
        assert!(parse_network("nope").is_err() && parse_network("192.0.2.0/24").is_ok());
    }
}
