//! Resolving a host for a non-HTTP connection (SSH): the same policy as the HTTP
//! resolver, for callers that then connect to exactly the addresses returned.

use std::net::{IpAddr, SocketAddr};

use super::{OutboundError, Policy, is_private, private_refused};

/// The addresses of `host:port`, resolved with tokio within `policy.timeout`; refused
/// when any of them is loopback or private unless `policy.allow_private`. Connect to
/// exactly these addresses, so that a DNS answer cannot smuggle a private target in.
pub async fn resolve_checked(
    host: &str,
    port: u16,
    policy: &Policy,
) -> Result<Vec<SocketAddr>, OutboundError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = if let Ok(ip) = bare.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, port)]
    } else {
        if bare.is_empty() {
            return Err(OutboundError::Refused("the host name is empty".into()));
        }
        let lookup = tokio::net::lookup_host((bare, port));
        match tokio::time::timeout(policy.timeout, lookup).await {
            Err(_) => {
                return Err(OutboundError::Timeout {
                    host: bare.to_owned(),
                    seconds: policy.timeout.as_secs(),
                });
            }
            Ok(Err(e)) => {
                return Err(OutboundError::Unreachable {
                    host: bare.to_owned(),
                    detail: format!("the name could not be resolved ({e})"),
                });
            }
            Ok(Ok(found)) => found.collect(),
        }
    };
    if addrs.is_empty() {
        return Err(OutboundError::Unreachable {
            host: bare.to_owned(),
            detail: "the name has no address".into(),
        });
    }
    if !policy.allow_private && addrs.iter().any(|a| is_private(a.ip())) {
        return Err(private_refused(bare));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow_private: bool) -> Policy {
        Policy {
            allow_private,
            ..Policy::default()
        }
    }

    #[tokio::test]
    async fn private_answers_are_refused_unless_allowed() {
        for host in [
            "127.0.0.1",
            "::1",
            "[::1]",
            "localhost",
            "10.0.0.7",
            "169.254.169.254",
        ] {
            let err = resolve_checked(host, 22, &policy(false)).await.unwrap_err();
            assert!(matches!(err, OutboundError::Refused(_)), "{host}: {err:?}");
            assert!(
                err.to_string()
                    .contains("PORTCULLIS_CONNECTOR_ALLOW_PRIVATE"),
                "{host}: {err}"
            );
        }
        let addrs = resolve_checked("localhost", 2222, &policy(true))
            .await
            .unwrap();
        assert!(!addrs.is_empty());
        assert!(
            addrs
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 2222)
        );
        assert_eq!(
            resolve_checked("[::1]", 22, &policy(true)).await.unwrap(),
            vec!["[::1]:22".parse::<SocketAddr>().unwrap()]
        );
    }

    #[tokio::test]
    async fn public_literals_pass_without_a_lookup() {
        assert_eq!(
            resolve_checked("203.0.114.9", 2200, &policy(false))
                .await
                .unwrap(),
            vec!["203.0.114.9:2200".parse::<SocketAddr>().unwrap()]
        );
    }

    #[tokio::test]
    async fn names_that_do_not_resolve_are_unreachable() {
        let err = resolve_checked("no-such-host.invalid", 22, &policy(true))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                OutboundError::Unreachable { .. } | OutboundError::Timeout { .. }
            ),
            "{err:?}"
        );
        let err = resolve_checked("", 22, &policy(true)).await.unwrap_err();
        assert!(matches!(err, OutboundError::Refused(_)), "{err:?}");
    }
}
