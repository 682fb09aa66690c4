-- Serves POST /api/auth/login: the account behind an email (stored lower-cased; the
-- caller lower-cases the input). Relies on the unique index on users.email.
-- $1 email
SELECT id, password_hash, is_active
FROM users
WHERE email = $1
