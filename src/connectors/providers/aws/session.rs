//! Signed calls to AWS with one set of keys: SigV4 signing, the STS query API, S3
//! ListBuckets, EKS ListClusters and ECR DescribeRegistry.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use reqwest::Method;
use serde::Deserialize;
use url::Url;

use super::super::{ProviderError, Target};
use super::answers::{StsCredentials, parse_buckets, parse_caller_account, parse_sts_credentials};
use super::endpoints::{Service, encode, endpoint, endpoint_url, query_form, region};
use super::errors::error_from;
use super::policy::policy_arn_params;
use super::{is_account, method_unsupported, session_name};
use crate::outbound::{Outbound, Tls};

/// Version of the STS query API.
pub(super) const STS_VERSION: &str = "2011-06-15";
/// Most pages followed when listing.
pub(super) const MAX_PAGES: usize = 100;

/// Access keys to sign with.
#[derive(Clone)]
pub(super) struct Keys {
    pub(super) access_key_id: String,
    pub(super) secret_access_key: String,
    pub(super) session_token: Option<String>,
}

/// Calls to AWS with one set of keys, in one region.
pub(super) struct Session<'a> {
    out: &'a Outbound,
    client: reqwest::Client,
    pub(super) region: String,
    pub(super) endpoint_url: Option<Url>,
    pub(super) keys: Keys,
}

impl<'a> Session<'a> {
    /// The stored keys of `t` (not for `implicit`).
    pub(super) fn new(out: &'a Outbound, t: &Target) -> Result<Self, ProviderError> {
        let session_token = match t.auth_method.as_str() {
            "sts-token" => Some(t.required("aws_session_token")?.to_owned()),
            "secret-key" | "session-token" | "federation-token" | "iam-role" => None,
            _ => return Err(method_unsupported(t)),
        };
        let keys = Keys {
            access_key_id: t.required("aws_access_key_id")?.to_owned(),
            secret_access_key: t.required("aws_secret_access_key")?.to_owned(),
            session_token,
        };
        Ok(Self {
            out,
            client: out.client(&Tls::default())?,
            region: region(t)?,
            endpoint_url: endpoint_url(t)?,
            keys,
        })
    }

    /// The same session with other keys.
    pub(super) fn with_keys(self, keys: Keys) -> Self {
        Self { keys, ..self }
    }

