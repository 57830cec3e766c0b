//! AWS connectors: STS, S3, EKS and ECR calls signed with SigV4 (the `aws-sigv4` crate),
//! answers read with `quick-xml` (query and S3 APIs) or `serde_json` (EKS, ECR).
//!
//! - `authenticate`: STS GetCallerIdentity.
//! - `discover`: S3 ListBuckets (`s3://name`), EKS ListClusters (names), ECR
//!   DescribeRegistry (`<account>.dkr.ecr.<region>.amazonaws.com`), the region for
//!   `aws-generic`. For `iam-role`, discovery runs as the role (what issued credentials
//!   reach), not as the stored key.
//! - `issue`: GetSessionToken, GetFederationToken or AssumeRole; the last two with a
//!   session policy down-scoped to the one resource asked for (see [`session_policy`]).
//!   `secret-key` and `sts-token` hand out the stored keys as they are.
//!
//! With `endpoint_url` set, every service is called at that one URL (S3 path-style): that
//! is how emulators and S3-compatible stores work. Otherwise the regional endpoints.

use serde_json::{Map, Value};
use url::Url;

use super::{Ask, Issued, ProviderError, Target};
use crate::outbound::Outbound;

mod answers;
mod endpoints;
mod errors;
mod policy;
mod session;

use answers::{expires_at_ms, parse_sts_credentials};
use endpoints::dns_suffix;
use policy::{configured_policies, grants, policy_arn_params, session_policy};
use session::{Keys, Session};

/// Longest AssumeRole session asked for (the default maximum of a role).
const ASSUME_ROLE_MAX_SECONDS: i64 = 3600;
/// Shortest session STS issues.
const STS_MIN_SECONDS: i64 = 900;

/// Proves the stored credentials: STS GetCallerIdentity.
pub(super) async fn authenticate(out: &Outbound, t: &Target) -> Result<(), ProviderError> {
    let s = Session::new(out, t)?;
    s.account().await.map(drop)
}

/// The resource ids of `resource_type` the connector reaches.
pub(super) async fn discover(
    out: &Outbound,
    t: &Target,
    resource_type: &str,
) -> Result<Option<Vec<String>>, ProviderError> {
    let s = Session::new(out, t)?;
    if resource_type == "aws-generic" {
        return Ok(Some(vec![s.region.clone()]));
    }
    known_type(resource_type)?;
    let s = if t.auth_method == "iam-role" {
        let role = s.assume_role(t, STS_MIN_SECONDS, None, &[]).await?;
        s.with_keys(role.keys())
    } else {
        s
    };
    let ids = match resource_type {
        "s3-bucket" => s.list_buckets().await?,
        "kubernetes-cluster" => s.list_clusters().await?,
        _ => vec![registry_host(&s.registry_account().await?, &s.region)],
    };
    Ok(Some(ids))
}

/// Credentials for the resource asked for, living `ask.lifetime` seconds where the
/// method issues temporary ones, down-scoped to that resource where it can be.
pub(super) async fn issue(
    out: &Outbound,
    t: &Target,
    ask: Ask<'_>,
) -> Result<Issued, ProviderError> {
    let (resource_type, resource_id) = (ask.resource_type, ask.resource_id);
    known_type(resource_type)?;
    let s = Session::new(out, t)?;
    let duration = ask.lifetime.max(STS_MIN_SECONDS);
    let creds = match t.auth_method.as_str() {
        "secret-key" | "sts-token" => {
            return Ok(Issued {
                credentials: credentials_map(&s.keys, &s.region, s.endpoint_url.as_ref()),
                expires_at: None,
            });
        }
        "session-token" => {
            let d = duration.to_string();
            let xml = s
                .sts(&[("Action", "GetSessionToken"), ("DurationSeconds", &d)])
                .await?;
            parse_sts_credentials(&xml)?
        }
        "federation-token" => {
            let account = if resource_type == "kubernetes-cluster" {
                Some(s.account().await?)
            } else {
                None
            };
            let grants = grants(resource_type, resource_id, &s.region, account.as_deref())?;
            let (policy, arns) = configured_policies(t)?;
            let policy = session_policy(&grants, policy.as_ref(), &arns)?;
            let name = session_name();
            let d = duration.to_string();
            let mut params = vec![
                ("Action", "GetFederationToken".to_owned()),
                ("Name", name),
                ("DurationSeconds", d),
                ("Policy", policy),
            ];
            params.extend(policy_arn_params(&arns));
            let xml = s.sts_owned(params).await?;
            parse_sts_credentials(&xml)?
        }
        "iam-role" => {
            let account = role_account(t.required("role_arn")?)?;
            let grants = grants(resource_type, resource_id, &s.region, Some(account))?;
            let (policy, arns) = configured_policies(t)?;
            let policy = session_policy(&grants, policy.as_ref(), &arns)?;
            s.assume_role(
                t,
                duration.min(ASSUME_ROLE_MAX_SECONDS),
                Some(policy),
                &arns,
            )
            .await?
        }
        _ => return Err(method_unsupported(t)),
    };
    Ok(Issued {
        credentials: credentials_map(&creds.keys(), &s.region, s.endpoint_url.as_ref()),
        expires_at: Some(expires_at_ms(&creds.expiration)?),
    })
}

