-- Each creative field's French name, for messages to French-speaking cities (UNESCO's names).
ALTER TABLE creative_fields ADD COLUMN name_fr TEXT;
UPDATE creative_fields SET name_fr = CASE slug
    WHEN 'crafts_folk_art' THEN 'Artisanat et arts populaires'
    WHEN 'design' THEN 'Design'
    WHEN 'film' THEN 'Cinéma'
    WHEN 'gastronomy' THEN 'Gastronomie'
    WHEN 'literature' THEN 'Littérature'
    WHEN 'media_arts' THEN 'Arts numériques'
    WHEN 'music' THEN 'Musique'
    WHEN 'architecture' THEN 'Architecture'
END;

-- The Secretariat's daily digest: at most one a day (UTC), claimed like a reminder so that two
-- servers never both send it. It reports the events after the previous digest that was sent
-- (cities put on notice, messages failed for good) and the cities that cannot be reminded.
CREATE TABLE reminder_digests (
    id              INTEGER PRIMARY KEY NOT NULL,
    day             DATE NOT NULL UNIQUE,
    state           TEXT NOT NULL CHECK (state IN ('planned', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      TEXT,
    next_attempt_at TIMESTAMP,
    claimed_by      TEXT,
    claimed_until   TIMESTAMP,
    sent_at         TIMESTAMP,
    on_notice       INTEGER NOT NULL DEFAULT 0,
    cannot_remind   INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
