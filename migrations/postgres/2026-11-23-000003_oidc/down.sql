DROP INDEX user_identities_user;
DROP TABLE user_identities;
