DROP TABLE archive_search;
