"""The small base every channel adapter builds on, and the typed errors adapters raise.

An adapter turns one outgoing message into provider calls. It never returns a boolean: it
returns a :class:`SendResult` or raises one of the errors below, and the delivery engine decides
what happens to the row (``sent``, ``retrying``, ``dead`` or ``needs_review``).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import requests


class ChannelError(Exception):
    """Base of adapter errors. ``reason`` is short, English, and free of personal data."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason[:400]


class RetryableError(ChannelError):
    """Worth trying again later: timeouts before sending, 5xx, throttling.

    ``retry_after`` is the provider's wait hint in seconds, when it gave one.
    """

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class ThrottledError(RetryableError):
    """The provider said "too many requests"; wait at least ``retry_after``."""


class PermanentError(ChannelError):
    """Trying again cannot help: bad target, bad credentials, content refused."""


class NotYetError(ChannelError):
    """The provider is still working on an earlier step (an Instagram media container being
    processed): nothing failed, look again in ``check_after`` seconds. No attempt is spent and
    no worker waits: the row keeps its progress and comes back at its ``next_attempt_at``."""

    def __init__(self, reason: str, check_after: float):
        super().__init__(reason)
        self.check_after = check_after


class OutcomeUnknownError(ChannelError):
    """The request may have reached the provider (e.g. a read timeout after sending).

    The engine moves the row to ``needs_review`` instead of posting it a second time.
    """


@dataclasses.dataclass(frozen=True)
class SendResult:
    """What the provider accepted: its message id (when it gives one) and any slow-down hint."""

    external_id: str | None = None
    #: Seconds to keep this target quiet before the next send (rate-limit usage headers).
    slow_down: float | None = None
    #: The provider moved the target (Telegram's ``migrate_to_chat_id``): the channel's new id.
    new_target: str | None = None


@dataclasses.dataclass
class OutgoingMessage:
    """One message for one channel target, already rendered for the channel's kind."""

    delivery_id: int
    wadule_id: str
    kind: str
    target: str
    text: str
    #: Structured copy of what was rendered (used by the webhook channel and the sandbox).
    payload: Mapping[str, Any]
    #: The secret named by the channel's ``token_env``/``secret_env``, resolved from settings.
    token: str | None = None
    secret: str | None = None
    #: Progress of a multi-step publish saved by earlier attempts (e.g. a media container id).
    progress: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Persist progress at once (committed), so a crash never repeats a step that succeeded.
    checkpoint: Callable[[dict[str, Any]], None] = lambda progress: None
    #: A picture sent with the text (the weekly report's chart): its bytes, file name and media
    #: type, the same on every attempt (:mod:`bridge.attachments`).
    image: bytes | None = None
    image_name: str | None = None
    image_type: str | None = None
    #: Where the bridge serves the same picture, for a provider that can only send a link.
    image_url: str | None = None

    def __repr__(self) -> str:
        # Text and secrets stay out of logs and tracebacks.
        return f"OutgoingMessage(delivery={self.delivery_id}, kind={self.kind!r})"


