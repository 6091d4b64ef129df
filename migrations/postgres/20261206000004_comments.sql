-- Comments and reactions by email (issue 18). Keep in step with the other backend.
--
-- A comment is a reply to the "Reply to …" address of a digest entry (a token signed for the
-- reader and the update), extracted like any reply. Its Message-ID is unique: a message read
-- again after a crash is not stored twice.
CREATE TABLE comments (
    id         BIGSERIAL PRIMARY KEY,
    update_id  BIGINT NOT NULL REFERENCES updates (id) ON DELETE CASCADE,
    author_id  BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    body       TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX comments_update ON comments (update_id);
-- Who is owed each comment (the update's author and everyone who commented before), and
-- when a digest carried it (set in the transaction that queues that digest).
CREATE TABLE comment_deliveries (
    comment_id   BIGINT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    member_id    BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    delivered_at BIGINT,
    PRIMARY KEY (comment_id, member_id)
);
CREATE INDEX comment_deliveries_pending ON comment_deliveries (member_id, delivered_at);
-- A reply that is only "+1", "👍", "thanks", "🎉", …: one of each per person and update.
CREATE TABLE reactions (
    update_id  BIGINT NOT NULL REFERENCES updates (id) ON DELETE CASCADE,
    member_id  BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    reaction   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (update_id, member_id, reaction)
);
