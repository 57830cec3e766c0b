DROP TABLE namespace_key_policies;
DROP TABLE service_account_trust;
