-- Message bytes move out of the outbox row into a table of their own, as on SQLite (where
-- every state change rewrote the 100 KB body with the row); the claim and the result now touch
-- only the small row, and the body is written once and read once.
CREATE TABLE outbox_bodies (
    outbox_id BIGINT PRIMARY KEY REFERENCES outbox (id) ON DELETE CASCADE,
    body      BYTEA NOT NULL
);
INSERT INTO outbox_bodies (outbox_id, body) SELECT id, body FROM outbox;
ALTER TABLE outbox DROP COLUMN body;
