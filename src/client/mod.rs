//! `portcullis credentials …`: the client side of brokered credentials. It asks a
//! Portcullis server (`PORTCULLIS_URL`) for a connector's credentials with the caller's
//! API key or token (`PORTCULLIS_API_KEY` / `PORTCULLIS_TOKEN`, read from the
//! environment only, so no secret sits in a process list or shell history) and prints
//! them in the format the tool expects: AWS `credential_process`, the Docker credential
//! helper protocol, a Kubernetes ExecCredential, or a bare token.

mod formats;

use std::io::Read;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use url::Url;

use crate::cli::{CredentialsCommand, Wanted};

pub use formats::{aws_process, docker_registry_host, exec_credential, first_token};

/// Runs a `credentials` command, printing its answer on stdout.
pub fn run(command: &CredentialsCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let out = runtime.block_on(answer(command))?;
    println!("{out}");
    Ok(())
}

async fn answer(command: &CredentialsCommand) -> anyhow::Result<String> {
    let server = Server::from_env()?;
    match command {
        CredentialsCommand::Aws(wanted) => {
            Ok(aws_process(&server.wanted(wanted).await?)?.to_string())
        }
        CredentialsCommand::Kubernetes { connector, cluster } => {
            let rt = Some("kubernetes-cluster");
            let issued = server.issue(connector, rt, cluster.as_deref()).await?;
            Ok(exec_credential(&issued)?.to_string())
        }
        CredentialsCommand::Token(wanted) => first_token(&server.wanted(wanted).await?),
        CredentialsCommand::Docker { action } => docker(&server, action).await,
    }
}

/// The Docker credential-helper actions.
async fn docker(server: &Server, action: &str) -> anyhow::Result<String> {
    match action {
        "get" => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input)?;
            let wanted = docker_registry_host(input.trim());
            let registries = server.registries().await?;
            let same = |(_, id): &(String, String)| docker_registry_host(id) == wanted;
            let Some((connector, id)) = registries.into_iter().find(same) else {
                bail!("credentials not found: no connector you may use reaches {wanted}");
            };
            let issued = server
                .issue(&connector, Some("docker-registry"), Some(&id))
                .await?;
            let creds = &issued["credentials"];
            let (user, secret) = match (creds["username"].as_str(), creds["token"].as_str()) {
                (Some(user), _) => (user.to_owned(), creds["password"].clone()),
                (None, Some(token)) => ("<token>".to_owned(), json!(token)),
                _ => bail!("connector {connector} issued no registry credentials"),
            };
            Ok(json!({"ServerURL": input.trim(), "Username": user, "Secret": secret}).to_string())
        }
        "list" => {
            let registries = server.registries().await?;
            let listed: serde_json::Map<String, Value> = registries
                .into_iter()
                .map(|(connector, id)| {
                    (
                        docker_registry_host(&id),
                        json!(format!("portcullis:{connector}")),
                    )
                })
                .collect();
            Ok(Value::Object(listed).to_string())
        }
        "store" | "erase" => bail!(
            "{action} is not supported: Portcullis holds these credentials (docker login is not needed)"
        ),
        other => bail!("unknown action {other:?}: use get or list"),
    }
}

/// A Portcullis server and the credential to call it with.
struct Server {
    base: Url,
    credential: String,
    http: reqwest::Client,
}

impl Server {
    fn from_env() -> anyhow::Result<Self> {
        let url = std::env::var("PORTCULLIS_URL")
            .map_err(|_| anyhow!("PORTCULLIS_URL is not set (the Portcullis server, e.g. https://portcullis.example.com)"))?;
        let base = Url::parse(url.trim_end_matches('/'))
            .with_context(|| format!("PORTCULLIS_URL {url:?} is not a URL"))?;
        let credential = std::env::var("PORTCULLIS_API_KEY")
            .or_else(|_| std::env::var("PORTCULLIS_TOKEN"))
            .map_err(|_| {
                anyhow!("set PORTCULLIS_API_KEY (or PORTCULLIS_TOKEN) in the environment")
            })?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            base,
            credential: credential.trim().to_owned(),
            http,
        })
    }

    fn url(&self, path: &str) -> anyhow::Result<Url> {
        Ok(self.base.join(path)?)
    }

    /// Calls the API; the JSON answer, or the server's error message.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method, self.url(path)?)
            .bearer_auth(&self.credential);
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| anyhow!("{} is unreachable: {}", self.base, e.without_url()))?;
        let status = resp.status();
        let text = resp.text().await?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            let message = json["error"]["message"].as_str().unwrap_or("no details");
            bail!("the server answered {status}: {message}");
        }
        Ok(json)
    }

    /// The credentials `wanted` names.
    async fn wanted(&self, wanted: &Wanted) -> anyhow::Result<Value> {
        let rt = wanted.resource_type.as_deref();
        self.issue(&wanted.connector, rt, wanted.resource.as_deref())
            .await
    }

    /// `client-credentials` of `connector` for a resource (type inferred when omitted).
    async fn issue(
        &self,
        connector: &str,
        resource_type: Option<&str>,
        resource: Option<&str>,
    ) -> anyhow::Result<Value> {
        let path = connector_path(connector);
        let resource_type = match (resource_type, resource) {
            (Some(rt), _) => rt.to_owned(),
            (None, Some(r)) if r.starts_with("s3://") || r.starts_with("arn:aws:s3:") => {
                "s3-bucket".to_owned()
            }
            _ => {
                let c = self.call(reqwest::Method::GET, &path, None).await?;
                match c["resource_types"].as_array().map(Vec::as_slice) {
                    Some([one]) => one.as_str().unwrap_or_default().to_owned(),
                    _ => bail!(
                        "connector {connector} reaches several resource types ({}): name one with --resource-type",
                        c["resource_types"]
                    ),
                }
            }
        };
        let body = json!({"resource_type": resource_type, "resource_id": resource});
        self.call(
            reqwest::Method::POST,
            &format!("{path}/client-credentials"),
            Some(body),
        )
        .await
    }

    /// `(connector, registry)` for every registry a readable connector reaches.
    async fn registries(&self) -> anyhow::Result<Vec<(String, String)>> {
        let mut found = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = "api/v1/resources?resource_type=docker-registry&limit=200".to_owned();
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={}", crate::web::path_segment(c)));
            }
            let page = self.call(reqwest::Method::GET, &path, None).await?;
            for row in page["items"].as_array().into_iter().flatten() {
                let connector = format!(
                    "{}/{}",
                    row["namespace"].as_str().unwrap_or_default(),
                    row["connector"].as_str().unwrap_or_default()
                );
                for id in row["resource_ids"].as_array().into_iter().flatten() {
                    if let Some(id) = id.as_str() {
                        found.push((connector.clone(), id.to_owned()));
                    }
                }
            }
            cursor = page["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                return Ok(found);
            }
        }
    }
}

/// The API path of connector `namespace/name`, or of a bare `name` (answered where it
/// is unambiguous).
fn connector_path(connector: &str) -> String {
    let at = crate::names::Address::parse(connector);
    format!("api/v1{}", crate::web::address_url("connectors", &at))
}
