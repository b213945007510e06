-- Past reporting rounds imported from the Secretariat's records (`mmr history import`).
--
-- An imported round is an ordinary cycle whose facts came from the manifest: its version (the
-- report as it was received, if it was) and its decision are ordinary rows, and a legacy PDF is
-- an ordinary archive entry. What marks it:
--   reporting_cycles.closed_by_history  the round is closed: nothing more is expected, no
--                                       reminder is planned or sent for it, whatever its status;
--   history_rounds                      the manifest's facts as imported (one row per cycle), so
--                                       that importing the same file again changes nothing and a
--                                       different fact for the same round is named, not applied.
-- A received document's archive entry has `renderer_version = 'received'`: it was not rendered
-- here and has no source bundle; its bundle columns repeat the PDF's digest and size (the
-- columns are NOT NULL and fixity then hashes the one file), and every reader of the bundle
-- checks the marker first (workflow::history::RECEIVED).
ALTER TABLE reporting_cycles ADD COLUMN closed_by_history BOOLEAN NOT NULL DEFAULT 0
    CHECK (closed_by_history IN (0, 1));

CREATE TABLE history_rounds (
    id              INTEGER PRIMARY KEY NOT NULL,
    cycle_id        BIGINT NOT NULL UNIQUE REFERENCES reporting_cycles (id),
    due_date        DATE NOT NULL,
    received_on     DATE,
    decision        TEXT NOT NULL CHECK (decision IN ('accepted', 'revision_requested', 'none')),
    decided_on      DATE,
    language        TEXT NOT NULL CHECK (length(language) BETWEEN 2 AND 8),
    file_name       TEXT CHECK (file_name IS NULL OR length(file_name) BETWEEN 1 AND 255),
    pdf_sha256      TEXT CHECK (pdf_sha256 IS NULL OR length(pdf_sha256) = 64),
    -- Why the legacy PDF has no text in the search (a scan), when it has none.
    text_note       TEXT,
    notes           TEXT NOT NULL,
    imported_by     TEXT NOT NULL,
    imported_at     TIMESTAMP NOT NULL,
    CHECK ((decision = 'none') = (decided_on IS NULL)),
    CHECK (decision = 'none' OR received_on IS NOT NULL)
);
