//! Compiles a principal's grants into one SQL condition, so every list is filtered in
//! the database by exactly the rules [`super::Grants`] applies in Rust.
//!
//! The condition is its own query fragment (not a raw SQL literal): values are bind
//! parameters and the SQL text depends only on the shape of the grants, so diesel can
//! reuse the prepared statement across requests of the same viewer shape.

use diesel::QueryResult;
use diesel::backend::Backend;
use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, ValidGrouping, is_aggregate,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, HasSqlType, Text};

use super::pattern::{Segment, SqlMatch};
use super::{Grants, Permission};
use crate::db::Dialect;

/// Which columns hold the names a pattern is matched against. The names are
/// compile-time constants (never user input).
#[derive(Debug, Clone, Copy)]
pub struct Columns {
    /// Column with the namespace name, e.g. `namespaces.name`.
    pub namespace: &'static str,
    /// Column with the environment name, or `None` for namespace-level checks
    /// (which only `ns/*` bindings satisfy).
    pub environment: Option<&'static str>,
}

/// A boolean SQL condition over name columns.
#[derive(Debug, Clone)]
pub enum Condition {
    /// `1 = 1` / `1 = 0`.
    Const(bool),
    /// `column <op> $value [ESCAPE '\']`.
    Match {
        /// Column (a constant).
        column: &'static str,
        /// ` = `, ` GLOB ` or ` LIKE `.
        op: &'static str,
        /// Bound value.
        value: String,
        /// Whether to add `ESCAPE '\'`.
        escape: bool,
    },
    /// `column <before> $value <after>`: a bound value inside constant SQL.
    Enclosed {
        /// Column (a constant).
        column: &'static str,
        /// Constant SQL before the value.
        before: &'static str,
        /// Bound value.
        value: String,
        /// Constant SQL after the value.
        after: &'static str,
    },
    /// All of these.
    And(Vec<Condition>),
    /// Any of these.
    Or(Vec<Condition>),
}

fn segment(column: &'static str, seg: &Segment, dialect: Dialect) -> Option<Condition> {
    let (op, value, escape) = match seg.sql(dialect) {
        SqlMatch::All => return None,
        SqlMatch::Eq(v) => (" = ", v, false),
        SqlMatch::Glob(v) => (" GLOB ", v, false),
        SqlMatch::Like(v) => (" LIKE ", v, true),
    };
    Some(Condition::Match {
        column,
        op,
        value,
        escape,
    })
}

/// `column IN (ids)` with the ids bound as one JSON array, so the statement's text does
/// not depend on how many there are and it stays prepared: diesel's `eq_any` writes
/// `IN (?, ?, …)` and marks the statement as one never to cache.
pub fn ids_in(column: &'static str, ids: &[i64], dialect: Dialect) -> Condition {
    let (before, after) = match dialect {
        Dialect::Sqlite => (" IN (SELECT value FROM json_each(", "))"),
        Dialect::Postgres => (
            " IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(",
            " AS json)))",
        ),
    };
    let mut value = String::with_capacity(2 + ids.len() * 8);
    value.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            value.push(',');
        }
        value.push_str(&id.to_string());
    }
    value.push(']');
    Condition::Enclosed {
        column,
        before,
        value,
        after,
    }
}

/// The condition "the caller holds `permission` on this row" (for a down-scoped token:
/// and its issuer does too).
pub fn permission_filter(
    grants: &Grants,
    permission: Permission,
    columns: Columns,
    dialect: Dialect,
) -> Condition {
    let mut branches = permission_branches(grants, permission, columns, dialect);
    match branches.len() {
        0 => Condition::Const(false),
        1 => branches.pop().unwrap_or(Condition::Const(false)),
        _ => Condition::Or(branches),
    }
}

/// The same condition as a list of alternatives, one per granting binding (each capped
/// by the ceiling): a row is allowed when any branch holds. Lists use one ordered
/// index-range query per branch instead of one query with an OR.
pub fn permission_branches(
    grants: &Grants,
    permission: Permission,
    columns: Columns,
    dialect: Dialect,
) -> Vec<Condition> {
    let own = own_branches(grants, permission, columns, dialect);
    match grants.ceiling() {
        None => own,
        Some(ceiling) => {
            let cap = permission_filter(ceiling, permission, columns, dialect);
            own.into_iter()
                .map(|b| Condition::And(vec![b, cap.clone()]))
                .collect()
        }
    }
}

fn own_branches(
    grants: &Grants,
    permission: Permission,
    columns: Columns,
    dialect: Dialect,
) -> Vec<Condition> {
    let mut any = Vec::new();
    for binding in grants.with_role_at_least(permission.min_role()) {
        let env_cond = match columns.environment {
            Some(col) => segment(col, &binding.pattern.environment, dialect),
            None if binding.pattern.environment == Segment::Any => None,
            // Namespace-level permissions come only from `ns/*` bindings.
            None => continue,
        };
        let ns_cond = segment(columns.namespace, &binding.pattern.namespace, dialect);
        match (ns_cond, env_cond) {
            (None, None) => return vec![Condition::Const(true)],
            (Some(c), None) | (None, Some(c)) => any.push(c),
            (Some(a), Some(b)) => any.push(Condition::And(vec![a, b])),
        }
    }
    any
}

impl Expression for Condition {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for Condition {}

impl<QS> SelectableExpression<QS> for Condition {}

impl ValidGrouping<()> for Condition {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for Condition {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for Condition
where
    DB: Backend + HasSqlType<Text>,
    String: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        match self {
            Self::Const(true) => out.push_sql("1 = 1"),
            Self::Const(false) => out.push_sql("1 = 0"),
            Self::Match {
                column,
                op,
                value,
                escape,
            } => {
                out.push_sql("(");
                out.push_sql(column);
                out.push_sql(op);
                out.push_bind_param::<Text, String>(value)?;
                if *escape {
                    out.push_sql(" ESCAPE '\\'");
                }
                out.push_sql(")");
            }
            Self::Enclosed {
                column,
                before,
                value,
                after,
            } => {
                out.push_sql("(");
                out.push_sql(column);
                out.push_sql(before);
                out.push_bind_param::<Text, String>(value)?;
                out.push_sql(after);
                out.push_sql(")");
            }
            Self::And(parts) | Self::Or(parts) => {
                let joiner = if matches!(self, Self::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                out.push_sql("(");
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push_sql(joiner);
                    }
                    part.walk_ast(out.reborrow())?;
                }
                out.push_sql(")");
            }
        }
        Ok(())
    }
}
