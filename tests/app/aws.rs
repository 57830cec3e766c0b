//! The AWS provider against the moto emulator (IAM enforced): verification, discovery and
//! issuing, called directly (no app, no database).
//!
//! The tests are `#[ignore]`d: tests/run.sh starts moto, names it in `TEST_AWS_*` and runs
//! them with `--include-ignored`, where a missing emulator fails them. Buckets are made
//! and checked with the emulator's own AWS CLI (`TEST_AWS_CLI`), independently of the
//! code under test. moto accepts AssumeRole credentials but not those of GetSessionToken
//! or GetFederationToken, and does not enforce session policies: those are checked by
//! shape here and by document in the provider's unit tests.

use std::process::Command;

use portcullis::connectors::providers::{Scope, Target, verify};
use portcullis::outbound::Outbound;
use rand::RngCore;
use serde_json::{Value, json};

use crate::fixtures::{self, issue, scope, sorted};
use crate::helpers::emulator_env;

fn outbound() -> Outbound {
    fixtures::outbound(true)
}

/// Credentials of `t` for `bucket`.
async fn issue_for(
    t: &Target,
    bucket: &str,
    lifetime: i64,
) -> Result<
    portcullis::connectors::providers::Issued,
    portcullis::connectors::providers::ProviderError,
> {
    issue(
        &outbound(),
        t,
        "s3-bucket",
        &format!("s3://{bucket}"),
        lifetime,
    )
    .await
}

/// A unique bucket name.
pub fn unique(prefix: &str) -> String {
    let mut bytes = [0u8; 6];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}-{}", hex::encode(bytes))
}

/// An AWS connector on moto with the test user's keys and `extra` attributes.
fn target(method: &str, resource_types: &[&str], extra: Value) -> Target {
    let mut config = json!({
        "region": emulator_env("TEST_AWS_REGION"),
        "endpoint_url": emulator_env("TEST_AWS_ENDPOINT"),
        "aws_access_key_id": emulator_env("TEST_AWS_ACCESS_KEY_ID"),
        "aws_secret_access_key": emulator_env("TEST_AWS_SECRET_ACCESS_KEY"),
    });
    if let (Value::Object(c), Value::Object(more)) = (&mut config, extra) {
        c.extend(more);
    }
    let bounds = match method {
        "session-token" | "federation-token" => Some((900, Some(129_600), 43_200)),
        "iam-role" => Some((900, None, 3600)),
        _ => None,
    };
    let mut t = fixtures::target("aws", method, resource_types, config);
    t.expiration_bounds = bounds;
    t
}

/// The emulator's AWS CLI with these keys, isolated from any AWS configuration of the
/// machine; its text output, or its error.
pub fn cli(keys: (&str, &str, Option<&str>), args: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new(emulator_env("TEST_AWS_CLI"));
    for var in [
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CA_BUNDLE",
        "AWS_ENDPOINT_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs([
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_MAX_ATTEMPTS", "1"),
        ("AWS_PAGER", ""),
        ("AWS_ACCESS_KEY_ID", keys.0),
        ("AWS_SECRET_ACCESS_KEY", keys.1),
    ]);
    if let Some(token) = keys.2 {
        cmd.env("AWS_SESSION_TOKEN", token);
    }
    let region = emulator_env("TEST_AWS_REGION");
    let endpoint = emulator_env("TEST_AWS_ENDPOINT");
    cmd.args([
        "--endpoint-url",
        &endpoint,
        "--region",
        &region,
        "--output",
        "text",
    ]);
    let output = cmd.args(args).output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

pub fn user_cli(args: &[&str]) -> String {
    let (id, secret) = (
        emulator_env("TEST_AWS_ACCESS_KEY_ID"),
        emulator_env("TEST_AWS_SECRET_ACCESS_KEY"),
    );
    cli((&id, &secret, None), args).unwrap_or_else(|e| panic!("aws {args:?}: {e}"))
}

pub fn create_bucket(name: &str) {
    user_cli(&["s3api", "create-bucket", "--bucket", name]);
}

/// The buckets as the CLI lists them, as `s3://` ids.
fn cli_buckets() -> Vec<String> {
    sorted(
        user_cli(&["s3api", "list-buckets", "--query", "Buckets[].Name"])
            .split_whitespace()
            .filter(|n| *n != "None")
            .map(|n| format!("s3://{n}")),
    )
}

