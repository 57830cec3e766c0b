//! When a connector's stored credentials expire: the RFC 3339 text a caller gives,
//! checked against the clock and the stored expiry.

/// The expiry `text` names, in ms. `None` for no text; the stored expiry (`previous`)
/// is kept exactly when the text names the same second, even if it has passed; any
/// other time must lie in the future.
pub(super) fn expires_at(
    text: Option<&str>,
    previous: Option<i64>,
    now: i64,
) -> Result<Option<i64>, String> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) else {
        return Err("must be an RFC 3339 time, like 2027-01-31T12:00:00Z".into());
    };
    let ms = t.timestamp_millis();
    // The stored expiry is shown to the second: the same second means "unchanged".
    let unchanged = previous.filter(|p| p.div_euclid(1000) == ms.div_euclid(1000));
    if unchanged.is_none() && ms <= now {
        return Err("is in the past".into());
    }
    Ok(Some(unchanged.unwrap_or(ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn no_text_means_no_expiry() {
        assert_eq!(expires_at(None, Some(NOW), NOW), Ok(None));
        assert_eq!(expires_at(Some("  "), None, NOW), Ok(None));
    }

    #[test]
    fn a_future_time_is_taken_to_the_millisecond() {
        let text = crate::db::rfc3339(NOW + 60_000);
        assert_eq!(expires_at(Some(&text), None, NOW), Ok(Some(NOW + 60_000)));
    }

    #[test]
    fn a_past_time_is_refused_unless_it_is_the_stored_one() {
        let stored = NOW - 3_600_000 + 123;
        let shown = crate::db::rfc3339(stored - 123);
        assert_eq!(
            expires_at(Some(&shown), None, NOW),
            Err("is in the past".into())
        );
        assert_eq!(
            expires_at(Some(&shown), Some(stored), NOW),
            Ok(Some(stored))
        );
    }

    #[test]
    fn text_that_is_not_rfc_3339_is_refused() {
        let e = expires_at(Some("tomorrow"), None, NOW);
        assert!(e.is_err_and(|m| m.contains("RFC 3339")));
    }
}
