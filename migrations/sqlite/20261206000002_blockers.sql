-- Blockers carried until resolved (issue 18). Keep in step with the other backend.
--
-- `resolved` (a reply command, the blockers page's button, the API) marks the update that
-- carries a member's open blocker; it then counts as closing it.
ALTER TABLE updates ADD COLUMN blocker_resolved_at BIGINT;
-- After how many of its author's workdays an open blocker goes to the team's leads.
ALTER TABLE teams ADD COLUMN escalate_after BIGINT NOT NULL DEFAULT 2;
-- A team's leads: their digests carry the team's long-open blockers under "Needs you".
CREATE TABLE team_leads (
    team_id   BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    member_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, member_id)
);
