//! The pure parts of talking to a registry: where its API is, the `WWW-Authenticate`
//! challenges, `Link` pages and token answers.

use std::collections::BTreeMap;

use serde_json::Value;
use url::Url;

use crate::connectors::providers::ProviderError;

/// Docker Hub's name, the default registry.
const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API is.
const DOCKER_HUB_API: &str = "https://registry-1.docker.io";
/// Lifetime of a registry token that does not say (the token spec's default).
const DEFAULT_TOKEN_SECONDS: i64 = 60;

/// A registry: its resource id and where its API is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Registry {
    /// The resource id: the `registry` attribute as configured (trimmed), or `docker.io`.
    pub(super) id: String,
    /// The API's origin, e.g. `https://registry-1.docker.io/`.
    pub(super) base: Url,
}

impl Registry {
    pub(super) fn url(&self, path: &str) -> Result<Url, ProviderError> {
        self.base
            .join(path)
            .map_err(|_| ProviderError::Invalid("the registry URL is not valid".into()))
    }
}

/// The registry of `registry` (a host with an optional port, or an `http(s)` URL whose
/// origin is used; empty or unset: Docker Hub).
pub(super) fn registry(configured: Option<&str>) -> Result<Registry, ProviderError> {
    let id = configured
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(DOCKER_HUB);
    let invalid = || {
        ProviderError::Invalid(
            "the registry must be a host with an optional port (e.g. registry.example.com:5000) \
             or an http(s) URL"
                .into(),
        )
    };
    let lower = id.to_ascii_lowercase();
    let url = if lower.starts_with("https://") || lower.starts_with("http://") {
        Url::parse(id).map_err(|_| invalid())?
    } else if lower.contains("://") {
        return Err(invalid());
    } else {
        // `host[:port]`, perhaps followed by a repository namespace (`ghcr.io/org`).
        let host = id.split('/').next().unwrap_or_default();
        if host.is_empty() || host.contains(['@', '?', '#', '\\']) {
            return Err(invalid());
        }
        match host.to_ascii_lowercase().as_str() {
            "docker.io" | "index.docker.io" | "registry-1.docker.io" => {
                Url::parse(DOCKER_HUB_API).map_err(|_| invalid())?
            }
            _ => Url::parse(&format!("https://{host}")).map_err(|_| invalid())?,
        }
    };
    if url.host_str().is_none_or(str::is_empty)
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(invalid());
    }
    let base = Url::parse(&url.origin().ascii_serialization()).map_err(|_| invalid())?;
    Ok(Registry {
        id: id.to_owned(),
        base,
    })
}

/// One `WWW-Authenticate` challenge: its scheme (lower case) and parameters (names in
/// lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Challenge {
    pub(super) scheme: String,
    pub(super) params: BTreeMap<String, String>,
}

/// The challenges in a `WWW-Authenticate` value (RFC 9110 §11.6.1): schemes with
/// `name=value` or `name="quoted, value"` parameters, separated by commas.
pub(super) fn parse_challenges(header: &str) -> Vec<Challenge> {
    let chars: Vec<char> = header.chars().collect();
    let mut i = 0;
    let mut out: Vec<Challenge> = Vec::new();
    let is_sep = |c: char| c == ',' || c == '=' || c.is_whitespace();
    while i < chars.len() {
        while i < chars.len() && (chars[i] == ',' || chars[i].is_whitespace()) {
            i += 1;
        }
        let start = i;
        while i < chars.len() && !is_sep(chars[i]) && chars[i] != '"' {
            i += 1;
        }
        let token: String = chars[start..i].iter().collect();
        if token.is_empty() {
            // A stray quote or `=`: skip it.
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        let is_param = j < chars.len() && chars[j] == '=' && chars.get(j + 1) != Some(&'=');
        if !is_param || out.is_empty() {
            if is_param {
                // A parameter before any scheme: not a challenge.
                return Vec::new();
            }
            // A scheme; a token68 after it (`Negotiate abc==`) is skipped.
            out.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: BTreeMap::new(),
            });
            let skip_ws = |mut k: usize| {
                while k < chars.len() && chars[k].is_whitespace() {
                    k += 1;
                }
                k
            };
            let mut k = skip_ws(i);
            let first = k;
            while k < chars.len() && !is_sep(chars[k]) && chars[k] != '"' {
                k += 1;
            }
            let m = skip_ws(k);
            let param = chars.get(m) == Some(&'=')
                && chars
                    .get(skip_ws(m + 1))
                    .is_some_and(|c| *c != '=' && *c != ',');
            if k > first && !param {
                i = k;
                while i < chars.len() && chars[i] == '=' {
                    i += 1;
                }
            }
            continue;
        }
        i = j + 1;
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if chars.get(i) == Some(&'"') {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < chars.len() && chars[i] != ',' && !chars[i].is_whitespace() {
                value.push(chars[i]);
                i += 1;
            }
        }
        if let Some(c) = out.last_mut() {
            c.params.insert(token.to_ascii_lowercase(), value);
        }
    }
    out
}

/// The `rel="next"` target of a `Link` header value, if any.
pub(super) fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    loop {
        let open = rest.find('<')?;
        let close = open + rest[open..].find('>')?;
        let target = &rest[open + 1..close];
        let after = &rest[close + 1..];
        let params_end = after.find('<').unwrap_or(after.len());
        let params = &after[..params_end];
        let is_next = params.split(';').any(|p| {
            let Some((name, value)) = p.split_once('=') else {
                return false;
            };
            name.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_matches('"')
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.trim().to_owned());
        }
        rest = after;
    }
}

