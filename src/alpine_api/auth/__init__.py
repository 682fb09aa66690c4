"""Authentication: password hashing, revocation, the current user, and the register,
login, logout and /me routes. Signing and checking access tokens is `alpine_api.tokens`."""
