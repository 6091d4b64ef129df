-- Rhythms (issue 17). Keep in step with the other backend.
--
-- How often a member's digest comes: 'daily' (the default), 'weekly:fri' (one summary of the
-- week on that local weekday, at the digest time) or 'off'.
ALTER TABLE members ADD COLUMN cadence TEXT NOT NULL DEFAULT 'daily';
-- An observer receives digests and reads the team log but is never asked for updates (a
-- stakeholder, a mailing-list address).
ALTER TABLE members ADD COLUMN observer BOOLEAN NOT NULL DEFAULT FALSE;
