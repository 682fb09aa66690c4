-- transactional: false
-- squawk-ignore-file require-lock-timeout -- CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, which reads and writes never wait behind;
-- a lock_timeout would cancel the build half-way, leaving an INVALID index.
-- Drops idx_signal_events_created without blocking writes.

DROP INDEX CONCURRENTLY IF EXISTS idx_signal_events_created;
