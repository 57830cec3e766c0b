DROP TRIGGER environments_version_update;
DROP INDEX namespaces_name_count;
DROP TRIGGER environments_count_delete;
DROP TRIGGER environments_count_insert;
