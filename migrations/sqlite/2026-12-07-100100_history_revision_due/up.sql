-- The revision deadline a past round's manifest gives for a revision requested (`revision_due`):
-- kept with the imported facts so that a re-import with another deadline is named, not applied.
-- NULL: the manifest gave none (the decision's date then stands in on the decision row).
ALTER TABLE history_rounds ADD COLUMN revision_due DATE;
