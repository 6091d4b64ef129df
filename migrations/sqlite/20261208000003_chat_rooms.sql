-- Chat rooms a team's daily summary is posted to (issue 36). Keep in step with the other backend.
--
-- chat_rooms: one per room, set by the admin: its platform (`kind`: slack, mattermost,
-- discord, teams, google-chat, matrix), the address posts go to (an incoming webhook, or a
-- Matrix homeserver's base URL with `room` and the bot's access `token`), and one posting time
-- (`at`, HH:MM) in one zone (`tz`) on `days` (a room is shared: not each reader's hour). The
-- address and token are secrets: never shown whole or logged.
CREATE TABLE chat_rooms (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id         BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    url             TEXT NOT NULL,
    room            TEXT,
    token           TEXT,
    at              TEXT NOT NULL,
    tz              TEXT NOT NULL,
    days            BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_success_at BIGINT,
    failing_since   BIGINT,
    last_error      TEXT
);

-- One row per message of a room's summary for a local date (a summary over one message's
-- limits is several, `part` 1..n), delivered like the outbox's emails: pending → sending
-- (leased) → sent | failed. `idem_key` (room:date:part) makes a day's summary queued once;
-- `txn_id` is Matrix's transaction id (a resend after a crash is the same event).
CREATE TABLE chat_posts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id         BIGINT NOT NULL REFERENCES chat_rooms (id) ON DELETE CASCADE,
    local_date      TEXT NOT NULL,
    part            BIGINT NOT NULL,
    idem_key        TEXT NOT NULL UNIQUE,
    txn_id          TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX chat_posts_due ON chat_posts (state, next_attempt_at);
