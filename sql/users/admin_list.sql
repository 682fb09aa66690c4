-- Serves GET /api/admin/users without filters: all users, newest first, one keyset page.
-- Relies on idx_user_created (created_at DESC, id DESC): an ordered index scan that stops
-- after $3 rows, whatever the page.
-- $1, $2 the cursor position (created_at, id); $3 rows to fetch
SELECT id, email, full_name, tier::text AS tier, is_active, is_admin, created_at
FROM users
WHERE (created_at, id) < ($1, $2)
ORDER BY created_at DESC, id DESC
LIMIT $3
