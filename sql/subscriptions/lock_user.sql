-- Serves POST /api/subscriptions and DELETE /api/subscriptions/me: locks the user's row
-- for the transaction, so one user's subscription changes run one at a time.
-- Relies on the primary key.
-- $1 user id
SELECT tier FROM users WHERE id = $1 FOR UPDATE
