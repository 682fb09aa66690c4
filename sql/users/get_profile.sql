-- Serves GET /api/users/profile: the user with their active subscription, if any.
-- Relies on the primary key of users and the unique partial index
-- subscriptions_one_active_per_user (user_id) WHERE status = 'active'.
-- $1 user id
SELECT u.id, u.email, u.full_name, u.tier::text AS tier, u.is_active, u.is_admin, u.created_at,
       s.id AS sub_id, s.tier::text AS sub_tier, s.status AS sub_status,
       s.price_cents AS sub_price_cents, s.currency AS sub_currency,
       s.started_at AS sub_started_at, s.current_period_end AS sub_current_period_end,
       s.canceled_at AS sub_canceled_at
FROM users u
LEFT JOIN subscriptions s ON s.user_id = u.id AND s.status = 'active'
WHERE u.id = $1
