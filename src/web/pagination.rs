//! List parameters shared by every JSON list: `?limit=` (default 50, max 500) and an
//! opaque `?cursor=` (URL-safe base64 of the last row's sort key).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::errors::AppError;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
pub const MAX_LIMIT: i64 = 500;

/// Checks `limit`.
pub fn limit(requested: Option<i64>) -> Result<i64, AppError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(AppError::invalid(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// Encodes a sort key as a cursor.
pub fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// Decodes a cursor; a malformed one is a 400.
pub fn decode_cursor(cursor: Option<&str>) -> Result<Option<String>, AppError> {
    cursor
        .filter(|c| !c.is_empty())
        .map(|c| {
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| AppError::bad_request("invalid cursor"))
        })
        .transpose()
}

/// Splits a page read with one row more than `limit` (the repo convention): the first
/// `limit` rows, and the sort key of the last of them when more rows follow. The key
/// is raw; JSON lists pass it to [`encode_cursor`], pages build their next link.
pub fn split_page<T>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(key);
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_with_one_row_more_than_the_limit_has_a_next_key() {
        let (rows, next) = split_page(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!((rows, next), (vec![1, 2], Some("2".to_owned())));
        let (rows, next) = split_page(vec![1, 2], 2, |n| n.to_string());
        assert_eq!((rows, next), (vec![1, 2], None));
        let (rows, next) = split_page(Vec::<i32>::new(), 2, |n| n.to_string());
        assert_eq!((rows, next), (vec![], None));
    }

    #[test]
    fn cursors_round_trip_and_limits_are_bounded() {
        let c = encode_cursor("team-a.ci@x");
        assert_eq!(
            decode_cursor(Some(&c)).unwrap().as_deref(),
            Some("team-a.ci@x")
        );
        assert!(decode_cursor(Some("%%%")).is_err());
        assert_eq!(decode_cursor(None).unwrap(), None);
        assert_eq!(limit(None).unwrap(), 50);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(501)).is_err());
    }
}
