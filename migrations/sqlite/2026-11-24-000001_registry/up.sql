-- Registry, access and audit: creative fields, cities and their history, contacts, API tokens, audit events.
-- Timestamps are UTC. Booleans are 0/1. Ids are 64-bit rowids.

CREATE TABLE creative_fields (
    slug       TEXT PRIMARY KEY NOT NULL
               CHECK (length(slug) BETWEEN 1 AND 40 AND slug NOT GLOB '*[^a-z_]*'),
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    since_year INTEGER NOT NULL CHECK (since_year >= 2004)
);

INSERT INTO creative_fields (slug, name, since_year) VALUES
    ('crafts_folk_art', 'Crafts and Folk Art', 2004),
    ('design', 'Design', 2004),
    ('film', 'Film', 2004),
    ('gastronomy', 'Gastronomy', 2004),
    ('literature', 'Literature', 2004),
    ('media_arts', 'Media Arts', 2004),
    ('music', 'Music', 2004),
    ('architecture', 'Architecture', 2025);

CREATE TABLE cities (
    id               INTEGER PRIMARY KEY NOT NULL,
    slug             TEXT NOT NULL UNIQUE
                     CHECK (length(slug) BETWEEN 1 AND 64 AND slug NOT GLOB '*[^a-z0-9-]*'
                            AND slug NOT GLOB '-*' AND slug NOT GLOB '*-' AND slug NOT GLOB '*--*'),
    name             TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    country          TEXT NOT NULL CHECK (length(country) = 2 AND country NOT GLOB '*[^A-Z]*'),
    field            TEXT NOT NULL REFERENCES creative_fields (slug),
    designation_date DATE NOT NULL CHECK (designation_date >= '2004-01-01'),
    time_zone        TEXT NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
    language         TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'fr')),
    status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'on_notice', 'withdrawn')),
    search_text      TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX cities_field ON cities (field);
CREATE INDEX cities_country ON cities (country);

CREATE TABLE city_aliases (
    id      INTEGER PRIMARY KEY NOT NULL,
    city_id BIGINT NOT NULL REFERENCES cities (id) ON DELETE CASCADE,
    alias   TEXT NOT NULL CHECK (length(alias) BETWEEN 1 AND 200),
    UNIQUE (city_id, alias)
);

-- A city's creative field over time (Lyon moved from Media Arts to Literature in 2023).
-- The open row (valid_to IS NULL) always equals cities.field.
CREATE TABLE city_field_history (
    id         INTEGER PRIMARY KEY NOT NULL,
    city_id    BIGINT NOT NULL REFERENCES cities (id) ON DELETE CASCADE,
    field      TEXT NOT NULL REFERENCES creative_fields (slug),
    valid_from DATE NOT NULL,
    valid_to   DATE,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX city_field_history_one_open ON city_field_history (city_id) WHERE valid_to IS NULL;

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY NOT NULL,
    city_id    BIGINT NOT NULL REFERENCES cities (id) ON DELETE CASCADE,
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email      TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email LIKE '%_@_%'),
    role       TEXT CHECK (role IS NULL OR length(role) <= 200),
    phone      TEXT CHECK (phone IS NULL OR length(phone) <= 50),
    is_primary BOOLEAN NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (city_id, email)
);
CREATE UNIQUE INDEX contacts_one_primary ON contacts (city_id) WHERE is_primary;

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    token_hash   TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    role         TEXT NOT NULL CHECK (role IN ('secretariat', 'coordinator', 'city')),
    field        TEXT REFERENCES creative_fields (slug),
    city_id      BIGINT REFERENCES cities (id),
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP,
    CHECK ((role = 'secretariat' AND field IS NULL AND city_id IS NULL)
        OR (role = 'coordinator' AND field IS NOT NULL AND city_id IS NULL)
        OR (role = 'city' AND field IS NULL AND city_id IS NOT NULL))
);

CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY NOT NULL,
    at           TIMESTAMP NOT NULL,
    actor        TEXT NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
    token_id     BIGINT REFERENCES api_tokens (id),
    action       TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
    subject_type TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT '{}',
    request_id   TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
