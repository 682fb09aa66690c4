-- Serves reloading a user's revocations into Redis after Redis lost them (restart,
-- eviction): every revoked token of the user that has not expired yet.
-- Relies on idx_revoked_user_expires (user_id, expires_at).
-- $1 user id
SELECT jti::text AS jti, (extract(epoch FROM expires_at) * 1000)::bigint AS expires_ms
FROM revoked_tokens
WHERE user_id = $1 AND expires_at > now()
