-- The client address of the request that made a change (the TCP peer, or the address a trusted
-- reverse proxy forwarded: MMR_TRUSTED_PROXIES); NULL for the command line and the scheduler.
ALTER TABLE audit_events ADD COLUMN client_addr TEXT;
