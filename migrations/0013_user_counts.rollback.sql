-- Drops the user counts rollup; analytics would then need the one-pass query over users.
DROP TRIGGER IF EXISTS user_counts_on_truncate ON users;
DROP TRIGGER IF EXISTS user_counts_on_update ON users;
DROP TRIGGER IF EXISTS user_counts_on_insert_or_delete ON users;
DROP FUNCTION IF EXISTS user_counts_clear();
DROP FUNCTION IF EXISTS user_counts_apply();
DROP TABLE IF EXISTS user_counts;
