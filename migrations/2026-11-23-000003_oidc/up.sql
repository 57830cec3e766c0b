-- Identities at OpenID providers: a user signs in through the provider keyed on
-- (issuer, subject), never on an e-mail address or a name the provider lets users pick.

CREATE TABLE user_identities (
    id {{identity}},
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT NOT NULL,
    UNIQUE (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

-- Where a group membership comes from: 'admin' (set through the API, kept until changed
-- there) or 'oidc' (reported by the provider at a sign-in, at `synced_at`; it counts
-- only for a session's lifetime after that sign-in, so leaving a group at the provider
-- takes effect even for someone who never signs in again).
ALTER TABLE user_groups ADD COLUMN source TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE user_groups ADD COLUMN synced_at BIGINT;
