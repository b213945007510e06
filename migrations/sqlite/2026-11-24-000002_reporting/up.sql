-- Reporting: four-year cycles and their extensions, drafts, submitted versions with attachments,
-- review comments and decisions, the archive, and the reminder ledger.

CREATE TABLE reporting_cycles (
    id                 INTEGER PRIMARY KEY NOT NULL,
    city_id            BIGINT NOT NULL REFERENCES cities (id),
    number             INTEGER NOT NULL CHECK (number >= 1),
    period_start_year  INTEGER NOT NULL,
    period_end_year    INTEGER NOT NULL CHECK (period_end_year = period_start_year + 4),
    -- The local date (city time zone) the report is due at 23:59; extensions come on top.
    due_date           DATE NOT NULL,
    due_date_overridden BOOLEAN NOT NULL DEFAULT 0 CHECK (due_date_overridden IN (0, 1)),
    created_at         TIMESTAMP NOT NULL,
    UNIQUE (city_id, number)
);

CREATE TABLE cycle_extensions (
    id           INTEGER PRIMARY KEY NOT NULL,
    cycle_id     BIGINT NOT NULL REFERENCES reporting_cycles (id),
    previous_due DATE NOT NULL,
    new_due      DATE NOT NULL CHECK (new_due > previous_due),
    reason       TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    granted_by   TEXT NOT NULL,
    granted_at   TIMESTAMP NOT NULL
);
CREATE INDEX cycle_extensions_cycle ON cycle_extensions (cycle_id);

-- One working draft per cycle, overwritten at will until the cycle is accepted.
CREATE TABLE drafts (
    cycle_id             BIGINT PRIMARY KEY NOT NULL REFERENCES reporting_cycles (id),
    report_markdown      TEXT NOT NULL,
    action_plan_markdown TEXT NOT NULL,
    updated_by           TEXT NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);

-- Immutable submitted versions.
CREATE TABLE submissions (
    id                   INTEGER PRIMARY KEY NOT NULL,
    cycle_id             BIGINT NOT NULL REFERENCES reporting_cycles (id),
    version              INTEGER NOT NULL CHECK (version >= 1),
    report_markdown      TEXT NOT NULL,
    action_plan_markdown TEXT NOT NULL,
    bundle_sha256        TEXT NOT NULL CHECK (length(bundle_sha256) = 64),
    submitted_by         TEXT NOT NULL,
    submitted_at         TIMESTAMP NOT NULL,
    late                 BOOLEAN NOT NULL CHECK (late IN (0, 1)),
    UNIQUE (cycle_id, version)
);

-- Images belong either to a draft or to a submitted version, never both.
CREATE TABLE attachments (
    id             INTEGER PRIMARY KEY NOT NULL,
    draft_cycle_id BIGINT REFERENCES drafts (cycle_id) ON DELETE CASCADE,
    submission_id  BIGINT REFERENCES submissions (id),
    name           TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    content_type   TEXT NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg')),
    size_bytes     BIGINT NOT NULL CHECK (size_bytes >= 0),
    sha256         TEXT NOT NULL CHECK (length(sha256) = 64),
    data           BLOB NOT NULL,
    CHECK ((draft_cycle_id IS NULL) <> (submission_id IS NULL)),
    UNIQUE (draft_cycle_id, name),
    UNIQUE (submission_id, name)
);

CREATE TABLE review_comments (
    id            INTEGER PRIMARY KEY NOT NULL,
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    parent_id     BIGINT REFERENCES review_comments (id),
    author        TEXT NOT NULL,
    author_role   TEXT NOT NULL CHECK (author_role IN ('secretariat', 'coordinator', 'city')),
    section       TEXT CHECK (section IS NULL OR length(section) <= 200),
    body_markdown TEXT NOT NULL CHECK (length(body_markdown) >= 1),
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX review_comments_submission ON review_comments (submission_id);

-- A version is decided once: the UNIQUE makes concurrent decisions race to exactly one winner.
CREATE TABLE review_decisions (
    id              INTEGER PRIMARY KEY NOT NULL,
    submission_id   BIGINT NOT NULL UNIQUE REFERENCES submissions (id),
    decision        TEXT NOT NULL CHECK (decision IN ('accept', 'request_revision')),
    comments        TEXT,
    revision_due    DATE,
    accepted_sha256 TEXT CHECK (accepted_sha256 IS NULL OR length(accepted_sha256) = 64),
    decided_by      TEXT NOT NULL,
    decided_at      TIMESTAMP NOT NULL,
    CHECK ((decision = 'request_revision' AND revision_due IS NOT NULL AND accepted_sha256 IS NULL)
        OR (decision = 'accept' AND accepted_sha256 IS NOT NULL AND revision_due IS NULL))
);

-- Write-once archive entries; the files they point to are written and synced first.
CREATE TABLE archived_documents (
    id               INTEGER PRIMARY KEY NOT NULL,
    submission_id    BIGINT NOT NULL UNIQUE REFERENCES submissions (id),
    pdf_sha256       TEXT NOT NULL UNIQUE CHECK (length(pdf_sha256) = 64),
    pdf_bytes        BIGINT NOT NULL CHECK (pdf_bytes > 0),
    bundle_sha256    TEXT NOT NULL CHECK (length(bundle_sha256) = 64),
    bundle_bytes     BIGINT NOT NULL CHECK (bundle_bytes > 0),
    renderer_version TEXT NOT NULL,
    template_version TEXT NOT NULL,
    archived_at      TIMESTAMP NOT NULL,
    published_at     TIMESTAMP,
    last_fixity_at   TIMESTAMP,
    last_fixity_ok   BOOLEAN CHECK (last_fixity_ok IS NULL OR last_fixity_ok IN (0, 1))
);

-- The reminder ledger: one row per planned message, keyed by (cycle, stage, recipient).
CREATE TABLE reminders (
    id              INTEGER PRIMARY KEY NOT NULL,
    cycle_id        BIGINT NOT NULL REFERENCES reporting_cycles (id),
    kind            TEXT NOT NULL CHECK (kind IN ('deadline', 'revision')),
    stage           TEXT NOT NULL CHECK (length(stage) BETWEEN 1 AND 64),
    recipient       TEXT NOT NULL CHECK (length(recipient) BETWEEN 3 AND 254),
    send_on         DATE NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('planned', 'sent', 'skipped', 'cancelled', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      TEXT,
    next_attempt_at TIMESTAMP,
    claimed_by      TEXT,
    claimed_until   TIMESTAMP,
    sent_at         TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    UNIQUE (cycle_id, stage, recipient)
);
CREATE INDEX reminders_state_send_on ON reminders (state, send_on);

-- The Secretariat can hold back a city's upcoming reminders (until a date, or until lifted).
CREATE TABLE reminder_suppressions (
    id         INTEGER PRIMARY KEY NOT NULL,
    city_id    BIGINT NOT NULL REFERENCES cities (id),
    until_date DATE,
    reason     TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    lifted_at  TIMESTAMP
);
CREATE INDEX reminder_suppressions_city ON reminder_suppressions (city_id);
