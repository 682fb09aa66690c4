-- Serves GET /api/admin/users?tier=..&is_active=..: one keyset page, newest first.
-- Relies on idx_user_tier_active (tier, is_active, created_at DESC, id DESC).
-- $1 tier, $2 is_active, $3, $4 the cursor position (created_at, id), $5 rows to fetch
SELECT id, email, full_name, tier::text AS tier, is_active, is_admin, created_at
FROM users
WHERE tier = $1::tier AND is_active = $2 AND (created_at, id) < ($3, $4)
ORDER BY created_at DESC, id DESC
LIMIT $5
