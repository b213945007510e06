DROP TABLE reminder_digests;
ALTER TABLE creative_fields DROP COLUMN name_fr;
