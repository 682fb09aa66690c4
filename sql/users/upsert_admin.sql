-- Serves `alpine-api create-admin` and `alpine-api dev`: creates the admin account, or
-- promotes and reactivates an existing account with that email and sets its password.
-- Relies on the unique index on users.email (emails are stored normalised: NFKC, lower-cased).
-- $1 email (normalised), $2 argon2id password hash
INSERT INTO users (email, password_hash, full_name, is_admin, is_active)
VALUES ($1, $2, 'Administrator', true, true)
ON CONFLICT (email) DO UPDATE
SET password_hash = EXCLUDED.password_hash,
    is_admin = true,
    is_active = true,
    updated_at = now()
RETURNING id, (xmax = 0) AS created