fn s3_scope() -> Scope {
    scope("s3-bucket")
}

#[actix_web::test]
#[ignore = "needs the moto emulator (tests/run.sh starts it)"]
async fn verification_lists_exactly_the_buckets_that_exist() {
    let (a, b) = (unique("pc-verify-a"), unique("pc-verify-b"));
    create_bucket(&a);
    create_bucket(&b);
    // Other tests create buckets meanwhile: what verification lists lies between the
    // CLI's lists before and after.
    let before = cli_buckets();
    let t = target("secret-key", &["s3-bucket"], json!({}));
    let v = verify(&outbound(), &t, &s3_scope()).await;
    let after = cli_buckets();
    assert_eq!(v.error, None);
    assert_eq!(v.resources.len(), 1);
    assert_eq!(v.resources[0].error, None);
    let ids = v.resources[0].resource_ids.clone().unwrap();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "ids are sorted");
    for id in [format!("s3://{a}"), format!("s3://{b}")] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    assert!(
        before.iter().all(|id| ids.contains(id)),
        "{before:?} ⊆ {ids:?}"
    );
    assert!(
        ids.iter().all(|id| after.contains(id)),
        "{ids:?} ⊆ {after:?}"
    );
}

#[actix_web::test]
#[ignore = "needs the moto emulator (tests/run.sh starts it)"]
async fn every_resource_type_is_discovered() {
    // Not kubernetes-cluster: moto 5 refuses every signed EKS call under IAM enforcement
    // (SignatureDoesNotMatch, the AWS CLI's own calls included).
    let t = target(
        "secret-key",
        &["aws-generic", "s3-bucket", "docker-registry"],
        json!({}),
    );
    let v = verify(&outbound(), &t, &Scope::default()).await;
    assert_eq!(v.error, None);
    let region = emulator_env("TEST_AWS_REGION");
    for r in &v.resources {
        assert_eq!(r.error, None, "{}", r.resource_type);
        let ids = r.resource_ids.clone().unwrap();
        match r.resource_type.as_str() {
            "aws-generic" => assert_eq!(ids, [region.as_str()]),
            "docker-registry" => {
                assert_eq!(
                    ids,
                    [format!("123456789012.dkr.ecr.{region}.amazonaws.com")]
                );
            }
            _ => {}
        }
    }
}

#[actix_web::test]
#[ignore = "needs the moto emulator (tests/run.sh starts it)"]
async fn a_wrong_secret_fails_verification_without_showing_a_secret() {
    let wrong = "wrong-secret-0123456789abcdef0123456789abcdef";
    let t = target(
        "secret-key",
        &["s3-bucket"],
        json!({"aws_secret_access_key": wrong}),
    );
    let v = verify(&outbound(), &t, &Scope::default()).await;
    let error = v.error.expect("verification fails");
    assert!(error.contains("authentication failed"), "{error}");
    assert!(!error.contains(wrong), "{error}");
    assert!(
        !error.contains(&emulator_env("TEST_AWS_SECRET_ACCESS_KEY")),
        "{error}"
    );
    assert!(v.resources.iter().all(|r| r.resource_ids.is_none()));
}

#[actix_web::test]
#[ignore = "needs the moto emulator (tests/run.sh starts it)"]
async fn a_pinned_bucket_that_does_not_exist_is_not_reached() {
    let present = unique("pc-pinned");
    create_bucket(&present);
    let missing = format!("s3://{}", unique("pc-missing"));
    let mut t = target("secret-key", &["s3-bucket"], json!({}));
    t.resource_id = Some(missing.clone());
    let v = verify(&outbound(), &t, &Scope::default()).await;
    assert_eq!(v.error, None, "authentication works");
    let error = v.resources[0].error.clone().expect("not reached");
    assert!(
        error.contains(&missing) && error.contains("not among"),
        "{error}"
    );

    t.resource_id = Some(format!("s3://{present}"));
    let v = verify(&outbound(), &t, &Scope::default()).await;
    assert_eq!(v.resources[0].error, None);
}

