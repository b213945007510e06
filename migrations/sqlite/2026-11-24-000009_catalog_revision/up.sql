-- The revision of the public catalogue: a counter bumped in the transaction of every write that
-- can change what the catalogue answers (an archive entry inserted, published, withdrawn or
-- checked for fixity; a city's, cycle's, version's or creative field's shown or filtered values).
-- Triggers bump it, so no write path (server, CLI, another process) can forget to. A process
-- may reuse an answer computed at revision R only while the revision is still R (see
-- `workflow::catalog_cache`).
CREATE TABLE catalog_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO catalog_revision (id, revision) VALUES (1, 0);

CREATE TRIGGER archived_documents_insert_revision AFTER INSERT ON archived_documents
BEGIN
    UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER archived_documents_update_revision AFTER UPDATE ON archived_documents
BEGIN
    UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER archived_documents_delete_revision AFTER DELETE ON archived_documents
BEGIN
    UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER cities_update_revision AFTER UPDATE OF slug, name, country, field, language ON cities
BEGIN
    UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER cities_delete_revision AFTER DELETE ON cities
BEGIN
    UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER reporting_cycles_update_revision
AFTER UPDATE OF city_id, number, period_start_year, period_end_year ON reporting_cycles
BEGIN
    UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER submissions_update_revision
AFTER UPDATE OF cycle_id, version, report_markdown, action_plan_markdown, bundle_sha256 ON submissions
BEGIN
    UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER creative_fields_update_revision AFTER UPDATE OF slug, name ON creative_fields
BEGIN
    UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1;
END;
CREATE TRIGGER creative_fields_delete_revision AFTER DELETE ON creative_fields
BEGIN
    UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1;
END;
