-- Check-ins (issue 33): a team's questions on their own rhythms. Keep in step with the other
-- backend (its comments say what each column holds).
CREATE TABLE checkins (
    id         BIGSERIAL PRIMARY KEY,
    team_id    BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    standup    BOOLEAN NOT NULL DEFAULT FALSE,
    questions  TEXT NOT NULL DEFAULT '[]',
    rhythm     TEXT NOT NULL,
    at         TEXT,
    tz         TEXT,
    who        TEXT NOT NULL DEFAULT 'all',
    goes_to    TEXT NOT NULL DEFAULT 'digest',
    created_at BIGINT NOT NULL,
    UNIQUE (team_id, name)
);
INSERT INTO checkins (team_id, name, standup, rhythm, created_at)
    SELECT id, 'Daily stand-up', TRUE, 'workdays', created_at FROM teams;

CREATE TABLE checkin_plans (
    checkin_id    BIGINT NOT NULL REFERENCES checkins (id) ON DELETE CASCADE,
    member_id     BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    next_at       BIGINT,
    next_date     TEXT,
    reminder_at   BIGINT,
    reminder_date TEXT,
    PRIMARY KEY (checkin_id, member_id)
);
CREATE INDEX checkin_plans_next ON checkin_plans (next_at);
CREATE INDEX checkin_plans_reminder ON checkin_plans (reminder_at);
CREATE INDEX checkin_plans_member ON checkin_plans (member_id);

ALTER TABLE outbox ADD COLUMN checkin BIGINT;

-- 0 is the stand-up (every update written before); one update per check-in and local date.
ALTER TABLE updates ADD COLUMN checkin BIGINT NOT NULL DEFAULT 0;
ALTER TABLE updates DROP CONSTRAINT updates_member_id_local_date_key;
ALTER TABLE updates ADD CONSTRAINT updates_member_date_checkin
    UNIQUE (member_id, local_date, checkin);
CREATE INDEX updates_checkin ON updates (checkin) WHERE checkin <> 0;
