"""Request and response bodies of /api/auth."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

# Text that reaches PostgreSQL: any characters but NUL, which a text column cannot hold.
NO_NUL_PATTERN = r"^[^\x00]*$"
Email = Annotated[
    str,
    msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"),
]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=128)]
FullName = Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL_PATTERN)]


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    full_name: FullName | None = None


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=254, pattern=NO_NUL_PATTERN)]
    password: Annotated[str, msgspec.Meta(max_length=128)]


class TokenResponse(msgspec.Struct):
    access_token: str
    expires_in: int
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