/// A registry token answer: `token` (or `access_token`) and its lifetime.
pub(super) fn parse_token(body: &[u8]) -> Result<(String, i64), ProviderError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| {
        ProviderError::Protocol("the registry's token service answered no JSON".into())
    })?;
    let token = ["token", "access_token"]
        .iter()
        .find_map(|k| v[*k].as_str().filter(|t| !t.is_empty()))
        .ok_or_else(|| {
            ProviderError::Protocol("the registry's token service answered no token".into())
        })?;
    let expires_in = v["expires_in"]
        .as_i64()
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_TOKEN_SECONDS);
    Ok((token.to_owned(), expires_in))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn challenges_are_parsed_with_quoted_commas_and_several_schemes() {
        type Expected<'a> = Vec<(&'a str, Vec<(&'a str, &'a str)>)>;
        let cases: &[(&str, Expected)] = &[
            (
                r#"Basic realm="Registry Realm""#,
                vec![("basic", vec![("realm", "Registry Realm")])],
            ),
            (
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push""#,
                vec![(
                    "bearer",
                    vec![
                        ("realm", "https://auth.docker.io/token"),
                        ("scope", "repository:library/alpine:pull,push"),
                        ("service", "registry.docker.io"),
                    ],
                )],
            ),
            (
                r#"bearer  Realm = "https://r.example/token" , service=r.example"#,
                vec![(
                    "bearer",
                    vec![
                        ("realm", "https://r.example/token"),
                        ("service", "r.example"),
                    ],
                )],
            ),
            (
                r#"Basic realm="a \"quoted\" realm", Bearer realm="https://t.example/",error="invalid_token""#,
                vec![
                    ("basic", vec![("realm", r#"a "quoted" realm"#)]),
                    (
                        "bearer",
                        vec![("error", "invalid_token"), ("realm", "https://t.example/")],
                    ),
                ],
            ),
            (
                "Negotiate abc==, Basic",
                vec![("negotiate", vec![]), ("basic", vec![])],
            ),
            ("", vec![]),
            ("realm=\"orphan\"", vec![]),
        ];
        for (header, expected) in cases {
            let got = parse_challenges(header);
            let want: Vec<Challenge> = expected
                .iter()
                .map(|(s, p)| Challenge {
                    scheme: (*s).to_owned(),
                    params: params(p),
                })
                .collect();
            assert_eq!(got, want, "{header}");
        }
    }

    #[test]
    fn the_next_link_is_found_among_others() {
        let cases = [
            (
                r#"</v2/_catalog?last=b&n=2>; rel="next""#,
                Some("/v2/_catalog?last=b&n=2"),
            ),
            (
                r#"<https://r.example/v2/_catalog?n=1&last=a>; rel=next"#,
                Some("https://r.example/v2/_catalog?n=1&last=a"),
            ),
            (
                r#"</first>; rel="prev", </second>; title="x"; rel="next""#,
                Some("/second"),
            ),
            (r#"</only>; rel="prev""#, None),
            ("", None),
            ("garbage", None),
        ];
        for (header, want) in cases {
            assert_eq!(next_link(header).as_deref(), want, "{header}");
        }
    }

    #[test]
    fn registries_are_normalised_to_an_origin() {
        let cases = [
            (None, "docker.io", "https://registry-1.docker.io/"),
            (Some("  "), "docker.io", "https://registry-1.docker.io/"),
            (
                Some("docker.io"),
                "docker.io",
                "https://registry-1.docker.io/",
            ),
            (
                Some("index.docker.io"),
                "index.docker.io",
                "https://registry-1.docker.io/",
            ),
            (Some("ghcr.io"), "ghcr.io", "https://ghcr.io/"),
            (Some("ghcr.io/acme"), "ghcr.io/acme", "https://ghcr.io/"),
            (
                Some("registry.example.com:5000"),
                "registry.example.com:5000",
                "https://registry.example.com:5000/",
            ),
            (
                Some("http://127.0.0.1:5000"),
                "http://127.0.0.1:5000",
                "http://127.0.0.1:5000/",
            ),
            (
                Some(" https://r.example/v2/ "),
                "https://r.example/v2/",
                "https://r.example/",
            ),
        ];
        for (configured, id, base) in cases {
            let r = registry(configured).unwrap();
            assert_eq!(
                (r.id.as_str(), r.base.as_str()),
                (id, base),
                "{configured:?}"
            );
        }
        for bad in [
            "ftp://r.example",
            "https://user:pw@r.example",
            "user@r.example",
            "https://",
            "/path",
        ] {
            let err = registry(Some(bad)).unwrap_err();
            assert!(matches!(err, ProviderError::Invalid(_)), "{bad}: {err:?}");
            assert!(!err.to_string().contains("pw"), "{err}");
        }
    }

    #[test]
    fn token_answers_are_parsed() {
        assert_eq!(
            parse_token(br#"{"token":"abc","expires_in":300}"#).unwrap(),
            ("abc".to_owned(), 300)
        );
        assert_eq!(
            parse_token(br#"{"access_token":"xyz"}"#).unwrap(),
            ("xyz".to_owned(), DEFAULT_TOKEN_SECONDS)
        );
        assert_eq!(
            parse_token(br#"{"token":"","access_token":"xyz","expires_in":-5}"#).unwrap(),
            ("xyz".to_owned(), DEFAULT_TOKEN_SECONDS)
        );
        for bad in [&b"{}"[..], b"not json", br#"{"token":""}"#] {
            assert!(matches!(parse_token(bad), Err(ProviderError::Protocol(_))));
        }
    }
}
