DROP TABLE audit_events;
DROP TABLE api_tokens;
DROP TABLE contacts;
DROP TABLE city_field_history;
DROP TABLE city_aliases;
DROP TABLE cities;
DROP TABLE creative_fields;
