//! What the overview says needs attention: one line per thing, with where to act.

/// One thing that needs attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attention {
    /// What, in words ("Key ci of nightly-etl expires 2026-12-03 10:00 UTC").
    pub what: String,
    /// The page to act on it.
    pub href: String,
}
