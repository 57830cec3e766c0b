//! What the provider tests share: outbound clients, connectors, verification checks, a
//! certificate authority with server certificates, and small HTTP(S) fixture servers on
//! 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use portcullis::connectors::providers::{
    self, Ask, Issued, ProviderError, Scope, Target, Verification,
};
use portcullis::outbound::{Outbound, Policy};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// An outbound client with the default policy, allowed to reach private addresses or not.
pub fn outbound(allow_private: bool) -> Outbound {
    Outbound::new(Policy {
        allow_private,
        ..Policy::default()
    })
    .unwrap()
}

/// Credentials for `resource_id` of `resource_type`, living `lifetime` seconds.
pub async fn issue(
    out: &Outbound,
    t: &Target,
    resource_type: &str,
    resource_id: &str,
    lifetime: i64,
) -> Result<Issued, ProviderError> {
    let ask = Ask {
        resource_type,
        resource_id,
        lifetime,
    };
    providers::issue(out, t, ask).await
}

/// A connector of `connector_type`/`method` reaching `resource_types` with `config`.
pub fn target(
    connector_type: &str,
    method: &str,
    resource_types: &[&str],
    config: Value,
) -> Target {
    Target::new(
        connector_type,
        method,
        resource_types,
        config.as_object().cloned().unwrap(),
    )
}

/// The scope of every resource of `resource_type`.
pub fn scope(resource_type: &str) -> Scope {
    Scope {
        resource_type: Some(resource_type.into()),
        resource_id: None,
    }
}

/// `ids`, sorted.
pub fn sorted(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort();
    ids
}

/// Asserts that verification succeeded and reached exactly `ids` (one resource type).
pub fn assert_reached(v: &Verification, ids: &[String]) {
    assert_eq!(v.error, None, "{v:?}");
    assert_eq!(v.resources.len(), 1, "{v:?}");
    assert_eq!(v.resources[0].error, None, "{v:?}");
    assert_eq!(v.resources[0].resource_ids.as_deref(), Some(ids), "{v:?}");
}

/// The error verification failed with.
pub fn failure(v: &Verification) -> String {
    v.error
        .clone()
        .unwrap_or_else(|| panic!("verification should have failed: {v:?}"))
}

/// A certificate authority for fixtures.
pub struct Ca {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pub pem: String,
}

pub fn ca(name: &str) -> Ca {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Ca {
        issuer: rcgen::Issuer::new(params, key),
        pem: cert.pem(),
    }
}

impl Ca {
    /// A TLS server for 127.0.0.1 named `common_name`, its certificate signed by this CA.
    pub fn acceptor(&self, common_name: &str) -> TlsAcceptor {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = vec![rcgen::SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))];
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
        TlsAcceptor::from(Arc::new(config))
    }
}

/// A fixture's answer: the status line's end (`200 OK`), extra header lines (each
/// ending in CRLF) and a JSON body.
pub type Answer = (&'static str, String, String);

/// Serves `answer(head, body)` to every request on 127.0.0.1, over TLS when `tls` is
/// given: the server's origin (`http(s)://127.0.0.1:port`).
pub async fn serve<F>(tls: Option<TlsAcceptor>, answer: F) -> String
where
    F: Fn(&str, &[u8]) -> Answer + Send + Sync + 'static,
{
    let (listener, origin) = listen(tls.is_some()).await;
    serve_on(listener, tls, answer);
    origin
}

/// A listener on 127.0.0.1 and its origin, for a fixture whose answers name it.
pub async fn listen(tls: bool) -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let scheme = if tls { "https" } else { "http" };
    (listener, format!("{scheme}://127.0.0.1:{port}"))
}

/// Serves `answer(head, body)` to every request on `listener` (see [`serve`]).
pub fn serve_on<F>(listener: TcpListener, tls: Option<TlsAcceptor>, answer: F)
where
    F: Fn(&str, &[u8]) -> Answer + Send + Sync + 'static,
{
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (tls, answer) = (tls.clone(), answer.clone());
            tokio::spawn(async move {
                match tls {
                    // A client that distrusts the certificate ends the handshake: fine.
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            exchange(stream, answer.as_ref()).await;
                        }
                    }
                    None => exchange(tcp, answer.as_ref()).await,
                }
            });
        }
    });
}

/// Reads one request from `s` and writes its answer.
async fn exchange<S, F>(mut s: S, answer: &F)
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: Fn(&str, &[u8]) -> Answer,
{
    let Some((head, body)) = read_request(&mut s).await else {
        return;
    };
    let (status, headers, body) = answer(&head, &body);
    let response = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.write_all(response.as_bytes()).await;
    let _ = s.shutdown().await;
}

/// One HTTP/1.1 request: the head (request line and headers) and the body.
async fn read_request<S: AsyncRead + Unpin>(s: &mut S) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..end].to_vec()).ok()?;
    let length: usize = header(&head, "content-length").map_or(0, |l| l.parse().unwrap_or(0));
    let mut body = buf[end..].to_vec();
    while body.len() < length {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

/// A header of a request head.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}
