DROP INDEX archived_documents_withdrawn_at;
ALTER TABLE archived_documents DROP COLUMN withdrawn_at;
