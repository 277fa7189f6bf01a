"""Channel adapters: one module per kind, registered explicitly here.

The registry is the one home of what the bridge knows about channel kinds: which exist, in
which order a complaint goes out to them (the OPD's WhatsApp group first: that is where people
answer), which are public, and each kind's default rate limit. Each fact is declared on its
adapter class; everything else (routing, settings, the engine's lanes) asks here. Where a fact
must be repeated outside ``bridge`` (the marshmallow enum in ``schemas``), a test checks that
the two agree.
"""

from __future__ import annotations

from bridge.channels.base import (
    ChannelAdapter,
    ChannelError,
    NotYetError,
    OutcomeUnknownError,
    OutgoingMessage,
    PermanentError,
    RetryableError,
    SendResult,
    ThrottledError,
)
from bridge.statuses import Lane

_REGISTRY: dict[str, type[ChannelAdapter]] = {}


def register(adapter: type[ChannelAdapter]) -> type[ChannelAdapter]:
    """Add an adapter class to the registry under its ``kind``."""
    if adapter.kind in _REGISTRY and _REGISTRY[adapter.kind] is not adapter:
        raise ValueError(f"channel kind {adapter.kind!r} registered twice")
    _REGISTRY[adapter.kind] = adapter
    return adapter


def adapter_class(kind: str) -> type[ChannelAdapter] | None:
    _load_builtin()
    return _REGISTRY.get(kind)


def kinds() -> tuple[str, ...]:
    """Every channel kind, in the order a complaint goes out to them (private ones first)."""
    _load_builtin()
    return tuple(sorted(_REGISTRY, key=lambda kind: _REGISTRY[kind].order))


def registered_kinds() -> list[str]:
    return list(kinds())


def public_kinds() -> tuple[str, ...]:
    return tuple(kind for kind in kinds() if _REGISTRY[kind].public)


def private_kinds() -> tuple[str, ...]:
    return tuple(kind for kind in kinds() if not _REGISTRY[kind].public)


def is_public(kind: str) -> bool:
    cls = adapter_class(kind)
    return cls is not None and cls.public


def lane_of(kind: str) -> Lane:
    """The queue a delivery of ``kind`` travels in."""
    return Lane.PUBLIC if is_public(kind) else Lane.PRIVATE


def kinds_of_lane(lane: Lane | str) -> tuple[str, ...]:
    return public_kinds() if Lane(lane) is Lane.PUBLIC else private_kinds()


def order_of(kind: str) -> int:
    """Sort key of a kind (unknown kinds last)."""
    cls = adapter_class(kind)
    return cls.order if cls is not None else 10_000


def default_rate_limits() -> dict[str, tuple[int, float]]:
    """``{kind: (count, seconds)}``: each adapter's default per-target send limit."""
    return {kind: _REGISTRY[kind].rate_limit for kind in kinds()}


_loaded = False


def _load_builtin() -> None:
    # Imported on first use, not at import time: adapters pull in provider clients.
    global _loaded
    if _loaded:
        return
    from bridge.channels import facebook_page, instagram, telegram, webhook, whatsapp_group, x

    for module in (whatsapp_group, telegram, webhook, facebook_page, instagram, x):
        register(module.Adapter)
    _loaded = True


__all__ = [
    "ChannelAdapter",
    "ChannelError",
    "Lane",
    "NotYetError",
    "OutcomeUnknownError",
    "OutgoingMessage",
    "PermanentError",
    "RetryableError",
    "SendResult",
    "ThrottledError",
    "adapter_class",
    "default_rate_limits",
    "is_public",
    "kinds",
    "kinds_of_lane",
    "lane_of",
    "order_of",
    "private_kinds",
    "public_kinds",
    "register",
    "registered_kinds",
]
