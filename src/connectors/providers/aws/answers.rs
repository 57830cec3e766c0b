//! Reading AWS answers: GetCallerIdentity, the credentials of AssumeRole,
//! GetSessionToken and GetFederationToken, ListBuckets pages, expirations.

use serde::Deserialize;

use super::super::ProviderError;
use super::endpoints::Service;
use super::is_account;
use super::session::Keys;

/// GetCallerIdentity's answer.
#[derive(Deserialize)]
pub(super) struct CallerIdentityResponse {
    #[serde(rename = "GetCallerIdentityResult")]
    result: CallerIdentity,
}

#[derive(Deserialize)]
pub(super) struct CallerIdentity {
    #[serde(rename = "Account")]
    account: String,
}

pub(super) fn parse_caller_account(xml: &str) -> Result<String, ProviderError> {
    let r: CallerIdentityResponse = xml_answer(Service::Sts, xml)?;
    let account = r.result.account.trim().to_owned();
    if is_account(&account) {
        Ok(account)
    } else {
        Err(ProviderError::Protocol(
            "STS: the caller's account is not a 12-digit id".to_owned(),
        ))
    }
}

/// The answer of AssumeRole, GetSessionToken and GetFederationToken.
#[derive(Deserialize)]
pub(super) struct StsCredentialsResponse {
    #[serde(
        rename = "AssumeRoleResult",
        alias = "GetSessionTokenResult",
        alias = "GetFederationTokenResult"
    )]
    result: StsCredentialsResult,
}

#[derive(Deserialize)]
pub(super) struct StsCredentialsResult {
    #[serde(rename = "Credentials")]
    credentials: StsCredentials,
}

/// Temporary credentials from STS.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct StsCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    pub(super) expiration: String,
}

impl StsCredentials {
    pub(super) fn keys(&self) -> Keys {
        Keys {
            access_key_id: self.access_key_id.trim().to_owned(),
            secret_access_key: self.secret_access_key.trim().to_owned(),
            session_token: Some(self.session_token.trim().to_owned()),
        }
    }
}

pub(super) fn parse_sts_credentials(xml: &str) -> Result<StsCredentials, ProviderError> {
    let r: StsCredentialsResponse = xml_answer(Service::Sts, xml)?;
    Ok(r.result.credentials)
}

/// One page of ListBuckets.
pub(super) struct Buckets {
    pub(super) ids: Vec<String>,
    pub(super) continuation_token: Option<String>,
}

pub(super) fn parse_buckets(xml: &str) -> Result<Buckets, ProviderError> {
    #[derive(Deserialize)]
    struct ListAllMyBucketsResult {
        #[serde(rename = "Buckets", default)]
        buckets: BucketList,
        #[serde(rename = "ContinuationToken")]
        continuation_token: Option<String>,
    }
    #[derive(Deserialize, Default)]
    struct BucketList {
        #[serde(rename = "Bucket", default)]
        bucket: Vec<Bucket>,
    }
    #[derive(Deserialize)]
    struct Bucket {
        #[serde(rename = "Name")]
        name: String,
    }
    let r: ListAllMyBucketsResult = xml_answer(Service::S3, xml)?;
    Ok(Buckets {
        ids: r
            .buckets
            .bucket
            .into_iter()
            .map(|b| format!("s3://{}", b.name.trim()))
            .collect(),
        continuation_token: r.continuation_token.filter(|t| !t.trim().is_empty()),
    })
}

pub(super) fn xml_answer<T: for<'de> Deserialize<'de>>(
    service: Service,
    xml: &str,
) -> Result<T, ProviderError> {
    quick_xml::de::from_str(xml).map_err(|_| {
        ProviderError::Protocol(format!(
            "{}: the answer is not the XML expected",
            service.label()
        ))
    })
}