class ChannelAdapter:
    """Base class: subclasses set the class attributes and implement :meth:`send`."""

    #: The channel kind, equal to the module's file name.
    kind: ClassVar[str]
    #: Public channels get the redacted summary; private ones the full complaint.
    public: ClassVar[bool] = False
    #: Where the kind comes in the order a complaint goes out (lower first).
    order: ClassVar[int]
    #: Default per-target limit, (COUNT, SECONDS); ``BRIDGE_RATE_LIMITS`` overrides it.
    rate_limit: ClassVar[tuple[int, float]]
    #: Longest text the channel takes, in its own unit of length.
    max_length: ClassVar[int] = 4096
    #: Seconds before a connection attempt is abandoned (nothing was sent: retryable).
    connect_timeout: ClassVar[float] = 5.0
    #: Seconds to wait for an answer once the request went out (outcome then unknown).
    read_timeout: ClassVar[float] = 30.0

    def __init__(self, settings, http: requests.Session | None = None):
        self.settings = settings
        self.http = http or requests.Session()

    def missing_configuration(self, message: OutgoingMessage | None = None) -> str | None:
        """Why this adapter cannot send (e.g. ``"provider not configured"``), or None."""
        return None

    def send(self, message: OutgoingMessage) -> SendResult:
        raise NotImplementedError

    #: (connect, read) seconds for each call a channel check makes: a check waits on nobody.
    check_timeout: ClassVar[tuple[float, float]] = (5.0, 10.0)

    def check(self, context: CheckContext) -> Finding:
        """Ask the provider, with the channel's own credentials, whether the channel can be
        used (contract section 9). Never raises for a provider's answer; adapters override."""
        return Finding(Verdict.WARNING, f"not checked: {self.kind} channels have no live check")

    def probe(self, method: str, url: str, **kwargs) -> requests.Response:
        """One request of a channel check, with the short check timeout and no redirects.

        Any transport failure raises :class:`ProbeFailed` with a reason free of the URL (some
        URLs hold a token, e.g. Telegram's ``/bot<token>/``).
        """
        kwargs.setdefault("timeout", self.check_timeout)
        kwargs.setdefault("allow_redirects", False)
        try:
            return self.http.request(method, url, **kwargs)
        except requests.RequestException as exc:
            failure = ProbeFailed(_probe_failure(exc, self.check_timeout[1]))
        raise failure

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) seconds; ``BRIDGE_HTTP_TIMEOUT`` overrides the read timeout."""
        return (self.connect_timeout, self.settings.http_timeout or self.read_timeout)

    def post(self, url: str, **kwargs) -> requests.Response:
        """POST without following redirects; map transport failures to typed errors.

        A connect failure means nothing was sent (retryable). A timeout or broken connection
        after the request went out means the provider may have acted (outcome unknown). A
        request that could not even be built (bad URL or header) is permanent.
        """
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        try:
            return self.http.post(url, **kwargs)
        except requests.RequestException as exc:
            error = self._transport_error(exc)
        # Raised outside the ``except`` block so the requests exception is not even chained as
        # context: its text holds the URL, and some URLs hold a token (Telegram's ``/bot<token>``).
        raise error

    def _transport_error(self, exc: requests.RequestException) -> ChannelError:
        if isinstance(exc, requests.ConnectTimeout):
            return RetryableError(f"{self.kind}: connect timeout")
        if isinstance(exc, (requests.exceptions.SSLError, requests.exceptions.ProxyError)):
            # Both fail before the request is written: nothing reached the provider.
            return RetryableError(f"{self.kind}: {type(exc).__name__} before sending")
        if isinstance(exc, requests.ConnectionError):
            if _never_connected(exc):
                return RetryableError(f"{self.kind}: connection refused")
            return OutcomeUnknownError(f"{self.kind}: connection lost after sending")
        if isinstance(exc, requests.Timeout):
            return OutcomeUnknownError(f"{self.kind}: no answer within {self.timeout[1]:g}s")
        if isinstance(exc, _UNSENDABLE):
            return PermanentError(f"{self.kind}: request could not be built ({type(exc).__name__})")
        # Anything else broke while reading the answer: the request itself went out.
        return OutcomeUnknownError(f"{self.kind}: unreadable answer ({type(exc).__name__})")


class Verdict(enum.StrEnum):
    """What a channel check concludes."""

    OK = "ok"
    #: Usable, with something an operator should know or fix.
    WARNING = "warning"
    #: Deliveries on this channel would fail (or silently never arrive).
    UNUSABLE = "unusable"

    @property
    def rank(self) -> int:
        return {"ok": 0, "warning": 1, "unusable": 2}[self.value]


@dataclasses.dataclass(frozen=True)
class CheckContext:
    """One channel as its check sees it: the target and the secrets its sends would use."""

    kind: str
    target: str
    #: The secrets named by ``token_env``/``secret_env``, resolved as for sending.
    token: str | None = None
    secret: str | None = None
    #: The channel's ``auth`` (X: ``oauth1`` or ``oauth2``) where the directory has one.
    auth: str | None = None
    #: The names of the variables (for reasons: "put a new token in FB_TOKEN_DPUPR").
    token_env: str | None = None
    secret_env: str | None = None
    opd_slug: str = ""
    channel_id: int | None = None

    def __repr__(self) -> str:
        return f"CheckContext({self.kind!r}, {self.target!r}, opd={self.opd_slug!r})"


@dataclasses.dataclass(frozen=True)
class Finding:
    """A check's verdict, the reason in plain words for an operator, and safe details
    (never a secret, never a group member's number)."""

    verdict: Verdict
    reason: str
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)


class Findings:
    """Collects what one check notices; :meth:`result` gives the worst verdict, with every
    problem's words (worst first) as the reason."""

    def __init__(self) -> None:
        self.problems: list[tuple[Verdict, str]] = []
        self.details: dict[str, Any] = {}

    def warn(self, text: str) -> None:
        self.problems.append((Verdict.WARNING, text))

    def unusable(self, text: str) -> Finding:
        """Record a problem that makes the channel unusable; returns the result so far, for a
        check that stops here (``return found.unusable(...)``)."""
        self.problems.append((Verdict.UNUSABLE, text))
        return self.result("")

    def result(self, ok_reason: str) -> Finding:
        if not self.problems:
            return Finding(Verdict.OK, ok_reason, dict(self.details))
        ordered = sorted(self.problems, key=lambda p: -p[0].rank)
        return Finding(ordered[0][0], "; ".join(t for _, t in ordered), dict(self.details))


class ProbeFailed(Exception):
    """A check's request got no answer; ``reason`` says why in plain words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _probe_failure(exc: requests.RequestException, read_timeout: float) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "no connection within the time limit"
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake failed (certificate not trusted or wrong host)"
    if isinstance(exc, requests.ConnectionError):
        text = repr(exc)
        if "NameResolutionError" in text or "Failed to resolve" in text:
            return "the host name does not resolve"
        if _never_connected(exc):
            return "the connection was refused"
        return "the connection broke before an answer came"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {read_timeout:g} s"
    if isinstance(exc, _UNSENDABLE):
        return "the URL is not valid"
    return f"the answer could not be read ({type(exc).__name__})"


#: Raised before anything reaches the network: retrying the same request cannot help.
_UNSENDABLE = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.InvalidJSONError,
    requests.exceptions.URLRequired,
)


def _never_connected(exc: requests.ConnectionError) -> bool:
    text = repr(exc)
    return any(
        marker in text
        for marker in (
            "NewConnectionError",
            "Connection refused",
            "NameResolutionError",
            "Failed to resolve",
            "ConnectTimeoutError",
        )
    )


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a ``Retry-After`` header given in seconds (HTTP dates are rare from these APIs)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        import email.utils
        import time

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())
    return max(0.0, seconds)


def json_body(response: requests.Response) -> Any:
    """The response's JSON value, or None when the body is empty or not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def provider_detail(value: Any, limit: int = 120) -> str:
    """A provider's error text made safe for a reason: one line, bounded, never None."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
