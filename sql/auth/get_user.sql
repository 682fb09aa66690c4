-- Serves authentication when Redis cannot vouch for the token (record or revocations not
-- in Redis, Redis down): the user's public fields; whether the presented token was revoked
-- (by a logout, or by a deactivation after it was issued); and whether a deactivation is
-- recent enough that tokens issued before it may still be unexpired (`cutoff_pending`:
-- Redis then cannot vouch for this user's tokens, see auth.current).
-- Relies on the primary keys of users and revoked_tokens.
-- $1 user id, $2 jti, $3 the token's iat (epoch seconds), $4 token lifetime with leeway (s)
SELECT u.id, u.email, u.full_name, u.tier::text AS tier, u.is_active, u.is_admin, u.created_at,
       EXISTS (SELECT FROM revoked_tokens r WHERE r.jti = $2 AND r.user_id = u.id)
           OR (to_timestamp($3::double precision) < u.tokens_valid_after) IS TRUE
           AS revoked,
       (u.tokens_valid_after > now() - make_interval(secs => $4)) IS TRUE
           AS cutoff_pending
FROM users u
WHERE u.id = $1
