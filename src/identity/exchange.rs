//! `POST /api/v1/token-exchange` (RFC 8693): a workload trades the OpenID Connect JWT its
//! platform gave it (a CI job's, a pod's) for a short-lived access token of a service
//! account that trusts the JWT's issuer, audience and claims (`federation`). No key
//! lives on the runner. Answers and refusals are OAuth-shaped; why a token was refused
//! goes to the audit log only (the caller learns `invalid_grant`, nothing it could use
//! to probe a policy).

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::access::{self, KIND_SERVICE_ACCOUNT};
use crate::app::AppState;
use crate::audit::{self, Outcome};
use crate::auth::{self, AccessTokenRow};
use crate::credential::{self, CredentialKind};
use crate::db::now_ms;
use crate::errors::AppError;
use crate::federation;
use crate::names::Address;
use crate::service_accounts::trust::{self, ExchangeTarget};
use crate::web::client_addr;

/// The operations of this module in the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(token_exchange))]
pub(super) struct Doc;

/// RFC 8693's grant type.
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The subject token type accepted: a JWT.
pub const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// The token type issued.
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Largest form accepted (a JWT is a few kilobytes).
const MAX_FORM: usize = 64 * 1024;

/// The form of an exchange (other RFC 8693 parameters, such as `audience`, are
/// ignored).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ExchangeForm {
    /// `urn:ietf:params:oauth:grant-type:token-exchange`.
    #[schema(example = "urn:ietf:params:oauth:grant-type:token-exchange")]
    grant_type: Option<String>,
    /// The workload's JWT.
    subject_token: Option<String>,
    /// `urn:ietf:params:oauth:token-type:jwt`.
    #[schema(example = "urn:ietf:params:oauth:token-type:jwt")]
    subject_token_type: Option<String>,
    /// The account: `namespace/name`, or a name unique among all accounts.
    service_account: Option<String>,
    /// Down-scope: space-separated `pattern:role` (`ml/*:viewer`), within what the
    /// account holds.
    scope: Option<String>,
    /// If given, `urn:ietf:params:oauth:token-type:access_token`.
    requested_token_type: Option<String>,
}

/// The answer: a bearer token of the account.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExchangeAnswer {
    /// Send as `Authorization: Bearer <access_token>` (`pct_…`).
    access_token: String,
    /// `urn:ietf:params:oauth:token-type:access_token`.
    issued_token_type: &'static str,
    /// `Bearer`.
    token_type: &'static str,
    /// Seconds until it expires (at most 3600).
    expires_in: i64,
}

/// An OAuth error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_grant` or `invalid_target`.
    error: &'static str,
    /// What to fix (never why a token's claims failed: that is in the audit log).
    error_description: String,
}

fn oauth(status: StatusCode, error: &'static str, description: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(OAuthError {
            error,
            error_description: description.into(),
        })
}

fn bad_request(description: impl Into<String>) -> HttpResponse {
    oauth(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// What the caller is told of every refused token, whatever the reason.
const NOT_ACCEPTED: &str =
    "the subject token is not accepted for this service account (the reason is in the audit log)";

/// Exchange a workload's OpenID Connect token for an access token.
///
/// RFC 8693 token exchange: the subject token (a JWT from a trusted issuer, such as a
/// GitHub Actions or GitLab CI job's) must match one of the service account's trust
/// policies. The answer is a bearer token of the account, valid at most an hour and
/// down-scoped when `scope` asks.
#[utoipa::path(post, path = "/api/v1/token-exchange", tag = "credentials",
    security(()),
    request_body(content = ExchangeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A short-lived access token of the account.", body = ExchangeAnswer),
        (status = 400, description = "`invalid_request` (a missing or wrong parameter), `invalid_grant` (the token is not accepted for the account, or the account is unknown or ambiguous) or `invalid_target` (a scope beyond the account's).", body = OAuthError),
        (status = 429, description = "Too many refused exchanges from this client.", body = crate::web::api::ErrorBody),
    ))]
