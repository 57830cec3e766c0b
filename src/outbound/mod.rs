//! Outbound HTTP: the one way the server calls other hosts (connector providers), behind
//! the guards that make it a security boundary.
//!
//! - Only `http`/`https` URLs; `http` only to private hosts (on-premises endpoints and
//!   emulators), public hosts must speak TLS.
//! - Loopback, private, link-local (cloud metadata at 169.254.169.254), shared and other
//!   special-purpose addresses are refused unless private targets are allowed
//!   (`PORTCULLIS_CONNECTOR_ALLOW_PRIVATE=true`). The check runs on the *resolved*
//!   addresses, and the connection goes to exactly those addresses, so a DNS answer
//!   cannot smuggle a private target in; IP literals are checked before the request.
//! - Other protocols (SSH) resolve with [`resolve_checked`] under the same policy and
//!   connect to exactly the addresses it returns.
//! - Redirects are never followed; no proxy from the environment is used.
//! - Every call has a timeout; bodies are read up to a size limit.
//! - TLS is verified unless a caller asks for `insecure` (Kubernetes connectors can), and
//!   may be pinned to one certificate authority. Otherwise the public roots are trusted,
//!   plus the operator's extra authorities (`PORTCULLIS_CONNECTOR_CA_FILE`).
//!
//! Errors never carry the URL's query or any request header, so no secret leaks into a
//! message.

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Client, RequestBuilder, Response};
use url::Url;

mod addresses;
mod resolve;
mod roots;
pub use addresses::is_private;
pub use resolve::resolve_checked;
pub use roots::check_ca_bundle;
use roots::with_extra_roots;

/// Largest response body read.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Where outbound calls may go, how long they may take, and which certificate
/// authorities they trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Whether loopback and private addresses may be called.
    pub allow_private: bool,
    /// Limit for a whole call (connect, send, read).
    pub timeout: Duration,
    /// Extra certificate authorities (a PEM bundle) trusted on top of the public roots,
    /// except by calls pinned to their own authority.
    pub extra_ca_pem: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            allow_private: false,
            timeout: Duration::from_secs(10),
            extra_ca_pem: None,
        }
    }
}

/// TLS choices of one call.
#[derive(Debug, Clone, Default)]
pub struct Tls {
    /// Skip certificate verification (only where a connector says `insecure`).
    pub insecure: bool,
    /// Trust only this certificate authority (PEM).
    pub ca_pem: Option<String>,
    /// A client certificate and key (PEM, concatenated).
    pub identity_pem: Option<String>,
}

/// Why an outbound call failed, in words safe to show (no secrets, no query strings).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The URL is not one we call.
    #[error("{0}")]
    Refused(String),
    /// No answer in time.
    #[error("{host} did not answer within {seconds} s")]
    Timeout {
        /// Host called.
        host: String,
        /// The limit.
        seconds: u64,
    },
    /// TLS failed (certificate not trusted, wrong host name, handshake).
    #[error("TLS with {host} failed: {detail}")]
    Tls {
        /// Host called.
        host: String,
        /// What went wrong.
        detail: String,
    },
    /// The host could not be reached (DNS, refused connection, reset).
    #[error("{host} is unreachable: {detail}")]
    Unreachable {
        /// Host called.
        host: String,
        /// What went wrong.
        detail: String,
    },
    /// The answer was too large or not readable.
    #[error("{0}")]
    Body(String),
    /// The TLS settings could not be used (bad PEM).
    #[error("{0}")]
    Config(String),
}

/// The outbound client: one shared connection pool for calls with default TLS, and the
/// policy every call follows.
#[derive(Debug, Clone)]
pub struct Outbound {
    policy: Policy,
    shared: Client,
}

