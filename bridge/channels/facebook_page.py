"""Facebook Page channel: posts the redacted public summary to an OPD's Page feed.

``POST {graph_url}/{graph_version}/{page-id}/feed`` with form fields ``message`` and ``link``
(the Wadule page) and the Page access token as ``Authorization: Bearer``. The answer is
``{"id": "<page-id>_<post-id>"}``.

This module also holds what the Instagram channel shares with it, both being Graph API clients:
:func:`graph_error` reads the error object (``{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id"}}``), :func:`classify_graph_error` turns it into a typed error, and
:class:`Usage` reads the rate-limit headers (``X-App-Usage``, ``X-Page-Usage``,
``X-Business-Use-Case-Usage``) so the engine slows down *before* Meta's limit is reached.

Duplicates: Facebook refuses a message identical to a recent one with code 506. That is only
treated as "already posted" when the Page's recent posts hold our exact text (it carries the
``wadule_id`` and link, so it can only be this delivery's earlier attempt); otherwise the row goes
to ``needs_review``. An attempt after one whose outcome was unclear looks at the feed first, too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import requests

from bridge.channels.base import (
    ChannelAdapter,
    ChannelError,
    CheckContext,
    Finding,
    Findings,
    OutcomeUnknownError,
    OutgoingMessage,
    PermanentError,
    ProbeFailed,
    RetryableError,
    SendResult,
    ThrottledError,
    json_body,
    provider_detail,
    retry_after_seconds,
)
from bridge.messages import text_length

log = logging.getLogger(__name__)

NO_TOKEN = "token not configured"  # noqa: S105 (a message, not a secret)

#: Graph API throttling: app (4), user (17), page (32), application limit reached (341), custom
#: (613), and the Business Use Case limits (80000-80014; 80001 is Pages). Meta's error guide
#: (https://developers.facebook.com/docs/graph-api/guides/error-handling) says of each: a
#: temporary issue, wait and retry.
THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80015)})
TRANSIENT_CODES = frozenset({1, 2})
TOKEN_CODES = frozenset({190, 102})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
#: "Temporarily blocked for policies violations": per the same guide, wait and retry. Meta does
#: not say for how long; such blocks last hours to days, so retries hourly would only spend the
#: delivery's attempts. Six hours stretches the retry schedule over more than two days.
POLICY_BLOCK = 368
POLICY_BLOCK_WAIT = 6 * 3600.0
DUPLICATE_POST = 506

#: Usage (percent of the limit) from which the engine keeps a target quiet, and for how long.
#: Meta's windows are a rolling hour (app, page) or a BUC window it reports in minutes.
SLOW_DOWN_STEPS = ((100.0, 3600.0), (90.0, 1800.0), (80.0, 600.0))
#: Wait after a throttling error when Meta gives no estimate.
THROTTLE_WAIT = 900.0
#: How many recent posts are searched for our own text.
FEED_LOOKBACK = 25
#: A token (or Meta's data access for it) ending within this many days is worth a warning.
EXPIRY_WARNING_DAYS = 7


@dataclasses.dataclass(frozen=True)
class GraphError:
    """The fields of a Graph API error object that decide what to do."""

    status: int
    code: int | None
    subcode: int | None
    message: str
    type: str
    fbtrace_id: str
    is_transient: bool

    def describe(self) -> str:
        """Short, free of personal data: code, subcode, Meta's message and trace id."""
        code = f"#{self.code}" if self.code is not None else f"HTTP {self.status}"
        if self.subcode:
            code += f"/{self.subcode}"
        trace = f" (fbtrace {self.fbtrace_id})" if self.fbtrace_id else ""
        return f"{code} {self.message}".strip() + trace


