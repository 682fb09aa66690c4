-- transactional: false
-- squawk-ignore-file require-lock-timeout -- CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, which reads and writes never wait behind;
-- a lock_timeout would cancel the build half-way, leaving an INVALID index.
-- Serves the admin signal list (GET /api/signals) without a symbol: newest first, keyset pages.
-- Built CONCURRENTLY so writes continue during the build; non-transactional because
-- PostgreSQL refuses CONCURRENTLY inside a transaction block.
-- depends: 0003_idx_signal_symbol_created

CREATE INDEX CONCURRENTLY idx_signal_created ON signals (created_at DESC, id DESC);
