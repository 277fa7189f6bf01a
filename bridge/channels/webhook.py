"""Webhook channel: POSTs the complaint's JSON to an OPD's own endpoint, signed.

Signatures follow the Standard Webhooks spec (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``), made with the ``standardwebhooks`` library from the channel's secret
(``secret_env``, ``whsec_`` + base64). ``webhook-id`` is derived from the delivery, so every
retry of one delivery carries the same id and the receiver can drop repeats.

The target comes from the directory file, so it is checked before each send (and at import,
:func:`check_webhook_targets`), against server-side request forgery:

- it is parsed by urllib3, the parser requests connects with, and refused if it holds a
  backslash, white space or a control character, or ``user:password@`` (each a way to make two
  parsers see two different hosts);
- only http(s); redirects are never followed;
- the host is resolved once; unless ``BRIDGE_ALLOW_PRIVATE_WEBHOOKS=1`` every address must be
  public (not private, loopback, link-local, multicast, reserved or unspecified);
- the request connects to an address from that same answer, with the URL's name kept for the
  ``Host`` header, TLS SNI and the certificate check, so a DNS answer that changes after the
  check (rebinding) cannot send it anywhere else. Proxies from the environment are not used:
  a proxy would resolve the name again.

The channel check POSTs a signed ``bridge.ping`` event (``{"type": "bridge.ping", "timestamp",
"data": {"opd", "target"}}``, a fresh ``webhook-id`` each time) through the same target checks.
A 2xx means it works; 401/403 that the receiver rejects our signature (the secrets differ);
404/405/410, redirects, 5xx and no answer that deliveries would fail; another 4xx (a receiver
that takes only complaint events) and 429 that it answers, with a warning.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import ipaddress
import json
import logging
import os
import secrets
import socket
import time
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import requests
from requests.adapters import HTTPAdapter
from standardwebhooks.webhooks import Webhook
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from bridge.channels.base import (
    ChannelAdapter,
    CheckContext,
    Finding,
    Findings,
    OutcomeUnknownError,
    OutgoingMessage,
    PermanentError,
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
#: Addresses of one name tried in turn when connecting fails before anything was sent.
MAX_ADDRESSES = 3

Resolver = Callable[..., list[tuple[Any, ...]]]


@dataclasses.dataclass(frozen=True)
class Target:
    """A checked webhook target: the URL as it will be sent and the addresses it may reach."""

    url: str
    scheme: str
    #: The name (IDNA-encoded) or IP literal, without brackets.
    host: str
    port: int
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        """``Host`` as the URL gives it: the port only when it is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


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
        target = check_target(
            message.target,
            allow_private=self.settings.allow_private_webhooks,
            resolve=self.resolve,
        )
        body = json.dumps(message.payload, ensure_ascii=False, separators=(",", ":"), default=str)
        headers = signature_headers(key, webhook_id(message.delivery_id), int(time.time()), body)
        headers["Content-Type"] = "application/json"
        headers["Accept"] = "application/json"
        headers["User-Agent"] = "wadule-bridge"
        response = self._post_pinned(target, data=body.encode("utf-8"), headers=headers)
        return _outcome(response, message.delivery_id)

    def resolve(self, host: str, port: int, **kwargs) -> list[tuple[Any, ...]]:
        """The resolver targets are checked with (``socket.getaddrinfo``; tests replace it)."""
        return socket.getaddrinfo(host, port, **kwargs)

    def _post_pinned(self, target: Target, *, timeout=None, **kwargs) -> requests.Response:
        """POST to one of the checked addresses, never to what a new DNS answer says."""
        addresses = target.addresses[:MAX_ADDRESSES]
        for number, address in enumerate(addresses, start=1):
            with requests.Session() as http:
                http.trust_env = False  # no proxies from the environment: they resolve again
                http.verify = _ca_bundle()
                pinned = _PinnedAdapter(target, address)
                http.mount("http://", pinned)
                http.mount("https://", pinned)
                try:
                    return http.post(
                        target.url,
                        timeout=timeout or self.timeout,
                        allow_redirects=False,
                        **kwargs,
                    )
                except requests.RequestException as exc:
                    error = self._transport_error(exc)
            # A RetryableError from the transport means nothing was sent: the next address may
            # answer. Anything else (sent, or unsendable) ends here.
            if not isinstance(error, RetryableError) or number == len(addresses):
                # Raised outside the ``except`` block: the requests exception names the URL.
                raise error
        raise AssertionError("a checked target has at least one address")

    # Channel check (contract section 9)

    def check(self, context: CheckContext) -> Finding:
        """POST a signed ``bridge.ping`` to the target, through the same checks as a send."""
        found = Findings()
        try:
            key = signing_key(context.secret)
            target = check_target(
                context.target, allow_private=self.settings.allow_private_webhooks
            )
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
            # Pinned like a send: the ping reaches only the address that was checked.
            response = self._post_pinned(
                target, data=body.encode("utf-8"), headers=headers, timeout=self.check_timeout
            )
        except (RetryableError, OutcomeUnknownError) as failed:
            why = failed.reason.removeprefix("webhook: ")
            return found.unusable(f"the endpoint does not answer ({why})")
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


