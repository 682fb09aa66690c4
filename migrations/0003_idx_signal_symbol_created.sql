-- transactional: false
-- squawk-ignore-file require-lock-timeout -- CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, which reads and writes never wait behind;
-- a lock_timeout would cancel the build half-way, leaving an INVALID index.
-- Serves the symbol filter of /api/signals/subscribed and of the admin signal list.
-- Built CONCURRENTLY so writes continue during the build; non-transactional because
-- PostgreSQL refuses CONCURRENTLY inside a transaction block.
-- depends: 0002_idx_signal_active_confidence_created

CREATE INDEX CONCURRENTLY idx_signal_symbol_created ON signals (symbol, created_at DESC, id DESC);
