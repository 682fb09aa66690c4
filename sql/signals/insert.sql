-- Serves POST /api/signals (admin): stores a new signal (first statement of the
-- create transaction; publish_notification follows). No index read.
-- $1 symbol, $2 direction, $3 entry, $4 target, $5 stop loss, $6 confidence, $7 tier,
-- $8 note, $9 admin's user id
INSERT INTO signals (symbol, direction, entry_price, target_price, stop_loss, confidence,
                     tier, note, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7::tier, $8, $9)
RETURNING id, symbol, direction, entry_price, target_price, stop_loss, confidence, tier,
          is_active, note, created_at
