-- Members sign in to read the team log (issue 17). Keep in step with the other backend.
--
-- A session is a random token in the member's cookie, stored here as its SHA-256 only; it
-- ends when it expires, when the member signs out, or when it is revoked
-- (`tidings member signout EMAIL` ends all of a member's sessions).
CREATE TABLE member_sessions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    hash       TEXT NOT NULL UNIQUE,
    member_id  BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX member_sessions_member ON member_sessions (member_id);
-- Atom feed URLs are signed over this number; `member signout` moves it on, which ends them.
ALTER TABLE members ADD COLUMN feed_epoch BIGINT NOT NULL DEFAULT 0;
-- One-time sign-in links sent by email from /signin: the token's SHA-256, valid 15 minutes,
-- used once (a GET shows a button; only the POST of it signs in, so a mail scanner that
-- fetches the link does not use it up).
CREATE TABLE signin_links (
    hash       TEXT PRIMARY KEY NOT NULL,
    member_id  BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
