-- SQLite's documented table rebuild (https://www.sqlite.org/lang_altertable.html,
-- "Making Other Kinds Of Table Schema Changes"): new table, copy, drop, rename, with
-- foreign keys off so dropping the old table does not cascade to api_keys and the
-- connector tables, whose REFERENCES name the table, not the copy.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE service_accounts_new (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    namespace_id BIGINT NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO service_accounts_new
    (id, name, namespace_id, description, active, created_by, created_at, updated_at)
    SELECT id, name, namespace_id, description, active, created_by, created_at, updated_at
    FROM service_accounts;
DROP TABLE service_accounts;
ALTER TABLE service_accounts_new RENAME TO service_accounts;
CREATE UNIQUE INDEX service_accounts_namespace ON service_accounts (namespace_id, name);
CREATE INDEX service_accounts_name ON service_accounts (name);

-- AUTOINCREMENT: the copy starts from the old table's high-water mark, so an id (the
-- associated data of sealed secrets) is still never reused.
CREATE TABLE connectors_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
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
INSERT INTO connectors_new
    (id, name, namespace_id, connector_type, auth_method, resource_types, resource_id,
     configuration, secrets, labels, description, expires_at, expiration_seconds,
     created_by, created_at, updated_at)
    SELECT id, name, namespace_id, connector_type, auth_method, resource_types, resource_id,
     configuration, secrets, labels, description, expires_at, expiration_seconds,
     created_by, created_at, updated_at
    FROM connectors;
DELETE FROM sqlite_sequence WHERE name = 'connectors_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'connectors_new', seq FROM sqlite_sequence WHERE name = 'connectors';
DROP TABLE connectors;
ALTER TABLE connectors_new RENAME TO connectors;
CREATE UNIQUE INDEX connectors_namespace ON connectors (namespace_id, name);
CREATE INDEX connectors_name ON connectors (name);
CREATE INDEX connectors_type ON connectors (connector_type, name);

COMMIT;
PRAGMA foreign_keys = ON;
