"""Authentication: password hashing, access tokens, revocation, the current user."""