def graph_error(response: requests.Response) -> GraphError | None:
    """The error object of a Graph API answer, or None when the body has none."""
    body = json_body(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    return GraphError(
        status=response.status_code,
        code=_int(error.get("code")),
        subcode=_int(error.get("error_subcode")),
        message=provider_detail(error.get("message"), limit=160),
        type=provider_detail(error.get("type"), limit=40),
        fbtrace_id=provider_detail(error.get("fbtrace_id"), limit=40),
        is_transient=error.get("is_transient") is True,
    )


def classify_graph_error(kind: str, error: GraphError, usage: Usage) -> ChannelError:
    """The typed error for a Graph API error object (codes from Meta's error-handling guide)."""
    detail = error.describe()
    if error.code in TOKEN_CODES:
        return PermanentError(f"{kind}: access token invalid or expired: {detail}")
    if error.code in THROTTLE_CODES:
        return ThrottledError(f"{kind}: rate limited: {detail}", retry_after=usage.throttle_wait())
    if error.code == POLICY_BLOCK:
        return ThrottledError(
            f"{kind}: temporarily blocked by Meta for policy reasons: {detail}",
            retry_after=max(POLICY_BLOCK_WAIT, usage.throttle_wait()),
        )
    if error.code in PERMISSION_CODES:
        return PermanentError(f"{kind}: permission missing: {detail}")
    if error.code in TRANSIENT_CODES or error.is_transient:
        return RetryableError(f"{kind}: temporary Meta error: {detail}")
    if error.status >= 500:
        return RetryableError(f"{kind}: server error: {detail}")
    return PermanentError(f"{kind}: refused: {detail}")


class Usage:
    """Rate-limit usage seen in the answers of one send (the highest of each)."""

    def __init__(self) -> None:
        self.percent = 0.0
        self.regain_seconds = 0.0

    def read(self, headers: Mapping[str, str]) -> None:
        """Fold in ``X-App-Usage``, ``X-Page-Usage`` and ``X-Business-Use-Case-Usage``."""
        for name in ("X-App-Usage", "X-Page-Usage"):
            value = _json_header(headers, name)
            if isinstance(value, dict):
                self._fold(value)
        buc = _json_header(headers, "X-Business-Use-Case-Usage")
        if isinstance(buc, dict):
            for entries in buc.values():
                for entry in entries if isinstance(entries, list) else [entries]:
                    if isinstance(entry, dict):
                        self._fold(entry)
                        minutes = _number(entry.get("estimated_time_to_regain_access"))
                        if minutes:
                            self.regain_seconds = max(self.regain_seconds, minutes * 60.0)

    def _fold(self, counters: Mapping[str, Any]) -> None:
        for key in ("call_count", "total_cputime", "total_time"):
            value = _number(counters.get(key))
            if value is not None:
                self.percent = max(self.percent, value)

    def slow_down(self) -> float | None:
        """Seconds to keep the target quiet, once usage reaches 80 % (None below that)."""
        wait = next((w for limit, w in SLOW_DOWN_STEPS if self.percent >= limit), 0.0)
        wait = max(wait, self.regain_seconds)
        return wait or None

    def throttle_wait(self) -> float:
        return max(self.slow_down() or 0.0, THROTTLE_WAIT)


class GraphAdapter(ChannelAdapter):
    """What the Facebook Page and Instagram adapters share: URLs, auth, safe GETs."""

    public: ClassVar[bool] = True

    def missing_configuration(self, message: OutgoingMessage | None = None) -> str | None:
        if message is not None and not message.token:
            return NO_TOKEN
        return None

    @staticmethod
    def measure(text: str) -> int:
        """Length as Meta counts it (characters); UTF-16 units never count fewer."""
        return text_length(text)

    def graph(self, *parts: str) -> str:
        base = f"{self.settings.graph_url.rstrip('/')}/{self.settings.graph_version.strip('/')}"
        return "/".join([base, *parts])

    @staticmethod
    def auth(message: OutgoingMessage) -> dict[str, str]:
        # Contract section 3: each token is sent as a Bearer access token, never in the URL.
        return {"Authorization": f"Bearer {message.token}", "Accept": "application/json"}

    def get(self, url: str, **kwargs) -> requests.Response:
        """GET (reads change nothing at Meta): every transport failure is retryable."""
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        try:
            return self.http.get(url, **kwargs)
        except requests.RequestException as exc:
            error = self._transport_error(exc)
        if isinstance(error, OutcomeUnknownError):
            error = RetryableError(error.reason)
        raise error

    def require_token(self, message: OutgoingMessage) -> None:
        if not message.token:
            raise PermanentError(f"{self.kind}: {NO_TOKEN}")

    # Channel check (contract section 9)

    #: Permissions a token must hold to publish here, and ones whose absence only hampers.
    required_scopes: ClassVar[tuple[str, ...]] = ()
    recommended_scopes: ClassVar[tuple[str, ...]] = ()
    #: How the checked object is read and named.
    object_fields: ClassVar[str] = "id,name"
    object_label: ClassVar[str] = "Page"
    #: A Page token's ``profile_id`` is the Page itself: it must be the channel's target.
    token_owns_target: ClassVar[bool] = False

    def check(self, context: CheckContext) -> Finding:
        """The token is valid, not about to expire and allowed to publish, and reaches the
        target. Expiry and permissions come from ``debug_token``, which Meta answers only for
        an app token or an app developer's token; when it refuses the token itself, the check
        says what it could not see instead of guessing."""
        found = Findings()
        if not context.token:
            return found.unusable("no token: the directory names no token_env for the channel")
        headers = {"Authorization": f"Bearer {context.token}", "Accept": "application/json"}
        renew = f"make a new token and put it in {context.token_env or 'the channel token_env'}"
        try:
            inspected = self._inspect_token(found, context, headers, renew)
            if isinstance(inspected, Finding):
                return inspected
            response = self.probe(
                "GET",
                self.graph(context.target),
                params={"fields": self.object_fields},
                headers=headers,
            )
            body = json_body(response)
            if not 200 <= response.status_code < 300 or not isinstance(body, dict):
                return self._check_refused(found, response, context, renew)
            name = provider_detail(body.get("name") or body.get("username"), limit=80)
            found.details[self.object_fields.split(",")[1]] = name
            ended = self.check_publishing(found, context, headers)
            if ended is not None:
                return ended
        except ProbeFailed as failed:
            return found.unusable(f"Meta's Graph API does not answer ({failed.reason})")
        if not inspected:
            found.warn(
                f"Meta would not let the token inspect itself (debug_token needs an app token),"
                f" so {self.unseen_by_token()} unknown; see Meta's Access Token Debugger"
            )
        return found.result(
            f"the token reaches {self.object_label} {name or context.target}, does not expire"
            " soon and may publish"
        )

    def unseen_by_token(self) -> str:
        """What stays unknown when debug_token is refused (a phrase ending in is/are)."""
        return "its expiry and publishing permission are"

    def check_publishing(
        self, found: Findings, context: CheckContext, headers: dict[str, str]
    ) -> Finding | None:
        """A kind's own publishing check; a Finding ends the check."""
        return None

    def _inspect_token(
        self, found: Findings, context: CheckContext, headers: dict[str, str], renew: str
    ) -> Finding | bool:
        """Read the token's validity, expiry and permissions from ``debug_token``.

        Returns True when Meta answered, False when it refused to (the check goes on without
        it), or the Finding that ends the check.
        """
        # debug_token takes the inspected token only as a query parameter; the request goes to
        # Meta over TLS with that same token as its credential, and no URL is ever logged.
        response = self.probe(
            "GET", self.graph("debug_token"), params={"input_token": context.token}, headers=headers
        )
        body = json_body(response)
        data = body.get("data") if isinstance(body, dict) else None
        if not 200 <= response.status_code < 300 or not isinstance(data, dict):
            error = graph_error(response)
            if error is not None and error.code in TOKEN_CODES:
                # The token asked about itself: Meta rejected it as a credential.
                return found.unusable(f"Meta rejects the token ({error.describe()}): {renew}")
            found.details["token_inspection"] = (
                f"refused: {error.describe()}" if error else f"HTTP {response.status_code}"
            )
            return False
        if data.get("is_valid") is not True:
            why = data.get("error") if isinstance(data.get("error"), dict) else {}
            detail = provider_detail(why.get("message"))
            return found.unusable(
                "Meta says the token is no longer valid"
                + (f" ({detail})" if detail else "")
                + f": {renew}"
            )
        found.details["token_type"] = provider_detail(data.get("type"), limit=20)
        now = time.time()
        relogin = "a Page admin must log in to the app again, then " + renew
        for field, (ended, ends), fix in (
            ("expires_at", ("the token expired", "the token expires"), renew),
            (
                "data_access_expires_at",
                ("Meta's data access for the token ended", "Meta's data access for it ends"),
                relogin,
            ),
        ):
            when = data.get(field)
            if not isinstance(when, int) or isinstance(when, bool) or when <= 0:
                found.details[field] = "never"
                continue
            day = dt.datetime.fromtimestamp(when, dt.UTC).date()
            found.details[field] = day.isoformat()
            if when <= now:
                found.unusable(f"{ended} on {day:%d %B %Y}: {fix}")
            elif when - now <= EXPIRY_WARNING_DAYS * 86400:
                found.warn(f"{ends} on {day:%d %B %Y}: {fix}")
        scopes = data.get("scopes") if isinstance(data.get("scopes"), list) else []
        found.details["scopes"] = sorted(str(s) for s in scopes)
        for scope in self.required_scopes:
            if scope not in scopes:
                found.unusable(f"the token lacks the {scope} permission: grant it, then {renew}")
            elif not _granted_for(data, scope, context.target):
                found.unusable(
                    f"the token's {scope} permission covers other objects, not"
                    f" {self.object_label} {context.target}"
                )
        for scope in self.recommended_scopes:
            if scope not in scopes:
                found.warn(f"the token lacks the {scope} permission the bridge also uses")
        owner = data.get("profile_id")
        if self.token_owns_target and owner and str(owner) != context.target:
            found.unusable(
                f"the token belongs to {self.object_label} {owner}, not {context.target}"
            )
        return True

    def _check_refused(
        self, found: Findings, response: requests.Response, context: CheckContext, renew: str
    ) -> Finding:
        error = graph_error(response)
        status = response.status_code
        if error is None:
            if status == 429 or status >= 500:
                found.warn(f"Meta answered {status}, so the token could not be checked")
                return found.result("")
            return found.unusable(f"Meta refused to describe {self.object_label} ({status})")
        if error.code in TOKEN_CODES:
            return found.unusable(f"Meta rejects the token ({error.describe()}): {renew}")
        if error.code in THROTTLE_CODES or error.code in TRANSIENT_CODES or error.is_transient:
            found.warn(f"Meta is busy ({error.describe()}), so the token could not be checked")
            return found.result("")
        if error.code == 100 or error.code in PERMISSION_CODES:
            return found.unusable(
                f"the token cannot reach {self.object_label} {context.target}: it is for"
                f" another {self.object_label}, lacks a permission, or the id is wrong"
                f" ({error.describe()})"
            )
        return found.unusable(f"Meta refused the check ({error.describe()})")

    def fail(self, response: requests.Response, usage: Usage) -> ChannelError:
        """The typed error for a non-2xx Graph answer."""
        error = graph_error(response)
        if error is not None:
            return classify_graph_error(self.kind, error, usage)
        status = response.status_code
        if status == 429:
            return ThrottledError(
                f"{self.kind}: too many requests",
                retry_after=retry_after_seconds(response.headers.get("Retry-After"))
                or usage.throttle_wait(),
            )
        if status >= 500:
            return RetryableError(f"{self.kind}: server error {status}")
        if 300 <= status < 400:
            return PermanentError(f"{self.kind}: unexpected redirect {status}; check graph URL")
        return PermanentError(f"{self.kind}: refused {status}")


class Adapter(GraphAdapter):
    """Posts to a Facebook Page id with the Page's access token."""

    kind: ClassVar[str] = "facebook_page"
    order: ClassVar[int] = 40
    rate_limit: ClassVar[tuple[int, float]] = (1, 60.0)
    #: Facebook takes far longer posts; a public summary stays readable well under this.
    max_length: ClassVar[int] = 5000
    #: Posting needs pages_manage_posts; reading the feed (the duplicate and lost-answer
    #: checks in :meth:`send`) needs pages_read_engagement.
    required_scopes: ClassVar[tuple[str, ...]] = ("pages_manage_posts",)
    recommended_scopes: ClassVar[tuple[str, ...]] = ("pages_read_engagement",)
    token_owns_target: ClassVar[bool] = True

    def send(self, message: OutgoingMessage) -> SendResult:
        self.require_token(message)
        usage = Usage()
        if message.progress.get("post_requested"):
            # An earlier attempt may have posted (no answer came back): look before posting.
            found = self._find_own_post(message, usage)
            if found is None:
                raise OutcomeUnknownError(
                    "facebook_page: an earlier attempt may have posted and the feed cannot be"
                    " read to check; check the page"
                )
            if found:
                log.info("delivery %s: already on the page as %s", message.delivery_id, found)
                return SendResult(external_id=found, slow_down=usage.slow_down())
        save_progress(message, post_requested=True)
        form = {"message": message.text}
        link = message.payload.get("link")
        if link:
            form["link"] = link
        response = self.post(
            self.graph(message.target, "feed"), data=form, headers=self.auth(message)
        )
        usage.read(response.headers)
        body = json_body(response)
        if 200 <= response.status_code < 300:
            post_id = body.get("id") if isinstance(body, dict) else None
            external_id = str(post_id)[:200] if isinstance(post_id, str | int) else None
            log.info("facebook accepted delivery %s (post %s)", message.delivery_id, external_id)
            return SendResult(external_id=external_id, slow_down=usage.slow_down())
        error = graph_error(response)
        if error is not None and error.code == DUPLICATE_POST:
            found = self._find_own_post(message, usage)
            if found:
                log.info(
                    "delivery %s: duplicate refused, our post is %s", message.delivery_id, found
                )
                return SendResult(external_id=found, slow_down=usage.slow_down())
            raise OutcomeUnknownError(
                "facebook_page: Facebook calls the post a duplicate (#506) but no recent post"
                " of the page has our text; check the page"
            )
        failure = self.fail(response, usage)
        if isinstance(failure, PermanentError | ThrottledError):
            # A definite refusal: nothing was posted, the next attempt may post straight away.
            save_progress(message, post_requested=False)
        raise failure

    def _find_own_post(self, message: OutgoingMessage, usage: Usage) -> str | bool | None:
        """Our text among the page's recent posts: its id, False if absent, None if unknown."""
        try:
            response = self.get(
                self.graph(message.target, "feed"),
                params={"fields": "id,message", "limit": str(FEED_LOOKBACK)},
                headers=self.auth(message),
            )
        except RetryableError:
            return None
        usage.read(response.headers)
        body = json_body(response)
        if not 200 <= response.status_code < 300 or not isinstance(body, dict):
            return None
        posts = body.get("data")
        if not isinstance(posts, list):
            return None
        ours = " ".join(message.text.split())
        for post in posts:
            if (
                isinstance(post, dict)
                and isinstance(post.get("message"), str)
                and " ".join(post["message"].split()) == ours
                and post.get("id")
            ):
                return str(post["id"])[:200]
        return False


def _granted_for(data: Mapping[str, Any], scope: str, target: str) -> bool:
    """False only when debug_token limits ``scope`` to objects that leave ``target`` out."""
    granular = data.get("granular_scopes")
    for entry in granular if isinstance(granular, list) else []:
        if isinstance(entry, dict) and entry.get("scope") == scope:
            ids = entry.get("target_ids")
            if isinstance(ids, list) and ids:
                return target in {str(i) for i in ids}
    return True


def save_progress(message: OutgoingMessage, **changes: Any) -> None:
    """Persist progress at once (committed), so a crash never repeats a step that succeeded."""
    message.progress.update(changes)
    message.checkpoint(dict(message.progress))


def _json_header(headers: Mapping[str, str], name: str) -> Any:
    raw = headers.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _int(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


__all__ = [
    "POLICY_BLOCK_WAIT",
    "THROTTLE_WAIT",
    "Adapter",
    "GraphAdapter",
    "GraphError",
    "Usage",
    "classify_graph_error",
    "graph_error",
    "save_progress",
]
