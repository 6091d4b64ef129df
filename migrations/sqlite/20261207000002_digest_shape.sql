-- How each reader shapes their digest (reply commands follow, mute, only blockers and
-- mentions, quiet until, everything): JSON, '{}' for the default.
ALTER TABLE members ADD COLUMN digest_shape TEXT NOT NULL DEFAULT '{}';
