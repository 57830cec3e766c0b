//! The one matcher for role-binding patterns (`namespace/environment`, `*` the only
//! wildcard). A pattern is parsed once into a small AST; the same AST answers checks in
//! Rust ([`Pattern::matches`]) and compiles to SQL conditions ([`Segment::sql`]), so the
//! two can never disagree the way a regex and an unescaped `LIKE` do.

use std::fmt;

use crate::db::Dialect;
use crate::names::{MAX_NAME_LEN, is_name_char};

/// One side of a pattern (namespace or environment).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// `*`: matches every name.
    Any,
    /// No wildcard: matches exactly this name.
    Exact(String),
    /// Literal text and wildcards; consecutive `*` are collapsed.
    Wild(Vec<Piece>),
}

/// A piece of a wildcard segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Piece {
    /// Literal characters, compared case-sensitively.
    Lit(String),
    /// `*`: any run of characters, possibly empty (stored names only ever hold name
    /// characters; matching any character keeps Rust and SQL in agreement even for
    /// rows written around the validation).
    Star,
}

/// How a segment constrains a text column in SQL, per backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlMatch {
    /// No condition.
    All,
    /// `column = value` (uses the index).
    Eq(String),
    /// SQLite: `column GLOB value` (case-sensitive; name characters are never GLOB
    /// meta-characters, so only `*` is special).
    Glob(String),
    /// PostgreSQL: `column LIKE value ESCAPE '\'` with `%`, `_` and `\` escaped.
    Like(String),
}

impl Segment {
    /// Parses one side of a pattern.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("must not be empty (use * to match everything)".into());
        }
        if text.len() > MAX_NAME_LEN {
            return Err(format!("must be at most {MAX_NAME_LEN} characters"));
        }
        if let Some(bad) = text.chars().find(|c| *c != '*' && !is_name_char(*c)) {
            return Err(format!(
                "contains {bad:?}; only letters, digits, - _ . + @ and the wildcard * are allowed"
            ));
        }
        if !text.contains('*') {
            return Ok(Self::Exact(text.to_owned()));
        }
        if text.chars().all(|c| c == '*') {
            return Ok(Self::Any);
        }
        let mut pieces: Vec<Piece> = Vec::new();
        for c in text.chars() {
            match (c, pieces.last_mut()) {
                ('*', Some(Piece::Star)) => {}
                ('*', _) => pieces.push(Piece::Star),
                (c, Some(Piece::Lit(lit))) => lit.push(c),
                (c, _) => pieces.push(Piece::Lit(c.to_string())),
            }
        }
        Ok(Self::Wild(pieces))
    }

    /// Whether `name` matches this segment.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(lit) => lit == name,
            Self::Wild(pieces) => glob(pieces, name),
        }
    }

    /// Whether every name this segment matches is also matched by `other`
    /// (used to refuse grants wider than what the granter holds).
    pub fn is_subset_of(&self, other: &Segment) -> bool {
        match (self, other) {
            (_, Self::Any) => true,
            (Self::Any, _) => false,
            (Self::Exact(name), other) => other.matches(name),
            (Self::Wild(_), Self::Exact(_)) => false,
            (Self::Wild(mine), Self::Wild(theirs)) => {
                // Treat our `*` as a literal name character no name contains and check
                // that `other` matches that text. Sound: a wildcard in `other` is
                // needed to absorb it.
                let text: String = mine
                    .iter()
                    .map(|p| match p {
                        Piece::Lit(s) => s.as_str(),
                        Piece::Star => "\u{0}",
                    })
                    .collect();
                glob(theirs, &text)
            }
        }
    }

    /// The SQL condition for a column holding names.
    pub fn sql(&self, dialect: Dialect) -> SqlMatch {
        match self {
            Self::Any => SqlMatch::All,
            Self::Exact(lit) => SqlMatch::Eq(lit.clone()),
            Self::Wild(pieces) => match dialect {
                Dialect::Sqlite => SqlMatch::Glob(
                    pieces
                        .iter()
                        .map(|p| match p {
                            Piece::Lit(s) => s.as_str(),
                            Piece::Star => "*",
                        })
                        .collect(),
                ),
                Dialect::Postgres => {
                    let mut like = String::new();
                    for piece in pieces {
                        match piece {
                            Piece::Star => like.push('%'),
                            Piece::Lit(s) => {
                                for c in s.chars() {
                                    if matches!(c, '%' | '_' | '\\') {
                                        like.push('\\');
                                    }
                                    like.push(c);
                                }
                            }
                        }
                    }
                    SqlMatch::Like(like)
                }
            },
        }
    }
}

