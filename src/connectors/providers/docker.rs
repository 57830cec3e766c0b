//! Docker registries (the registry API v2): log in the way `docker login` does, list the
//! repositories, hand out the configured credentials (or a registry bearer token where
//! the registry uses the token flow).
//!
//! Login: `GET /v2/` without credentials; a 401 names how to authenticate in its
//! `WWW-Authenticate` challenge: `Basic` (send the username and password) or `Bearer`
//! (ask the challenge's `realm` for a token with the username and password, then send
//! the token).

mod parse;

use reqwest::header::{AUTHORIZATION, LINK, WWW_AUTHENTICATE};
use reqwest::{Client, StatusCode};
use serde_json::{Map, Value, json};
use url::Url;

use self::parse::{Challenge, Registry, next_link, parse_challenges, parse_token, registry};
use super::{Issued, ProviderError, Single, Target};
use crate::outbound::{Outbound, Tls};

/// The only resource type.
const RESOURCE_TYPE: &str = "docker-registry";

/// The one resource a docker connector reaches.
pub(super) const SINGLE: Single = Single {
    resource_type: RESOURCE_TYPE,
    noun: "registry",
    reached: resource_id,
};
/// Most repositories listed.
pub(super) const MAX_REPOSITORIES: usize = 10_000;
/// Repositories asked for per catalog page.
const PAGE_SIZE: usize = 1000;

/// How requests to the registry authenticate.
#[derive(Clone)]
enum Auth {
    /// The registry answered without credentials; they are sent anyway (harmless).
    Open,
    /// HTTP Basic with the username and password.
    Basic,
    /// A registry token (from the `Bearer` challenge's realm), its lifetime in seconds.
    Bearer { token: String, expires_in: i64 },
}

/// A logged-in registry.
struct Session<'a> {
    out: &'a Outbound,
    client: Client,
    registry: Registry,
    username: &'a str,
    password: &'a str,
    auth: Auth,
}

impl<'a> Session<'a> {
    /// Logs in to `t`'s registry.
    async fn login(out: &'a Outbound, t: &'a Target) -> Result<Session<'a>, ProviderError> {
        let registry = registry(t.text("registry"))?;
        let username = t.required("username")?;
        // The password as configured: spaces at its ends are part of it.
        t.required("password")?;
        let password = t
            .config
            .get("password")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let client = out.client(&Tls::default())?;
        let mut session = Session {
            out,
            client,
            registry,
            username,
            password,
            auth: Auth::Open,
        };
        let v2 = session.registry.url("/v2/")?;
        let resp = out.send(session.client.get(v2.clone())).await?;
        match resp.status() {
            s if s.is_success() => return Ok(session),
            StatusCode::UNAUTHORIZED => {}
            s => return Err(unexpected("/v2/", s)),
        }
        let challenges = challenges_of(&resp);
        if let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") {
            let (token, expires_in) = session.token(bearer).await?;
            session.auth = Auth::Bearer { token, expires_in };
        } else if challenges.iter().any(|c| c.scheme == "basic") {
            session.auth = Auth::Basic;
        } else {
            return Err(ProviderError::Protocol(
                "the registry asks for credentials without a Basic or Bearer challenge".into(),
            ));
        }
        let resp = session.get(v2).await?;
        match resp.status() {
            s if s.is_success() => Ok(session),
            StatusCode::UNAUTHORIZED => Err(refused()),
            StatusCode::FORBIDDEN => Err(ProviderError::Forbidden(
                "the registry does not let this account use its API".into(),
            )),
            s => Err(unexpected("/v2/", s)),
        }
    }

    /// A token from the realm of a `Bearer` challenge, asked for with the username and
    /// password.
    async fn token(&self, challenge: &Challenge) -> Result<(String, i64), ProviderError> {
        let realm = challenge
            .params
            .get("realm")
            .filter(|r| !r.is_empty())
            .ok_or_else(|| {
                ProviderError::Protocol("the registry's Bearer challenge names no realm".into())
            })?;
        let mut url = Url::parse(realm).map_err(|_| {
            ProviderError::Protocol("the registry's token realm is not a URL".into())
        })?;
        {
            let mut q = url.query_pairs_mut();
            for key in ["service", "scope"] {
                if let Some(v) = challenge.params.get(key).filter(|v| !v.is_empty()) {
                    q.append_pair(key, v);
                }
            }
        }
        let resp = self
            .out
            .send(
                self.client
                    .get(url)
                    .basic_auth(self.username, Some(self.password)),
            )
            .await?;
        match resp.status() {
            s if s.is_success() => parse_token(&self.out.read(resp).await?),
            StatusCode::UNAUTHORIZED => Err(refused()),
            StatusCode::FORBIDDEN => Err(ProviderError::Forbidden(
                "the registry's token service refused this account".into(),
            )),
            s => Err(ProviderError::Protocol(format!(
                "the registry's token service answered HTTP {}",
                s.as_u16()
            ))),
        }
    }

    /// `GET url` with the session's credentials.
    async fn get(&self, url: Url) -> Result<reqwest::Response, ProviderError> {
        let request = self.client.get(url);
        let request = match &self.auth {
            Auth::Open | Auth::Basic => request.basic_auth(self.username, Some(self.password)),
            Auth::Bearer { token, .. } => request.header(AUTHORIZATION, format!("Bearer {token}")),
        };
        Ok(self.out.send(request).await?)
    }

    /// `GET url`; where a bearer token lacks the scope the registry wants (a 401 with a
    /// `Bearer` challenge naming a scope), once more with a token for that scope.
    async fn get_scoped(&mut self, url: Url) -> Result<reqwest::Response, ProviderError> {
        let resp = self.get(url.clone()).await?;
        if resp.status() != StatusCode::UNAUTHORIZED || !matches!(self.auth, Auth::Bearer { .. }) {
            return Ok(resp);
        }
        let challenges = challenges_of(&resp);
        let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") else {
            return Ok(resp);
        };
        let (token, expires_in) = self.token(bearer).await?;
        self.auth = Auth::Bearer { token, expires_in };
        self.get(url).await
    }
}

