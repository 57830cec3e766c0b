//! Compiles a principal's grants into one SQL condition, so every list is filtered in
//! the database by exactly the rules [`super::Grants`] applies in Rust.

use diesel::BoolExpressionMethods;
use diesel::BoxableExpression;
use diesel::dsl::sql;
use diesel::sql_types::{Bool, Text};

use super::pattern::{Dialect, Segment, SqlMatch};
use super::{Grants, Permission};
use crate::db::DbBackend;

/// A boxed boolean SQL expression usable on query source `QS`.
pub type Condition<QS> = Box<dyn BoxableExpression<QS, DbBackend, SqlType = Bool>>;

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

fn literal<QS: 'static>(text: &'static str) -> Condition<QS> {
    Box::new(sql::<Bool>(text))
}

fn segment<QS: 'static>(
    column: &'static str,
    seg: &Segment,
    dialect: Dialect,
) -> Option<Condition<QS>> {
    let (op, value) = match seg.sql(dialect) {
        SqlMatch::All => return None,
        SqlMatch::Eq(v) => (" = ", v),
        SqlMatch::Glob(v) => (" GLOB ", v),
        SqlMatch::Like(v) => (" LIKE ", v),
    };
    let escape = if matches!(seg.sql(dialect), SqlMatch::Like(_)) {
        " ESCAPE '\\')"
    } else {
        ")"
    };
    Some(Box::new(
        sql::<Bool>("(")
            .sql(column)
            .sql(op)
            .bind::<Text, _>(value)
            .sql(escape),
    ))
}

/// The condition "the caller holds `permission` on this row".
pub fn permission_filter<QS: 'static>(
    grants: &Grants,
    permission: Permission,
    columns: Columns,
    dialect: Dialect,
) -> Condition<QS> {
    let mut any: Option<Condition<QS>> = None;
    for binding in grants.with_role_at_least(permission.min_role()) {
        let env_cond = match columns.environment {
            Some(col) => segment::<QS>(col, &binding.pattern.environment, dialect),
            None if binding.pattern.environment == Segment::Any => None,
            // Namespace-level permissions come only from `ns/*` bindings.
            None => continue,
        };
        let ns_cond = segment::<QS>(columns.namespace, &binding.pattern.namespace, dialect);
        let this: Condition<QS> = match (ns_cond, env_cond) {
            (None, None) => return literal("1 = 1"),
            (Some(c), None) | (None, Some(c)) => c,
            (Some(a), Some(b)) => Box::new(a.and(b)),
        };
        any = Some(match any {
            None => this,
            Some(prev) => Box::new(prev.or(this)),
        });
    }
    any.unwrap_or_else(|| literal("1 = 0"))
}