/// A random session name (federated user name, role session name).
fn session_name() -> String {
    format!("portcullis-{:08x}", rand::random::<u32>())
}

/// Whether `s` is a 12-digit account id.
fn is_account(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

/// The ECR registry host of an account in a region.
fn registry_host(account: &str, region: &str) -> String {
    format!("{account}.dkr.ecr.{region}.{}", dns_suffix(region))
}

/// The account of a role ARN (`arn:aws:iam::123456789012:role/name`).
fn role_account(role_arn: &str) -> Result<&str, ProviderError> {
    role_arn
        .split(':')
        .nth(4)
        .filter(|a| is_account(a) && role_arn.starts_with("arn:"))
        .ok_or_else(|| {
            ProviderError::Invalid(
                "the attribute role_arn is not an IAM role ARN such as arn:aws:iam::123456789012:role/name"
                    .to_owned(),
            )
        })
}

/// Refuses resource types the connectors do not reach.
fn known_type(resource_type: &str) -> Result<(), ProviderError> {
    super::known_type(
        &[
            "aws-generic",
            "s3-bucket",
            "kubernetes-cluster",
            "docker-registry",
        ],
        "AWS connectors",
        resource_type,
    )
}

fn method_unsupported(t: &Target) -> ProviderError {
    if t.auth_method == "implicit" {
        ProviderError::Unsupported(
            "the implicit method would act with the Portcullis server's own AWS identity, \
             which this server does not use for connectors; store an access key \
             (iam-role, session-token or federation-token) instead"
                .to_owned(),
        )
    } else {
        ProviderError::Unsupported(format!(
            "{} is not an auth method of AWS connectors",
            t.auth_method
        ))
    }
}

/// The credential fields handed out.
fn credentials_map(keys: &Keys, region: &str, endpoint_url: Option<&Url>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "aws_access_key_id".into(),
        keys.access_key_id.clone().into(),
    );
    m.insert(
        "aws_secret_access_key".into(),
        keys.secret_access_key.clone().into(),
    );
    if let Some(token) = &keys.session_token {
        m.insert("aws_session_token".into(), token.clone().into());
    }
    m.insert("region".into(), region.into());
    if let Some(url) = endpoint_url {
        m.insert(
            "endpoint_url".into(),
            url.as_str().trim_end_matches('/').into(),
        );
    }
    m
}

/// A connector for unit tests.
#[cfg(test)]
fn target(method: &str, config: Value) -> Target {
    Target {
        name: "aws".into(),
        connector_type: "aws".into(),
        auth_method: method.into(),
        resource_types: vec!["s3-bucket".into()],
        resource_id: None,
        config: config.as_object().cloned().unwrap_or_default(),
        expiration_seconds: None,
        expiration_bounds: None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn passed_through_and_issued_credentials_have_the_same_fields() {
        let keys = Keys {
            access_key_id: "AKIA".into(),
            secret_access_key: "secret".into(),
            session_token: None,
        };
        let m = credentials_map(&keys, "eu-central-1", None);
        assert_eq!(
            m.keys().collect::<Vec<_>>(),
            ["aws_access_key_id", "aws_secret_access_key", "region"]
        );
        let url = Url::parse("http://127.0.0.1:4566/").unwrap();
        let with_token = Keys {
            session_token: Some("token".into()),
            ..keys
        };
        let m = credentials_map(&with_token, "eu-central-1", Some(&url));
        assert_eq!(
            Value::Object(m),
            json!({
                "aws_access_key_id": "AKIA",
                "aws_secret_access_key": "secret",
                "aws_session_token": "token",
                "region": "eu-central-1",
                "endpoint_url": "http://127.0.0.1:4566",
            })
        );
    }

    #[test]
    fn implicit_is_not_supported() {
        let out = Outbound::new(crate::outbound::Policy::default()).unwrap();
        let t = target("implicit", json!({"region": "eu-central-1"}));
        let err = Session::new(&out, &t).err().unwrap();
        assert!(matches!(err, ProviderError::Unsupported(_)), "{err:?}");
        assert!(err.to_string().contains("implicit"), "{err}");
    }

    #[test]
    fn role_accounts_come_from_the_arn() {
        assert_eq!(
            role_account("arn:aws:iam::123456789012:role/portcullis").unwrap(),
            "123456789012"
        );
        assert!(role_account("arn:aws:iam::12345:role/x").is_err());
        assert!(role_account("role/x").is_err());
    }
}
