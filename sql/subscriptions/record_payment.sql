-- Serves POST /api/subscriptions: the payment of the plan's first period. No index read.
-- $1 user id, $2 subscription id, $3 amount in cents, $4 currency
INSERT INTO payments (user_id, subscription_id, amount_cents, currency)
VALUES ($1, $2, $3, $4)
