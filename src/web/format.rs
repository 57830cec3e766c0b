//! Formatting shared by the pages: one way to show a time everywhere.

use std::fmt;

/// `2026-11-23 10:04 UTC`, or `never` (for text: messages, notes).
pub fn when(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "never".into())
}

/// A time as the pages show it: relative ("3 hours ago", "in 5 days") with the exact
/// UTC time on hover and in `datetime`; `never` when there is none. It renders as
/// HTML (`<time>`), built from numbers only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Moment {
    at: Option<i64>,
    now: i64,
}

/// `ms` as a [`Moment`], relative to now.
pub fn moment(ms: Option<i64>) -> Moment {
    Moment {
        at: ms,
        now: crate::db::now_ms(),
    }
}

impl Moment {
    /// Whether there is no time ("never").
    pub fn is_never(&self) -> bool {
        self.at.is_none()
    }
}

/// `delta_ms` in words: "just now", "5 minutes ago", "in 3 days".
fn relative(delta_ms: i64) -> String {
    let secs = delta_ms.unsigned_abs() / 1000;
    let (n, unit) = match secs {
        0..=59 => return "just now".into(),
        60..=3_599 => (secs / 60, "minute"),
        3_600..=86_399 => (secs / 3_600, "hour"),
        86_400..=2_591_999 => (secs / 86_400, "day"),
        2_592_000..=31_535_999 => (secs / 2_592_000, "month"),
        _ => (secs / 31_536_000, "year"),
    };
    let s = if n == 1 { "" } else { "s" };
    if delta_ms < 0 {
        format!("in {n} {unit}{s}")
    } else {
        format!("{n} {unit}{s} ago")
    }
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(at) = self.at.and_then(chrono::DateTime::from_timestamp_millis) else {
            return f.write_str("never");
        };
        let iso = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let exact = at.format("%Y-%m-%d %H:%M UTC");
        let ago = relative(self.now - at.timestamp_millis());
        write!(f, r#"<time datetime="{iso}" title="{exact}">{ago}</time>"#)
    }
}

impl askama::filters::HtmlSafe for Moment {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_is_relative_with_the_exact_time_on_hover() {
        let at = 1_764_496_800_000; // 2025-11-30 10:00 UTC
        let m = Moment {
            at: Some(at),
            now: at + 3 * 3_600_000 + 5_000,
        };
        assert_eq!(
            m.to_string(),
            r#"<time datetime="2025-11-30T10:00:00Z" title="2025-11-30 10:00 UTC">3 hours ago</time>"#
        );
        assert_eq!(relative(-86_400_000 * 5), "in 5 days");
        assert_eq!(relative(61_000), "1 minute ago");
        assert_eq!(relative(10_000), "just now");
        assert_eq!(moment(None).to_string(), "never");
        assert!(moment(None).is_never());
    }
}
