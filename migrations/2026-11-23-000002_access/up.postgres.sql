-- The environment counters' triggers (per row for namespace counts, once per statement
-- for the version), and byte-wise name indexes.
CREATE FUNCTION portcullis_environments_count() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE namespaces SET env_count = env_count + 1 WHERE id = NEW.namespace_id;
    ELSE
        UPDATE namespaces SET env_count = env_count - 1 WHERE id = OLD.namespace_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER environments_count AFTER INSERT OR DELETE ON environments
    FOR EACH ROW EXECUTE FUNCTION portcullis_environments_count();
CREATE FUNCTION portcullis_environments_version() RETURNS trigger AS $$
BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'environments';
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER environments_version AFTER INSERT OR UPDATE OR DELETE ON environments
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_environments_version();
-- Lists sort and compare names byte-wise (COLLATE "C", like SQLite), whatever the
-- database's collation: these indexes serve the ordered, index-only walks of environment
-- pages, prefix LIKEs of wildcard bindings, and sums of per-namespace counts.
CREATE INDEX namespaces_name_c ON namespaces (name COLLATE "C") INCLUDE (id, env_count);
CREATE INDEX environments_namespace_name_c ON environments (namespace_id, name COLLATE "C");
