"""What every part of the outbox shares within one app: settings, the rate limiter, adapters."""

from __future__ import annotations

from flask import current_app

from bridge import db as database
from bridge.channels import ChannelAdapter, adapter_class
from bridge.ratelimit import RateLimiter


def settings():
    return current_app.config["BRIDGE_SETTINGS"]


def limiter() -> RateLimiter:
    """The app's limiter (one per app, so per database)."""
    app = current_app
    found = app.extensions.get("bridge.ratelimiter")
    if found is None:
        found = RateLimiter(database.engine_of(app), settings().rate_limits)
        app.extensions["bridge.ratelimiter"] = found
    return found


def adapter(kind: str) -> ChannelAdapter | None:
    """The app's adapter for ``kind``, or None for a kind no adapter serves."""
    cache = current_app.extensions.setdefault("bridge.adapters", {})
    if kind not in cache:
        cls = adapter_class(kind)
        cache[kind] = cls(settings()) if cls is not None else None
    return cache[kind]
