-- Inbound processing claims: a message stored but never finished (the worker crashed between
-- storing the raw bytes and recording the outcome) is picked up again once its lease expires.
-- Keep in step with ../sqlite/.
ALTER TABLE inbound_messages ADD COLUMN lease_until BIGINT;
-- Quarantine listing and the per-sender notice rate limit look up by status and sender.
CREATE INDEX inbound_status_received ON inbound_messages (status, received_at);
