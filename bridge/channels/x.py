"""X channel: posts the redacted public summary as a post (tweet) from an OPD's account.

``POST {x_api_url}/2/tweets`` with JSON ``{"text": ...}`` in user context. Success is ``201``
with ``{"data": {"id", "text"}}``. The channel's ``auth`` says how (contract section 3; a
channel without it is ``oauth1``, the directory's default):

- ``oauth1`` (recommended): the request is signed (HMAC-SHA1, by requests-oauthlib) with the
  app's ``BRIDGE_X_CONSUMER_KEY``/``_SECRET`` and the account's access token and secret named by
  ``token_env``/``secret_env``. Those never expire. A 401 means they are wrong or revoked.
- ``oauth2``: ``token_env`` holds a refresh token (scope ``offline.access``). It is traded at
  ``POST /2/oauth2/token`` for an access token, valid two hours, and a new refresh token: X
  rotates them and each works once. The current pair lives in the ``x_tokens`` table, one row per
  ``token_env``; the environment's value only seeds it, unless the operator puts a new one there
  (its hash differs from the seed's), which then wins. The access token is refreshed five
  minutes before it expires, and once more on a 401, then the post is retried: both inside one
  ``send``, so no delivery attempt is spent on it. A refresh happens under the row's lock
  (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the upsert that opens the transaction
  takes the database's write lock), so two workers never spend the same refresh token: the one
  that waited finds the new access token and uses it. A refresh token X refuses is a permanent
  error telling the operator which variable needs a new one.

Length is X's *weighted* length (twitter-text v3): code points in 0-4351, 8192-8205,
8208-8223 and 8242-8247 weigh 1, every other one 2 (CJK, emoji), and each URL counts 23 whatever
its length (t.co). The limit is 280. :func:`weighted_length` errs on the long side (an emoji
sequence counts per code point, a bare domain counts as a URL), so what fits here fits at X.

Limits: X answers with the endpoint's window (``x-rate-limit-*``) and, where they apply, the
account's and the app's 24-hour caps (``x-user-limit-24hour-*``, ``x-app-limit-24hour-*``; the
app cap is shared by every account the app posts for). A 429 waits until every spent window has
reset; a success that spent the last request of a window keeps the target quiet until then.

Duplicates: X refuses a text identical to a recent post with 403 "You are not allowed to create a
Tweet with duplicate content." and no post id. Our text holds the ``wadule_id`` and its link, so
an identical recent post can only be an earlier attempt of this delivery. It is taken as
already posted (sent, without an external id) only when this delivery's progress shows an earlier
post request; with no such record the row goes to ``needs_review`` for a person to check.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import re
import time
import unicodedata
from collections.abc import Callable
from typing import Any, ClassVar

import requests
from requests_oauthlib import OAuth1
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from bridge import db as database
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
from bridge.models import Channel, Delivery, XToken, utcnow
from schemas.directory import DEFAULT_X_AUTH

log = logging.getLogger(__name__)

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
#: twitter-text v3 ranges of weight 1 (everything else weighs 2).
LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
DUPLICATE_TEXT = "duplicate content"
NOT_CONFIGURED = "provider not configured"
#: Wait after a 429 that names no reset time (X's windows are 15 minutes or 24 hours).
THROTTLE_WAIT = 900.0
#: An access token is refreshed this many seconds before X says it expires.
REFRESH_MARGIN = 300.0
#: X's access tokens live two hours when the answer does not say (docs.x.com, OAuth 2.0 PKCE).
ACCESS_LIFETIME = 7200.0
#: (connect, read) seconds for the token request: on SQLite it runs under the write lock.
TOKEN_TIMEOUT = (5.0, 10.0)
#: The windows of POST /2/tweets as (remaining, reset, what it is) headers.
WINDOWS = (
    ("x-rate-limit-remaining", "x-rate-limit-reset", None),
    ("x-user-limit-24hour-remaining", "x-user-limit-24hour-reset", "the account's 24-hour cap"),
    ("x-app-limit-24hour-remaining", "x-app-limit-24hour-reset", "the app's 24-hour cap"),
)

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


@dataclasses.dataclass(frozen=True)
class ChannelAuth:
    """How a channel authenticates: its ``auth`` and the names of its variables."""

    auth: str
    token_env: str | None
    secret_env: str | None


def channel_auth(delivery_id: int) -> ChannelAuth:
    """The ``auth`` of the channel a delivery goes to (a row imported before ``auth`` existed
    has none and is read as the default, ``oauth1``)."""
    with database.new_session() as db:
        row = db.execute(
            select(Channel.auth, Channel.token_env, Channel.secret_env)
            .join(Delivery, Delivery.channel_id == Channel.id)
            .where(Delivery.id == delivery_id)
        ).first()
    if row is None:
        raise PermanentError("x: the delivery's channel is not in the directory")
    return ChannelAuth(row.auth or DEFAULT_X_AUTH, row.token_env, row.secret_env)


class _Bearer(requests.auth.AuthBase):
    def __init__(self, token: str):
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request

    def __repr__(self) -> str:
        return "_Bearer(***)"


class Adapter(ChannelAdapter):
    """Posts to the X account whose credentials the channel's ``token_env``/``secret_env`` name."""

    kind: ClassVar[str] = "x"
    order: ClassVar[int] = 60
    rate_limit: ClassVar[tuple[int, float]] = (1, 60.0)
    public: ClassVar[bool] = True
    max_length: ClassVar[int] = MAX_WEIGHTED_LENGTH

    def __init__(self, settings, http=None, clock: Callable[[], float] = time.time):
        super().__init__(settings, http)
        #: Epoch seconds now: when access tokens expire and windows reset (tests move it).
        self.clock = clock

    @staticmethod
    def measure(text: str) -> int:
        """Length in X's unit (see :func:`weighted_length`)."""
        return weighted_length(text)

    def missing_configuration(self, message: OutgoingMessage | None = None) -> str | None:
        if message is not None and not message.token:
            return "token not configured"
        settings = self.settings
        if (
            not (settings.x_consumer_key and settings.x_consumer_secret)
            and not settings.x_client_id
        ):
            return NOT_CONFIGURED
        return None

    def send(self, message: OutgoingMessage) -> SendResult:
        if not message.token:
            raise PermanentError("x: token not configured")
        if weighted_length(message.text) > MAX_WEIGHTED_LENGTH:
            raise PermanentError("x: text longer than 280 (weighted)")
        how = channel_auth(message.delivery_id)
        if how.auth == "oauth2":
            access = self.access_token(how.token_env or "", message.token)
            signer: requests.auth.AuthBase = _Bearer(access)
        else:
            signer = self._oauth1(message, how)
        posted_before = bool(message.progress.get("post_requested"))
        save_progress(message, post_requested=True)
        response = self._create_post(message.text, signer)
        if response.status_code == 401 and how.auth == "oauth2":
            # Refused before expiry (revoked, or the clocks disagree): nothing was posted, so
            # one refresh and one more try belong to this same attempt.
            save_progress(message, post_requested=posted_before)
            access = self.access_token(how.token_env or "", message.token, rejected=access)
            save_progress(message, post_requested=True)
            response = self._create_post(message.text, _Bearer(access))
        return self._outcome(message, response, posted_before, how)

    def _create_post(self, text: str, signer: requests.auth.AuthBase) -> requests.Response:
        return self.post(
            f"{self.settings.x_api_url.rstrip('/')}/2/tweets",
            json={"text": text},
            headers={"Accept": "application/json"},
            auth=signer,
        )

    def _oauth1(self, message: OutgoingMessage, how: ChannelAuth) -> OAuth1:
        return self._oauth1_signer(message.token, message.secret)

    def _oauth1_signer(self, token: str | None, secret: str | None) -> OAuth1:
        settings = self.settings
        if not (settings.x_consumer_key and settings.x_consumer_secret):
            raise PermanentError(
                f"x: {NOT_CONFIGURED} (auth oauth1 needs BRIDGE_X_CONSUMER_KEY and"
                " BRIDGE_X_CONSUMER_SECRET)"
            )
        if not secret:
            raise PermanentError(
                "x: access token secret not configured (auth oauth1 needs secret_env)"
            )
        return OAuth1(
            settings.x_consumer_key,
            client_secret=settings.x_consumer_secret,
            resource_owner_key=token,
            resource_owner_secret=secret,
            signature_type="auth_header",
        )

    def _outcome(self, message, response, posted_before: bool, how: ChannelAuth) -> SendResult:
        status = response.status_code
        body = json_body(response)
        body = body if isinstance(body, dict) else {}
        if 200 <= status < 300:
            data = body.get("data") if isinstance(body.get("data"), dict) else {}
            post_id = data.get("id")
            external_id = str(post_id)[:200] if isinstance(post_id, str | int) else None
            log.info("x accepted delivery %s (post %s)", message.delivery_id, external_id)
            return SendResult(external_id=external_id, slow_down=self._spent_wait(response))
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
            raise ThrottledError(
                "x: too many requests" + _which_caps(response),
                retry_after=self._reset_wait(response),
            )
        if status >= 500:
            # The post may or may not exist; a retry that meets "duplicate" is recognised above.
            raise RetryableError(
                f"x: server error {status}",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        # A definite refusal: nothing was posted.
        save_progress(message, post_requested=posted_before)
        if status == 401 and how.auth == "oauth2":
            raise PermanentError("x: X refused a freshly refreshed access token (401)")
        if status == 401:
            raise PermanentError(
                f"x: X refused the OAuth 1.0a credentials (401); check {how.token_env},"
                f" {how.secret_env} and BRIDGE_X_CONSUMER_KEY/_SECRET"
            )
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
            # Authenticated as send() is: OAuth 1.0a signed, or the stored OAuth 2.0 access
            # token (refreshed, and its rotated refresh token kept, as for a post).
            if context.auth == "oauth2":
                signer: requests.auth.AuthBase = _Bearer(
                    self.access_token(context.token_env or "", context.token)
                )
            else:
                signer = self._oauth1_signer(context.token, context.secret)
            return self.probe("GET", url, headers={"Accept": "application/json"}, auth=signer)

        try:
            response = authorized_get(f"{self.settings.x_api_url.rstrip('/')}/2/users/me")
        except ProbeFailed as failed:
            return found.unusable(f"X does not answer ({failed.reason})")
        except PermanentError as refused:
            return found.unusable(refused.reason)
        except RetryableError as failed:
            found.warn(f"the credentials could not be checked ({failed.reason})")
            return found.result("")
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

    # OAuth 2.0 tokens

    def access_token(self, token_env: str, seed: str, *, rejected: str | None = None) -> str:
        """A live access token for the account whose refresh token ``token_env`` holds
        (``seed``, its value now), refreshing when it is about to expire or X ``rejected`` it."""
        if not self.settings.x_client_id:
            raise PermanentError(f"x: {NOT_CONFIGURED} (auth oauth2 needs BRIDGE_X_CLIENT_ID)")
        seed_hash = hashlib.sha256(seed.encode()).hexdigest()
        with database.new_session() as db:
            row = db.get(XToken, token_env)
            if self._usable(row, seed_hash, rejected):
                return row.access_token
        with database.new_session() as db, db.begin():
            row = _locked_token_row(db, token_env, seed, seed_hash)
            if self._usable(row, seed_hash, rejected):
                return row.access_token  # another worker refreshed while this one waited
            if row.seed_hash != seed_hash:
                log.info("x: a new refresh token in %s replaces the stored one", token_env)
                row.seed_hash, row.refresh_token, row.access_token = seed_hash, seed, None
            answer = self._refresh(row.refresh_token, token_env)
            lifetime = _number(str(answer.get("expires_in") or "")) or ACCESS_LIFETIME
            row.access_token = answer["access_token"]
            row.refresh_token = answer.get("refresh_token") or row.refresh_token
            row.expires_at = dt.datetime.fromtimestamp(self.clock() + lifetime, dt.UTC)
            row.updated_at = utcnow()
            log.info("x: refreshed the access token of %s", token_env)
            return row.access_token

    def _usable(self, row: XToken | None, seed_hash: str, rejected: str | None) -> bool:
        if row is None or row.seed_hash != seed_hash or not row.access_token:
            return False
        if row.access_token == rejected or row.expires_at is None:
            return False
        return row.expires_at.timestamp() - REFRESH_MARGIN > self.clock()

    def _refresh(self, refresh_token: str, token_env: str) -> dict[str, Any]:
        """Trade a refresh token at ``POST /2/oauth2/token`` (the caller holds the row lock)."""
        settings = self.settings
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        # A confidential client authenticates with HTTP Basic; a public one names its id.
        basic = None
        if settings.x_client_secret:
            basic = (settings.x_client_id, settings.x_client_secret)
        else:
            data["client_id"] = settings.x_client_id
        try:
            response = self.post(
                f"{settings.x_api_url.rstrip('/')}/2/oauth2/token",
                data=data,
                auth=basic,
                headers={"Accept": "application/json"},
                timeout=TOKEN_TIMEOUT,
            )
        except OutcomeUnknownError as exc:
            # Nothing was posted. If X did rotate the token, the next try is told it is spent.
            raise RetryableError(f"{exc.reason} (token refresh)") from None
        status = response.status_code
        body = json_body(response)
        body = body if isinstance(body, dict) else {}
        error = str(body.get("error") or "")
        if status == 200 and isinstance(body.get("access_token"), str):
            return body
        if status in (400, 401) and error in ("invalid_request", "invalid_grant"):
            raise PermanentError(f"x: refresh token refused; put a new one in {token_env}")
        if status == 401:
            raise PermanentError(
                f"x: X refused the OAuth 2.0 client ({error or 401}); check BRIDGE_X_CLIENT_ID"
                " and BRIDGE_X_CLIENT_SECRET"
            )
        if status == 429:
            raise ThrottledError("x: token refresh rate limited", self._reset_wait(response))
        if status >= 500:
            raise RetryableError(f"x: token refresh: server error {status}")
        detail = provider_detail(body.get("error_description") or error)
        raise PermanentError(
            f"x: token refresh refused {status}" + (f": {detail}" if detail else "")
        )

    # Limits

    def _spent_wait(self, response) -> float | None:
        """Seconds until every window this answer shows spent has reset; None if none is."""
        waits = []
        for remaining, reset, _what in WINDOWS:
            when = _number(response.headers.get(reset))
            if response.headers.get(remaining) == "0" and when is not None:
                waits.append(when - self.clock())
        return max(1.0, *waits) if waits else None

    def _reset_wait(self, response) -> float:
        """After a 429: until the spent windows reset, else X's ``Retry-After``, else 15 min."""
        return (
            self._spent_wait(response)
            or retry_after_seconds(response.headers.get("Retry-After"))
            or THROTTLE_WAIT
        )


def _locked_token_row(db, token_env: str, seed: str, seed_hash: str) -> XToken:
    """The token row, created from the seed the first time, locked for this transaction.

    The upsert comes first: on SQLite it makes this transaction the writer (the database lock is
    held until commit); on PostgreSQL a concurrent first insert waits for ours. Then the row lock.
    """
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    db.execute(
        insert(XToken)
        .values(token_env=token_env, seed_hash=seed_hash, refresh_token=seed, updated_at=utcnow())
        .on_conflict_do_nothing()
    )
    return db.scalars(select(XToken).where(XToken.token_env == token_env).with_for_update()).one()


def _which_caps(response) -> str:
    spent = [
        what
        for remaining, _reset, what in WINDOWS
        if what and response.headers.get(remaining) == "0"
    ]
    return f" ({' and '.join(spent)} spent)" if spent else ""


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


__all__ = ["MAX_WEIGHTED_LENGTH", "Adapter", "ChannelAuth", "channel_auth", "weighted_length"]
