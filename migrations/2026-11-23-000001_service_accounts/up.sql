-- Service accounts (non-human principals in one namespace), their API keys, one-time
-- reveal records, and the link from access tokens to the key secret they came from.

CREATE TABLE service_accounts (
    id {{identity}},
    name TEXT NOT NULL UNIQUE,
    namespace_id BIGINT NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX service_accounts_namespace ON service_accounts (namespace_id, name);

-- `key_id` is the public id embedded in the key; only HMAC-SHA-256(pepper, secret) of
-- the current and (during a rotation's grace window) the previous secret are stored.
-- `generation` counts rotations: tokens minted from a key remember it.
CREATE TABLE api_keys (
    id {{identity}},
    service_account_id BIGINT NOT NULL REFERENCES service_accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    key_id TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    previous_secret_hash TEXT,
    retain_until BIGINT,
    generation BIGINT NOT NULL DEFAULT 0,
    display TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    last_rotated_at BIGINT,
    UNIQUE (service_account_id, name)
);

-- One-time reveal of a new key: the plaintext encrypted (XChaCha20-Poly1305, key
-- derived from the server secret, row id as associated data), bound to the session that
-- created it, deleted when shown, useless after `expires_at`.
CREATE TABLE key_reveals (
    id TEXT PRIMARY KEY NOT NULL,
    session_binding TEXT NOT NULL,
    ciphertext TEXT NOT NULL,
    label TEXT NOT NULL,
    service_account TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

ALTER TABLE access_tokens ADD COLUMN api_key_id BIGINT;
ALTER TABLE access_tokens ADD COLUMN key_generation BIGINT;
CREATE INDEX access_tokens_api_key ON access_tokens (api_key_id);
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_target ON audit_events (target, id);
