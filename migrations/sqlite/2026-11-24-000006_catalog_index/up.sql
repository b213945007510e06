-- Harvesting and feeds list published entries by (publication time, id), paged by keyset.
CREATE INDEX archived_documents_published ON archived_documents (published_at, id);
