ALTER TABLE service_accounts DROP CONSTRAINT service_accounts_name_key;
DROP INDEX service_accounts_namespace;
CREATE UNIQUE INDEX service_accounts_namespace ON service_accounts (namespace_id, name);
CREATE INDEX service_accounts_name ON service_accounts (name);
ALTER TABLE connectors DROP CONSTRAINT connectors_name_key;
DROP INDEX connectors_namespace;
CREATE UNIQUE INDEX connectors_namespace ON connectors (namespace_id, name);
CREATE INDEX connectors_name ON connectors (name);
