"""CORS, compression and request-size settings, as the contract states them."""

from __future__ import annotations

from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig

from alpine_api.config import Settings

# Bodies are streamed and counted; a larger one is refused with 413 as soon as it passes this.
MAX_BODY_BYTES = 1024 * 1024

CORS_METHODS = ["GET", "POST", "PATCH", "DELETE", "OPTIONS"]  # those the routes have
CORS_ALLOW_HEADERS = ["Content-Type", "Authorization", "X-Requested-With", "X-Request-ID"]
CORS_EXPOSE_HEADERS = [
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit",
    "RateLimit-Policy",
    "Retry-After",
    "X-Cache",
    "X-Request-ID",
    "X-Total-Count",
    "X-Page-Count",
]
CORS_MAX_AGE_SECONDS = 600


def cors_config(settings: Settings) -> CORSConfig:
    """Origins from ALPINE_CORS_ORIGINS only (config refuses `*`); credentials allowed."""
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_methods=CORS_METHODS,  # type: ignore[arg-type]
        allow_headers=CORS_ALLOW_HEADERS,
        expose_headers=CORS_EXPOSE_HEADERS,
        allow_credentials=True,
        max_age=CORS_MAX_AGE_SECONDS,
    )


# gzip level 1 for responses compressed on every request: on a 12 KB page of signals,
# 672 bytes in 73 us against 646 bytes in 100 us at level 6 (132 us at 9, Litestar's
# default); CPU is the scarcer resource here. Cached responses are compressed once, when
# computed, and sent as stored (caching/responses.py marks them so this leaves them be).
# Routes whose `opt` sets NO_COMPRESSION are sent as they are: an event stream must not
# wait in a compressor, and a gzip state per open stream would cost memory for nothing.
NO_COMPRESSION = "no_compression"
COMPRESSION = CompressionConfig(
    backend="gzip", minimum_size=1000, gzip_compress_level=1, exclude_opt_key=NO_COMPRESSION
)
