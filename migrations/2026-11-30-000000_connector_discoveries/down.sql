DROP TABLE connector_discoveries;
