-- Activity feeds and drafts (issue 35). Keep in step with the other backend.
--
-- activity_feeds: the feed addresses a member gave (Atom, RSS, JSON Feed). The address is a
-- secret (a private feed's token is in it): never shown whole, logged or exported. `entries`
-- is the last good copy, as JSON: a failing feed never loses what was read.
CREATE TABLE activity_feeds (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id     BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    url           TEXT NOT NULL,
    etag          TEXT,
    last_modified TEXT,
    entries       TEXT,
    fetched_at    BIGINT,
    tried_at      BIGINT,
    error         TEXT,
    failing_since BIGINT,
    created_at    BIGINT NOT NULL,
    UNIQUE (member_id, url)
);

-- What a member muted (`activity mute X`): a repository or project, or a kind of entry.
CREATE TABLE activity_mutes (
    member_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    what      TEXT NOT NULL,
    PRIMARY KEY (member_id, what)
);

-- The draft a member's request showed for a day, as JSON: what `keep` keeps, numbered as
-- the member saw it. Seen by no one else.
CREATE TABLE activity_drafts (
    member_id  BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    local_date TEXT NOT NULL,
    since      BIGINT NOT NULL,
    draft      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (member_id, local_date)
);
