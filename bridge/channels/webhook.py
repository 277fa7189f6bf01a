"""Webhook channel: POSTs the complaint's JSON to an OPD's own endpoint, signed.

Signatures follow the Standard Webhooks spec (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``), made with the ``standardwebhooks`` library from the channel's secret
(``secret_env``, ``whsec_`` + base64). ``webhook-id`` is derived from the delivery, so every
retry of one delivery carries the same id and the receiver can drop repeats.

The target comes from the directory file, so it is checked before each send: only http(s), no
redirects followed, and no host that resolves to a private, loopback, link-local, multicast,
reserved or unspecified address unless ``BRIDGE_ALLOW_PRIVATE_WEBHOOKS=1``. The check resolves
the name itself; requests resolves it again to connect, so a DNS answer that changes in between
is not caught (pinning the address would break TLS name checks, and directory entries are
written by operators, not the public).

The channel check POSTs a signed ``bridge.ping`` event (``{"type": "bridge.ping", "timestamp",
"data": {"opd", "target"}}``, a fresh ``webhook-id`` each time) through the same target checks.
A 2xx means it works; 401/403 that the receiver rejects our signature (the secrets differ);
404/405/410, redirects, 5xx and no answer that deliveries would fail; another 4xx (a receiver
that takes only complaint events) and 429 that it answers, with a warning.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import json
import logging
import secrets
import socket
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, ClassVar

from standardwebhooks.webhooks import Webhook

from bridge.channels.base import (
    ChannelAdapter,
    CheckContext,
    Finding,
    Findings,
    OutgoingMessage,
    PermanentError,
    ProbeFailed,
    RetryableError,
    SendResult,
    ThrottledError,
    json_body,
    retry_after_seconds,
)

log = logging.getLogger(__name__)

NO_SECRET = "webhook secret not configured"  # noqa: S105 (a reason, not a secret)
BAD_SECRET = "webhook: secret is not whsec_ base64"  # noqa: S105
SECRET_PREFIX = "whsec_"  # noqa: S105
#: The event type of a channel check's request.
PING_TYPE = "bridge.ping"

Resolver = Callable[..., list[tuple[Any, ...]]]


class Adapter(ChannelAdapter):
    """POSTs ``message.payload`` as JSON to ``message.target``."""

    kind: ClassVar[str] = "webhook"
    order: ClassVar[int] = 30
    rate_limit: ClassVar[tuple[int, float]] = (10, 1.0)
    public: ClassVar[bool] = False
    # Only the sandbox shows the text; receivers get the structured payload.
    max_length: ClassVar[int] = 65536

    def missing_configuration(self, message: OutgoingMessage | None = None) -> str | None:
        # No provider to configure; each channel needs its own secret.
        if message is not None and not message.secret:
            return NO_SECRET
        return None

    def send(self, message: OutgoingMessage) -> SendResult:
        key = signing_key(message.secret)
        url = check_target(message.target, allow_private=self.settings.allow_private_webhooks)
        body = json.dumps(message.payload, ensure_ascii=False, separators=(",", ":"), default=str)
        headers = signature_headers(key, webhook_id(message.delivery_id), int(time.time()), body)
        headers["Content-Type"] = "application/json"
        headers["Accept"] = "application/json"
        headers["User-Agent"] = "wadule-bridge"
        response = self.post(url, data=body.encode("utf-8"), headers=headers)
        status = response.status_code
        if 200 <= status < 300:
            external_id = _response_id(json_body(response))
            log.info("webhook accepted delivery %s (status %s)", message.delivery_id, status)
            return SendResult(external_id=external_id)
        if 300 <= status < 400:
            raise PermanentError(f"webhook: redirect {status} not followed; fix the target URL")
        if status == 410:
            raise PermanentError("webhook: receiver answered 410 gone")
        if status == 429:
            raise ThrottledError(
                "webhook: too many requests",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status == 408 or status >= 500:
            raise RetryableError(
                f"webhook: receiver answered {status}",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if 400 <= status < 500:
            raise PermanentError(f"webhook: receiver refused with {status}")
        raise RetryableError(f"webhook: unexpected status {status}")

    # Channel check (contract section 9)

    def check(self, context: CheckContext) -> Finding:
        """POST a signed ``bridge.ping`` to the target, through the same checks as a send."""
        found = Findings()
        try:
            key = signing_key(context.secret)
            url = check_target(context.target, allow_private=self.settings.allow_private_webhooks)
        except RetryableError:
            return found.unusable("the target's host name does not resolve")
        except PermanentError as refused:
            where = f" ({context.secret_env})" if context.secret_env else ""
            reason = refused.reason.removeprefix("webhook: ")
            return found.unusable(reason + (where if "secret" in reason else ""))
        now = int(time.time())
        body = json.dumps(
            {
                "type": PING_TYPE,
                "timestamp": dt.datetime.fromtimestamp(now, dt.UTC)
                .isoformat()
                .replace("+00:00", "Z"),
                "data": {"opd": context.opd_slug, "target": context.target},
            },
            separators=(",", ":"),
        )
        msg_id = f"ping_{secrets.token_hex(8)}"
        headers = signature_headers(key, msg_id, now, body)
        headers |= {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "wadule-bridge",
        }
        try:
            response = self.probe("POST", url, data=body.encode("utf-8"), headers=headers)
        except ProbeFailed as failed:
            return found.unusable(f"the endpoint does not answer ({failed.reason})")
        status = response.status_code
        found.details["status"] = status
        if 200 <= status < 300:
            return found.result(f"the endpoint accepted a signed ping ({status})")
        if 300 <= status < 400:
            return found.unusable(
                f"the endpoint redirects ({status}); put the final URL in the directory"
            )
        if status in (401, 403):
            return found.unusable(
                f"the endpoint rejects our signature ({status}): the secret in"
                f" {context.secret_env or 'secret_env'} differs from the receiver's"
            )
        if status in (404, 405, 410):
            return found.unusable(f"the endpoint refuses POSTs here ({status}): check the URL")
        if status == 408 or status >= 500:
            return found.unusable(f"the endpoint answers with an error ({status})")
        if status == 429:
            found.warn("the endpoint answers, but asks us to slow down (429)")
        else:
            found.warn(
                f"the endpoint answered {status} to a ping; it may take complaint events only"
            )
        return found.result("")


def webhook_id(delivery_id: int) -> str:
    """The ``webhook-id`` of a delivery: the same on every retry of it."""
    return f"dlv_{delivery_id}"


def signing_key(secret: str | None) -> bytes:
    """Decode a ``whsec_``-prefixed (or bare) base64 secret; PermanentError when unusable."""
    if not secret or not secret.strip():
        raise PermanentError(NO_SECRET)
    raw = secret.strip()
    if raw.startswith(SECRET_PREFIX):
        raw = raw[len(SECRET_PREFIX) :]
    try:
        # Strict: the library's own decoding silently skips characters that are not base64.
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise PermanentError(BAD_SECRET) from None
    if not key:
        raise PermanentError(BAD_SECRET)
    return key


def signature_headers(key: bytes, msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` sent at ``timestamp`` (Unix seconds)."""
    when = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": Webhook(key).sign(msg_id, when, body),
    }


def check_target(url: str, *, allow_private: bool, resolve: Resolver = socket.getaddrinfo) -> str:
    """Return ``url`` if it may be posted to; else PermanentError (RetryableError if DNS fails)."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise PermanentError("webhook: target is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise PermanentError("webhook: target must be an http or https URL")
    host = parts.hostname
    if not host:
        raise PermanentError("webhook: target URL has no host")
    if allow_private:
        return url.strip()
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        # Often temporary (resolver down); a name that never resolves runs out of retries.
        raise RetryableError("webhook: target host does not resolve") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    if not addresses:
        raise RetryableError("webhook: target host does not resolve")
    for address in addresses:
        if not is_public_address(address):
            raise PermanentError(f"webhook: target resolves to non-public address {address}")
    return url.strip()


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _response_id(body: Any) -> str | None:
    if isinstance(body, dict):
        value = body.get("id")
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)[:200]
    return None


__all__ = [
    "PING_TYPE",
    "Adapter",
    "check_target",
    "is_public_address",
    "signature_headers",
    "signing_key",
    "webhook_id",
]