def _outcome(response: requests.Response, delivery_id: int) -> SendResult:
    """Classify the receiver's answer as the Standard Webhooks spec suggests
    (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md, "Delivery
    success and failure"): "2xx: Success. 3xx: Failure. [...] 410 Gone: [...] Sender should
    disable the webhook endpoint, and stop sending it messages. 429 Too Many Requests: [...]
    throttle additional requests. 502 Bad Gateway and 504 Gateway Timeout: [...] throttle the
    requests. The rest of the status codes should be treated as a failure." A failure is
    retried on the schedule ("retry sending the webhook until a successful attempt or until
    it's determined that delivery may not be possible"), honouring ``Retry-After``; only 410
    is final. The receiver's body is never quoted: it may echo the complaint.
    """
    status = response.status_code
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if 200 <= status < 300:
        log.info("webhook accepted delivery %s (status %s)", delivery_id, status)
        return SendResult(external_id=_response_id(json_body(response)))
    if status == 410:
        raise PermanentError("webhook: receiver answered 410 gone")
    if status in (429, 502, 504):
        raise ThrottledError(f"webhook: receiver answered {status}", retry_after=retry_after)
    if 300 <= status < 400:
        raise RetryableError(
            f"webhook: redirect {status} not followed; fix the target URL", retry_after=retry_after
        )
    raise RetryableError(f"webhook: receiver answered {status}", retry_after=retry_after)


class _PinnedAdapter(HTTPAdapter):
    """A transport that connects to one given address whatever the URL's host resolves to.

    requests asks its adapter for the pool key of each request (``host``, ``port`` and the TLS
    settings, documented as the place to override them): the host becomes the checked address,
    while ``server_hostname`` (SNI) and ``assert_hostname`` (the certificate's name) stay the
    URL's host, and so does the ``Host`` header.
    """

    def __init__(self, target: Target, address: str):
        self.target = target
        self.address = address
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host_params["host"] = self.address
        host_params["port"] = self.target.port
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = self.target.host
            pool_kwargs["assert_hostname"] = self.target.host
        return host_params, pool_kwargs

    def send(self, request, *args, **kwargs):
        request.headers["Host"] = self.target.host_header
        return super().send(request, *args, **kwargs)


def _ca_bundle() -> str | bool:
    # The variables requests itself honours when it trusts the environment (which the pinned
    # session does not, for the proxies' sake).
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


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


def parse_target(url: str) -> tuple[str, str, str, int]:
    """``(url, scheme, host, port)`` as requests will connect; PermanentError when unusable."""
    if not isinstance(url, str) or not url.strip():
        raise PermanentError("webhook: target is empty")
    url = url.strip()
    if any(_ambiguous(char) for char in url):
        raise PermanentError(
            "webhook: target URL holds a backslash, white space or a control character"
        )
    try:
        parts = parse_url(url)
        port = parts.port
    except (LocationParseError, ValueError):
        raise PermanentError("webhook: target is not a valid URL") from None
    scheme = (parts.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise PermanentError("webhook: target must be an http or https URL")
    if not parts.host:
        raise PermanentError("webhook: target URL has no host")
    if parts.auth is not None:
        raise PermanentError("webhook: target URL must not hold user:password@")
    host = parts.host.strip("[]").lower()
    port = port or (443 if scheme == "https" else 80)
    return parts.url, scheme, host, port


def check_target(url: str, *, allow_private: bool, resolve: Resolver | None = None) -> Target:
    """The checked target, with the addresses to connect to.

    PermanentError when the URL is unusable or reaches a non-public address (unless
    ``allow_private``); RetryableError when the name does not resolve (often temporary).
    """
    normalised, scheme, host, port = parse_target(url)
    resolve = resolve or socket.getaddrinfo
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        # Often temporary (resolver down); a name that never resolves runs out of retries.
        raise RetryableError("webhook: target host does not resolve") from None
    # In the resolver's order (it puts the preferred family first), each address once.
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise RetryableError("webhook: target host does not resolve")
    if not allow_private:
        for address in sorted(addresses):
            if not is_public_address(address):
                raise PermanentError(f"webhook: target resolves to non-public address {address}")
    return Target(normalised, scheme, host, port, addresses)


def check_webhook_targets(
    data: Mapping[str, Any], *, allow_private: bool, resolve: Resolver | None = None
) -> list[str]:
    """Problems with the webhook targets of a directory (as loaded from YAML), each naming
    its place, e.g. ``opds[3].channels[1].target: webhook: target must be an http or https
    URL``. A name that does not resolve now is not reported: DNS may be down at import, and
    every send checks again."""
    problems = []
    for i, opd in enumerate(data.get("opds") or []):
        for j, channel in enumerate(opd.get("channels") or []):
            if channel.get("kind") != Adapter.kind:
                continue
            try:
                check_target(channel.get("target"), allow_private=allow_private, resolve=resolve)
            except PermanentError as exc:
                problems.append(f"opds[{i}].channels[{j}].target: {exc.reason}")
            except RetryableError:
                pass
    return problems


def _ambiguous(char: str) -> bool:
    # Parsers disagree on these (the backslash is a path separator to browsers and some
    # libraries, an ordinary character to others); none belongs in a directory entry's URL.
    return char == "\\" or char.isspace() or unicodedata.category(char) in ("Cc", "Cf")


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
    "Target",
    "check_target",
    "check_webhook_targets",
    "is_public_address",
    "parse_target",
    "signature_headers",
    "signing_key",
    "webhook_id",
]
