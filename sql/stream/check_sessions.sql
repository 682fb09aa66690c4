-- Serves GET /api/signals/stream: each worker checks its open streams twice a second. One
-- row per (user, token) asked: the user's current tier and activity (NULL tier: no such
-- user) and whether the token has been revoked. Relies on the users and revoked_tokens
-- primary keys.
-- $1 user ids, $2 token ids (jti), pairwise
SELECT s.user_id, s.jti, u.tier::text AS tier, coalesce(u.is_active, false) AS is_active,
       EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = s.jti) AS revoked
FROM unnest($1::bigint[], $2::uuid[]) AS s (user_id, jti)
LEFT JOIN users u ON u.id = s.user_id
