DROP INDEX audit_events_namespace;
ALTER TABLE audit_events DROP COLUMN namespace;
