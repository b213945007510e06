-- Full-text search over the report and action-plan text of archive entries (FTS5, bundled with
-- SQLite). One row per archive entry, its rowid the entry's id. Contentless: the text stays on
-- `submissions` alone; the index only answers MATCH and bm25 ranking. The unicode61 tokenizer
-- folds case and diacritics and does no stemming, as PostgreSQL's `mmr_search` configuration does.
CREATE VIRTUAL TABLE archive_search USING fts5(
    report,
    action_plan,
    content = '',
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Entries archived before this migration.
INSERT INTO archive_search (rowid, report, action_plan)
SELECT d.id, s.report_markdown, s.action_plan_markdown
FROM archived_documents d JOIN submissions s ON s.id = d.submission_id;
