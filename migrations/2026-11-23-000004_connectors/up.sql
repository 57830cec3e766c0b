-- Registered service connectors. Plain attributes are JSON in `configuration`; secret
-- attributes are one JSON object sealed with XChaCha20-Poly1305 under a key derived
-- from the server secret, bound to the row by the associated data "connector:<id>";
-- `configuration` shows each secret attribute that is set as "[HIDDEN]".

-- An id is never reused (AUTOINCREMENT on SQLite), so sealed secrets stay bound to one
-- connector.
CREATE TABLE connectors (
    id {{identity_never_reused}},
    name TEXT NOT NULL UNIQUE,
    namespace_id BIGINT NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    connector_type TEXT NOT NULL,
    auth_method TEXT NOT NULL,
    resource_types TEXT NOT NULL,
    resource_id TEXT,
    configuration TEXT NOT NULL,
    secrets TEXT NOT NULL,
    labels TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    expires_at BIGINT,
    expiration_seconds BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX connectors_namespace ON connectors (namespace_id, name);
CREATE INDEX connectors_type ON connectors (connector_type, name);

-- What each connector reaches, per resource type: ids it declared (until verification
-- reports them), or the ids / error a verification found.
CREATE TABLE connector_resources (
    connector_id BIGINT NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    resource_ids TEXT,
    error TEXT,
    origin TEXT NOT NULL,
    checked_at BIGINT NOT NULL,
    PRIMARY KEY (connector_id, resource_type)
);
CREATE INDEX connector_resources_type ON connector_resources (resource_type, connector_id);