impl Outbound {
    /// A client following `policy`.
    pub fn new(policy: Policy) -> Result<Self, OutboundError> {
        let shared = with_extra_roots(builder(&policy), &policy)?
            .build()
            .map_err(config_error)?;
        Ok(Self { policy, shared })
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// A client for calls with `tls`; the shared one when `tls` asks for nothing special.
    pub fn client(&self, tls: &Tls) -> Result<Client, OutboundError> {
        if !tls.insecure && tls.ca_pem.is_none() && tls.identity_pem.is_none() {
            return Ok(self.shared.clone());
        }
        let mut b = builder(&self.policy).danger_accept_invalid_certs(tls.insecure);
        if let Some(pem) = &tls.ca_pem {
            let ca = reqwest::Certificate::from_pem(pem.as_bytes()).map_err(|_| {
                OutboundError::Config("the certificate authority is not valid PEM".into())
            })?;
            b = b.tls_built_in_root_certs(false).add_root_certificate(ca);
        } else {
            b = with_extra_roots(b, &self.policy)?;
        }
        if let Some(pem) = &tls.identity_pem {
            let id = reqwest::Identity::from_pem(pem.as_bytes()).map_err(|_| {
                OutboundError::Config("the client certificate and key are not valid PEM".into())
            })?;
            b = b.identity(id);
        }
        b.build().map_err(config_error)
    }

    /// Checks `url` against the policy (scheme, IP literals); host names are checked
    /// again on their resolved addresses when connecting.
    pub fn check_url(&self, url: &Url) -> Result<(), OutboundError> {
        let host = url
            .host()
            .ok_or_else(|| OutboundError::Refused(format!("{} has no host", redact(url))))?;
        let literal = match host {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        };
        let private = literal.is_some_and(is_private)
            || url
                .host_str()
                .is_some_and(|h| h.eq_ignore_ascii_case("localhost") || h.ends_with(".localhost"));
        match url.scheme() {
            "https" => {}
            "http" if private => {}
            "http" => {
                return Err(OutboundError::Refused(format!(
                    "{} must use https (plain http only reaches private endpoints)",
                    redact(url)
                )));
            }
            other => {
                return Err(OutboundError::Refused(format!(
                    "{other}: URLs are not called, only https"
                )));
            }
        }
        if private && !self.policy.allow_private {
            return Err(private_refused(&host.to_string()));
        }
        Ok(())
    }

    /// Sends a request built on a client from [`Outbound::client`], after checking its
    /// URL; redirects come back as they are (never followed).
    pub async fn send(&self, request: RequestBuilder) -> Result<Response, OutboundError> {
        let (client, request) = request.build_split();
        let request = request.map_err(|e| OutboundError::Refused(describe(&e, "")))?;
        self.check_url(request.url())?;
        let host = request.url().host_str().unwrap_or_default().to_owned();
        client
            .execute(request)
            .await
            .map_err(|e| self.classify(&e, &host))
    }

    /// Reads a response body, at most [`MAX_BODY_BYTES`].
    pub async fn read(&self, mut response: Response) -> Result<Vec<u8>, OutboundError> {
        let host = response.url().host_str().unwrap_or_default().to_owned();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.classify(&e, &host))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(OutboundError::Body(format!(
                    "{host} answered with more than {} MiB",
                    MAX_BODY_BYTES / (1024 * 1024)
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn classify(&self, e: &reqwest::Error, host: &str) -> OutboundError {
        if let Some(refused) = find::<OutboundError>(e) {
            return refused.clone();
        }
        if e.is_timeout() {
            return OutboundError::Timeout {
                host: host.to_owned(),
                seconds: self.policy.timeout.as_secs(),
            };
        }
        let detail = describe(e, host);
        let lower = detail.to_ascii_lowercase();
        if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
            return OutboundError::Tls {
                host: host.to_owned(),
                detail,
            };
        }
        OutboundError::Unreachable {
            host: host.to_owned(),
            detail,
        }
    }
}

/// The builder every client starts from.
fn builder(policy: &Policy) -> reqwest::ClientBuilder {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(policy.timeout)
        .connect_timeout(policy.timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("portcullis/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(Guarded {
            allow_private: policy.allow_private,
        }))
}

fn config_error(e: reqwest::Error) -> OutboundError {
    OutboundError::Config(format!("outbound client: {}", describe(&e, "")))
}

/// Resolves names and refuses private answers unless allowed.
struct Guarded {
    allow_private: bool,
}

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private && addrs.iter().any(|a| is_private(a.ip())) {
                return Err(Box::new(private_refused(&host)) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

fn private_refused(host: &str) -> OutboundError {
    OutboundError::Refused(format!(
        "{host} is a loopback or private address; connectors reach only public endpoints \
         unless PORTCULLIS_CONNECTOR_ALLOW_PRIVATE=true"
    ))
}

/// A URL without its query, fragment or credentials, for messages.
pub fn redact(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// The innermost error of type `T` in `e`'s chain.
fn find<'a, T: StdError + 'static>(e: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut cur: Option<&'a (dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

/// The most specific cause of `e`, without URLs.
fn describe(e: &reqwest::Error, host: &str) -> String {
    let mut cur: &(dyn StdError + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let text = cur.to_string();
    if text.is_empty() || text.contains("://") {
        format!("request to {host} failed")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(allow_private: bool, url: &str) -> Result<(), OutboundError> {
        let out = Outbound::new(Policy {
            allow_private,
            ..Policy::default()
        })
        .unwrap();
        out.check_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn urls_are_checked_for_scheme_and_private_literals() {
        assert!(checked(false, "https://sts.amazonaws.com/").is_ok());
        assert!(checked(false, "https://8.8.8.8/").is_ok());
        for url in [
            "http://127.0.0.1:9000/",
            "https://[::1]/",
            "https://169.254.169.254/latest/meta-data/",
            "http://localhost:5000/v2/",
            "https://10.0.0.5/",
        ] {
            let err = checked(false, url).unwrap_err().to_string();
            assert!(
                err.contains("PORTCULLIS_CONNECTOR_ALLOW_PRIVATE"),
                "{url}: {err}"
            );
            assert!(
                checked(true, url).is_ok(),
                "{url} allowed with allow_private"
            );
        }
        let err = checked(true, "http://example.com/")
            .unwrap_err()
            .to_string();
        assert!(err.contains("must use https"), "{err}");
        let err = checked(true, "ftp://example.com/").unwrap_err().to_string();
        assert!(err.contains("only https"), "{err}");
        let err = checked(true, "file:///etc/passwd").unwrap_err().to_string();
        assert!(
            err.contains("no host") || err.contains("only https"),
            "{err}"
        );
    }

    #[test]
    fn redacted_urls_lose_query_and_credentials() {
        let url = Url::parse("https://user:pw@host.example/path?token=secret#x").unwrap();
        assert_eq!(redact(&url), "https://host.example/path");
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_resolve_to_private_addresses() {
        use std::str::FromStr;
        // `localhost` resolves (from /etc/hosts, offline too) to loopback.
        let strict = Guarded {
            allow_private: false,
        };
        let err = match strict.resolve(Name::from_str("localhost").unwrap()).await {
            Ok(_) => panic!("localhost resolved although private targets are refused"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("PORTCULLIS_CONNECTOR_ALLOW_PRIVATE"), "{err}");
        let allowed = Guarded {
            allow_private: true,
        };
        let addrs: Vec<_> = allowed
            .resolve(Name::from_str("localhost").unwrap())
            .await
            .unwrap()
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }

    #[tokio::test]
    async fn redirects_are_not_followed_and_private_targets_work_when_allowed() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let answer = "HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n";
            s.write_all(answer.as_bytes()).await.unwrap();
        });
        let out = Outbound::new(Policy {
            allow_private: true,
            ..Policy::default()
        })
        .unwrap();
        let client = out.client(&Tls::default()).unwrap();
        let resp = out
            .send(client.get(format!("http://127.0.0.1:{port}/")))
            .await
            .unwrap();
        assert_eq!(resp.status(), 302, "the redirect comes back, unfollowed");

        let strict = Outbound::new(Policy::default()).unwrap();
        let err = strict
            .send(client.get(format!("http://127.0.0.1:{port}/")))
            .await
            .unwrap_err();
        assert!(matches!(err, OutboundError::Refused(_)), "{err:?}");
    }
}
