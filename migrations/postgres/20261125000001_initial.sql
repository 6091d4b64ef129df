-- Tidings schema, PostgreSQL flavour. Keep in step with ../sqlite/ (same tables, columns, indexes).
-- Times are unix seconds (BIGINT); local dates are 'YYYY-MM-DD' text in the member's zone.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE teams (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    questions  TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE members (
    id                BIGSERIAL PRIMARY KEY,
    email             TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    timezone          TEXT NOT NULL,
    request_at        TEXT NOT NULL,
    digest_at         TEXT NOT NULL,
    workdays          BIGINT NOT NULL,
    paused            BOOLEAN NOT NULL DEFAULT FALSE,
    unsubscribed      BOOLEAN NOT NULL DEFAULT FALSE,
    bounces           BIGINT NOT NULL DEFAULT 0,
    next_request_at   BIGINT,
    next_request_date TEXT,
    next_digest_at    BIGINT,
    next_digest_date  TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX members_next_request ON members (next_request_at);
CREATE INDEX members_next_digest ON members (next_digest_at);

CREATE TABLE team_members (
    team_id   BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    member_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, member_id)
);
CREATE INDEX team_members_member ON team_members (member_id);

CREATE TABLE member_aliases (
    email     TEXT PRIMARY KEY NOT NULL,
    member_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE
);

CREATE TABLE away_ranges (
    id        BIGSERIAL PRIMARY KEY,
    member_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    from_date TEXT NOT NULL,
    to_date   TEXT NOT NULL
);
CREATE INDEX away_ranges_member ON away_ranges (member_id);

CREATE TABLE holidays (
    team_id BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    date    TEXT NOT NULL,
    PRIMARY KEY (team_id, date)
);

CREATE TABLE updates (
    id          BIGSERIAL PRIMARY KEY,
    member_id   BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    local_date  TEXT NOT NULL,
    body        TEXT NOT NULL,
    source      TEXT NOT NULL,
    revision    BIGINT NOT NULL DEFAULT 1,
    message_id  TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (member_id, local_date)
);
CREATE INDEX updates_updated ON updates (updated_at);

CREATE TABLE inbound_messages (
    id           BIGSERIAL PRIMARY KEY,
    message_id   TEXT NOT NULL UNIQUE,
    raw          BYTEA NOT NULL,
    source       TEXT NOT NULL,
    status       TEXT NOT NULL,
    reason       TEXT,
    sender       TEXT,
    member_id    BIGINT,
    update_id    BIGINT,
    received_at  BIGINT NOT NULL,
    processed_at BIGINT
);
CREATE INDEX inbound_status ON inbound_messages (status);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    idem_key        TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    member_id       BIGINT,
    local_date      TEXT,
    recipient       TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            BYTEA NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_message_id ON outbox (message_id);

CREATE TABLE digest_deliveries (
    reader_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    update_id BIGINT NOT NULL REFERENCES updates (id) ON DELETE CASCADE,
    revision  BIGINT NOT NULL,
    outbox_id BIGINT NOT NULL,
    PRIMARY KEY (reader_id, update_id, revision)
);

CREATE TABLE api_tokens (
    id         BIGSERIAL PRIMARY KEY,
    member_id  BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE api_idempotency (
    token_id   BIGINT NOT NULL,
    key        TEXT NOT NULL,
    response   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (token_id, key)
);

CREATE TABLE mailbox_state (
    mailbox     TEXT PRIMARY KEY NOT NULL,
    uidvalidity BIGINT NOT NULL,
    last_uid    BIGINT NOT NULL
);
