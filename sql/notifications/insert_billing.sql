-- Serves POST /api/subscriptions and DELETE /api/subscriptions/me: a `billing`
-- notification telling the user what changed, in the same transaction. No index read.
-- $1 user id, $2 title, $3 body
INSERT INTO notifications (user_id, kind, title, body)
VALUES ($1, 'billing', $2, $3)
