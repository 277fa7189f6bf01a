"""Channel adapters: one module per kind, registered explicitly here."""

from __future__ import annotations

from bridge.channels.base import (
    ChannelAdapter,
    ChannelError,
    OutcomeUnknownError,
    OutgoingMessage,
    PermanentError,
    RetryableError,
    SendResult,
    ThrottledError,
)

PRIVATE_KINDS = ("whatsapp_group", "telegram", "webhook")
PUBLIC_KINDS = ("facebook_page", "instagram", "x")

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


def registered_kinds() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def is_public(kind: str) -> bool:
    return kind in PUBLIC_KINDS


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
    "PRIVATE_KINDS",
    "PUBLIC_KINDS",
    "ChannelAdapter",
    "ChannelError",
    "OutcomeUnknownError",
    "OutgoingMessage",
    "PermanentError",
    "RetryableError",
    "SendResult",
    "ThrottledError",
    "adapter_class",
    "is_public",
    "register",
    "registered_kinds",
]
