DROP TABLE archive_search;
DROP TEXT SEARCH CONFIGURATION mmr_search;
-- `unaccent` stays: other objects of the database may use it.