fn challenges_of(resp: &reqwest::Response) -> Vec<Challenge> {
    resp.headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_challenges)
        .collect()
}

fn refused() -> ProviderError {
    ProviderError::Denied("the registry refused the username and password".into())
}

fn unexpected(path: &str, status: StatusCode) -> ProviderError {
    ProviderError::Protocol(format!(
        "the registry answered HTTP {} to {path}",
        status.as_u16()
    ))
}

/// Logs in to the registry.
pub(super) async fn authenticate(out: &Outbound, t: &Target) -> Result<(), ProviderError> {
    Session::login(out, t).await.map(|_| ())
}

/// The registry's id, the one resource of a Docker connector.
fn resource_id(t: &Target) -> Result<String, ProviderError> {
    Ok(registry(t.text("registry"))?.id)
}

/// The repositories in the registry's catalog (`/v2/_catalog`, all pages on the
/// registry's own origin), at most [`MAX_REPOSITORIES`].
pub(super) async fn repositories(out: &Outbound, t: &Target) -> Result<Vec<String>, ProviderError> {
    let mut session = Session::login(out, t).await?;
    let mut url = session
        .registry
        .url(&format!("/v2/_catalog?n={PAGE_SIZE}"))?;
    let mut repositories: Vec<String> = Vec::new();
    loop {
        let resp = session.get_scoped(url.clone()).await?;
        match resp.status() {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED => return Err(refused()),
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
                return Err(ProviderError::Forbidden(
                    "the registry does not let this account list its repositories".into(),
                ));
            }
            s => return Err(unexpected("/v2/_catalog", s)),
        }
        let next = resp
            .headers()
            .get(LINK)
            .and_then(|v| v.to_str().ok())
            .and_then(next_link);
        let body: Value = serde_json::from_slice(&out.read(resp).await?)
            .map_err(|_| ProviderError::Protocol("the registry's catalog is not JSON".into()))?;
        let page = body["repositories"].as_array().ok_or_else(|| {
            ProviderError::Protocol("the registry's catalog lists no repositories".into())
        })?;
        let before = repositories.len();
        repositories.extend(
            page.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .take(MAX_REPOSITORIES - before),
        );
        if repositories.len() >= MAX_REPOSITORIES || repositories.len() == before {
            break;
        }
        let Some(next) = next else { break };
        let next = url
            .join(&next)
            .map_err(|_| ProviderError::Protocol("the catalog's next page is not a URL".into()))?;
        if next.origin() != session.registry.base.origin() {
            return Err(ProviderError::Protocol(
                "the catalog's next page is on another host".into(),
            ));
        }
        url = next;
    }
    Ok(repositories)
}

/// Credentials for the registry: a registry token where the registry uses the token
/// flow (it expires), else the configured username and password (they do not).
pub(super) async fn issue(out: &Outbound, t: &Target) -> Result<Issued, ProviderError> {
    let session = Session::login(out, t).await?;
    let mut credentials = Map::new();
    credentials.insert("registry".into(), json!(session.registry.id));
    let expires_at = match &session.auth {
        Auth::Bearer { token, expires_in } => {
            credentials.insert("token".into(), json!(token));
            Some(chrono::Utc::now().timestamp_millis() + expires_in * 1000)
        }
        Auth::Open | Auth::Basic => {
            credentials.insert("username".into(), json!(session.username));
            credentials.insert("password".into(), json!(session.password));
            None
        }
    };
    Ok(Issued {
        credentials,
        expires_at,
    })
}
