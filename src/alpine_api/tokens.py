"""HS256 access tokens (PyJWT) with `sub`, `jti`, `iat`, `exp`.

`iat` has millisecond precision (a JWT NumericDate may have a fraction): a user's tokens
issued before their deactivation are refused (users.tokens_valid_after), and one issued
by a login right after a reactivation must be told apart from them.

Decoding pins the algorithm (no `none`, no RS/HS confusion), requires every claim and
allows a small clock skew. Tokens repeat across requests, so verified tokens are kept in
a bounded in-process cache keyed by the token string: a hit skips the HMAC and JSON
work but still checks expiry. Revocation and the user's state are checked per request
elsewhere; this cache only remembers that the signature was valid.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import OrderedDict

import jwt
import msgspec

ALGORITHM = "HS256"
LEEWAY_SECONDS = 30
VERIFIED_CACHE_SIZE = 4096
# `sub` is a user id: a bigint row id, written without sign, padding or leading zeros.
# Anything else (a correctly signed token with a 20-digit `sub`) is a refused token,
# never a value that reaches PostgreSQL or a Redis key.
_SUBJECT = re.compile(r"[1-9][0-9]{0,18}")
MAX_USER_ID = 2**63 - 1


class Claims(msgspec.Struct, frozen=True):
    user_id: int
    jti: str
    iat: float  # seconds, to the millisecond
    exp: int


class TokenService:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_seconds
        self._verified: OrderedDict[str, Claims] = OrderedDict()

    def issue(self, user_id: int) -> tuple[str, Claims]:
        now = round(time.time(), 3)
        claims = Claims(
            user_id=user_id, jti=str(uuid.uuid4()), iat=now, exp=int(now) + self.ttl_seconds
        )
        payload = {"sub": str(user_id), "jti": claims.jti, "iat": claims.iat, "exp": claims.exp}
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM), claims

    def verify(self, token: str) -> Claims | None:
        """The token's claims if it is well-formed, correctly signed and unexpired."""
        claims = self._verified.get(token)
        if claims is not None:
            if claims.exp + LEEWAY_SECONDS >= time.time():
                return claims
            del self._verified[token]
            return None
        claims = self._decode(token)
        if claims is not None:
            self._verified[token] = claims
            if len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        return claims

    def _decode(self, token: str) -> Claims | None:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                leeway=LEEWAY_SECONDS,
                options={"require": ["sub", "jti", "iat", "exp"], "verify_iat": True},
            )
            subject = payload["sub"]
            if not (isinstance(subject, str) and _SUBJECT.fullmatch(subject)):
                return None
            if int(subject) > MAX_USER_ID:
                return None
            return Claims(
                user_id=int(subject),
                jti=str(uuid.UUID(str(payload["jti"]))),
                iat=float(payload["iat"]),
                exp=int(payload["exp"]),
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            return None
