DROP INDEX audit_events_target;
DROP INDEX audit_events_action;
DROP INDEX audit_events_actor;
DROP INDEX access_tokens_api_key;
ALTER TABLE access_tokens DROP COLUMN key_generation;
ALTER TABLE access_tokens DROP COLUMN api_key_id;
DROP TABLE key_reveals;
DROP TABLE api_keys;
DROP TABLE service_accounts;
