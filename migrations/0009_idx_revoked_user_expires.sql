-- transactional: false
-- squawk-ignore-file require-lock-timeout -- CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, which reads and writes never wait behind;
-- a lock_timeout would cancel the build half-way, leaving an INVALID index.
-- Serves reloading a user's unexpired revocations into Redis after a Redis restart.
-- Built CONCURRENTLY so writes continue during the build; non-transactional because
-- PostgreSQL refuses CONCURRENTLY inside a transaction block.
-- depends: 0008_idx_notif_user_created

CREATE INDEX CONCURRENTLY idx_revoked_user_expires ON revoked_tokens (user_id, expires_at);
