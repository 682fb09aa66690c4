-- Serves POST /api/auth/login: the account behind an email (stored normalised; the
-- caller normalises the input, auth.schemas.normalize_email). Relies on the unique index
-- on users.email.
-- $1 email
SELECT id, password_hash, is_active
FROM users
WHERE email = $1
