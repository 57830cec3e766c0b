//! Diesel table definitions, written with types both SQLite and PostgreSQL support.

diesel::table! {
    /// Namespaces group environments, service accounts and connectors.
    namespaces (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
                created_at -> BigInt,
        metadata -> Text,
        env_count -> BigInt,
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
        build_status -> Nullable<Text>,
        build_scheduled_at -> Nullable<BigInt>,
        build_started_at -> Nullable<BigInt>,
        build_ended_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// A namespace's grants to principals (`<namespace>/*: role`).
    namespace_shares (id) {
        id -> BigInt,
        namespace_id -> BigInt,
        principal_kind -> Text,
        principal_id -> BigInt,
        role -> Text,
        created_by -> Text,
        created_at -> BigInt,
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
        user_id -> Nullable<BigInt>,
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
        api_key_id -> Nullable<BigInt>,
        key_generation -> Nullable<BigInt>,
        parent_id -> Nullable<Text>,
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
        namespace -> Nullable<Text>,
    }
}

diesel::table! {
    /// Non-human principals, one namespace each.
    service_accounts (id) {
        id -> BigInt,
        name -> Text,
        namespace_id -> BigInt,
        description -> Text,
        active -> Bool,
        created_by -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// API keys of service accounts (hashes only).
    api_keys (id) {
        id -> BigInt,
        service_account_id -> BigInt,
        name -> Text,
        description -> Text,
        key_id -> Text,
        secret_hash -> Text,
        previous_secret_hash -> Nullable<Text>,
        retain_until -> Nullable<BigInt>,
        generation -> BigInt,
        display -> Text,
        active -> Bool,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
        last_rotated_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Trust policies of service accounts for token exchange (one JSON array each).
    service_account_trust (service_account_id) {
        service_account_id -> BigInt,
        policies -> Text,
        updated_at -> BigInt,
        updated_by -> Text,
    }
}

diesel::table! {
    /// A namespace's own key policy (JSON), tightening the server's.
    namespace_key_policies (namespace_id) {
        namespace_id -> BigInt,
        policy -> Text,
        updated_at -> BigInt,
        updated_by -> Text,
    }
}

diesel::table! {
    /// Signed webhooks of namespaces (hygiene alerts).
    webhooks (id) {
        id -> BigInt,
        namespace_id -> BigInt,
        url -> Text,
        events -> Text,
        within_days -> BigInt,
        secret -> Text,
        created_at -> BigInt,
        created_by -> Text,
    }
}

diesel::table! {
    /// The durable webhook delivery queue.
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        event -> Text,
        dedupe -> Text,
        payload -> Text,
        state -> Text,
        attempts -> BigInt,
        next_attempt_at -> BigInt,
        leased_until -> Nullable<BigInt>,
        last_status -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        delivered_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Networks each API key has been used from.
    api_key_networks (api_key_id, network) {
        api_key_id -> BigInt,
        network -> Text,
        first_seen_at -> BigInt,
    }
}

diesel::table! {
    /// One-time reveals of new keys (encrypted, session-bound).
    key_reveals (id) {
        id -> Text,
        session_binding -> Text,
        ciphertext -> Text,
        label -> Text,
        service_account -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    /// Version counters bumped by triggers (cache invalidation across instances).
    counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    /// Group memberships of users.
    user_groups (user_id, group_name) {
        user_id -> BigInt,
        group_name -> Text,
        source -> Text,
        synced_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Bindings granted to every member of a group.
    group_bindings (id) {
        id -> BigInt,
        group_name -> Text,
        pattern -> Text,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// A user's identities at OpenID providers, keyed on `(issuer, subject)`.
    user_identities (id) {
        id -> BigInt,
        user_id -> BigInt,
        issuer -> Text,
        subject -> Text,
        email -> Nullable<Text>,
        created_at -> BigInt,
        last_login_at -> BigInt,
    }
}

diesel::table! {
    /// Registered service connectors (secrets sealed in `secrets`).
    connectors (id) {
        id -> BigInt,
        name -> Text,
        namespace_id -> BigInt,
        connector_type -> Text,
        auth_method -> Text,
        resource_types -> Text,
        resource_id -> Nullable<Text>,
        configuration -> Text,
        secrets -> Text,
        labels -> Text,
        description -> Text,
        expires_at -> Nullable<BigInt>,
        expiration_seconds -> Nullable<BigInt>,
        created_by -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// What each connector reaches, per resource type.
    connector_resources (connector_id, resource_type) {
        connector_id -> BigInt,
        resource_type -> Text,
        resource_ids -> Nullable<Text>,
        error -> Nullable<Text>,
        origin -> Text,
        checked_at -> BigInt,
    }
}

diesel::table! {
    /// What the last verification of each connector found, per resource type.
    connector_discoveries (connector_id, resource_type) {
        connector_id -> BigInt,
        resource_type -> Text,
        resource_ids -> Nullable<Text>,
        error -> Nullable<Text>,
        checked_at -> BigInt,
    }
}

diesel::joinable!(environments -> namespaces (namespace_id));
diesel::joinable!(connectors -> namespaces (namespace_id));
diesel::joinable!(connector_resources -> connectors (connector_id));
diesel::joinable!(connector_discoveries -> connectors (connector_id));
diesel::joinable!(user_identities -> users (user_id));
diesel::joinable!(service_accounts -> namespaces (namespace_id));
diesel::joinable!(api_keys -> service_accounts (service_account_id));
diesel::joinable!(service_account_trust -> service_accounts (service_account_id));
diesel::joinable!(namespace_shares -> namespaces (namespace_id));
diesel::joinable!(namespace_key_policies -> namespaces (namespace_id));
diesel::joinable!(webhooks -> namespaces (namespace_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(api_key_networks -> api_keys (api_key_id));
diesel::allow_tables_to_appear_in_same_query!(
    namespaces,
    environments,
    users,
    role_bindings,
    service_accounts,
    api_keys,
    service_account_trust,
    access_tokens,
    namespace_shares,
    namespace_key_policies,
    webhooks,
    webhook_deliveries,
    api_key_networks,
    user_groups,
    group_bindings,
    user_identities,
    connectors,
    connector_resources,
    connector_discoveries,
);
