-- transactional: false
-- Serves deleting a user (foreign key cascade) and a user's payment history.
-- Built CONCURRENTLY so writes continue during the build; non-transactional because
-- PostgreSQL refuses CONCURRENTLY inside a transaction block.
-- depends: 0010_idx_revoked_expires

CREATE INDEX CONCURRENTLY idx_payment_user ON payments (user_id);
