-- Drops the cut-off: tokens issued before a deactivation are accepted again after a
-- reactivation (until they expire).

SET LOCAL lock_timeout = '5s';

-- squawk-ignore ban-drop-column -- the rollback removes what 0019 added; the release before it reads no such column
ALTER TABLE users DROP COLUMN IF EXISTS tokens_valid_after;
