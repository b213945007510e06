DROP TABLE archive_verifications;
ALTER TABLE archived_documents DROP COLUMN bundle_edges_sha256;
ALTER TABLE archived_documents DROP COLUMN pdf_edges_sha256;
