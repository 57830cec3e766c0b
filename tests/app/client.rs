//! `portcullis credentials …` against the real binary serving, the emulators behind
//! its connectors, and the real clients: the AWS CLI through `credential_process`, and
//! the Docker credential-helper protocol (checked against the registry itself).

use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::aws::{create_bucket, unique};
use crate::helpers::{TestDb, emulator_env};
use crate::running::{Running, run_with_stdin};

/// A server that lets connectors reach the emulators, with a service account `ci`
/// (developer in `default`) and its API key.
fn server_with_a_ci_key(db: &TestDb) -> (Running, String, String) {
    let server = Running::start(
        db,
        "warn",
        &[("PORTCULLIS_CONNECTOR_ALLOW_PRIVATE", "true")],
    );
    let admin = server.admin_token();
    let (status, body) = server.http(
        "POST",
        "/api/v1/service-accounts",
        Some(&admin),
        Some(r#"{"name":"ci","namespace":"default"}"#),
    );
    assert_eq!(status, 201, "{body}");
    let bindings = r#"{"default/*":["developer"]}"#;
    let path = "/api/v1/service-accounts/ci/role-bindings";
    let (status, body) = server.http("PUT", path, Some(&admin), Some(bindings));
    assert_eq!(status, 200, "{body}");
    let key = server.api_key(&admin, "ci");
    (server, admin, key)
}

/// Registers `connector` (JSON) as the admin.
fn register(server: &Running, admin: &str, connector: Value) {
    let body = connector.to_string();
    let (status, answer) = server.http("POST", "/api/v1/connectors", Some(admin), Some(&body));
    assert_eq!(status, 201, "{answer}");
}

/// `portcullis credentials <args>` with the server and key in the environment only.
fn credentials(server: &Running, key: &str, args: &[&str], stdin: &str) -> Output {
    run_as(env!("CARGO_BIN_EXE_portcullis"), server, key, args, stdin)
}

fn run_as(program: &str, server: &Running, key: &str, args: &[&str], stdin: &str) -> Output {
    run_with_stdin(
        Command::new(program)
            .env_clear()
            .env("PORTCULLIS_URL", server.url())
            .env("PORTCULLIS_API_KEY", key)
            .args(args),
        stdin.as_bytes(),
    )
}

/// The AWS CLI with only the `portcullis` profile of `config` (its credential_process
/// asking `server` with `key`).
fn aws_cli(db: &TestDb, config: &std::path::Path, server: &Running, key: &str) -> Command {
    let mut cli = Command::new(emulator_env("TEST_AWS_CLI"));
    cli.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", db.dir.path())
        .env("AWS_CONFIG_FILE", config)
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_PROFILE", "portcullis")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("PORTCULLIS_URL", server.url())
        .env("PORTCULLIS_API_KEY", key)
        .args(["--endpoint-url", &emulator_env("TEST_AWS_ENDPOINT")]);
    cli
}

fn stdout_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
#[ignore = "needs the moto emulator and the AWS CLI (tests/run.sh starts them)"]
fn the_aws_cli_reads_a_bucket_with_credentials_from_credential_process() {
    let db = TestDb::new();
    let (server, admin, key) = server_with_a_ci_key(&db);
    let bucket = unique("pc-cli");
    create_bucket(&bucket);
    register(
        &server,
        &admin,
        json!({"name": "moto-role", "connector_type": "aws", "auth_method": "iam-role",
               "resource_types": ["s3-bucket"],
               "configuration": {"region": emulator_env("TEST_AWS_REGION"),
                                 "endpoint_url": emulator_env("TEST_AWS_ENDPOINT"),
                                 "aws_access_key_id": emulator_env("TEST_AWS_ACCESS_KEY_ID"),
                                 "aws_secret_access_key": emulator_env("TEST_AWS_SECRET_ACCESS_KEY"),
                                 "role_arn": emulator_env("TEST_AWS_ROLE_ARN")}}),
    );
    let resource = format!("s3://{bucket}");
    let args = [
        "credentials",
        "aws",
        "--connector",
        "moto-role",
        "--resource",
        &resource,
    ];
    let process = stdout_json(&credentials(&server, &key, &args, ""));
    assert_eq!(process["Version"], 1);
    assert!(
        process["AccessKeyId"].as_str().unwrap().starts_with("ASIA"),
        "{process}"
    );
    assert!(process["SessionToken"].is_string() && process["Expiration"].is_string());

    // The AWS CLI runs the same command itself, from a profile.
    let config = db.dir.path().join("aws-config");
    std::fs::write(
        &config,
        format!(
            "[profile portcullis]\ncredential_process = {} {}\nregion = {}\n",
            env!("CARGO_BIN_EXE_portcullis"),
            args.join(" "),
            emulator_env("TEST_AWS_REGION")
        ),
    )
    .unwrap();
    let head_bucket = ["s3api", "head-bucket", "--bucket", &bucket];
    let out = aws_cli(&db, &config, &server, &key)
        .args(head_bucket)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = aws_cli(&db, &config, &server, "pc_wrong")
        .args(head_bucket)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a wrong API key gets no credentials");
}

#[test]
#[ignore = "needs the docker-registry emulator (tests/run.sh starts it)"]
fn the_docker_credential_helper_answers_for_a_registry_a_connector_reaches() {
    let db = TestDb::new();
    let (server, admin, key) = server_with_a_ci_key(&db);
    let url = emulator_env("TEST_REGISTRY_URL");
    register(
        &server,
        &admin,
        json!({"name": "registry", "connector_type": "docker", "auth_method": "password",
               "configuration": {"registry": url, "username": emulator_env("TEST_REGISTRY_USER"),
                                 "password": emulator_env("TEST_REGISTRY_PASSWORD")}}),
    );
    let host = url.trim_start_matches("http://");
    let answer = stdout_json(&credentials(
        &server,
        &key,
        &["credentials", "docker", "get"],
        host,
    ));
    assert_eq!(answer["ServerURL"], host);
    assert_eq!(answer["Username"], emulator_env("TEST_REGISTRY_USER"));
    let (user, secret) = (
        answer["Username"].as_str().unwrap(),
        answer["Secret"].as_str().unwrap(),
    );
    let status = registry_status(&url, user, secret);
    assert_eq!(status, 200, "the helper's credentials open the registry");

    // Docker runs helpers as docker-credential-<name>: a link to the binary works.
    let link = db.dir.path().join("docker-credential-portcullis");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_portcullis"), &link).unwrap();
    let linked = stdout_json(&run_as(
        link.to_str().unwrap(),
        &server,
        &key,
        &["get"],
        host,
    ));
    assert_eq!(linked, answer);
    let listed = stdout_json(&run_as(
        link.to_str().unwrap(),
        &server,
        &key,
        &["list"],
        "",
    ));
    // Connectors are named with their namespace.
    assert_eq!(listed[host], "portcullis:default/registry", "{listed}");

    let out = credentials(
        &server,
        &key,
        &["credentials", "docker", "get"],
        "elsewhere.example:5000",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no connector you may use reaches"));
    let out = credentials(&server, &key, &["credentials", "docker", "store"], "{}");
    assert!(!out.status.success());
}

#[test]
fn errors_go_to_stderr_with_a_non_zero_exit_and_secrets_never_come_from_argv() {
    let db = TestDb::new();
    let (server, _admin, _key) = server_with_a_ci_key(&db);
    let args = ["credentials", "token", "--connector", "nope"];
    let out = credentials(&server, "pc_not_a_key", &args, "");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("portcullis: the server answered 401"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .env_clear()
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("PORTCULLIS_URL is not set"),
        "{stderr}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .env_clear()
        .env("PORTCULLIS_URL", server.url())
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PORTCULLIS_API_KEY"), "{stderr}");
}

/// `GET <registry>/v2/` with Basic auth: the status.
fn registry_status(url: &str, user: &str, secret: &str) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("{url}/v2/"))
            .basic_auth(user, Some(secret))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}
