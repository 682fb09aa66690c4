-- transactional: false
-- Serves GET /api/notifications (all of a user's notifications, newest first).
-- Built CONCURRENTLY so writes continue during the build; non-transactional because
-- PostgreSQL refuses CONCURRENTLY inside a transaction block.
-- depends: 0007_idx_notif_user_read_created

CREATE INDEX CONCURRENTLY idx_notif_user_created ON notifications (user_id, created_at DESC, id DESC);
