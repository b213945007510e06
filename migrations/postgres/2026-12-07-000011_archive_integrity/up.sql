-- What a reader can check of an archived file before sending it, and the verdicts of `/verify`.
--
-- `*_edges_sha256`: SHA-256 of a file's first and last 64 KiB (the whole file up to 128 KiB),
-- each byte once (`storage::edges_sha256`). Recorded at archiving; entries archived before this
-- migration get theirs from the first fixity run or the server's start-up backfill, which hash
-- the whole file first. NULL until then: such a file is checked by its size only before sending.
ALTER TABLE archived_documents ADD COLUMN pdf_edges_sha256 TEXT CHECK (length(pdf_edges_sha256) = 64);
ALTER TABLE archived_documents ADD COLUMN bundle_edges_sha256 TEXT CHECK (length(bundle_edges_sha256) = 64);

-- The outcome of re-rendering an entry's source bundle, per renderer and template version: what
-- `GET /archive/{id}/verify` answers without rendering again (the stored files are re-hashed on
-- every call). A fresh verification (Secretariat) replaces it.
CREATE TABLE archive_verifications (
    archive_id        BIGINT NOT NULL REFERENCES archived_documents (id),
    renderer_version  TEXT NOT NULL,
    template_version  TEXT NOT NULL,
    verified_at       TIMESTAMP NOT NULL,
    rerendered_sha256 TEXT CHECK (length(rerendered_sha256) = 64),
    problem           TEXT,
    PRIMARY KEY (archive_id, renderer_version, template_version)
);
