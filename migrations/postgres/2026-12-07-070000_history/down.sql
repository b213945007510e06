DROP TABLE history_rounds;
ALTER TABLE reporting_cycles DROP COLUMN closed_by_history;
