-- Serves PATCH /api/users/profile: the fields a user may change about themselves.
-- Primary key lookup.
-- $1 user id, $2 full name (NULL clears it)
UPDATE users SET full_name = $2, updated_at = now()
WHERE id = $1
RETURNING id
