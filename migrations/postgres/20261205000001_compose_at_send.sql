-- Digests are composed when they are sent, not stored as bytes (issue 16). Keep in step with
-- the other backend's folder.
--
-- Each revision of an update as it was written: a queued digest carries (update, revision)
-- pairs (`digest_deliveries`) and is composed from these, so an edit made after it was queued
-- does not change it (the edit reaches the reader in their next digest, marked edited).
-- Kept as the update's edit history (at most 20 revisions of at most 16 KB a day).
CREATE TABLE update_revisions (
    update_id  BIGINT NOT NULL REFERENCES updates (id) ON DELETE CASCADE,
    revision   BIGINT NOT NULL,
    body       TEXT NOT NULL,
    sections   TEXT,
    -- The reply (Message-ID) this revision came from: a reply whose worker died after storing
    -- it and before recording that is not appended a second time when it is finished again.
    message_id TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (update_id, revision)
);
INSERT INTO update_revisions (update_id, revision, body, sections, message_id, created_at)
    SELECT id, revision, body, sections, message_id, updated_at FROM updates;
-- What a digest row holds instead of bytes: the reader's greeting hour and name, its List-Id,
-- and per team its entries (update, revision, marks) and who had not written (JSON, see
-- src/jobs/compose.rs). NULL for every other kind of email, whose bytes are in outbox_bodies.
ALTER TABLE outbox ADD COLUMN manifest TEXT;
