DROP INDEX service_accounts_name;
DROP INDEX service_accounts_namespace;
CREATE INDEX service_accounts_namespace ON service_accounts (namespace_id, name);
ALTER TABLE service_accounts ADD CONSTRAINT service_accounts_name_key UNIQUE (name);
DROP INDEX connectors_name;
DROP INDEX connectors_namespace;
CREATE INDEX connectors_namespace ON connectors (namespace_id, name);
ALTER TABLE connectors ADD CONSTRAINT connectors_name_key UNIQUE (name);
