-- transactional: false
-- squawk-ignore-file require-lock-timeout -- CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, which reads and writes never wait behind;
-- a lock_timeout would cancel the build half-way, leaving an INVALID index.
-- Serves the admin user list filtered by tier / is_active, and the notification fan-out of a new signal (active users at or above a tier).
-- Built CONCURRENTLY so writes continue during the build; non-transactional because
-- PostgreSQL refuses CONCURRENTLY inside a transaction block.
-- depends: 0004_idx_signal_created

CREATE INDEX CONCURRENTLY idx_user_tier_active ON users (tier, is_active, created_at DESC, id DESC);
