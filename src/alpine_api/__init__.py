"""alpine-api: the Alpine Analytics trading-signals API."""
