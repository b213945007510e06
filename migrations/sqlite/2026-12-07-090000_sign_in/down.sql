DROP TABLE sessions;
DROP TABLE sign_in_links;
DROP TABLE staff_addresses;
