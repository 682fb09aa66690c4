-- Restores the trigger function of 0013 (old counter row first, then the new one).

-- As in the forward migration: never queue every write to users behind a long transaction.
SET LOCAL lock_timeout = '5s';

CREATE OR REPLACE FUNCTION user_counts_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE user_counts SET users = users - 1
        WHERE day = (OLD.created_at AT TIME ZONE 'UTC')::date
          AND tier = OLD.tier AND is_active = OLD.is_active;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO user_counts (day, tier, is_active, users)
        VALUES ((NEW.created_at AT TIME ZONE 'UTC')::date, NEW.tier, NEW.is_active, 1)
        ON CONFLICT (day, tier, is_active) DO UPDATE SET users = user_counts.users + 1;
    END IF;
    RETURN NULL;
END
$$;

-- squawk-ignore ban-drop-function -- only the trigger function above called it
DROP FUNCTION IF EXISTS user_counts_increment(date, tier, boolean);
-- squawk-ignore ban-drop-function -- only the trigger function above called it
DROP FUNCTION IF EXISTS user_counts_decrement(date, tier, boolean);
