-- The namespace an audit event's target lies in (NULL for global targets: users,
-- groups, tokens, sign-ins), so that a namespace's admins can read its trail.
ALTER TABLE audit_events ADD COLUMN namespace TEXT;
CREATE INDEX audit_events_namespace ON audit_events (namespace, id);
-- Whose session a row is (NULL until signed in), so that changing a password can end
-- the user's other sessions.
ALTER TABLE sessions ADD COLUMN user_id BIGINT;
CREATE INDEX sessions_user ON sessions (user_id);
