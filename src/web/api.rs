//! Shapes every JSON answer shares, typed so the OpenAPI document (`crate::openapi`)
//! describes exactly what is sent: a page of items, and the error body.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

/// A page of a list: its items and the cursor of the next page (`null` on the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` when this is the last.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// `items`, followed by the page `next_cursor` names.
    pub fn new(items: Vec<T>, next_cursor: Option<String>) -> Self {
        Self { items, next_cursor }
    }

    /// Every item, in one page.
    pub fn all(items: Vec<T>) -> Self {
        Self::new(items, None)
    }
}

/// Every error of the JSON API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The error of an [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `validation_failed`, `not_found`, `forbidden`, …
    pub code: String,
    /// For people; safe to show.
    pub message: String,
    /// Per-field messages of a refused body or query (field name → message).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
    /// Correlates a 5xx with the server's log line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}
