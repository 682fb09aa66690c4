-- Serves POST /api/subscriptions (replacing a plan) and DELETE /api/subscriptions/me:
-- cancels the user's active subscription. Relies on subscriptions_one_active_per_user.
-- $1 user id
UPDATE subscriptions
SET status = 'canceled', canceled_at = now()
WHERE user_id = $1
  AND status = 'active'
RETURNING id, tier
