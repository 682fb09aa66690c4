-- Serves POST /api/auth/register: a new starter account. A taken email violates the
-- unique index on users.email, which the API answers with 409.
-- $1 email (normalised: NFKC, lower-cased), $2 argon2id hash, $3 full name or NULL
INSERT INTO users (email, password_hash, full_name)
VALUES ($1, $2, $3)
RETURNING id, email, full_name, tier::text AS tier, is_active, is_admin, created_at
