-- Serves GET /api/admin/users?tier=..: one keyset page of a tier, newest first.
-- Relies on idx_user_tier_active (tier, is_active, created_at DESC, id DESC): one ordered
-- scan per is_active value, merged (Merge Append), so no sort of the tier's rows.
-- $1 tier, $2, $3 the cursor position (created_at, id), $4 rows to fetch
SELECT id, email, full_name, tier, is_active, is_admin, created_at
FROM (
    (SELECT id, email, full_name, tier::text AS tier, is_active, is_admin, created_at
     FROM users
     WHERE tier = $1::tier AND is_active AND (created_at, id) < ($2, $3)
     ORDER BY created_at DESC, id DESC
     LIMIT $4)
    UNION ALL
    (SELECT id, email, full_name, tier::text AS tier, is_active, is_admin, created_at
     FROM users
     WHERE tier = $1::tier AND NOT is_active AND (created_at, id) < ($2, $3)
     ORDER BY created_at DESC, id DESC
     LIMIT $4)
) AS page
ORDER BY created_at DESC, id DESC
LIMIT $4
