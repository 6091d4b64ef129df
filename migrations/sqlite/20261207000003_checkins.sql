-- no-transaction
PRAGMA foreign_keys = OFF;
BEGIN;
-- Check-ins (issue 33): a team's questions on their own rhythms. Keep in step with the other
-- backend.
--
-- Every team has its daily stand-up (standup = 1): its questions are the team's
-- (teams.questions, else schedule.questions), its time and days each member's own (the
-- members.next_request_* columns plan it, as before). Other check-ins carry their questions
-- (JSON [{"kind": "scale", "text": "…"}]), rhythm ('days:mon,fri', 'weekly:fri',
-- 'weekly:mon:2:2026-12-07', 'monthly:first-mon', 'monthly:last-workday', 'monthly:15'),
-- local time (NULL: each member's request time), zone (NULL: each member's), audience ('all',
-- 'leads' or addresses) and where the answers go ('digest' or 'log').
CREATE TABLE checkins (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id    BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    standup    INTEGER NOT NULL DEFAULT 0,
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
    SELECT id, 'Daily stand-up', 1, 'workdays', created_at FROM teams;

-- When each asked member's next request (and reminder) of a check-in other than the stand-up
-- is due: NULL next_at is not planned yet.
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

-- The check-in an email asks for (requests and reminders of check-ins other than the
-- stand-up): a reply through References is filed under it.
ALTER TABLE outbox ADD COLUMN checkin BIGINT;

-- An update answers one check-in: 0 is the stand-up (every update written before). A member
-- has one update per check-in and local date, so the unique key gains the check-in. SQLite
-- cannot change a table's UNIQUE constraint: the table is rebuilt the way SQLite's manual
-- says (ALTER TABLE, "other kinds of table schema changes"), with foreign keys off so that the
-- tables referencing `updates` keep their rows and their references. That needs this
-- migration outside sqlx's transaction (`no-transaction` above): it runs in its own.
DROP TRIGGER updates_fts_insert;
DROP TRIGGER updates_fts_delete;
DROP TRIGGER updates_fts_update;
CREATE TABLE updates_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id           BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    local_date          TEXT NOT NULL,
    body                TEXT NOT NULL,
    source              TEXT NOT NULL,
    revision            BIGINT NOT NULL DEFAULT 1,
    message_id          TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    sections            TEXT,
    blocker_resolved_at BIGINT,
    checkin             BIGINT NOT NULL DEFAULT 0,
    UNIQUE (member_id, local_date, checkin)
);
INSERT INTO updates_new (id, member_id, local_date, body, source, revision, message_id,
                     created_at, updated_at, sections, blocker_resolved_at, checkin)
    SELECT id, member_id, local_date, body, source, revision, message_id,
           created_at, updated_at, sections, blocker_resolved_at, 0
    FROM updates;
-- AUTOINCREMENT goes on from the old table's highest id ever given, not the highest left: an
-- update deleted since keeps its id unused (a digest's comment address names update ids).
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'updates_new', seq FROM sqlite_sequence WHERE name = 'updates'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'updates_new');
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'updates')
    WHERE name = 'updates_new'
    AND seq < (SELECT seq FROM sqlite_sequence WHERE name = 'updates');
DROP TABLE updates;
ALTER TABLE updates_new RENAME TO updates;
CREATE INDEX updates_updated ON updates (updated_at);
CREATE INDEX updates_date ON updates (local_date, id);
CREATE INDEX updates_checkin ON updates (checkin) WHERE checkin <> 0;
CREATE TRIGGER updates_fts_insert AFTER INSERT ON updates BEGIN
    INSERT INTO updates_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER updates_fts_delete AFTER DELETE ON updates BEGIN
    INSERT INTO updates_fts (updates_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER updates_fts_update AFTER UPDATE OF body ON updates BEGIN
    INSERT INTO updates_fts (updates_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO updates_fts (rowid, body) VALUES (new.id, new.body);
END;
COMMIT;
PRAGMA foreign_keys = ON;
