-- Serves PATCH /api/admin/users/{id}: activation and admin rights; a NULL argument
-- leaves that field as it is. A deactivation also refuses every token issued before it,
-- for good (tokens_valid_after). Primary key lookup.
-- $1 user id, $2 is_active or NULL, $3 is_admin or NULL
UPDATE users
SET is_active = coalesce($2, is_active),
    is_admin = coalesce($3, is_admin),
    tokens_valid_after = CASE WHEN $2 = false THEN now() ELSE tokens_valid_after END,
    updated_at = now()
WHERE id = $1
RETURNING id, email, full_name, tier::text AS tier, is_active, is_admin, created_at
