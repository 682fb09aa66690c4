"""Operator endpoints: health probes and Prometheus metrics (never rate-limited or cached)."""

from alpine_api.operations.routes import route_handlers

__all__ = ["route_handlers"]
