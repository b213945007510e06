-- A received document (a past report archived by the history import, `renderer_version =
-- 'received'`) has no source bundle: its bundle columns are NULL, not a copy of the PDF's, so no
-- reader can take the PDF for a bundle. A CHECK keeps the two facts together.
--
-- SQLite cannot drop NOT NULL from a column: the table is rebuilt (SQLite's "12 steps", with the
-- indexes and triggers of the migrations before), foreign keys off while the old table is
-- dropped (`archive_verifications` refers to it by name), then checked.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE archived_documents_rebuilt (
    id                  INTEGER PRIMARY KEY NOT NULL,
    submission_id       BIGINT NOT NULL UNIQUE REFERENCES submissions (id),
    pdf_sha256          TEXT NOT NULL UNIQUE CHECK (length(pdf_sha256) = 64),
    pdf_bytes           BIGINT NOT NULL CHECK (pdf_bytes > 0),
    bundle_sha256       TEXT CHECK (length(bundle_sha256) = 64),
    bundle_bytes        BIGINT CHECK (bundle_bytes > 0),
    renderer_version    TEXT NOT NULL,
    template_version    TEXT NOT NULL,
    archived_at         TIMESTAMP NOT NULL,
    published_at        TIMESTAMP,
    last_fixity_at      TIMESTAMP,
    last_fixity_ok      BOOLEAN CHECK (last_fixity_ok IS NULL OR last_fixity_ok IN (0, 1)),
    public_since        TIMESTAMP,
    pdf_edges_sha256    TEXT CHECK (length(pdf_edges_sha256) = 64),
    bundle_edges_sha256 TEXT CHECK (length(bundle_edges_sha256) = 64),
    withdrawn_at        TIMESTAMP,
    CHECK ((bundle_sha256 IS NULL) = (renderer_version = 'received')),
    CHECK ((bundle_sha256 IS NULL) = (bundle_bytes IS NULL)),
    CHECK (bundle_sha256 IS NOT NULL OR bundle_edges_sha256 IS NULL)
);
INSERT INTO archived_documents_rebuilt
    (id, submission_id, pdf_sha256, pdf_bytes, bundle_sha256, bundle_bytes, renderer_version,
     template_version, archived_at, published_at, last_fixity_at, last_fixity_ok, public_since,
     pdf_edges_sha256, bundle_edges_sha256, withdrawn_at)
SELECT id, submission_id, pdf_sha256, pdf_bytes,
       CASE WHEN renderer_version = 'received' THEN NULL ELSE bundle_sha256 END,
       CASE WHEN renderer_version = 'received' THEN NULL ELSE bundle_bytes END,
       renderer_version, template_version, archived_at, published_at, last_fixity_at,
       last_fixity_ok, public_since, pdf_edges_sha256,
       CASE WHEN renderer_version = 'received' THEN NULL ELSE bundle_edges_sha256 END,
       withdrawn_at
FROM archived_documents;
DROP TABLE archived_documents;
ALTER TABLE archived_documents_rebuilt RENAME TO archived_documents;
CREATE INDEX archived_documents_published ON archived_documents (published_at, id);
CREATE INDEX archived_documents_public_since ON archived_documents (public_since, id);
CREATE INDEX archived_documents_withdrawn_at ON archived_documents (withdrawn_at, id);
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
-- The catalogue's answers change (received entries lose their bundle).
UPDATE catalog_revision SET revision = revision + 1 WHERE id = 1;
COMMIT;
PRAGMA foreign_keys = ON;
