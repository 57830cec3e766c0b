//! Readable lists and counts of namespaces and environments. Every one compiles the
//! caller's grants into its SQL filter (`access::sql::permission_filter`).

use diesel::prelude::*;

use super::super::models::{Environment, Namespace};
use crate::access::sql::{Columns, Condition, permission_filter};
use crate::access::{Grants, Permission};
use crate::db::DbConnection;
use crate::db::schema::{environments, namespaces};

diesel::define_sql_function! {
    /// SQL `LOWER(text)`.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Columns of environment lists.
pub const ENV_COLUMNS: Columns = Columns {
    namespace: "namespaces.name",
    environment: Some("environments.name"),
};

/// `SUM(env_count)` as a BIGINT on both backends (PostgreSQL sums to NUMERIC).
const ENV_COUNT_SUM: crate::db::ConstAggregate<diesel::sql_types::BigInt> =
    crate::db::ConstAggregate::new("CAST(COALESCE(SUM(namespaces.env_count), 0) AS BIGINT)");

/// Case-insensitive substring match on a name column: SQLite's `LIKE` is already
/// case-insensitive for ASCII, PostgreSQL needs `ILIKE`; no per-row function call.
fn search_condition(column: &'static str, text: &str, dialect: crate::db::Dialect) -> Condition {
    Condition::Match {
        column,
        op: match dialect {
            crate::db::Dialect::Sqlite => " LIKE ",
            crate::db::Dialect::Postgres => " ILIKE ",
        },
        value: format!("%{}%", crate::db::escape_like(text)),
        escape: true,
    }
}

/// Columns of namespace-level checks.
pub const NS_COLUMNS: Columns = Columns {
    namespace: "namespaces.name",
    environment: None,
};

/// Filters of an environment list.
#[derive(Debug, Clone, Default)]
pub struct EnvFilter {
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Case-insensitive substring of the environment name.
    pub search: Option<String>,
    /// Only this build status.
    pub status: Option<String>,
    /// Keyset cursor: `(namespace, environment)` to continue after.
    pub after: Option<(String, String)>,
    /// Page size.
    pub limit: i64,
}

/// Environments joined with their namespace, as a boxed query of this backend.
type EnvQuery<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::InnerJoin<environments::table, namespaces::table>,
    crate::db::DbBackend,
>;

/// Environments (with their namespace) that satisfy `condition` and the filters of `f`
/// other than its cursor: the one place a list, its total and the counts narrow rows.
fn filtered<'a>(condition: Condition, f: &EnvFilter, dialect: crate::db::Dialect) -> EnvQuery<'a> {
    let mut q = environments::table
        .inner_join(namespaces::table)
        .filter(condition)
        .into_boxed();
    if let Some(ns) = &f.namespace {
        q = q.filter(namespaces::name.eq(ns.clone()));
    }
    if let Some(s) = f.search.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(search_condition("environments.name", s, dialect));
    }
    if let Some(status) = &f.status {
        q = q.filter(environments::build_status.eq(status.clone()));
    }
    q
}

/// A page of readable environments, sorted by namespace then name, plus the exact
/// number of readable environments under these filters.
pub fn list_environments(
    conn: &mut DbConnection,
    grants: &Grants,
    f: &EnvFilter,
    totals: &super::super::totals::TotalsCache,
) -> QueryResult<(Vec<(Environment, String)>, i64)> {
    let dialect = conn.dialect();
    let version: i64 = crate::db::schema::counters::table
        .find("environments")
        .select(crate::db::schema::counters::value)
        .first(conn)?;
    let key = format!(
        "{}|{:?}|{:?}|{:?}",
        grants.cache_key(Permission::EnvironmentRead),
        f.namespace,
        f.search,
        f.status
    );
    let cached = totals.get(&key, version);
    let total: i64 = if let Some(total) = cached {
        total
    } else if f.search.is_none()
        && f.status.is_none()
        && grants.grants_whole_namespaces(Permission::EnvironmentRead)
    {
        // Readable = whole namespaces: sum their trigger-maintained counts (a few
        // thousand index entries) instead of counting every readable row.
        let byte_wise = Columns {
            namespace: page_columns(dialect).namespace,
            environment: None,
        };
        let mut q = namespaces::table
            .filter(permission_filter(
                grants,
                Permission::EnvironmentRead,
                byte_wise,
                dialect,
            ))
            .into_boxed();
        if let Some(ns) = &f.namespace {
            q = q.filter(namespaces::name.eq(ns.clone()));
        }
        q.select(ENV_COUNT_SUM).first(conn)?
    } else {
        let readable = permission_filter(grants, Permission::EnvironmentRead, ENV_COLUMNS, dialect);
        filtered(readable, f, dialect).count().get_result(conn)?
    };
    if cached.is_none() {
        totals.put(key, version, total);
    }
    let rows = page(conn, grants, f, dialect)?;
    Ok((rows, total))
}

