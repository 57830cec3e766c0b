//! Entries of the connector's `hostnames`: `host`, `host:port`, an IPv6 address, or
//! `[v6]:port`.

use std::net::Ipv6Addr;

use crate::connectors::providers::ProviderError;

/// SSH's port.
const DEFAULT_PORT: u16 = 22;

/// One host to log in to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Host {
    /// Host name or IP address (IPv6 without brackets).
    pub(crate) name: String,
    /// TCP port.
    pub(crate) port: u16,
}

/// Parses one `hostnames` entry.
pub(crate) fn parse(entry: &str) -> Result<Host, ProviderError> {
    let entry = entry.trim();
    let (name, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (v6, after) = rest.split_once(']').ok_or_else(|| invalid(entry))?;
        if v6.parse::<Ipv6Addr>().is_err() {
            return Err(invalid(entry));
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| invalid(entry))?),
        };
        (v6, port)
    } else if entry.matches(':').count() > 1 {
        if entry.parse::<Ipv6Addr>().is_err() {
            return Err(invalid(entry));
        }
        (entry, None)
    } else {
        match entry.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (entry, None),
        }
    };
    let is_name = |n: &str| {
        !n.is_empty()
            && n.len() <= 253
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'))
    };
    if !is_name(name) {
        return Err(invalid(entry));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
            ProviderError::Invalid(format!(
                "hostnames: {entry}: the port is not a number from 1 to 65535"
            ))
        })?,
    };
    Ok(Host {
        name: name.to_owned(),
        port,
    })
}

/// The connector's hostnames, trimmed, without blanks or repeats, in order.
pub(crate) fn entries(list: Vec<String>) -> Result<Vec<String>, ProviderError> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for entry in list {
        let entry = entry.trim();
        if !entry.is_empty() && !out.iter().any(|e| e == entry) {
            out.push(entry.to_owned());
        }
    }
    if out.is_empty() {
        return Err(ProviderError::Invalid(
            "the attribute hostnames is not set".into(),
        ));
    }
    Ok(out)
}

fn invalid(entry: &str) -> ProviderError {
    ProviderError::Invalid(format!(
        "hostnames: {entry} is not a host, host:port or [IPv6]:port"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, port: u16) -> Host {
        Host {
            name: name.into(),
            port,
        }
    }

    #[test]
    fn entries_name_a_host_and_maybe_a_port() {
        assert_eq!(
            parse("gpu-01.example.com").unwrap(),
            host("gpu-01.example.com", 22)
        );
        assert_eq!(parse(" gpu-01:2222 ").unwrap(), host("gpu-01", 2222));
        assert_eq!(parse("203.0.113.10").unwrap(), host("203.0.113.10", 22));
        assert_eq!(
            parse("203.0.113.10:22022").unwrap(),
            host("203.0.113.10", 22022)
        );
        assert_eq!(
            parse("[2001:db8::1]:2222").unwrap(),
            host("2001:db8::1", 2222)
        );
        assert_eq!(parse("[2001:db8::1]").unwrap(), host("2001:db8::1", 22));
        assert_eq!(parse("2001:db8::1").unwrap(), host("2001:db8::1", 22));
        for bad in [
            "",
            ":22",
            "host:",
            "host:0",
            "host:65536",
            "host:ssh",
            "user@host",
            "ssh://host",
            "[2001:db8::1",
            "[2001:db8::1]2222",
            "[not-v6]:22",
            "2001:db8::zz",
            "a b",
        ] {
            assert!(
                matches!(parse(bad), Err(ProviderError::Invalid(_))),
                "{bad:?} should be refused"
            );
        }
        let err = parse("host:99999").unwrap_err().to_string();
        assert!(err.contains("1 to 65535"), "{err}");
    }

    #[test]
    fn the_list_is_trimmed_and_deduplicated() {
        let list = vec![" a:2222".into(), "".into(), "b".into(), "a:2222 ".into()];
        assert_eq!(entries(list).unwrap(), vec!["a:2222", "b"]);
        assert!(entries(vec!["  ".into()]).is_err());
        assert!(entries(Vec::new()).is_err());
    }
}
