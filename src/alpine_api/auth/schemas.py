"""Request and response bodies of /api/auth; `CurrentUser` is also the user record cached
in Redis and the user of a request (auth.current)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

# Text that reaches PostgreSQL: any characters but NUL, which a text column cannot hold.
NO_NUL_PATTERN = r"^[^\x00]*$"
EMAIL_PATTERN = r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=EMAIL_PATTERN)]
_email = re.compile(EMAIL_PATTERN)
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=128)]
FullName = Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL_PATTERN)]


def normalize_email(email: str) -> str:
    """The one spelling an email is stored and looked up under: Unicode NFKC (full-width
    and other compatibility forms become their plain letters), then lower case. ASCII
    addresses, all that was stored before, are unchanged by the NFKC step."""
    return unicodedata.normalize("NFKC", email.strip()).lower()


class RegisterRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    full_name: FullName | None = None

    def __post_init__(self) -> None:
        self.email = normalize_email(self.email)
        # Normalising can make a valid-looking address invalid (U+FE6B becomes "@").
        if not (3 <= len(self.email) <= 254 and _email.match(self.email)):
            raise ValueError("Expected an email address")


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=254, pattern=NO_NUL_PATTERN)]
    password: Annotated[str, msgspec.Meta(max_length=128)]

    def __post_init__(self) -> None:
        self.email = normalize_email(self.email)


class TokenResponse(msgspec.Struct):
    access_token: str
    expires_in: int
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret


class CurrentUser(msgspec.Struct, frozen=True):
    """The public record of a user: also the body of GET /api/auth/me."""

    id: int
    email: str
    full_name: str | None
    tier: str
    is_active: bool
    is_admin: bool
    created_at: datetime


_decoder = msgspec.json.Decoder(CurrentUser)


def decode_record(record: bytes) -> CurrentUser:
    """A user's record as cached in Redis (the JSON body of GET /api/auth/me)."""
    return _decoder.decode(record)


def record_from_row(row: Any) -> CurrentUser:
    return CurrentUser(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        tier=row["tier"],
        is_active=row["is_active"],
        is_admin=row["is_admin"],
        created_at=row["created_at"],
    )
