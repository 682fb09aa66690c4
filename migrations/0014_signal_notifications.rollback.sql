-- Drops the derived-feed tables (0016's rollback has put their data back into per-user rows).
-- squawk-ignore-file ban-drop-table -- only 0014 and the code of this model use them.

-- Dropping the foreign keys locks users and signals: give up rather than queue writes.
SET LOCAL lock_timeout = '5s';
DROP TABLE signal_notification_reads;
DROP TABLE notification_read_state;
DROP TABLE signal_notifications;
