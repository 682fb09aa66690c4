-- Drops the user counts rollup; analytics would then need the one-pass query over users.
-- squawk-ignore-file ban-drop-function, ban-drop-table -- only 0013 and its triggers use them.

-- Dropping the triggers locks users: give up rather than queue writes behind a long transaction.
SET LOCAL lock_timeout = '5s';
DROP TRIGGER IF EXISTS user_counts_on_truncate ON users;
DROP TRIGGER IF EXISTS user_counts_on_update ON users;
DROP TRIGGER IF EXISTS user_counts_on_insert_or_delete ON users;
DROP FUNCTION IF EXISTS user_counts_clear();
DROP FUNCTION IF EXISTS user_counts_apply();
DROP TABLE IF EXISTS user_counts;
