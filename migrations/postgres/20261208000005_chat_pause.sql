-- A chat room whose posts have failed for webhooks.pause_after_hours is paused, as a webhook
-- endpoint is, until the admin resumes it (`tidings team chat resume ID`). Keep in step with
-- the other backend.
ALTER TABLE chat_rooms ADD COLUMN paused_at BIGINT;
ALTER TABLE chat_rooms ADD COLUMN pause_reason TEXT;
