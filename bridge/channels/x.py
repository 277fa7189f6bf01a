"""X channel: posts the redacted public summary as a post (tweet) from an OPD's account.

``POST {x_api_url}/2/tweets`` with JSON ``{"text": ...}`` and the account's OAuth 2.0 user access
token as ``Authorization: Bearer`` (posting needs user context). Success is ``201`` with
``{"data": {"id", "text"}}``.

Length is X's *weighted* length (twitter-text v3): code points in 0-4351, 8192-8205,
8208-8223 and 8242-8247 weigh 1, every other one 2 (CJK, emoji), and each URL counts 23 whatever
its length (t.co). The limit is 280. :func:`weighted_length` errs on the long side (an emoji
sequence counts per code point, a bare domain counts as a URL), so what fits here fits at X.

Duplicates: X refuses a text identical to a recent post with 403 "You are not allowed to create a
Tweet with duplicate content." and no post id. Our text holds the ``wadule_id`` and its link, so
an identical recent post can only be an earlier attempt of this delivery. It is taken as
already posted (sent, without an external id) only when this delivery's progress shows an earlier
post request; with no such record the row goes to ``needs_review`` for a person to check.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from typing import Any, ClassVar

from bridge.channels.base import (
    ChannelAdapter,
    OutcomeUnknownError,
    OutgoingMessage,
    PermanentError,
    RetryableError,
    SendResult,
    ThrottledError,
    json_body,
    provider_detail,
    retry_after_seconds,
)
from bridge.channels.facebook_page import save_progress

log = logging.getLogger(__name__)

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
#: twitter-text v3 ranges of weight 1 (everything else weighs 2).
LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
DUPLICATE_TEXT = "duplicate content"
#: Wait after a 429 that names no reset time (X's windows are 15 minutes or 24 hours).
THROTTLE_WAIT = 900.0

#: URLs as twitter-text finds them: with a scheme, or a bare domain ("wadul.pacitankab.go.id").
#: Any letters-only TLD is taken, which only ever over-counts.
URL_PATTERN = re.compile(
    r"(?i)\bhttps?://[^\s]+"
    r"|(?<![\w@.\-])(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+[a-z]{2,}(?![\w\-])(?:/[^\s]*)?"
)


def weighted_length(text: str) -> int:
    """X's weighted length of ``text`` (NFC-normalised, as X counts it)."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for match in URL_PATTERN.finditer(text):
        total += _weight(text[position : match.start()]) + URL_WEIGHT
        position = match.end()
    return total + _weight(text[position:])


def _weight(text: str) -> int:
    return sum(
        1 if any(low <= ord(char) <= high for low, high in LIGHT_RANGES) else 2 for char in text
    )


