-- Serves PATCH /api/signals/{id} (admin): changes only the fields given; note may be set
-- to NULL explicitly ($4 says whether note was given). Relies on the primary key.
-- $1 signal id, $2 is_active or NULL, $3 confidence or NULL, $4 note given?, $5 note
UPDATE signals
SET is_active  = coalesce($2, is_active),
    confidence = coalesce($3, confidence),
    note       = CASE WHEN $4 THEN $5 ELSE note END,
    updated_at = now()
WHERE id = $1
RETURNING id, symbol, direction, entry_price, target_price, stop_loss, confidence, tier,
          is_active, note, created_at
