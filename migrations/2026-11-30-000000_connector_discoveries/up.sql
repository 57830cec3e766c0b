-- What the last verification of a connector found, per resource type it checked: the
-- ids it reached (JSON list; NULL for types without instances or when checking failed)
-- or why it could not (a failed sign-in is the error of every type). The declared rows
-- stay in connector_resources; an edit of the connector clears these, since they
-- described the previous configuration.
CREATE TABLE connector_discoveries (
    connector_id BIGINT NOT NULL REFERENCES connectors (id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    resource_ids TEXT,
    error TEXT,
    checked_at BIGINT NOT NULL,
    PRIMARY KEY (connector_id, resource_type)
);
