-- Full-text search over the report and action-plan text of archive entries.
--
-- Reports are written in English or French, sometimes both. The `mmr_search` configuration is
-- `simple` (no stemming, no stop words: neither language's rules damage the other's words)
-- behind `unaccent`, so case and accents are ignored: the same matching as SQLite's FTS5
-- unicode61 tokenizer with remove_diacritics. `unaccent` ships with PostgreSQL (contrib) and is a
-- trusted extension, so a database owner may create it.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE TEXT SEARCH CONFIGURATION mmr_search (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION mmr_search
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;

-- One row per archive entry: its report and action plan as one document.
CREATE TABLE archive_search (
    archive_id BIGINT PRIMARY KEY REFERENCES archived_documents (id),
    document   TSVECTOR NOT NULL
);
CREATE INDEX archive_search_document ON archive_search USING GIN (document);

-- Entries archived before this migration.
INSERT INTO archive_search (archive_id, document)
SELECT d.id, to_tsvector('mmr_search', s.report_markdown) || to_tsvector('mmr_search', s.action_plan_markdown)
FROM archived_documents d JOIN submissions s ON s.id = d.submission_id;