/// When credentials expire: STS's `Expiration` (RFC 3339) in ms since the epoch.
pub(super) fn expires_at_ms(expiration: &str) -> Result<i64, ProviderError> {
    let s = expiration.trim();
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.timestamp_millis())
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|n| n.and_utc().timestamp_millis())
        })
        .map_err(|_| ProviderError::Protocol(format!("STS: the expiration {s:?} is not a date")))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_identity_gives_the_account() {
        let xml = r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::123456789012:user/portcullis</Arn>
    <UserId>AIDAEXAMPLEUSERID1234</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"#;
        assert_eq!(parse_caller_account(xml).unwrap(), "123456789012");
        let bad = xml.replace("123456789012</Account>", "12345</Account>");
        assert!(matches!(
            parse_caller_account(&bad),
            Err(ProviderError::Protocol(_))
        ));
        assert!(matches!(
            parse_caller_account("not xml"),
            Err(ProviderError::Protocol(_))
        ));
    }

    #[test]
    fn sts_credentials_are_read_from_each_issuing_call() {
        let body = |action: &str| {
            format!(
                r#"<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <{action}Result>
    <AssumedRoleUser>
      <AssumedRoleId>AROAEXAMPLE:portcullis-1</AssumedRoleId>
      <Arn>arn:aws:sts::123456789012:assumed-role/r/portcullis-1</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAEXAMPLEKEY</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey>
      <SessionToken>FwoGZXIvYXdzEXAMPLE==</SessionToken>
      <Expiration>2026-11-30T03:10:00Z</Expiration>
    </Credentials>
    <PackedPolicySize>12</PackedPolicySize>
  </{action}Result>
  <ResponseMetadata><RequestId>c6104cbe</RequestId></ResponseMetadata>
</{action}Response>"#
            )
        };
        for action in ["AssumeRole", "GetSessionToken", "GetFederationToken"] {
            let c = parse_sts_credentials(&body(action)).unwrap();
            assert_eq!(c.access_key_id, "ASIAEXAMPLEKEY", "{action}");
            assert_eq!(
                c.secret_access_key,
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
            );
            assert_eq!(c.session_token, "FwoGZXIvYXdzEXAMPLE==");
            assert_eq!(expires_at_ms(&c.expiration).unwrap(), 1_796_008_200_000);
        }
        assert!(parse_sts_credentials("<AssumeRoleResponse/>").is_err());
    }

    #[test]
    fn buckets_are_listed_as_s3_uris() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>webfile</DisplayName></Owner>
  <Buckets>
    <Bucket><Name>zeta-logs</Name><CreationDate>2026-01-02T03:04:05.000Z</CreationDate></Bucket>
    <Bucket><Name>alpha.data</Name><CreationDate>2026-01-02T03:04:05.000Z</CreationDate></Bucket>
  </Buckets>
  <ContinuationToken>next-page</ContinuationToken>
</ListAllMyBucketsResult>"#;
        let page = parse_buckets(xml).unwrap();
        assert_eq!(page.ids, ["s3://zeta-logs", "s3://alpha.data"]);
        assert_eq!(page.continuation_token.as_deref(), Some("next-page"));
        for empty in [
            "<ListAllMyBucketsResult><Owner><ID>x</ID></Owner><Buckets/></ListAllMyBucketsResult>",
            "<ListAllMyBucketsResult><Buckets></Buckets></ListAllMyBucketsResult>",
            "<ListAllMyBucketsResult></ListAllMyBucketsResult>",
        ] {
            let page = parse_buckets(empty).unwrap();
            assert!(
                page.ids.is_empty() && page.continuation_token.is_none(),
                "{empty}"
            );
        }
        let one = "<ListAllMyBucketsResult><Buckets><Bucket><Name>only</Name></Bucket></Buckets></ListAllMyBucketsResult>";
        assert_eq!(parse_buckets(one).unwrap().ids, ["s3://only"]);
    }

    #[test]
    fn expirations_are_read_as_milliseconds() {
        for (text, ms) in [
            ("2026-11-30T03:10:00Z", Some(1_796_008_200_000)),
            ("2026-11-30T03:10:00.250Z", Some(1_796_008_200_250)),
            ("2026-11-30T04:10:00+01:00", Some(1_796_008_200_000)),
            (" 2026-11-30T03:10:00 ", Some(1_796_008_200_000)),
            ("tomorrow", None),
            ("", None),
        ] {
            assert_eq!(expires_at_ms(text).ok(), ms, "{text:?}");
        }
    }
}
