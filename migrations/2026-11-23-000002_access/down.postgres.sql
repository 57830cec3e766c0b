DROP TRIGGER environments_version ON environments;
DROP FUNCTION portcullis_environments_version();
DROP INDEX environments_namespace_name_c;
DROP INDEX namespaces_name_c;
DROP TRIGGER environments_count ON environments;
DROP FUNCTION portcullis_environments_count();
