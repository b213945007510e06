-- The revision of the public catalogue: a counter bumped in the transaction of every write that
-- can change what the catalogue answers (an archive entry inserted, published, withdrawn or
-- checked for fixity; a city's, cycle's, version's or creative field's shown or filtered values).
-- Statement triggers bump it, so no write path (server, CLI, another process) can forget to. A
-- process may reuse an answer computed at revision R only while the revision is still R (see
-- `workflow::catalog_cache`).
CREATE TABLE catalog_revision (
    id       SMALLINT PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);
INSERT INTO catalog_revision (id, revision) VALUES (1, 0);

CREATE FUNCTION bump_catalog_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER archived_documents_revision AFTER INSERT OR UPDATE OR DELETE ON archived_documents
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER cities_revision AFTER DELETE OR UPDATE OF slug, name, country, field, language ON cities
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER reporting_cycles_revision
    AFTER UPDATE OF city_id, number, period_start_year, period_end_year ON reporting_cycles
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER submissions_revision
    AFTER UPDATE OF cycle_id, version, report_markdown, action_plan_markdown, bundle_sha256 ON submissions
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_revision();
CREATE TRIGGER creative_fields_revision AFTER DELETE OR UPDATE OF slug, name ON creative_fields
    FOR EACH STATEMENT EXECUTE FUNCTION bump_catalog_revision();
