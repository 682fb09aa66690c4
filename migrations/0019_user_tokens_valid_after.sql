-- A user's tokens issued before this time are refused. Deactivating a user sets it, so
-- reactivating them later does not bring back the tokens issued before: they log in
-- again. Read by sql/auth/get_user.sql, set by sql/users/admin_update.sql.
-- Nullable without a default: adding it rewrites no row and holds its lock briefly.
-- depends: 0013_user_counts

-- The brief ACCESS EXCLUSIVE lock: give up rather than queue behind a long transaction
-- with every read and write of users queued behind us.
SET LOCAL lock_timeout = '5s';

ALTER TABLE users ADD COLUMN tokens_valid_after timestamptz;
