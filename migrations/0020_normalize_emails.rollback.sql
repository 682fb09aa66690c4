-- Nothing to undo: a normalised address is a valid stored address for the earlier code
-- too, which finds it when the user types it in its plain form.
SELECT 1;
