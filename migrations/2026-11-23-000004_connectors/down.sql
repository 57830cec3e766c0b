DROP INDEX connector_resources_type;
DROP TABLE connector_resources;
DROP INDEX connectors_type;
DROP INDEX connectors_namespace;
DROP TABLE connectors;
