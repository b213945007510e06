-- When an entry became public in its current form: the later of its publication date and the
-- moment that date was set (or the entry archived). It is the OAI-PMH datestamp and orders the
-- harvesting lists and the feed: a publication date set in the past, or an acceptance completed
-- late, would otherwise hide the entry from incremental harvesters. NULL while unpublished.
-- Rows written before this column existed get their publication date, the best knowledge there is.
ALTER TABLE archived_documents ADD COLUMN public_since TIMESTAMP;
UPDATE archived_documents SET public_since = published_at;
CREATE INDEX archived_documents_public_since ON archived_documents (public_since, id);
