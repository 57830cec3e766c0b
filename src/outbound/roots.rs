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
    use super::*;

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
