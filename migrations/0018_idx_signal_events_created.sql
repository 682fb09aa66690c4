-- transactional: false
-- squawk-ignore-file require-lock-timeout -- CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, which reads and writes never wait behind;
-- a lock_timeout would cancel the build half-way, leaving an INVALID index.
-- Serves the stream's resume bounds (the oldest event of the last 24 hours) and the purge
-- of older events.
-- Built CONCURRENTLY so writes continue during the build; non-transactional because
-- PostgreSQL refuses CONCURRENTLY inside a transaction block.
-- depends: 0017_signal_events

CREATE INDEX CONCURRENTLY idx_signal_events_created ON signal_events (created_at);
