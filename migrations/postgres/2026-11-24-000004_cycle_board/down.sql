DROP INDEX cities_withdrawn;
DROP INDEX reporting_cycles_revision_due;
DROP INDEX reporting_cycles_submitted_by_decision;
DROP INDEX reporting_cycles_unsubmitted_by_field;
DROP INDEX reporting_cycles_unsubmitted_by_due;
DROP INDEX reporting_cycles_by_city;
DROP INDEX reporting_cycles_by_due;
ALTER TABLE reporting_cycles
    DROP COLUMN due_in_force,
    DROP COLUMN revision_due,
    DROP COLUMN latest_decision,
    DROP COLUMN first_submitted_at,
    DROP COLUMN city_field,
    DROP COLUMN city_slug,
    DROP COLUMN extended_due;
ALTER TABLE cities DROP CONSTRAINT cities_board_keys;
