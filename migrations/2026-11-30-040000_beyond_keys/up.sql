-- The issuers a service account trusts for token exchange (workload identity): its
-- policies as one JSON array (issuer, audience, claim conditions, token lifetime), read
-- and replaced whole, like the account's role bindings over the API.
CREATE TABLE service_account_trust (
    service_account_id BIGINT PRIMARY KEY REFERENCES service_accounts (id) ON DELETE CASCADE,
    policies TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

-- A namespace's own key policy (JSON: key and token lifetimes, active keys per account,
-- allowed networks, rotation), tightening the server's; absent: the server's alone.
CREATE TABLE namespace_key_policies (
    namespace_id BIGINT PRIMARY KEY REFERENCES namespaces (id) ON DELETE CASCADE,
    policy TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

-- Signed webhooks of a namespace: where to send which hygiene alerts. The signing
-- secret is sealed with a key derived from the server secret (shown once at creation).
CREATE TABLE webhooks (
    id {{identity_never_reused}},
    namespace_id BIGINT NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    within_days BIGINT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX webhooks_namespace ON webhooks (namespace_id);

-- The durable delivery queue (at-least-once): one row per alert and webhook, unique by
-- what it is about (`dedupe`) so a condition alerts once. A worker leases due rows
-- (`leased_until`) before sending; a crash leaves the lease to expire, and only those
-- rows are sent again.
CREATE TABLE webhook_deliveries (
    id {{identity_never_reused}},
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    dedupe TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    leased_until BIGINT,
    last_status BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT,
    UNIQUE (webhook_id, dedupe)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);

-- The networks (/24 or /64) each API key has been used from, to alert on a new one.
CREATE TABLE api_key_networks (
    api_key_id BIGINT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    network TEXT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    PRIMARY KEY (api_key_id, network)
);