pub async fn token_exchange(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let form_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return Ok(bad_request(
            "send the parameters as application/x-www-form-urlencoded",
        ));
    }
    if body.len() > MAX_FORM {
        return Ok(bad_request("the request is too large"));
    }
    let Ok(form) = serde_urlencoded::from_bytes::<ExchangeForm>(&body) else {
        return Ok(bad_request("the form is not valid"));
    };
    let request = match Request::read(form) {
        Ok(r) => r,
        Err((error, description)) => {
            return Ok(oauth(StatusCode::BAD_REQUEST, error, description));
        }
    };
    let client = client_addr(&req);
    let at = request.account.clone();
    let target = match state
        .db
        .read(move |conn| trust::exchange_target(conn, &at))
        .await
    {
        Ok(t) => t,
        // Refused like an unknown account: naming the namespaces that hold the name
        // would tell anyone, before any token is checked, where accounts live.
        Err(AppError::AmbiguousName(_)) => {
            let target = format!("service_account:{}", request.shown_account());
            let reason = "the name is held in several namespaces: give namespace/name".into();
            return refuse(&state, client, target, None, reason).await;
        }
        Err(e) => return Err(e),
    };
    let outcome = match &target {
        None => Err("no such service account".to_owned()),
        Some(t) if !t.active => Err("the service account is inactive".to_owned()),
        Some(t) if t.policies.is_empty() => Err("the service account trusts no issuer".to_owned()),
        Some(t) => {
            let now = u64::try_from(now_ms() / 1000).unwrap_or_default();
            federation::accept(
                &request.token,
                &t.policies,
                &state.jwks,
                &state.outbound,
                now,
            )
            .await
        }
    };
    let audited_target = target.as_ref().map_or_else(
        || format!("service_account:{}", request.shown_account()),
        |t| format!("service_account:{}/{}", t.namespace, t.name),
    );
    let namespace = target.as_ref().map(|t| t.namespace.clone());
    let (target, accepted) = match (target, outcome) {
        (Some(target), Ok(accepted)) => (target, accepted),
        (_, Err(reason)) => {
            return refuse(&state, client, audited_target, namespace, reason).await;
        }
        (None, Ok(_)) => return Err(AppError::NotFound),
    };
    if let Some(scope) = &request.scope
        && let Err(e) = access::require_can_grant(&target.grants, scope, "a token")
    {
        return Ok(oauth(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            e.to_string(),
        ));
    }
    // The token could not be used from here anyway: say so now, in the audit log.
    let policy = state.key_policies.get(&state.db, &target.namespace).await?;
    if !policy.admits(&client) {
        let reason = format!(
            "{client} is outside the allowed networks of {}",
            target.namespace
        );
        return refuse(&state, client, audited_target, namespace, reason).await;
    }
    let answer = issue(&state, &target, &request, &accepted, client).await?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(answer))
}

/// An OAuth error code and its description.
type Refused = (&'static str, String);

fn invalid_request(description: impl Into<String>) -> Refused {
    ("invalid_request", description.into())
}

/// The checked parameters of an exchange.
struct Request {
    token: String,
    account: Address,
    scope: Option<Vec<(access::Pattern, access::Role)>>,
}

impl Request {
    fn read(form: ExchangeForm) -> Result<Self, Refused> {
        if form.grant_type.as_deref() != Some(GRANT_TYPE) {
            return Err(invalid_request(format!("grant_type must be {GRANT_TYPE}")));
        }
        if form.subject_token_type.as_deref() != Some(JWT_TYPE) {
            return Err(invalid_request(format!(
                "subject_token_type must be {JWT_TYPE}"
            )));
        }
        if form
            .requested_token_type
            .as_deref()
            .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
        {
            return Err(invalid_request(format!(
                "requested_token_type can only be {ACCESS_TOKEN_TYPE}"
            )));
        }
        let token = form
            .subject_token
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| invalid_request("subject_token is missing"))?;
        let account = form
            .service_account
            .map(|a| Address::parse(a.trim()))
            .filter(Address::is_valid)
            .ok_or_else(|| {
                invalid_request("service_account must name an account: namespace/name or name")
            })?;
        let scope = match form.scope.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(parse_scope(text).map_err(|e| ("invalid_target", e))?),
        };
        Ok(Self {
            token: token.trim().to_owned(),
            account,
            scope,
        })
    }

    fn shown_account(&self) -> String {
        match &self.account.namespace {
            Some(ns) => format!("{ns}/{}", self.account.name),
            None => self.account.name.clone(),
        }
    }
}

/// `ml/*:viewer default/etl:developer` → bindings.
fn parse_scope(text: &str) -> Result<Vec<(access::Pattern, access::Role)>, String> {
    text.split_whitespace()
        .map(|item| {
            let (pattern, role) = item
                .rsplit_once(':')
                .ok_or_else(|| format!("scope item {item:?} must be pattern:role"))?;
            let pattern = access::Pattern::parse(pattern).map_err(|e| format!("scope: {e}"))?;
            let role = access::Role::parse(role).map_err(|e| format!("scope: {e}"))?;
            Ok((pattern, role))
        })
        .collect()
}

