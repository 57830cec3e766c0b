//! The operator's extra certificate authorities (`PORTCULLIS_CONNECTOR_CA_FILE`), trusted
//! by connector calls on top of the public roots.

use reqwest::Client;

use super::{OutboundError, Policy};

/// Checks a PEM bundle of certificate authorities (for start-up): the number of
/// certificates, or an error when it holds none or one is not readable.
pub fn check_ca_bundle(pem: &str) -> Result<usize, OutboundError> {
    let invalid =
        || OutboundError::Config("the certificate authority bundle is not valid PEM".into());
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|_| invalid())?;
    if certs.is_empty() {
        return Err(OutboundError::Config(
            "the certificate authority bundle holds no certificate".into(),
        ));
    }
    // A certificate that does not parse would only fail later, at connection time.
    let client = certs
        .iter()
        .fold(Client::builder().no_proxy(), |b, c| {
            b.add_root_certificate(c.clone())
        })
        .build();
    client.map_err(|_| invalid())?;
    Ok(certs.len())
}

/// `b` trusting the policy's extra certificate authorities, if any.
pub(super) fn with_extra_roots(
    b: reqwest::ClientBuilder,
    policy: &Policy,
) -> Result<reqwest::ClientBuilder, OutboundError> {
    let Some(pem) = &policy.extra_ca_pem else {
        return Ok(b);
    };
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|_| {
        OutboundError::Config("the certificate authority bundle is not valid PEM".into())
    })?;
    Ok(certs
        .into_iter()
        .fold(b, reqwest::ClientBuilder::add_root_certificate))
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;

    use super::*;
    use crate::outbound::{Outbound, Tls};

    /// A CA (PEM) and an https server on 127.0.0.1 with a certificate it signed,
    /// answering every request with 204.
    async fn server() -> (String, String) {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "portcullis test CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca_pem = params.self_signed(&ca_key).unwrap().pem();
        let issuer = rcgen::Issuer::new(params, ca_key);
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = vec![rcgen::SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    continue;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let answer = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            }
        });
        (format!("https://127.0.0.1:{port}/"), ca_pem)
    }

    fn outbound(extra_ca_pem: Option<String>) -> Outbound {
        Outbound::new(Policy {
            allow_private: true,
            extra_ca_pem,
            ..Policy::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn the_extra_authorities_are_what_makes_tls_succeed() {
        let (url, ca_pem) = server().await;
        let plain = outbound(None);
        let client = plain.client(&Tls::default()).unwrap();
        let err = plain.send(client.get(&url)).await.unwrap_err();
        assert!(matches!(err, OutboundError::Tls { .. }), "{err:?}");

        let trusting = outbound(Some(ca_pem.clone()));
        let client = trusting.client(&Tls::default()).unwrap();
        let resp = trusting.send(client.get(&url)).await.unwrap();
        assert_eq!(resp.status(), 204);
        // A call pinned to its own authority trusts only that one.
        let pinned = Tls {
            ca_pem: Some(server().await.1),
            ..Tls::default()
        };
        let client = trusting.client(&pinned).unwrap();
        let err = trusting.send(client.get(&url)).await.unwrap_err();
        assert!(matches!(err, OutboundError::Tls { .. }), "{err:?}");
    }

    #[test]
    fn bundles_must_hold_readable_certificates() {
        let ca = rcgen::CertificateParams::new(vec!["ca.test".to_owned()])
            .unwrap()
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap()
            .pem();
        assert_eq!(check_ca_bundle(&format!("{ca}{ca}")), Ok(2));
        let err = check_ca_bundle("not a certificate")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no certificate"), "{err}");
        let broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(check_ca_bundle(broken).is_err());
    }
}