/// Name columns compared and sorted byte-wise on both backends (SQLite's BINARY;
/// `COLLATE "C"` on PostgreSQL), so pages merged in Rust keep the SQL order and cursors.
fn page_columns(dialect: crate::db::Dialect) -> Columns {
    match dialect {
        crate::db::Dialect::Sqlite => ENV_COLUMNS,
        crate::db::Dialect::Postgres => Columns {
            namespace: "namespaces.name COLLATE \"C\"",
            environment: Some("environments.name COLLATE \"C\""),
        },
    }
}

/// One page of readable environments in (namespace, name) order after the cursor: one
/// ordered index-range query per granting binding (each stops after `limit + 1` rows),
/// merged. A single query with an OR of bindings would collect and sort every readable
/// row before applying the limit.
fn page(
    conn: &mut DbConnection,
    grants: &Grants,
    f: &EnvFilter,
    dialect: crate::db::Dialect,
) -> QueryResult<Vec<(Environment, String)>> {
    use crate::access::sql::permission_branches;
    let columns = page_columns(dialect);
    let env_column = columns.environment.unwrap_or("environments.name");
    let ns_order = crate::db::ConstExpr::<diesel::sql_types::Text>::new(columns.namespace);
    let env_order = crate::db::ConstExpr::<diesel::sql_types::Text>::new(env_column);
    let mut rows: Vec<(Environment, String)> = Vec::new();
    for branch in permission_branches(grants, Permission::EnvironmentRead, columns, dialect) {
        let mut q = filtered(branch, f, dialect)
            .select((Environment::as_select(), namespaces::name))
            .order((ns_order.asc(), env_order.asc()))
            .limit(f.limit + 1);
        if let Some((ns, env)) = &f.after {
            let cmp = |column: &'static str, op: &'static str, value: &str| Condition::Match {
                column,
                op,
                value: value.to_owned(),
                escape: false,
            };
            q = q.filter(Condition::Or(vec![
                cmp(columns.namespace, " > ", ns),
                Condition::And(vec![
                    cmp(columns.namespace, " = ", ns),
                    cmp(env_column, " > ", env),
                ]),
            ]));
        }
        rows.extend(q.load(conn)?);
    }
    rows.sort_by(|(a, a_ns), (b, b_ns)| {
        (a_ns.as_bytes(), a.name.as_bytes()).cmp(&(b_ns.as_bytes(), b.name.as_bytes()))
    });
    rows.dedup_by_key(|(e, _)| e.id);
    rows.truncate(usize::try_from(f.limit + 1).unwrap_or(usize::MAX));
    Ok(rows)
}

/// How many environments the grants allow reading.
pub fn count_readable_environments(conn: &mut DbConnection, grants: &Grants) -> QueryResult<i64> {
    let dialect = conn.dialect();
    let readable = permission_filter(grants, Permission::EnvironmentRead, ENV_COLUMNS, dialect);
    filtered(readable, &EnvFilter::default(), dialect)
        .count()
        .get_result(conn)
}

/// How many namespaces the grants allow reading.
pub fn count_readable_namespaces(conn: &mut DbConnection, grants: &Grants) -> QueryResult<i64> {
    let filter = permission_filter(
        grants,
        Permission::NamespaceRead,
        NS_COLUMNS,
        conn.dialect(),
    );
    namespaces::table.filter(filter).count().get_result(conn)
}

/// A page of readable namespaces by name (one more than `limit` when there is more).
pub fn list_namespaces(
    conn: &mut DbConnection,
    grants: &Grants,
    search: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Namespace>> {
    let filter = permission_filter(
        grants,
        Permission::NamespaceRead,
        NS_COLUMNS,
        conn.dialect(),
    );
    let mut q = namespaces::table
        .filter(filter)
        .select(Namespace::as_select())
        .order(namespaces::name.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(s) = search.filter(|s| !s.is_empty()) {
        q = q.filter(
            lower(namespaces::name)
                .like(format!("%{}%", crate::db::escape_like(&s.to_lowercase())))
                .escape('\\'),
        );
    }
    if let Some(a) = after {
        q = q.filter(namespaces::name.gt(a.to_owned()));
    }
    q.load(conn)
}

/// Names of the namespaces the grants allow reading, byte-wise sorted, at most 1,000:
/// one ordered index-range query per granting binding, merged (an OR over names would
/// sort every readable namespace first).
pub fn list_readable_namespace_names(
    conn: &mut DbConnection,
    grants: &Grants,
) -> QueryResult<Vec<String>> {
    const MAX: i64 = 1000;
    let dialect = conn.dialect();
    let column = page_columns(dialect).namespace;
    let order = crate::db::ConstExpr::<diesel::sql_types::Text>::new(column);
    let columns = Columns {
        namespace: column,
        environment: None,
    };
    let mut names: Vec<String> = Vec::new();
    for branch in
        crate::access::sql::permission_branches(grants, Permission::NamespaceRead, columns, dialect)
    {
        names.extend(
            namespaces::table
                .filter(branch)
                .order(order.asc())
                .select(namespaces::name)
                .limit(MAX)
                .load::<String>(conn)?,
        );
    }
    names.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    names.dedup();
    names.truncate(MAX as usize);
    Ok(names)
}