class Adapter(ChannelAdapter):
    """Posts to the X account whose user token the channel's ``token_env`` names."""

    kind: ClassVar[str] = "x"
    public: ClassVar[bool] = True
    max_length: ClassVar[int] = MAX_WEIGHTED_LENGTH

    @staticmethod
    def measure(text: str) -> int:
        """Length in X's unit (see :func:`weighted_length`)."""
        return weighted_length(text)

    def missing_configuration(self, message: OutgoingMessage | None = None) -> str | None:
        if message is not None and not message.token:
            return "token not configured"
        return None

    def send(self, message: OutgoingMessage) -> SendResult:
        if not message.token:
            raise PermanentError("x: token not configured")
        if weighted_length(message.text) > MAX_WEIGHTED_LENGTH:
            raise PermanentError("x: text longer than 280 (weighted)")
        posted_before = bool(message.progress.get("post_requested"))
        save_progress(message, post_requested=True)
        response = self.post(
            f"{self.settings.x_api_url.rstrip('/')}/2/tweets",
            json={"text": message.text},
            headers={"Authorization": f"Bearer {message.token}", "Accept": "application/json"},
        )
        status = response.status_code
        body = json_body(response)
        body = body if isinstance(body, dict) else {}
        if 200 <= status < 300:
            data = body.get("data") if isinstance(body.get("data"), dict) else {}
            post_id = data.get("id")
            external_id = str(post_id)[:200] if isinstance(post_id, str | int) else None
            log.info("x accepted delivery %s (post %s)", message.delivery_id, external_id)
            return SendResult(external_id=external_id, slow_down=_slow_down(response))
        detail = _error_text(body)
        if status == 403 and DUPLICATE_TEXT in detail.lower():
            if posted_before and message.wadule_id and message.wadule_id in message.text:
                log.info(
                    "delivery %s: X calls it a duplicate of our earlier attempt; sent, no post id",
                    message.delivery_id,
                )
                return SendResult(external_id=None)
            raise OutcomeUnknownError(
                "x: X calls the post a duplicate but no earlier attempt of this delivery is on"
                " record; check the account"
            )
        if status == 429:
            raise ThrottledError("x: too many requests", retry_after=_reset_wait(response))
        if status >= 500:
            # The post may or may not exist; a retry that meets "duplicate" is recognised above.
            raise RetryableError(
                f"x: server error {status}",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        # A definite refusal: nothing was posted.
        save_progress(message, post_requested=posted_before)
        if status == 401:
            raise PermanentError("x: access token invalid or expired (401)")
        if status == 403:
            raise PermanentError(f"x: forbidden: {detail or 'no detail'}")
        if 300 <= status < 400:
            raise PermanentError(f"x: unexpected redirect {status}; check BRIDGE_X_API_URL")
        raise PermanentError(f"x: refused {status}" + (f": {detail}" if detail else ""))

    def check(self, context):
        """:meth:`ChannelAdapter.check` for X: the credentials work and act for the account the
        directory names (the channel's target). Whether they may write cannot be seen without
        posting, so that is left out."""
        from bridge.channels.base import Findings, ProbeFailed

        found = Findings()
        if not context.token:
            return found.unusable("token not configured")
        expected = context.target.strip().lstrip("@")
        renew = f"make new ones and put them in {context.token_env or 'the channel token_env'}"

        def authorized_get(url: str):
            # The one place that knows how this check authenticates: the user access token as
            # a Bearer token, as send() does today. It becomes the adapter's OAuth 1.0a signing
            # or OAuth 2.0 refresh when those land.
            headers = {"Authorization": f"Bearer {context.token}", "Accept": "application/json"}
            return self.probe("GET", url, headers=headers)

        try:
            response = authorized_get(f"{self.settings.x_api_url.rstrip('/')}/2/users/me")
        except ProbeFailed as failed:
            return found.unusable(f"X does not answer ({failed.reason})")
        status = response.status_code
        body = json_body(response)
        body = body if isinstance(body, dict) else {}
        detail = _error_text(body)
        if status == 401:
            return found.unusable(f"X rejects the credentials: {renew}")
        if status == 429 or status >= 500:
            found.warn(f"X answered {status}, so the credentials could not be checked")
            return found.result("")
        if status == 403:
            return found.unusable(f"X refuses the credentials ({detail or 'forbidden'})")
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        username = data.get("username")
        if not 200 <= status < 300 or not isinstance(username, str) or not username:
            return found.unusable(
                f"X did not say which account the credentials act for ({status}"
                + (f": {detail})" if detail else ")")
            )
        found.details.update(username=f"@{username}", account_id=str(data.get("id") or ""))
        if username.lower() != expected.lower():
            # A public channel posting as the wrong account is worse than not posting.
            return found.unusable(
                f"the credentials act for @{username}, not @{expected}: use @{expected}'s own"
                " tokens, or fix the target in the directory"
            )
        return found.result(f"the credentials act for @{username}")


def _reset_wait(response) -> float:
    """Seconds until X's window resets: the 24-hour user cap if that is spent, else the
    endpoint window (``x-rate-limit-reset``, epoch seconds)."""
    headers = response.headers
    now = time.time()
    for remaining, reset in (
        ("x-user-limit-24hour-remaining", "x-user-limit-24hour-reset"),
        ("x-rate-limit-remaining", "x-rate-limit-reset"),
    ):
        if headers.get(remaining) not in (None, "0"):
            continue
        when = _number(headers.get(reset))
        if when is not None:
            return max(1.0, when - now)
    return retry_after_seconds(headers.get("Retry-After")) or THROTTLE_WAIT


def _slow_down(response) -> float | None:
    """After a success that used the last call of the window, stay quiet until it resets."""
    if response.headers.get("x-rate-limit-remaining") == "0":
        return _reset_wait(response)
    return None


def _error_text(body: dict[str, Any]) -> str:
    for key in ("detail", "title"):
        if body.get(key):
            return provider_detail(body[key])
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return provider_detail(errors[0].get("message") or errors[0].get("detail"))
    return ""


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


__all__ = ["MAX_WEIGHTED_LENGTH", "Adapter", "weighted_length"]
