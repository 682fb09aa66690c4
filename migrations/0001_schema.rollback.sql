-- Drops the whole schema of 0001_schema (all data is lost).
DROP TABLE IF EXISTS revoked_tokens, payments, subscriptions, notifications, signals, users;
DROP TYPE IF EXISTS tier;
