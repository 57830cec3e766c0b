DROP INDEX sessions_user;
ALTER TABLE sessions DROP COLUMN user_id;
DROP INDEX audit_events_namespace;
ALTER TABLE audit_events DROP COLUMN namespace;
