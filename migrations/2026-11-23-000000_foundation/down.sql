DROP TABLE audit_events;
DROP TABLE access_tokens;
DROP TABLE sessions;
DROP TABLE role_bindings;
DROP TABLE users;
DROP TABLE environments;
DROP TABLE namespaces;
