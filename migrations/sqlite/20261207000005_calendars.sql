-- Calendars (issue 34). Keep in step with the other backend.
--
-- calendar_sources: each address given (a member's private calendar, a holiday calendar),
-- once whatever the number of members or teams who gave it, so it is read at most once per
-- fetch.refresh_minutes. The address is a secret: never shown whole, logged or exported.
-- The last good copy (body) is kept: a failing address never changes anyone's days.
CREATE TABLE calendar_sources (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    url           TEXT NOT NULL UNIQUE,
    etag          TEXT,
    last_modified TEXT,
    body          BLOB,
    -- A digest of the last good body: what the days were computed from.
    body_hash     TEXT,
    fetched_at    BIGINT,
    tried_at      BIGINT,
    error         TEXT,
    failing_since BIGINT
);

-- kind: 'personal' (time away by the away rule) or 'holidays' (every event a day off).
CREATE TABLE member_calendars (
    member_id  BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    source_id  BIGINT NOT NULL REFERENCES calendar_sources (id),
    kind       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (member_id, source_id)
);

CREATE TABLE team_calendars (
    team_id    BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    source_id  BIGINT NOT NULL REFERENCES calendar_sources (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, source_id)
);

-- The days read from a member's calendars, in their zone and times: kind 'personal' (time
-- off in their own calendar) or 'holidays' (a holiday calendar of theirs or of a team's).
CREATE TABLE calendar_days (
    member_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    day       TEXT NOT NULL,
    kind      TEXT NOT NULL,
    uid       TEXT NOT NULL,
    summary   TEXT NOT NULL,
    PRIMARY KEY (member_id, day, kind, uid)
);
CREATE INDEX calendar_days_day ON calendar_days (day);

-- What the days were last computed from (sources' hashes, zone, times, ignored events).
CREATE TABLE calendar_state (
    member_id   BIGINT PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL
);

-- Events a member told Tidings to ignore (by UID).
CREATE TABLE calendar_ignored (
    member_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    uid       TEXT NOT NULL,
    summary   TEXT NOT NULL,
    PRIMARY KEY (member_id, uid)
);
