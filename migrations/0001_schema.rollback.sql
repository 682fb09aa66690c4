-- Drops the whole schema of 0001_schema (all data is lost).
-- squawk-ignore-file ban-drop-table, ban-drop-type, require-lock-timeout -- removing the
-- schema is what this rollback is for; nothing can use it afterwards anyway.
DROP TABLE IF EXISTS revoked_tokens, payments, subscriptions, notifications, signals, users;
DROP TYPE IF EXISTS tier;
