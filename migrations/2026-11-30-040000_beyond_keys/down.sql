DROP TABLE api_key_networks;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE namespace_key_policies;
DROP TABLE service_account_trust;
