-- Serves GET /api/subscriptions/me and the subscribe / cancel transactions: the user's
-- active subscription, if any. Relies on subscriptions_one_active_per_user (unique,
-- partial WHERE status = 'active').
-- $1 user id
SELECT id, tier, status, price_cents, currency, started_at, current_period_end, canceled_at
FROM subscriptions
WHERE user_id = $1
  AND status = 'active'
