-- Serves authentication when the user's record is not in Redis (or Redis is down):
-- the user's public fields, and whether the presented token ($2, its jti) was revoked.
-- Relies on the primary keys of users and revoked_tokens.
-- $1 user id, $2 jti
SELECT u.id, u.email, u.full_name, u.tier::text AS tier, u.is_active, u.is_admin, u.created_at,
       EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = $2 AND r.user_id = u.id) AS revoked
FROM users u
WHERE u.id = $1
