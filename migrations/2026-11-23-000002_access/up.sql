-- Namespaces get metadata; environments get their current build; namespaces can be
-- shared with principals (a share is a `<namespace>/*: role` binding owned by the
-- namespace).

ALTER TABLE namespaces ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';

-- Current build: QUEUED | BUILDING | COMPLETED | FAILED | CANCELED, with its times.
ALTER TABLE environments ADD COLUMN build_status TEXT;
ALTER TABLE environments ADD COLUMN build_scheduled_at BIGINT;
ALTER TABLE environments ADD COLUMN build_started_at BIGINT;
ALTER TABLE environments ADD COLUMN build_ended_at BIGINT;

CREATE TABLE namespace_shares (
    id {{identity}},
    namespace_id BIGINT NOT NULL REFERENCES namespaces (id) ON DELETE CASCADE,
    principal_kind TEXT NOT NULL,
    principal_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (namespace_id, principal_kind, principal_id)
);
CREATE INDEX namespace_shares_principal ON namespace_shares (principal_kind, principal_id);

-- Exact environment totals without counting rows: each namespace keeps its number of
-- environments, maintained by triggers (in `up.<dialect>.sql`) whatever writes the rows.
ALTER TABLE namespaces ADD COLUMN env_count BIGINT NOT NULL DEFAULT 0;
UPDATE namespaces SET env_count = (SELECT COUNT(*) FROM environments e WHERE e.namespace_id = namespaces.id);
-- `counters.environments` changes with every write to environments, so list totals
-- can be cached until it moves (by any instance).
CREATE TABLE counters (
    name TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('environments', 0);

-- Group bindings: a group (e.g. from the OpenID provider) grants bindings to its
-- members; memberships are stored per user and refreshed by whoever knows them.
CREATE TABLE user_groups (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    PRIMARY KEY (user_id, group_name)
);
CREATE TABLE group_bindings (
    id {{identity}},
    group_name TEXT NOT NULL,
    pattern TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (group_name, pattern, role)
);

-- A token minted with another token remembers it: revoking the parent revokes it too.
ALTER TABLE access_tokens ADD COLUMN parent_id TEXT;
CREATE INDEX access_tokens_parent ON access_tokens (parent_id);
