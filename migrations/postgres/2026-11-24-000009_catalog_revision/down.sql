DROP TRIGGER creative_fields_revision ON creative_fields;
DROP TRIGGER submissions_revision ON submissions;
DROP TRIGGER reporting_cycles_revision ON reporting_cycles;
DROP TRIGGER cities_revision ON cities;
DROP TRIGGER archived_documents_revision ON archived_documents;
DROP FUNCTION bump_catalog_revision();
DROP TABLE catalog_revision;
