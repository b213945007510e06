-- What the board and the reminder sweep select by, kept on the cycle row so that they can be
-- asked in SQL through an index instead of deriving every cycle's status in the application.
-- Status itself stays derived (domain::cycles); these are its inputs:
--   extended_due        the latest extension's date (cycle_extensions stays the history);
--   due_in_force        the due date in force: the latest extension, else the scheduled date;
--   city_slug           the city's slug (immutable), the board's tie-break after the due date;
--   city_field          the city's creative field, which a coordinator's board is limited to;
--   first_submitted_at  when the first version came in (NULL: nothing submitted yet);
--   latest_decision     the decision on the latest version, if it is decided;
--   revision_due        the revision deadline of that decision, when it asks for a revision.
-- db::cycles::insert_extension sets extended_due, db::cycles::refresh_progress the last three;
-- the database keeps city_slug and city_field equal to the city's (triggers here, a foreign key
-- with ON UPDATE CASCADE on PostgreSQL).

ALTER TABLE reporting_cycles ADD COLUMN extended_due DATE;
ALTER TABLE reporting_cycles ADD COLUMN due_in_force DATE
    GENERATED ALWAYS AS (COALESCE(extended_due, due_date)) VIRTUAL;
-- SQLite cannot add a NOT NULL column without a default; the triggers below keep them right.
ALTER TABLE reporting_cycles ADD COLUMN city_slug TEXT NOT NULL DEFAULT '';
ALTER TABLE reporting_cycles ADD COLUMN city_field TEXT NOT NULL DEFAULT '';
ALTER TABLE reporting_cycles ADD COLUMN first_submitted_at TIMESTAMP;
ALTER TABLE reporting_cycles ADD COLUMN latest_decision TEXT
    CHECK (latest_decision IS NULL
        OR (latest_decision IN ('accept', 'request_revision') AND first_submitted_at IS NOT NULL));
ALTER TABLE reporting_cycles ADD COLUMN revision_due DATE
    CHECK (COALESCE(latest_decision = 'request_revision', 0) = (revision_due IS NOT NULL));

-- The decision counts only when it is on the latest version.
UPDATE reporting_cycles SET
    extended_due = (SELECT e.new_due FROM cycle_extensions e
                    WHERE e.cycle_id = reporting_cycles.id ORDER BY e.id DESC LIMIT 1),
    city_slug = (SELECT c.slug FROM cities c WHERE c.id = reporting_cycles.city_id),
    city_field = (SELECT c.field FROM cities c WHERE c.id = reporting_cycles.city_id),
    first_submitted_at = (SELECT s.submitted_at FROM submissions s
                          WHERE s.cycle_id = reporting_cycles.id ORDER BY s.version LIMIT 1),
    latest_decision = (SELECT d.decision FROM submissions s JOIN review_decisions d ON d.submission_id = s.id
                       WHERE s.cycle_id = reporting_cycles.id
                         AND s.version = (SELECT max(v.version) FROM submissions v
                                          WHERE v.cycle_id = reporting_cycles.id)),
    revision_due = (SELECT d.revision_due FROM submissions s JOIN review_decisions d ON d.submission_id = s.id
                    WHERE s.cycle_id = reporting_cycles.id
                      AND s.version = (SELECT max(v.version) FROM submissions v
                                       WHERE v.cycle_id = reporting_cycles.id));

-- city_slug and city_field are always the cycle's city's.
CREATE TRIGGER reporting_cycles_city_insert BEFORE INSERT ON reporting_cycles
WHEN NOT EXISTS (SELECT 1 FROM cities WHERE id = NEW.city_id AND slug = NEW.city_slug AND field = NEW.city_field)
BEGIN
    SELECT RAISE(ABORT, 'reporting_cycles.city_slug and city_field must be those of the cycle''s city');
END;
CREATE TRIGGER reporting_cycles_city_update BEFORE UPDATE OF city_id, city_slug, city_field ON reporting_cycles
WHEN NOT EXISTS (SELECT 1 FROM cities WHERE id = NEW.city_id AND slug = NEW.city_slug AND field = NEW.city_field)
BEGIN
    SELECT RAISE(ABORT, 'reporting_cycles.city_slug and city_field must be those of the cycle''s city');
END;
CREATE TRIGGER cities_to_reporting_cycles AFTER UPDATE OF slug, field ON cities
BEGIN
    UPDATE reporting_cycles SET city_slug = NEW.slug, city_field = NEW.field WHERE city_id = NEW.id;
END;

-- The board in its orders; the unsubmitted ones (overdue, open, upcoming) by due date, also
-- within a field; the submitted ones by decision; the sweep's revision deadlines; withdrawn
-- cities, to leave out.
CREATE INDEX reporting_cycles_by_due ON reporting_cycles (due_in_force, city_slug, due_date, number);
CREATE INDEX reporting_cycles_by_city ON reporting_cycles (city_slug, number);
CREATE INDEX reporting_cycles_unsubmitted_by_due ON reporting_cycles (due_in_force, city_slug, due_date, number)
    WHERE first_submitted_at IS NULL;
CREATE INDEX reporting_cycles_unsubmitted_by_field
    ON reporting_cycles (city_field, due_in_force, city_slug, due_date, number)
    WHERE first_submitted_at IS NULL;
CREATE INDEX reporting_cycles_submitted_by_decision
    ON reporting_cycles (latest_decision, due_in_force, city_slug, due_date, number)
    WHERE first_submitted_at IS NOT NULL;
CREATE INDEX reporting_cycles_revision_due ON reporting_cycles (revision_due) WHERE revision_due IS NOT NULL;
CREATE INDEX cities_withdrawn ON cities (id) WHERE status = 'withdrawn';
