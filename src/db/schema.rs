//! Diesel table definitions, written with types both SQLite and PostgreSQL support.

diesel::table! {
    /// Namespaces group environments, service accounts and connectors.
    namespaces (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// Environments live in namespaces.
    environments (id) {
        id -> BigInt,
        namespace_id -> BigInt,
        name -> Text,
        description -> Text,
        specification -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// Human principals.
    users (id) {
        id -> BigInt,
        name -> Text,
        password_hash -> Nullable<Text>,
        primary_namespace -> Text,
        active -> Bool,
        created_at -> BigInt,
        last_login_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Explicit role bindings of principals.
    role_bindings (id) {
        id -> BigInt,
        principal_kind -> Text,
        principal_id -> BigInt,
        pattern -> Text,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// Server-side session state.
    sessions (id) {
        id -> Text,
        state -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    /// Bearer access tokens.
    access_tokens (id) {
        id -> Text,
        principal_kind -> Text,
        principal_id -> BigInt,
        secret_hash -> Text,
        role_bindings -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Security-relevant actions.
    audit_events (id) {
        id -> BigInt,
        at -> BigInt,
        actor -> Text,
        action -> Text,
        target -> Text,
        outcome -> Text,
        client_addr -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::joinable!(environments -> namespaces (namespace_id));
diesel::allow_tables_to_appear_in_same_query!(namespaces, environments, users, role_bindings);
