"""A user's own notifications: signals, billing and system messages."""
