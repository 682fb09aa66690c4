-- Serves GET /api/signals/{id}: one active signal, only if the user's tier may see it
-- (anything else is "not found"). Relies on the primary key.
-- $1 signal id, $2 user's tier
SELECT id, symbol, direction, entry_price, target_price, stop_loss, confidence, tier,
       is_active, note, created_at
FROM signals
WHERE id = $1
  AND is_active
  AND tier <= $2::tier
