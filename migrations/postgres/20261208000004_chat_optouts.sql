-- Members who keep their updates out of chat rooms (issue 36; the preferences page). A room's
-- members read what is posted, so a member may decide their updates reach only email
-- digests and the team log. Keep in step with the other backend.
CREATE TABLE chat_optouts (
    member_id  BIGINT PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
