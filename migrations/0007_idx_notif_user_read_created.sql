-- transactional: false
-- squawk-ignore-file require-lock-timeout -- CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, which reads and writes never wait behind;
-- a lock_timeout would cancel the build half-way, leaving an INVALID index.
-- Serves GET /api/notifications?unread=true and POST /api/notifications/read-all: a user's unread notifications only, so the index stays small.
-- Built CONCURRENTLY so writes continue during the build; non-transactional because
-- PostgreSQL refuses CONCURRENTLY inside a transaction block.
-- depends: 0006_idx_user_created

CREATE INDEX CONCURRENTLY idx_notif_user_read_created ON notifications (user_id, created_at DESC, id DESC) WHERE NOT is_read;