/// Glob match of literal pieces and stars (a star matches any run of characters) by the
/// classic two-pointer scan that backtracks only to the last star: O(pattern × text)
/// worst case, never exponential, whatever the number of stars.
fn glob(pieces: &[Piece], text: &str) -> bool {
    let pattern: Vec<Option<char>> = pieces
        .iter()
        .flat_map(|p| match p {
            Piece::Lit(s) => s.chars().map(Some).collect::<Vec<_>>(),
            Piece::Star => vec![None],
        })
        .collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    let mut last_star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Some(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            Some(None) => {
                last_star = Some((p, t));
                p += 1;
            }
            _ => match last_star {
                // Let the last star swallow one more character and retry.
                Some((star, mark)) => {
                    last_star = Some((star, mark + 1));
                    p = star + 1;
                    t = mark + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(Option::is_none)
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::Exact(s) => f.write_str(s),
            Self::Wild(pieces) => pieces.iter().try_for_each(|p| match p {
                Piece::Lit(s) => f.write_str(s),
                Piece::Star => f.write_str("*"),
            }),
        }
    }
}

/// A parsed `namespace/environment` pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    /// The namespace side.
    pub namespace: Segment,
    /// The environment side.
    pub environment: Segment,
}

impl Pattern {
    /// Parses `ns/env`; the error names the problem.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (ns, env) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} must look like <namespace>/<environment>"))?;
        let namespace = Segment::parse(ns).map_err(|e| format!("namespace part {e}"))?;
        let environment = Segment::parse(env).map_err(|e| format!("environment part {e}"))?;
        Ok(Self {
            namespace,
            environment,
        })
    }

    /// Whether the environment `ns/env` matches.
    pub fn matches(&self, namespace: &str, environment: &str) -> bool {
        self.namespace.matches(namespace) && self.environment.matches(environment)
    }

    /// Whether this binding confers namespace-level permissions on `namespace`
    /// (only bindings whose environment part is `*` do).
    pub fn covers_namespace(&self, namespace: &str) -> bool {
        self.environment == Segment::Any && self.namespace.matches(namespace)
    }

    /// Whether everything this pattern matches is matched by `other` too.
    pub fn is_subset_of(&self, other: &Pattern) -> bool {
        self.namespace.is_subset_of(&other.namespace)
            && self.environment.is_subset_of(&other.environment)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.environment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        Pattern::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn star_is_the_only_wildcard_and_everything_else_is_literal() {
        assert!(p("team-*/*").matches("team-a", "x"));
        assert!(p("team-*/*").matches("team-", "x"));
        assert!(!p("team-*/*").matches("Team-a", "x"));
        assert!(!p("team_a/*").matches("teamXa", "x"));
        assert!(!p("t.m/*").matches("tam", "x"));
        assert!(p("a*b*c/e").matches("aXbYc", "e"));
        assert!(!p("a*b*c/e").matches("aXbY", "e"));
        assert!(p("*/env-0*").matches("any", "env-007"));
    }

    #[test]
    fn many_stars_match_in_polynomial_time() {
        let many = format!("alice/{}b", "*a".repeat(31));
        let pattern = p(&many);
        let name = "a".repeat(64);
        // With exponential backtracking these two calls would not return.
        assert!(!pattern.matches("alice", &name));
        assert!(!pattern.is_subset_of(&p(&format!("alice/{}c", "*a".repeat(31)))));
        assert!(p("alice/*a*b").matches("alice", "xaxb"));
    }

    #[test]
    fn malformed_patterns_are_refused_with_a_reason() {
        for bad in ["", "a", "/a", "a/", "a/b/c", "a b/c", "a%/b", "a/b?"] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn postgres_sql_escapes_like_metacharacters() {
        assert_eq!(
            Segment::parse("a_b%*").map(|s| s.sql(Dialect::Postgres)),
            Err(
                "contains '%'; only letters, digits, - _ . + @ and the wildcard * are allowed"
                    .into()
            )
        );
        assert_eq!(
            p("a_b*/x").namespace.sql(Dialect::Postgres),
            SqlMatch::Like("a\\_b%".into())
        );
        assert_eq!(
            p("a_b*/x").namespace.sql(Dialect::Sqlite),
            SqlMatch::Glob("a_b*".into())
        );
        assert_eq!(
            p("ab/x").namespace.sql(Dialect::Sqlite),
            SqlMatch::Eq("ab".into())
        );
        assert_eq!(p("**/x").namespace.sql(Dialect::Sqlite), SqlMatch::All);
    }

    #[test]
    fn subset_checks_refuse_wider_grants() {
        assert!(p("team-a/*").is_subset_of(&p("team-*/*")));
        assert!(p("team-a*/x").is_subset_of(&p("team-*/*")));
        assert!(!p("team-*/*").is_subset_of(&p("team-a/*")));
        assert!(!p("*/*").is_subset_of(&p("team-*/*")));
        assert!(p("team-*/*").is_subset_of(&p("*/*")));
        assert!(!p("t*/*").is_subset_of(&p("team-*/*")));
    }

    #[test]
    fn namespace_level_permissions_need_a_star_environment() {
        assert!(p("team-*/*").covers_namespace("team-a"));
        assert!(!p("team-a/env").covers_namespace("team-a"));
    }
}
