-- A received document (a past report archived by the history import, `renderer_version =
-- 'received'`) has no source bundle: its bundle columns are NULL, not a copy of the PDF's, so no
-- reader can take the PDF for a bundle. A CHECK keeps the two facts together. (The update bumps
-- the catalogue revision through the table's trigger.)
ALTER TABLE archived_documents ALTER COLUMN bundle_sha256 DROP NOT NULL, ALTER COLUMN bundle_bytes DROP NOT NULL;
UPDATE archived_documents SET bundle_sha256 = NULL, bundle_bytes = NULL, bundle_edges_sha256 = NULL
WHERE renderer_version = 'received';
ALTER TABLE archived_documents
    ADD CONSTRAINT archived_documents_bundle_unless_received
        CHECK ((bundle_sha256 IS NULL) = (renderer_version = 'received')),
    ADD CONSTRAINT archived_documents_bundle_bytes CHECK ((bundle_sha256 IS NULL) = (bundle_bytes IS NULL)),
    ADD CONSTRAINT archived_documents_bundle_edges CHECK (bundle_sha256 IS NOT NULL OR bundle_edges_sha256 IS NULL);
