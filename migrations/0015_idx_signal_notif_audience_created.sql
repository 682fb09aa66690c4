-- transactional: false
-- squawk-ignore-file require-lock-timeout -- CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, which reads and writes never wait behind;
-- a lock_timeout would cancel the build half-way, leaving an INVALID index.
-- Serves GET /api/notifications, its unread filter and unread-count: one tier channel's signal items, newest first, from a user's sign-up (or read-all watermark) on.
-- Built CONCURRENTLY so writes continue during the build; non-transactional because
-- PostgreSQL refuses CONCURRENTLY inside a transaction block.
-- depends: 0014_signal_notifications

CREATE INDEX CONCURRENTLY idx_signal_notif_audience_created ON signal_notifications (audience, created_at DESC, id DESC);
