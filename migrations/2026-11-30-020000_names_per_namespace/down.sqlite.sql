-- A unique index on the name restores what the column's UNIQUE enforced; no rebuild.
DROP INDEX service_accounts_name;
DROP INDEX service_accounts_namespace;
CREATE INDEX service_accounts_namespace ON service_accounts (namespace_id, name);
CREATE UNIQUE INDEX service_accounts_name_key ON service_accounts (name);
DROP INDEX connectors_name;
DROP INDEX connectors_namespace;
CREATE INDEX connectors_namespace ON connectors (namespace_id, name);
CREATE UNIQUE INDEX connectors_name_key ON connectors (name);
