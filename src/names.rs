//! Validation of entity names (namespaces, environments, users, service accounts, keys,
//! connectors): 1–64 characters from `A-Z a-z 0-9 - _ . + @`, starting with a letter
//! or digit; case-sensitive.
//!
//! Service accounts and connectors are named per namespace: an [`Address`] is
//! `namespace/name`, or a bare `name` that [`Address::resolve`] accepts only when it is
//! unique among what the caller may read.

use std::fmt;

use crate::errors::AppError;

/// Longest accepted name.
pub const MAX_NAME_LEN: usize = 64;

/// True for the characters a name may contain after its first one.
pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '@')
}

/// Checks a name; the error is a sentence fit for a form or a JSON error.
pub fn validate_name(name: &str) -> Result<(), String> {
    let Some(first) = name.chars().next() else {
        return Err("must not be empty".into());
    };
    if name.len() > MAX_NAME_LEN {
        return Err(format!("must be at most {MAX_NAME_LEN} characters"));
    }
    if !first.is_ascii_alphanumeric() {
        return Err("must start with a letter or a digit".into());
    }
    if let Some(bad) = name.chars().find(|c| !is_name_char(*c)) {
        return Err(format!(
            "contains {bad:?}; only letters, digits and - _ . + @ are allowed"
        ));
    }
    Ok(())
}

/// Where a service account or connector is: `namespace/name`, or only `name` (the
/// older, server-wide form, still answered where it is unambiguous).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// The namespace, when given.
    pub namespace: Option<String>,
    /// The name within it.
    pub name: String,
}

impl Address {
    /// `namespace/name`.
    pub fn qualified(namespace: &str, name: &str) -> Self {
        Self {
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
        }
    }

    /// Reads `namespace/name` or `name` (command lines, share forms).
    pub fn parse(text: &str) -> Self {
        match text.split_once('/') {
            Some((namespace, name)) => Self::qualified(namespace, name),
            None => Self {
                namespace: None,
                name: text.to_owned(),
            },
        }
    }

    /// True when both parts are valid names (else nothing can be found there).
    pub fn is_valid(&self) -> bool {
        validate_name(&self.name).is_ok()
            && self
                .namespace
                .as_deref()
                .is_none_or(|ns| validate_name(ns).is_ok())
    }

    /// The one entry this address means among `found` (the entries with this name, each
    /// with its namespace, already limited to what the caller may read): 404 when there
    /// is none, 409 `ambiguous_name` naming the namespaces when a bare name matches
    /// several. `what` names the kind in the message ("service account").
    pub fn resolve<T>(&self, what: &str, found: Vec<(T, String)>) -> Result<(T, String), AppError> {
        let mut found: Vec<(T, String)> = found
            .into_iter()
            .filter(|(_, ns)| self.namespace.as_ref().is_none_or(|want| want == ns))
            .collect();
        if found.len() > 1 {
            let mut namespaces: Vec<&str> = found.iter().map(|(_, ns)| ns.as_str()).collect();
            namespaces.sort_unstable();
            return Err(AppError::AmbiguousName(format!(
                "{name:?} names a {what} in each of {list}: give its namespace \
                 (e.g. {first}/{name})",
                name = self.name,
                list = namespaces.join(", "),
                first = namespaces[0],
            )));
        }
        found.pop().ok_or(AppError::NotFound)
    }
}

impl Address {
    /// The path parameters `{ns}` (optional) and `{name}`, percent-decoded as
    /// `web::Path` decodes them.
    pub fn of(params: &actix_web::dev::Path<actix_web::dev::Url>) -> Option<Self> {
        /// The parameters.
        #[derive(serde::Deserialize)]
        struct Params {
            ns: Option<String>,
            name: String,
        }
        let p = params.load::<Params>().ok()?;
        Some(Self {
            namespace: p.ns,
            name: p.name,
        })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Path parameters `{ns}` (optional) and `{name}` as an [`Address`], so one handler
/// serves `/…/{name}` and `/namespaces/{ns}/…/{name}`.
impl actix_web::FromRequest for Address {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(Self::of(req.match_info()).ok_or(AppError::NotFound))
    }
}

/// A body or query that names a namespace (`{"namespace": …}`, `?namespace=…`).
pub trait Namespaced {
    /// The namespace it names, if any.
    fn namespace_mut(&mut self) -> &mut Option<String>;
}

/// `namespace` of a list query, where blank is no filter (as a list form sends it).
pub fn blank_as_none(namespace: &mut Option<String>) -> &mut Option<String> {
    if namespace.as_deref() == Some("") {
        *namespace = None;
    }
    namespace
}

/// A body or query extractor `E` (`api::Json<T>`, `web::Query<T>`) of a collection
/// route that also exists under a namespace (`/api/v1/namespaces/{ns}/connectors`):
/// the path's `{ns}` fills in the namespace, and a different one in `T` is a 422.
pub struct Scoped<E>(pub E);

impl<E> actix_web::FromRequest for Scoped<E>
where
    E: actix_web::FromRequest + std::ops::DerefMut + 'static,
    E::Target: Namespaced,
{
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        /// The `{ns}` parameter, percent-decoded as `web::Path` decodes it.
        #[derive(serde::Deserialize)]
        struct Params {
            ns: Option<String>,
        }
        let path_ns = req.match_info().load::<Params>().ok().and_then(|p| p.ns);
        let inner = E::from_request(req, payload);
        Box::pin(async move {
            // A namespace that cannot exist holds nothing.
            if path_ns
                .as_deref()
                .is_some_and(|ns| validate_name(ns).is_err())
            {
                return Err(AppError::NotFound.into());
            }
            let mut given = inner.await.map_err(Into::into)?;
            if let Some(ns) = path_ns {
                let named = given.namespace_mut();
                if named.as_ref().is_some_and(|n| *n != ns) {
                    let message = format!("differs from the namespace of the path ({ns})");
                    return Err(AppError::invalid("namespace", message).into());
                }
                *named = Some(ns);
            }
            Ok(Self(given))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_resolve_to_one_readable_entry_or_say_why_not() {
        let found = || vec![(1, "team-a".to_owned()), (2, "team-b".to_owned())];
        let bare = Address::parse("ci");
        let err = bare.resolve("service account", found()).unwrap_err();
        assert_eq!(err.code(), "ambiguous_name");
        assert!(err.to_string().contains("team-a, team-b"), "{err}");
        assert_eq!(bare.resolve("x", vec![(1, "team-a".into())]).unwrap().0, 1);
        assert_eq!(
            Address::parse("team-b/ci").resolve("x", found()).unwrap().0,
            2
        );
        let elsewhere = Address::parse("team-c/ci").resolve("x", found());
        assert_eq!(elsewhere.unwrap_err().code(), "not_found");
        assert_eq!(
            bare.resolve::<i32>("x", vec![]).unwrap_err().code(),
            "not_found"
        );
        assert_eq!(Address::parse("team-b/ci").to_string(), "team-b/ci");
        assert!(!Address::parse("a/b/c").is_valid() && Address::parse("a/b").is_valid());
    }

    #[test]
    fn names_accept_the_documented_alphabet() {
        for ok in ["a", "A9", "team-a", "x_y.z+w@q", &"a".repeat(64)] {
            assert_eq!(validate_name(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn names_reject_everything_else() {
        for bad in [
            "",
            "-a",
            "_a",
            "a b",
            "a/b",
            "a*",
            "é",
            "a%",
            &"a".repeat(65),
        ] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
