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
