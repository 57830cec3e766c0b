//! List parameters shared by every JSON list: `?limit=` (default 50, max 500) and an
//! opaque `?cursor=` (URL-safe base64 of the last row's sort key).

use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};

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

/// Decodes a cursor. Any well-formed one names a position in a list (the key it
/// encodes, with bytes that are not UTF-8, and NUL, which no key holds, replaced), so
/// only text that is not base64url at all is a 400.
pub fn decode_cursor(cursor: Option<&str>) -> Result<Option<String>, AppError> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    cursor
        .filter(|c| !c.is_empty())
        .map(|c| {
            LENIENT
                .decode(c)
                .map(|b| String::from_utf8_lossy(&b).replace('\0', "\u{fffd}"))
                .map_err(|_| AppError::bad_request("invalid cursor"))
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

    #[test]
    fn any_base64url_cursor_names_a_position_and_holds_no_nul() {
        // Trailing bits, a missing padding, bytes that are not UTF-8, NUL: all readable.
        for cursor in ["Ci", "a5ZDuUQA8rW", "_w", "AAA"] {
            let key = decode_cursor(Some(cursor)).unwrap().unwrap();
            assert!(!key.contains('\0'), "{cursor}: {key:?}");
        }
        assert!(decode_cursor(Some("a b")).is_err(), "not base64url");
    }
}
