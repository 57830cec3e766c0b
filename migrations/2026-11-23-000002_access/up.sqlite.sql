-- The environment counters' triggers, and the index that sums per-namespace counts.
CREATE TRIGGER environments_count_insert AFTER INSERT ON environments
BEGIN
    UPDATE namespaces SET env_count = env_count + 1 WHERE id = NEW.namespace_id;
    UPDATE counters SET value = value + 1 WHERE name = 'environments';
END;
CREATE TRIGGER environments_count_delete AFTER DELETE ON environments
BEGIN
    UPDATE namespaces SET env_count = env_count - 1 WHERE id = OLD.namespace_id;
    UPDATE counters SET value = value + 1 WHERE name = 'environments';
END;
CREATE TRIGGER environments_version_update AFTER UPDATE ON environments
BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'environments';
END;
-- Summing readable namespaces' counts reads only this index.
CREATE INDEX namespaces_name_count ON namespaces (name, env_count);
