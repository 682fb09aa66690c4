"""Trading signals: the subscriber feed and the admin's management of signals."""
