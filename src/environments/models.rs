//! Rows of namespaces and environments.

use diesel::prelude::*;

use crate::db::schema::{environments, namespaces};

/// A namespace row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = namespaces)]
pub struct Namespace {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Free-form JSON object.
    pub metadata: String,
}

/// An environment to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = environments)]
pub struct NewEnvironment<'a> {
    /// Owning namespace.
    pub namespace_id: i64,
    /// Name, unique in the namespace.
    pub name: &'a str,
    /// Free text.
    pub description: &'a str,
    /// Specification (e.g. a conda environment.yml).
    pub specification: &'a str,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}