/// Audits a refusal with its reason and answers `invalid_grant` (429 once the
/// client's refusals run out).
async fn refuse(
    state: &AppState,
    client: String,
    target: String,
    namespace: Option<String>,
    reason: String,
) -> Result<HttpResponse, AppError> {
    if let Err(wait) = state.login_limiter.bearer_failure(&client) {
        return Err(auth::audit_throttled(state, client, "token.exchange", wait).await);
    }
    state
        .db
        .run(move |conn| {
            let event = audit::Event::new("anonymous", "token.exchange", &target, Outcome::Failure);
            let event = event.from(Some(&client)).detail(Some(&reason));
            audit::record(conn, &event.within(namespace.as_deref())).map_err(AppError::from)
        })
        .await?;
    Ok(oauth(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        NOT_ACCEPTED,
    ))
}

/// Stores the new token (tied to no key; the account's state and its expiry bound it)
/// and audits the exchange with the claims that matched.
async fn issue(
    state: &AppState,
    target: &ExchangeTarget,
    request: &Request,
    accepted: &federation::Accepted,
    client: String,
) -> Result<ExchangeAnswer, AppError> {
    let policy = state.key_policies.get(&state.db, &target.namespace).await?;
    let seconds = accepted
        .token_seconds
        .min(state.config.token_max_ttl.as_secs() as i64)
        .min(policy.max_token_seconds().unwrap_or(i64::MAX))
        .max(1);
    let issued = credential::generate(CredentialKind::AccessToken, &state.keys.credential_pepper);
    let now = now_ms();
    let mut row = AccessTokenRow::issued(
        &issued,
        (KIND_SERVICE_ACCOUNT, target.id),
        now,
        now + seconds * 1000,
        None,
    );
    if let Some(scope) = &request.scope {
        let mut normal = std::collections::BTreeMap::<String, Vec<String>>::new();
        for (p, r) in scope {
            normal
                .entry(p.to_string())
                .or_default()
                .push(r.as_str().to_owned());
        }
        row.role_bindings = Some(serde_json::to_string(&normal).map_err(AppError::internal)?);
    }
    let who = format!("service_account:{}/{}", target.namespace, target.name);
    let detail = format!(
        "token {} for {seconds} s by trust policy {}: {}{}",
        row.id,
        accepted.policy + 1,
        accepted.matched,
        row.role_bindings
            .as_deref()
            .map_or_else(String::new, |b| format!("; scope {b}")),
    );
    let namespace = target.namespace.clone();
    state
        .db
        .run(move |conn| {
            crate::db::write_transaction(conn, |conn| -> Result<(), AppError> {
                auth::insert_access_token(conn, &row)?;
                let event = audit::Event::new(&who, "token.exchange", &who, Outcome::Success);
                let event = event.from(Some(&client)).detail(Some(&detail));
                audit::record(conn, &event.within(Some(&namespace)))?;
                Ok(())
            })
        })
        .await?;
    Ok(ExchangeAnswer {
        access_token: issued.plaintext,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: "Bearer",
        expires_in: seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> ExchangeForm {
        serde_urlencoded::from_str(&serde_urlencoded::to_string(pairs).unwrap()).unwrap()
    }

    #[test]
    fn the_form_names_what_is_missing_or_wrong() {
        let good = [
            ("grant_type", GRANT_TYPE),
            ("subject_token", "a.b.c"),
            ("subject_token_type", JWT_TYPE),
            ("service_account", "ci/deployer"),
            ("scope", "ci/*:viewer  default/etl:developer"),
        ];
        let read = Request::read(form(&good)).unwrap();
        assert_eq!(read.account, Address::qualified("ci", "deployer"));
        assert_eq!(read.scope.unwrap().len(), 2);
        for (drop, error) in [
            ("grant_type", "invalid_request"),
            ("subject_token", "invalid_request"),
            ("subject_token_type", "invalid_request"),
            ("service_account", "invalid_request"),
        ] {
            let some: Vec<_> = good.iter().copied().filter(|(k, _)| *k != drop).collect();
            let refused = Request::read(form(&some)).err().unwrap();
            assert_eq!(refused.0, error, "{drop}");
        }
        let mut bad_scope = good;
        bad_scope[4] = ("scope", "ci/*");
        assert!(Request::read(form(&bad_scope)).is_err());
        let mut other_type = good.to_vec();
        other_type.push((
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:id_token",
        ));
        assert!(Request::read(form(&other_type)).is_err());
    }
}
