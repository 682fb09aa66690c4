-- transactional: false
-- squawk-ignore-file require-lock-timeout -- CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, which reads and writes never wait behind;
-- a lock_timeout would cancel the build half-way, leaving an INVALID index.
-- Serves PATCH /api/admin/users/{id} (sql/users/lock_active_admins.sql): the active admins,
-- found and locked without reading every user. Partial: only active admins are in it.
-- Built CONCURRENTLY so writes continue during the build; non-transactional because
-- PostgreSQL refuses CONCURRENTLY inside a transaction block.
-- depends: 0013_user_counts

CREATE INDEX CONCURRENTLY idx_user_active_admin ON users (id) WHERE is_admin AND is_active;
