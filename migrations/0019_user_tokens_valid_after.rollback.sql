-- Drops the cut-off: tokens issued before a deactivation are accepted again after a
-- reactivation (until they expire).
ALTER TABLE users DROP COLUMN IF EXISTS tokens_valid_after;
