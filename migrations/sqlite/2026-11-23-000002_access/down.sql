DROP TRIGGER environments_count_delete;
DROP TRIGGER environments_count_insert;
ALTER TABLE namespaces DROP COLUMN env_count;
DROP TABLE namespace_shares;
ALTER TABLE environments DROP COLUMN build_ended_at;
ALTER TABLE environments DROP COLUMN build_started_at;
ALTER TABLE environments DROP COLUMN build_scheduled_at;
ALTER TABLE environments DROP COLUMN build_status;
ALTER TABLE namespaces DROP COLUMN metadata;
