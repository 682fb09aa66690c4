-- Serves POST /api/auth/logout: records the token as revoked until it expires.
-- Idempotent (a second logout with the same token changes nothing). Primary key on jti.
-- $1 jti, $2 user id, $3 expiry
INSERT INTO revoked_tokens (jti, user_id, expires_at)
VALUES ($1, $2, $3)
ON CONFLICT (jti) DO NOTHING