/// Asserts the credential fields and an expiry within `lifetime` seconds from now.
fn assert_temporary(
    method: &str,
    issued: &portcullis::connectors::providers::Issued,
    lifetime: i64,
) {
    let keys: Vec<&str> = issued.credentials.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "aws_access_key_id",
            "aws_secret_access_key",
            "aws_session_token",
            "region",
            "endpoint_url"
        ],
        "{method}"
    );
    for k in [
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
    ] {
        let v = issued.credentials[k].as_str().unwrap();
        assert!(!v.is_empty(), "{method}: {k}");
    }
    assert_ne!(
        issued.credentials["aws_access_key_id"],
        emulator_env("TEST_AWS_ACCESS_KEY_ID"),
        "{method}: fresh keys, not the stored ones"
    );
    assert_eq!(
        issued.credentials["region"],
        emulator_env("TEST_AWS_REGION")
    );
    assert_eq!(
        issued.credentials["endpoint_url"],
        emulator_env("TEST_AWS_ENDPOINT")
    );
    let now = chrono::Utc::now().timestamp_millis();
    let expires_at = issued.expires_at.expect("temporary credentials expire");
    assert!(
        expires_at > now && expires_at <= now + lifetime * 1000 + 5_000,
        "{method}: expires {} s from now, asked {lifetime}",
        (expires_at - now) / 1000
    );
}

#[actix_web::test]
#[ignore = "needs the moto emulator (tests/run.sh starts it)"]
async fn session_and_federation_tokens_are_temporary_credentials() {
    let bucket = unique("pc-tokens");
    create_bucket(&bucket);
    for method in ["session-token", "federation-token"] {
        let t = target(method, &["s3-bucket"], json!({}));
        let lifetime = t.lifetime(Some(900));
        assert_eq!(lifetime, 900);
        let issued = issue_for(&t, &bucket, lifetime)
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        assert_temporary(method, &issued, lifetime);
    }
}

#[actix_web::test]
#[ignore = "needs the moto emulator (tests/run.sh starts it)"]
async fn role_credentials_really_reach_the_bucket() {
    let bucket = unique("pc-role");
    create_bucket(&bucket);
    let t = target(
        "iam-role",
        &["s3-bucket"],
        json!({"role_arn": emulator_env("TEST_AWS_ROLE_ARN")}),
    );
    let lifetime = t.lifetime(Some(7200));
    assert_eq!(lifetime, 7200, "the method has no maximum …");
    let issued = issue_for(&t, &bucket, lifetime).await.unwrap();
    assert_temporary("iam-role", &issued, 3600); // … but AssumeRole asks for at most 1 h
    let field = |k: &str| issued.credentials[k].as_str().unwrap().to_owned();
    let (id, secret, token) = (
        field("aws_access_key_id"),
        field("aws_secret_access_key"),
        field("aws_session_token"),
    );
    // The CLI, signing with the issued credentials, reaches the bucket …
    cli(
        (&id, &secret, Some(&token)),
        &["s3api", "head-bucket", "--bucket", &bucket],
    )
    .unwrap_or_else(|e| panic!("head-bucket with the role's credentials: {e}"));
    cli(
        (&id, &secret, Some(&token)),
        &["s3api", "list-objects-v2", "--bucket", &bucket],
    )
    .unwrap_or_else(|e| panic!("list-objects-v2 with the role's credentials: {e}"));
    // … and so does a connector storing them (sts-token).
    let mut sts = target(
        "sts-token",
        &["s3-bucket"],
        json!({"aws_access_key_id": id, "aws_secret_access_key": secret, "aws_session_token": token}),
    );
    sts.resource_id = Some(format!("s3://{bucket}"));
    let v = verify(&outbound(), &sts, &Scope::default()).await;
    assert_eq!(v.error, None);
    assert_eq!(v.resources[0].error, None);
    // The stored sts-token credentials are handed out as they are.
    let passed = issue(
        &outbound(),
        &sts,
        "s3-bucket",
        &format!("s3://{bucket}"),
        900,
    )
    .await
    .unwrap();
    assert_eq!(passed.expires_at, None);
    assert_eq!(
        passed.credentials["aws_session_token"],
        field("aws_session_token")
    );

    // Discovery for an iam-role connector runs as the role.
    let v = verify(&outbound(), &t, &s3_scope()).await;
    assert_eq!(v.error, None);
    let ids = v.resources[0].resource_ids.clone().unwrap();
    assert!(ids.contains(&format!("s3://{bucket}")), "{ids:?}");
}
