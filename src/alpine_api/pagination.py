"""Keyset pagination shared by every list endpoint.

Lists are ordered newest first: `created_at DESC, id DESC`. A page is asked for with
`limit` (1..100, default 50) and an opaque `cursor`; the answer is `{items, next_cursor}`.
The cursor is the (created_at, id) of the last item of the previous page, msgpack-encoded
and base64url'd: the next page is every row strictly after it in that order, which a
query expresses as `(created_at, id) < ($n, $m)` and an index on
`(created_at DESC, id DESC)` answers without a sort and without OFFSET.

The first page uses a position after every row (infinity, max id), so each list query
has one shape and one plan whatever the page. Queries fetch `limit + 1` rows: the extra
row only tells whether a next page exists.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar.di import Provide
from litestar.exceptions import ValidationException
from litestar.params import PathParameter, QueryParameter

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 64
CURSOR_PATTERN = "^[A-Za-z0-9_-]+$"  # base64url without padding, as encode_cursor writes
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_ID = 2**63 - 1
# Sorts after every real timestamp in PostgreSQL ('infinity' is bound as datetime.max).
_AFTER_EVERYTHING = datetime.max.replace(tzinfo=UTC)


# A path parameter naming a row: positive and within bigint, else 400 (never a 500). The
# bound is 2**62, not 2**63 - 1, so that the document's `maximum` (a JSON number, read
# as a double by most clients) is exact and means what the server checks.
MAX_ROW_ID = 2**62
RowId = Annotated[int, PathParameter(ge=1, le=MAX_ROW_ID)]


class Position(msgspec.Struct, frozen=True, array_like=True):
    """Where a page starts: rows strictly older than (created_at, id)."""

    created_at: datetime
    id: int


FIRST_PAGE = Position(_AFTER_EVERYTHING, _MAX_ID)


class PageRequest(msgspec.Struct, frozen=True):
    limit: int
    after: Position

    @property
    def fetch(self) -> int:
        """Rows to fetch: one more than the page, to learn whether another page follows."""
        return self.limit + 1


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None


class _Encoded(msgspec.Struct, array_like=True):
    micros: int
    id: int


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Encoded)


def encode_cursor(created_at: datetime, row_id: int) -> str:
    micros = (created_at - _EPOCH) // timedelta(microseconds=1)
    raw = _encoder.encode(_Encoded(micros, row_id))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def bad_cursor() -> ValidationException:
    return ValidationException(
        detail="cursor: not a valid page cursor (use next_cursor of the previous page)",
        extra=[{"key": "cursor", "source": "query", "message": "invalid cursor"}],
    )


def decode_cursor(cursor: str | None) -> Position:
    """The position a cursor names; 400 naming `cursor` for anything else."""
    if cursor is None:
        return FIRST_PAGE
    try:
        if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = _decoder.decode(raw)
        if not 0 < decoded.id <= _MAX_ID:
            raise ValueError(cursor)
        created_at = _EPOCH + timedelta(microseconds=decoded.micros)
    except (ValueError, binascii.Error, msgspec.DecodeError, OverflowError):
        raise bad_cursor() from None
    return Position(created_at, decoded.id)


def page_request(
    limit: Annotated[
        int,
        QueryParameter(ge=1, le=MAX_LIMIT, description=f"page size, 1..{MAX_LIMIT}"),
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        QueryParameter(
            description="next_cursor of the previous page; omit for the first page",
            min_length=1,  # `cursor=` is no cursor (400): omit it instead
            max_length=MAX_CURSOR_LENGTH,
            pattern=CURSOR_PATTERN,
        ),
    ] = None,
) -> PageRequest:
    """Dependency: `limit` (out of range: 400 naming it) and `cursor` of a list request."""
    return PageRequest(limit=limit, after=decode_cursor(cursor))


# Register on a handler or controller: `dependencies={"page": provide_page}`.
provide_page = Provide(page_request, sync_to_thread=False)


def make_page(rows: Sequence[Any], page: PageRequest, to_item: Callable[[Any], T]) -> Page[T]:
    """Build a Page from up to `page.fetch` rows (each with `created_at` and `id`)."""
    items = rows[: page.limit]
    next_cursor = None
    if len(rows) > page.limit:
        last = items[-1]
        next_cursor = encode_cursor(last["created_at"], last["id"])
    return Page(items=[to_item(row) for row in items], next_cursor=next_cursor)
