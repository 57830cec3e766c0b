//! Service connectors: the catalog of connector types and registered connectors.

pub mod catalog;
