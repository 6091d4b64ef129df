-- Mentions (issue 18): `@ana` in an update puts it at the top of Ana's next digest, under
-- "Needs you", whatever team she reads. Keep in step with the other backend.
-- One row per (update, member): a later edit that mentions her again does not tell her twice.
-- `delivered_at` is set in the transaction that queues the digest that carries it.
CREATE TABLE mentions (
    update_id    BIGINT NOT NULL REFERENCES updates (id) ON DELETE CASCADE,
    member_id    BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT,
    PRIMARY KEY (update_id, member_id)
);
CREATE INDEX mentions_pending ON mentions (member_id, delivered_at);
