-- The archive search now runs on an in-memory index of the dated catalogue entries, built from
-- the accepted texts on `submissions` (`workflow::catalog_index`): the `tsvector` table answered
-- the same searches 100 to 1,000 times slower and is no longer read or written. The `unaccent`
-- extension stays: other objects of the database may use it.
DROP TABLE archive_search;
DROP TEXT SEARCH CONFIGURATION mmr_search;
