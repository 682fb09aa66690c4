-- Serves POST /api/auth/login when the stored hash used older argon2 parameters:
-- the password just verified is re-hashed with the current ones. Primary key lookup.
-- $1 user id, $2 new hash
UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1
