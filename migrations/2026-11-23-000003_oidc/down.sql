ALTER TABLE user_groups DROP COLUMN synced_at;
ALTER TABLE user_groups DROP COLUMN source;
DROP INDEX user_identities_user;
DROP TABLE user_identities;
