-- Drops the derived-feed tables (0016's rollback has put their data back into per-user rows).

DROP TABLE signal_notification_reads;
DROP TABLE notification_read_state;
DROP TABLE signal_notifications;
