ALTER TABLE creative_fields DROP COLUMN coordinator_email;
