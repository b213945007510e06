-- Back to NOT NULL bundle columns, a received document's repeating its PDF's digest and size.
ALTER TABLE archived_documents
    DROP CONSTRAINT archived_documents_bundle_unless_received,
    DROP CONSTRAINT archived_documents_bundle_bytes,
    DROP CONSTRAINT archived_documents_bundle_edges;
UPDATE archived_documents
SET bundle_sha256 = pdf_sha256, bundle_bytes = pdf_bytes, bundle_edges_sha256 = pdf_edges_sha256
WHERE bundle_sha256 IS NULL;
ALTER TABLE archived_documents ALTER COLUMN bundle_sha256 SET NOT NULL, ALTER COLUMN bundle_bytes SET NOT NULL;
