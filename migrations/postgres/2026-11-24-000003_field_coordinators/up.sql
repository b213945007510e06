-- Where a field's coordinator is reached: formal reminders are copied to this address.
ALTER TABLE creative_fields ADD COLUMN coordinator_email TEXT
    CHECK (coordinator_email IS NULL OR (length(coordinator_email) BETWEEN 3 AND 254 AND coordinator_email LIKE '%_@_%'));
