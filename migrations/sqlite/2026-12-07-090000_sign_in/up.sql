-- People sign in to the pages (DESIGN.md §3): by a single-use e-mail link sent to an address the
-- registry knows, or with an API token; a server-side session then carries the role and scope.
-- No secret is stored, only its SHA-256; no e-mail address is stored outside the registry: a
-- person is known here by the SHA-256 of their lowercased address ("person"), or "token:<id>"
-- for a session opened with an API token.

-- The Secretariat's staff addresses: whoever receives a link at one signs in as the Secretariat.
CREATE TABLE staff_addresses (
    id         INTEGER PRIMARY KEY NOT NULL,
    email      TEXT NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at TIMESTAMP NOT NULL
);

-- Sign-in links sent and not yet expired long ago: single use, valid for a short while.
CREATE TABLE sign_in_links (
    id         INTEGER PRIMARY KEY NOT NULL,
    link_hash  TEXT NOT NULL UNIQUE CHECK (length(link_hash) = 64),
    person     TEXT NOT NULL,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('secretariat', 'coordinator', 'city')),
    field      TEXT REFERENCES creative_fields (slug),
    city_id    BIGINT REFERENCES cities (id),
    return_to  TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    CHECK ((role = 'secretariat' AND field IS NULL AND city_id IS NULL)
        OR (role = 'coordinator' AND field IS NOT NULL AND city_id IS NULL)
        OR (role = 'city' AND field IS NULL AND city_id IS NOT NULL))
);
CREATE INDEX sign_in_links_person ON sign_in_links (person, created_at);

-- Sessions of people signed in to the pages.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY NOT NULL,
    session_hash TEXT NOT NULL UNIQUE CHECK (length(session_hash) = 64),
    person       TEXT NOT NULL,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('secretariat', 'coordinator', 'city')),
    field        TEXT REFERENCES creative_fields (slug),
    city_id      BIGINT REFERENCES cities (id),
    token_id     BIGINT REFERENCES api_tokens (id),
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    ended_at     TIMESTAMP,
    CHECK ((role = 'secretariat' AND field IS NULL AND city_id IS NULL)
        OR (role = 'coordinator' AND field IS NOT NULL AND city_id IS NULL)
        OR (role = 'city' AND field IS NULL AND city_id IS NOT NULL))
);
CREATE INDEX sessions_person ON sessions (person);
