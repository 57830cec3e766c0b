//! Pure API-key rules: rotation grace windows, which secret matched, whether a token
//! minted from a key is still alive, and the warnings the keys table shows.

/// Milliseconds in a minute.
pub const MINUTE_MS: i64 = 60_000;
/// Milliseconds in a day.
pub const DAY_MS: i64 = 24 * 60 * MINUTE_MS;
/// Longest grace period a rotation may keep the previous secret (30 days).
pub const MAX_RETAIN_MINUTES: i64 = 30 * 24 * 60;
/// Warn when a key expires within this long.
pub const EXPIRY_WARNING_MS: i64 = 7 * DAY_MS;
/// Warn when a key was last rotated (or created) longer ago than this.
pub const ROTATION_WARNING_MS: i64 = 90 * DAY_MS;

/// Until when the previous secret stays valid after a rotation at `now`:
/// `min(now + retain, key expiry)`, or `None` for no grace at all.
pub fn retain_until(now: i64, retain_minutes: i64, expires_at: Option<i64>) -> Option<i64> {
    if retain_minutes <= 0 {
        return None;
    }
    let until = now.saturating_add(retain_minutes.saturating_mul(MINUTE_MS));
    Some(expires_at.map_or(until, |e| until.min(e)))
}

/// Which stored secret a presented secret matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    /// The current secret.
    Current,
    /// The previous secret, inside its grace window.
    Previous,
}

/// Compares a presented secret's hash with the stored ones (constant time each).
pub fn match_secret(
    presented_hash: &str,
    current: &str,
    previous: Option<&str>,
    retain_until: Option<i64>,
    now: i64,
) -> Option<Matched> {
    let eq = |a: &str, b: &str| -> bool {
        subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into()
    };
    if eq(presented_hash, current) {
        return Some(Matched::Current);
    }
    match (previous, retain_until) {
        (Some(prev), Some(until)) if now < until && eq(presented_hash, prev) => {
            Some(Matched::Previous)
        }
        _ => None,
    }
}

/// Whether a token minted from generation `token_generation` of a key still lives:
/// it dies with its secret, i.e. at the end of the grace window after the next rotation.
pub fn token_alive(
    token_generation: i64,
    key_generation: i64,
    retain_until: Option<i64>,
    now: i64,
) -> bool {
    token_generation == key_generation
        || (token_generation + 1 == key_generation && retain_until.is_some_and(|u| now < u))
}

/// A short, non-secret fragment to recognise a key by: prefix, the first four
/// characters of its public id, and the last four of its checksum.
pub fn display_fragment(plaintext: &str) -> String {
    let head: String = plaintext.chars().take(8).collect();
    let tail: String = plaintext
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head}…{tail}")
}

/// "3 days", "5 hours", "12 minutes", "less than a minute" (rounded to the nearest unit).
pub fn humanize(ms: i64) -> String {
    let ms = ms.max(0);
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let rounded = |unit: i64| (ms + unit / 2) / unit;
    let hour = 60 * MINUTE_MS;
    if rounded(DAY_MS) >= 2 {
        plural(rounded(DAY_MS), "day")
    } else if rounded(hour) >= 2 {
        plural(rounded(hour), "hour")
    } else if ms >= MINUTE_MS {
        plural(rounded(MINUTE_MS), "minute")
    } else {
        "less than a minute".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grace_window_never_outlives_the_key() {
        assert_eq!(retain_until(1_000, 0, None), None);
        assert_eq!(retain_until(0, 10, None), Some(10 * MINUTE_MS));
        assert_eq!(
            retain_until(0, 10, Some(5 * MINUTE_MS)),
            Some(5 * MINUTE_MS)
        );
    }

    #[test]
    fn the_previous_secret_matches_only_inside_the_window() {
        assert_eq!(
            match_secret("a", "a", Some("b"), Some(10), 5),
            Some(Matched::Current)
        );
        assert_eq!(
            match_secret("b", "a", Some("b"), Some(10), 5),
            Some(Matched::Previous)
        );
        assert_eq!(match_secret("b", "a", Some("b"), Some(10), 10), None);
        assert_eq!(match_secret("b", "a", Some("b"), None, 5), None);
        assert_eq!(match_secret("c", "a", Some("b"), Some(10), 5), None);
    }

    #[test]
    fn tokens_die_with_the_secret_that_minted_them() {
        assert!(token_alive(3, 3, None, 0));
        assert!(token_alive(2, 3, Some(10), 5));
        assert!(!token_alive(2, 3, Some(10), 10));
        assert!(!token_alive(1, 3, Some(10), 5));
    }

    #[test]
    fn fragments_and_durations_read_well() {
        assert_eq!(
            display_fragment("pck_abcdefghijklmnopWXYZ"),
            "pck_abcd…WXYZ"
        );
        assert_eq!(humanize(3 * DAY_MS + 5), "3 days");
        assert_eq!(humanize(DAY_MS), "24 hours");
        assert_eq!(humanize(2 * DAY_MS - 5), "2 days");
        assert_eq!(humanize(MINUTE_MS), "1 minute");
        assert_eq!(humanize(-5), "less than a minute");
    }
}
