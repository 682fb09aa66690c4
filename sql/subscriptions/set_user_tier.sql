-- Serves POST /api/subscriptions and DELETE /api/subscriptions/me: the user's tier follows
-- the active plan (starter when none). Relies on the primary key.
-- $1 user id, $2 tier
UPDATE users
SET tier = $2::tier, updated_at = now()
WHERE id = $1