    /// Signs and sends one request; the body of a 2xx answer, else the error it means.
    pub(super) async fn call(
        &self,
        service: Service,
        method: Method,
        path_and_query: &str,
        headers: &[(&'static str, &str)],
        body: Vec<u8>,
    ) -> Result<Vec<u8>, ProviderError> {
        let url = format!(
            "{}{path_and_query}",
            endpoint(service, &self.region, self.endpoint_url.as_ref())
        );
        let signed = self.sign(service, method.as_str(), &url, headers, &body)?;
        let mut request = self.client.request(method, &url).body(body);
        for (name, value) in headers.iter().copied().chain(signed.iter().map(pair)) {
            request = request.header(name, value);
        }
        let response = self.out.send(request).await?;
        let status = response.status().as_u16();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = self.out.read(response).await?;
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            let secrets = [
                self.keys.secret_access_key.as_str(),
                self.keys.session_token.as_deref().unwrap_or_default(),
            ];
            Err(error_from(
                service,
                status,
                error_type.as_deref(),
                &body,
                &secrets,
            ))
        }
    }

    /// The SigV4 headers for one request.
    pub(super) fn sign(
        &self,
        service: Service,
        method: &str,
        url: &str,
        headers: &[(&'static str, &str)],
        body: &[u8],
    ) -> Result<Vec<(String, String)>, ProviderError> {
        let failed = |what: &str| ProviderError::Invalid(format!("signing the request: {what}"));
        let identity = Credentials::new(
            self.keys.access_key_id.clone(),
            self.keys.secret_access_key.clone(),
            self.keys.session_token.clone(),
            None,
            "portcullis",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(service.signing_name())
            .time(SystemTime::now())
            .settings(signing_settings(service))
            .build()
            .map_err(|_| failed("incomplete parameters"))?
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .map_err(|_| failed("the URL or a header cannot be signed"))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|_| failed("the signature could not be computed"))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }

    /// An STS query call with `params`; the XML answer.
    pub(super) async fn sts(&self, params: &[(&str, &str)]) -> Result<String, ProviderError> {
        let form = query_form(params.iter().copied().chain([("Version", STS_VERSION)]));
        let answer = self
            .call(
                Service::Sts,
                Method::POST,
                "/",
                &[(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )],
                form.into_bytes(),
            )
            .await?;
        text(Service::Sts, answer)
    }

    /// [`Session::sts`] with owned values.
    pub(super) async fn sts_owned(
        &self,
        params: Vec<(&str, String)>,
    ) -> Result<String, ProviderError> {
        let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.sts(&borrowed).await
    }

    /// The account of the keys (GetCallerIdentity).
    pub(super) async fn account(&self) -> Result<String, ProviderError> {
        let xml = self.sts(&[("Action", "GetCallerIdentity")]).await?;
        parse_caller_account(&xml)
    }

    /// AssumeRole of the configured role for `seconds`, with a session policy.
    pub(super) async fn assume_role(
        &self,
        t: &Target,
        seconds: i64,
        policy: Option<String>,
        policy_arns: &[String],
    ) -> Result<StsCredentials, ProviderError> {
        let mut params = vec![
            ("Action", "AssumeRole".to_owned()),
            ("RoleArn", t.required("role_arn")?.to_owned()),
            ("RoleSessionName", session_name()),
            ("DurationSeconds", seconds.to_string()),
        ];
        if let Some(policy) = policy {
            params.push(("Policy", policy));
        }
        params.extend(policy_arn_params(policy_arns));
        let xml = self.sts_owned(params).await?;
        parse_sts_credentials(&xml)
    }

    /// Every bucket, as `s3://name`, sorted.
    pub(super) async fn list_buckets(&self) -> Result<Vec<String>, ProviderError> {
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let path = match &token {
                Some(t) => format!("/?continuation-token={}", encode(t)),
                None => "/".to_owned(),
            };
            let answer = self.call(Service::S3, Method::GET, &path, &[], Vec::new());
            let page = parse_buckets(&text(Service::S3, answer.await?)?)?;
            ids.extend(page.ids);
            token = page.continuation_token;
            if token.is_none() {
                break;
            }
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// Every EKS cluster name in the region, sorted.
    pub(super) async fn list_clusters(&self) -> Result<Vec<String>, ProviderError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            clusters: Vec<String>,
            #[serde(rename = "nextToken")]
            next_token: Option<String>,
        }
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut path = "/clusters?maxResults=100".to_owned();
            if let Some(t) = &token {
                path.push_str("&nextToken=");
                path.push_str(&encode(t));
            }
            let answer = self.call(Service::Eks, Method::GET, &path, &[], Vec::new());
            let page: Page = json_answer(Service::Eks, &answer.await?)?;
            names.extend(page.clusters);
            token = page.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// The account of the ECR registry the keys reach (DescribeRegistry).
    pub(super) async fn registry_account(&self) -> Result<String, ProviderError> {
        #[derive(Deserialize)]
        struct Registry {
            #[serde(rename = "registryId")]
            registry_id: Option<String>,
        }
        let answer = self
            .call(
                Service::Ecr,
                Method::POST,
                "/",
                &[
                    ("content-type", "application/x-amz-json-1.1"),
                    (
                        "x-amz-target",
                        "AmazonEC2ContainerRegistry_V20150921.DescribeRegistry",
                    ),
                ],
                b"{}".to_vec(),
            )
            .await?;
        let registry: Registry = json_answer(Service::Ecr, &answer)?;
        match registry.registry_id.filter(|id| is_account(id)) {
            Some(id) => Ok(id),
            None => self.account().await,
        }
    }
}

/// Signing settings per service: S3 signs its payload and its paths as they are.
pub(super) fn signing_settings(service: Service) -> SigningSettings {
    let mut settings = SigningSettings::default();
    if service == Service::S3 {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    settings
}

pub(super) fn pair((k, v): &(String, String)) -> (&str, &str) {
    (k.as_str(), v.as_str())
}

/// A body as text.
pub(super) fn text(service: Service, body: Vec<u8>) -> Result<String, ProviderError> {
    String::from_utf8(body).map_err(|_| {
        ProviderError::Protocol(format!("{}: the answer is not UTF-8", service.label()))
    })
}

/// A JSON body.
pub(super) fn json_answer<T: for<'de> Deserialize<'de>>(
    service: Service,
    body: &[u8],
) -> Result<T, ProviderError> {
    serde_json::from_slice(body).map_err(|_| {
        ProviderError::Protocol(format!(
            "{}: the answer is not the JSON expected",
            service.label()
        ))
    })
}
