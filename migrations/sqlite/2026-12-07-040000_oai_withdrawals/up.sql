-- When an entry that was public stopped being public (its publication date withdrawn, or moved
-- into the future): the datestamp of its OAI-PMH "deleted" header, so harvesters that copied it
-- learn of the withdrawal (`deletedRecord` is `persistent`: the column is never cleared while
-- the entry stays hidden). NULL for entries that are public, or were never public. Entries
-- withdrawn before this column existed cannot be told from ones never published: they stay NULL.
ALTER TABLE archived_documents ADD COLUMN withdrawn_at TIMESTAMP;
CREATE INDEX archived_documents_withdrawn_at ON archived_documents (withdrawn_at, id);
