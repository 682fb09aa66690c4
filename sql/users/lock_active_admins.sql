-- Serves PATCH /api/admin/users/{id}: locks the rows of every active admin for the
-- transaction and returns their ids, so that the change can be refused (409) when it
-- would leave none. Two admin changes at once queue on these locks (taken in id order, so
-- they cannot deadlock); the second sees the first one's result, since under READ
-- COMMITTED a row that changed while it waited is checked again against the WHERE clause.
-- Relies on idx_user_active_admin (id) WHERE is_admin AND is_active.
-- No parameters.
SELECT id FROM users WHERE is_admin AND is_active ORDER BY id FOR UPDATE
