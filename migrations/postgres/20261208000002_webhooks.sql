-- Signed outbound webhooks (issue 36). Keep in step with the other backend.
--
-- webhooks: the endpoints the admin added, for one team or (team_id NULL) for all. `secret`
-- (whsec_…) signs every delivery: shown once when added, never logged. `events` is the
-- comma-separated list of event types asked for. An endpoint failing since `failing_since`
-- for longer than webhooks.pause_after_hours is paused (`paused_at`, `pause_reason`) until
-- the admin resumes it; its deliveries wait meanwhile.
CREATE TABLE webhooks (
    id              BIGSERIAL PRIMARY KEY,
    team_id         BIGINT REFERENCES teams (id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    secret          TEXT NOT NULL,
    events          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_success_at BIGINT,
    failing_since   BIGINT,
    last_error      TEXT,
    paused_at       BIGINT,
    pause_reason    TEXT
);

-- One row per event and endpoint, delivered like an email through the outbox's states:
-- pending → sending (leased claim) → sent | failed. `idem_key` (endpoint:event key) makes an
-- event queued twice (a reply read again after a crash) one delivery; `msg_id` is the
-- `webhook-id` header, the same on every attempt, and `payload` the exact body signed.
CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    webhook_id      BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    idem_key        TEXT NOT NULL UNIQUE,
    msg_id          TEXT NOT NULL,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, state);
