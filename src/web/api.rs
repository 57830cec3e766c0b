//! Shapes every JSON answer shares, typed so the OpenAPI document (`crate::openapi`)
//! describes exactly what is sent: a page of items, and the error body.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// A page of a list: its items and the cursor of the next page (`null` on the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` when this is the last.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// `items`, followed by the page `next_cursor` names.
    pub fn new(items: Vec<T>, next_cursor: Option<String>) -> Self {
        Self { items, next_cursor }
    }

    /// Every item, in one page.
    pub fn all(items: Vec<T>) -> Self {
        Self::new(items, None)
    }
}

/// A 200 answer of `value` as JSON, serialized into one buffer of about `size_hint`
/// bytes (lists know roughly how long they will be; growing a buffer by doubling copies
/// it each time and, past glibc's fast bins, makes malloc consolidate).
pub fn json_ok<T: Serialize>(value: &T, size_hint: usize) -> actix_web::HttpResponse {
    let mut body = Vec::with_capacity(size_hint);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => actix_web::HttpResponse::Ok()
            .content_type(actix_web::http::header::ContentType::json())
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "could not write a JSON answer");
            actix_web::HttpResponse::InternalServerError().finish()
        }
    }
}

/// A name as `crate::names` accepts it (namespaces, accounts, keys, connectors, users,
/// groups): 1–64 of `A-Z a-z 0-9 - _ . + @`, starting with a letter or digit.
pub struct Name;

/// [`Name`]'s pattern.
pub const NAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._+@-]{0,63}$";

impl utoipa::PartialSchema for Name {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(NAME_PATTERN))
            .into()
    }
}

impl utoipa::ToSchema for Name {}

/// Every error of the JSON API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The error of an [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `validation_failed`, `not_found`, `forbidden`, …
    pub code: String,
    /// For people; safe to show.
    pub message: String,
    /// Per-field messages of a refused body or query (field name → message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
    /// Correlates a 5xx with the server's log line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A JSON body, as `web::Json` reads it (size limit, content type, errors) with rules
/// of its own: the body must be an object (serde would also take a struct written as
/// an array, `[null, null]`); a number with an integral value is an integer whichever
/// way it is written (`5.0` is `5`: JSON does not tell them apart); and no body, like
/// `null`, is `None` for an optional body (`Json<Option<T>>`).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        // No body at all reads as `null`: `Json<Option<T>>` takes an optional body.
        use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
        let headers = req.headers();
        let empty = match headers.get(CONTENT_LENGTH) {
            Some(length) => length.as_bytes() == b"0",
            None => !headers.contains_key(TRANSFER_ENCODING),
        };
        if empty {
            let read = object(serde_json::Value::Null);
            return Box::pin(async move { Ok(Self(read?)) });
        }
        let value = actix_web::web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move { Ok(Self(object(value.await?.into_inner())?)) })
    }
}

/// Refuses (400) an API request whose query string holds a NUL character: nothing
/// Portcullis stores contains one, and PostgreSQL refuses it in text, so every
/// backend answers alike. The OpenAPI document says so on each text parameter.
pub async fn refuse_nul_in_query<B: actix_web::body::MessageBody>(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<B>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::EitherBody<B>>, actix_web::Error> {
    let query = req.query_string();
    if req.path().starts_with("/api/")
        && (query.contains('\0') || query.to_ascii_lowercase().contains("%00"))
    {
        let err = crate::errors::AppError::bad_request("text must not contain NUL characters");
        return Ok(req.error_response(err).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// `value`, which must be a JSON object (or `null`, for an optional body), as a `T`
/// (400 otherwise).
pub fn object<T: serde::de::DeserializeOwned>(
    mut value: serde_json::Value,
) -> Result<T, crate::errors::AppError> {
    if !value.is_object() && !value.is_null() {
        return Err(crate::errors::AppError::bad_request(
            "the body must be a JSON object",
        ));
    }
    integral_numbers_as_integers(&mut value);
    serde_json::from_value(value)
        .map_err(|e| crate::errors::AppError::bad_request(format!("invalid body: {e}")))
}

/// Rewrites every number with an integral value (`5.0`, `-3e2`) as an integer.
fn integral_numbers_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                *value = serde_json::Value::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::object;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body {
        a: Option<i64>,
        b: Option<String>,
    }

    #[test]
    fn a_body_is_an_object_and_integral_numbers_are_integers() {
        let read = |v: serde_json::Value| object::<Body>(v).map_err(|e| e.to_string());
        assert!(
            read(serde_json::json!([null, null])).is_err(),
            "a struct as an array"
        );
        assert!(read(serde_json::json!("x")).is_err());
        assert_eq!(
            read(serde_json::json!({"a": 30.0})).unwrap(),
            Body {
                a: Some(30),
                b: None
            }
        );
        assert_eq!(read(serde_json::json!({"a": -3e2})).unwrap().a, Some(-300));
        assert!(read(serde_json::json!({"a": 1.5})).is_err());
        assert!(read(serde_json::json!({"c": 1})).is_err(), "unknown field");
    }
}
