-- Message bytes move out of the outbox row into a table of their own. SQLite rewrites a whole
-- record (overflow pages included) on every UPDATE whose size changes, so each state change of
-- an email (pending -> sending -> sent) copied its 100 KB body again; the claim and the result
-- now touch only the small row, and the body is written once and read once.
CREATE TABLE outbox_bodies (
    outbox_id INTEGER PRIMARY KEY REFERENCES outbox (id) ON DELETE CASCADE,
    body      BLOB NOT NULL
);
INSERT INTO outbox_bodies (outbox_id, body) SELECT id, body FROM outbox;
ALTER TABLE outbox DROP COLUMN body;
