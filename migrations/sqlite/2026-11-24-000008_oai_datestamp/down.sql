DROP INDEX archived_documents_public_since;
ALTER TABLE archived_documents DROP COLUMN public_since;
