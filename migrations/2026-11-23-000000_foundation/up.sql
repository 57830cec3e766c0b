-- Foundation: principals, namespaces, environments, role bindings, sessions, access
-- tokens and the audit log. Times are Unix milliseconds (UTC) in INTEGER columns so the
-- same queries run unchanged on SQLite and PostgreSQL.

CREATE TABLE namespaces (
    id {{identity}},
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

-- The `default` namespace always exists.
INSERT INTO namespaces (name, description, created_at)
VALUES ('default', 'Shared namespace every user can read by default.', 0);

CREATE TABLE environments (
    id {{identity}},
    namespace_id BIGINT NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    specification TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (namespace_id, name)
);
CREATE INDEX environments_name ON environments (name);

CREATE TABLE users (
    id {{identity}},
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    primary_namespace TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT
);

-- principal_kind: 'user' (later also 'service_account'); role: viewer|developer|admin.
CREATE TABLE role_bindings (
    id {{identity}},
    principal_kind TEXT NOT NULL,
    principal_id BIGINT NOT NULL,
    pattern TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (principal_kind, principal_id, pattern, role)
);

-- Server-side session state; `id` is the SHA-256 of the cookie's session key, so a
-- copy of this table cannot be replayed as cookies.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Bearer access tokens; `secret_hash` is HMAC-SHA-256(pepper, secret), hex.
CREATE TABLE access_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    principal_kind TEXT NOT NULL,
    principal_id BIGINT NOT NULL,
    secret_hash TEXT NOT NULL,
    role_bindings TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX access_tokens_principal ON access_tokens (principal_kind, principal_id);

CREATE TABLE audit_events (
    id {{identity}},
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    client_addr TEXT,
    detail TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
