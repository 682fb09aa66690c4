-- transactional: false
-- squawk-ignore-file require-lock-timeout -- CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, which reads and writes never wait behind;
-- a lock_timeout would cancel the build half-way, leaving an INVALID index.
-- Serves GET /api/signals/subscribed (sql/signals/list_subscribed.sql): active signals newest first; confidence and tier ride along so the filter needs no extra lookup.
-- Built CONCURRENTLY so writes continue during the build; non-transactional because
-- PostgreSQL refuses CONCURRENTLY inside a transaction block.
-- depends: 0001_schema

CREATE INDEX CONCURRENTLY idx_signal_active_confidence_created ON signals (created_at DESC, id DESC) INCLUDE (confidence, tier) WHERE is_active;
