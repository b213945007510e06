ALTER TABLE history_rounds DROP COLUMN revision_due;
