-- Serves GET /api/admin/users?is_active=..: one keyset page, newest first.
-- Relies on idx_user_tier_active (tier, is_active, created_at DESC, id DESC): one ordered
-- scan per tier, merged, so inactive users are found without walking all active ones.
-- $1 is_active, $2, $3 the cursor position (created_at, id), $4 rows to fetch
SELECT id, email, full_name, tier, is_active, is_admin, created_at
FROM (
    (SELECT id, email, full_name, tier::text AS tier, is_active, is_admin, created_at
     FROM users
     WHERE tier = 'starter' AND is_active = $1 AND (created_at, id) < ($2, $3)
     ORDER BY created_at DESC, id DESC
     LIMIT $4)
    UNION ALL
    (SELECT id, email, full_name, tier::text AS tier, is_active, is_admin, created_at
     FROM users
     WHERE tier = 'pro' AND is_active = $1 AND (created_at, id) < ($2, $3)
     ORDER BY created_at DESC, id DESC
     LIMIT $4)
    UNION ALL
    (SELECT id, email, full_name, tier::text AS tier, is_active, is_admin, created_at
     FROM users
     WHERE tier = 'elite' AND is_active = $1 AND (created_at, id) < ($2, $3)
     ORDER BY created_at DESC, id DESC
     LIMIT $4)
) AS page
ORDER BY created_at DESC, id DESC
LIMIT $4
