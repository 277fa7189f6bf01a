"""A fake X API v2 (``POST /2/tweets`` and ``POST /2/oauth2/token``), as strict as the real one.

Each behaviour cites where it comes from ("docs" is https://github.com/xdevplatform/docs, the
source of docs.x.com):

- User context only (docs ``x-api/posts/manage-tweets/integrate``: OAuth 1.0a User Context or
  OAuth 2.0 Authorization Code with PKCE). Either
  - ``Authorization: OAuth ...`` signed with HMAC-SHA1, verified here by recomputing the
    signature base string independently of the bridge's signing library (docs
    ``fundamentals/authentication/oauth-1-0a/creating-a-signature.mdx`` and
    ``authorizing-a-request.mdx``: method, base URL, sorted percent-encoded parameters; the
    key is consumer secret & token secret). A JSON body is not part of the signature (only
    form bodies are, RFC 5849 section 3.4.1.3.1). A nonce seen before is refused ("X will use
    this value to determine whether a request has been submitted multiple times"), and so is a
    timestamp too far in the past ("X will reject requests which were created too far in the
    past"; the window here is 5 minutes); or
  - ``Authorization: Bearer <OAuth 2.0 user access token>`` issued by the token endpoint below,
    refused once ``access_lifetime`` seconds have passed on the fake's ``clock`` (docs
    ``fundamentals/authentication/oauth-2-0/authorization-code.mdx``: "only stay valid for two
    hours").
  Anything else is 401 in the v2 problem shape ``{"title": "Unauthorized", "type": "about:blank",
  "status": 401, "detail": "Unauthorized"}`` (docs ``x-api/fundamentals/response-codes-and-
  errors.mdx``; HunterLarco/twitter-v2 issue 96 shows it for POST /2/tweets).
- ``POST /2/oauth2/token`` with ``grant_type=refresh_token`` (docs ``fundamentals/authentication/
  oauth-2-0/user-access-token.mdx`` step 5): form-encoded; a public client names ``client_id``
  in the body, a confidential one sends HTTP Basic ``client_id:client_secret`` (same page; the
  official CLI xdevplatform/xurl ``auth/auth.go`` picks the style the same way). Wrong client
  credentials: 401 ``unauthorized_client`` "Missing valid authorization header"
  (plhery/node-twitter-api-v2 issue 319, unasuke/omniauth-twitter2 issue 4). Success: 200
  ``{"token_type": "bearer", "expires_in": 7200, "access_token", "scope", "refresh_token"}``
  (Bayselonarrend/OpenIntegrations ``docs/en/md/Twitter/Data-and-settings/Refresh-token.md``
  shows X's answer). The refresh token is rotated: the one presented is spent and a second use
  gets 400 ``{"error": "invalid_request", "error_description": "Value passed for the token was
  invalid."}`` (the error shape of plhery/node-twitter-api-v2 issue 496; single use as
  gptme/gptme-contrib PR 285 observed). Concurrent uses of one token: exactly one wins.
- Limits of POST /2/tweets (docs ``x-api/fundamentals/rate-limits.mdx``: per user 100/15 min,
  per app 10,000/24 h; tweepy discussion 2129 quotes 100/24 h per user on the Basic tier):
  ``x-rate-limit-limit/remaining/reset`` (reset in epoch seconds) on every authenticated
  answer; with ``user_daily_limit`` also ``x-user-limit-24hour-*`` and with
  ``app_daily_limit`` ``x-app-limit-24hour-*`` (header names as twapi-v2's
  ``maker/header/header.yaml`` lists them; node-twitter-api-v2 issues 495 and 553). The app
  cap counts every user of the app. Past any of them: 429 "Too Many Requests".
- The body must be JSON with a non-empty ``text``; a text over 280 *weighted* (counted here
  independently of the bridge: URLs 23, code points outside twitter-text's light ranges 2)
  gets 400 invalid-request.
- The same text as one of the account's earlier posts gets 403 ``{"detail": "You are not
  allowed to create a Tweet with duplicate content.", "type": "about:blank", "title":
  "Forbidden", "status": 403}`` (akrherz/iembot issue 163 logs it verbatim).
- Success is 201 ``{"data": {"id", "text"}}`` with URLs shortened to ``https://t.co/…``.
- ``GET /2/users/me`` answers the account the credentials act for, ``{"data": {"id", "name",
  "username"}}`` (https://docs.x.com/x-api/users/lookup/quickstart/authenticated-lookup;
  ``accounts`` maps each user to one), with the same 401 for unknown credentials.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import itertools
import re
import secrets
import threading
import time
import unicodedata
import urllib.parse
from collections.abc import Callable

from tests.fakes.server import FakeServer, Request, Response

X_USER = "dpupr_pacitan"
X_CONSUMER_KEY = "x-consumer-key-test"
X_CONSUMER_SECRET = "x-consumer-secret-test"
#: The OAuth 1.0a access token of ``X_USER`` and its secret.
X_TOKEN = "1860000000000000001-x-access-token-test"
X_SECRET = "x-access-token-secret-test"
X_CLIENT_ID = "x-client-id-test"
X_CLIENT_SECRET = "x-client-secret-test"
#: A refresh token of ``X_USER`` that the fake knows from the start (it works once).
X_REFRESH_TOKEN = "x-refresh-token-test-0"
SCOPE = "tweet.write users.read tweet.read offline.access"
#: How far in the past an OAuth 1.0a timestamp may be.
TIMESTAMP_WINDOW = 300.0

_URL = re.compile(
    r"(?i)https?://\S+|\b(?:[a-z0-9-]+\.)+(?:com|id|org|net|co|io|go\.id|ly|me)\b(?:/\S*)?"
)
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_DAY = 86400.0


def x_length(text: str) -> int:
    """The fake's own weighted count (twitter-text v3), kept apart from the bridge's."""
    text = unicodedata.normalize("NFC", text)
    urls = list(_URL.finditer(text))
    length = 23 * len(urls)
    stripped = _URL.sub("", text)
    for char in stripped:
        length += 1 if any(lo <= ord(char) <= hi for lo, hi in _LIGHT) else 2
    return length


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding as OAuth 1.0a wants it (only ``A-Za-z0-9-._~`` stay)."""
    return urllib.parse.quote(value, safe="~")


def signature_base_string(method: str, base_url: str, params: list[tuple[str, str]]) -> str:
    """The OAuth 1.0a signature base string, built as X's "Creating a signature" page says."""
    encoded = sorted((percent_encode(k), percent_encode(v)) for k, v in params)
    parameter_string = "&".join(f"{k}={v}" for k, v in encoded)
    return "&".join((method.upper(), percent_encode(base_url), percent_encode(parameter_string)))


def hmac_sha1_signature(base_string: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}"
    digest = hmac.new(key.encode(), base_string.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclasses.dataclass(frozen=True)
class Tweet:
    id: str
    user: str
    text: str
    at: float


class FakeX(FakeServer):
    """Fake X API for one app (its OAuth 1.0a consumer and its OAuth 2.0 client).

    ``clock`` is the fake's idea of now (epoch seconds): tests move it to expire access tokens.
    ``client_secret`` set makes the OAuth 2.0 client confidential (HTTP Basic required).
    """

    def __init__(
        self,
        *,
        limit: int = 100,
        window: float = 900.0,
        user_daily_limit: int | None = None,
        app_daily_limit: int | None = None,
        access_lifetime: float = 7200.0,
        client_id: str = X_CLIENT_ID,
        client_secret: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.limit = limit
        self.window = window
        self.user_daily_limit = user_daily_limit
        self.app_daily_limit = app_daily_limit
        self.access_lifetime = access_lifetime
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock = clock
        self.consumers = {X_CONSUMER_KEY: X_CONSUMER_SECRET}
        #: OAuth 1.0a access token -> (its secret, user).
        self.oauth1_tokens = {X_TOKEN: (X_SECRET, X_USER)}
        #: Live refresh tokens -> user; a used one is removed (and kept in ``spent``).
        self.refresh_tokens = {X_REFRESH_TOKEN: X_USER}
        self.spent: set[str] = set()
        #: OAuth 2.0 access token -> (user, expires at on ``clock``).
        self.access_tokens: dict[str, tuple[str, float]] = {}
        #: Successful refreshes, in order: (refresh token spent, refresh token issued).
        self.rotations: list[tuple[str, str]] = []
        self.tweets: list[Tweet] = []
        self._nonces: set[tuple[str, str, str]] = set()
        self._calls: dict[str, list[float]] = {}
        self._user_day: dict[str, list[float]] = {}
        self._app_day: list[float] = []
        #: User -> the account its credentials act for (``GET /2/users/me``).
        self.accounts: dict[str, dict[str, str]] = {
            X_USER: {"id": "1500000000000000101", "name": "DPUPR Pacitan", "username": X_USER}
        }
        self._ids = itertools.count(1_860_000_000_000_000_001)
        self._serial = itertools.count(1)
        self._state = threading.RLock()

    # Helpers for tests

    def texts(self, user: str = X_USER) -> list[str]:
        with self._state:
            return [t.text for t in self.tweets if t.user == user]

    def add_oauth1_user(self, user: str, token: str, secret: str) -> None:
        with self._state:
            self.oauth1_tokens[token] = (secret, user)

    def issue_refresh_token(self, user: str = X_USER) -> str:
        """A new refresh token for ``user``, as the authorization step would hand out."""
        with self._state:
            token = f"x-refresh-{next(self._serial)}-{secrets.token_hex(4)}"
            self.refresh_tokens[token] = user
            return token

    def issue_access_token(self, user: str = X_USER) -> str:
        with self._state:
            token = f"x-access-{next(self._serial)}-{secrets.token_hex(4)}"
            self.access_tokens[token] = (user, self.clock() + self.access_lifetime)
            return token

    def revoke_access_tokens(self) -> None:
        """Forget every access token (refresh tokens stay valid), e.g. a scope change."""
        with self._state:
            self.access_tokens.clear()

    def reset(self) -> None:
        super().reset()
        with self._state:
            self.tweets.clear()
            self._calls.clear()
            self._user_day.clear()
            self._app_day.clear()

    # Handling

    def handle(self, request: Request) -> Response:
        if request.path == "/2/oauth2/token" and request.method == "POST":
            return self._token(request)
        route = (request.method, request.path)
        if route not in (("POST", "/2/tweets"), ("GET", "/2/users/me")):
            return self._problem(404, "Not Found", "Sorry, that page does not exist.")
        user = self._authenticate(request)
        if user is None:
            return self._problem(401, "Unauthorized", "Unauthorized")
        now = self.clock()
        if request.method == "GET":
            account = self.accounts.get(user) or {
                "id": "1500000000000000999",
                "name": "Some account",
                "username": "some_account",
            }
            return Response(200, {"data": dict(account)}, self._rate_headers(user, now))
        with self._state:
            spent = self._count(user, now)
        headers = self._rate_headers(user, now)
        if spent:
            return self._problem(429, "Too Many Requests", "Too Many Requests", headers)
        body = request.json
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"]:
            return self._invalid("text", "The `text` field is required.", headers)
        text = body["text"]
        if x_length(text) > 280:
            return self._invalid("text", "Your Tweet text is too long.", headers)
        with self._state:
            duplicate = any(t.user == user and t.text == text for t in self.tweets)
            if not duplicate:
                tweet = Tweet(str(next(self._ids)), user, text, now)
                self.tweets.append(tweet)
        if duplicate:
            detail = "You are not allowed to create a Tweet with duplicate content."
            return self._problem(403, "Forbidden", detail, headers)
        shown = _URL.sub("https://t.co/AbCdEf1234", text)
        return Response(201, {"data": {"id": tweet.id, "text": shown}}, headers)

    def _authenticate(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            with self._state:
                user, expires = self.access_tokens.get(header[len("Bearer ") :], (None, 0.0))
            return user if user is not None and self.clock() < expires else None
        if header.startswith("OAuth "):
            return self._verify_oauth1(request, header)
        return None

    def _verify_oauth1(self, request: Request, header: str) -> str | None:
        oauth = _parse_oauth_header(header)
        if oauth is None or oauth.get("oauth_signature_method") != "HMAC-SHA1":
            return None
        if oauth.get("oauth_version", "1.0") != "1.0":
            return None
        consumer_secret = self.consumers.get(oauth.get("oauth_consumer_key", ""))
        token_secret, user = self.oauth1_tokens.get(oauth.get("oauth_token", ""), (None, None))
        signature = oauth.pop("oauth_signature", None)
        oauth.pop("realm", None)
        try:
            timestamp = float(oauth.get("oauth_timestamp", ""))
        except ValueError:
            return None
        if consumer_secret is None or token_secret is None or not signature:
            return None
        if not oauth.get("oauth_nonce") or timestamp < self.clock() - TIMESTAMP_WINDOW:
            return None
        params = [(k, v) for k, values in request.query.items() for v in values]
        params += list(oauth.items())
        if request.content_type == "application/x-www-form-urlencoded":
            params += urllib.parse.parse_qsl(request.text, keep_blank_values=True)
        host = request.headers.get("Host", "").lower()
        base = signature_base_string(request.method, f"http://{host}{request.path}", params)
        expected = hmac_sha1_signature(base, consumer_secret, token_secret)
        if not hmac.compare_digest(expected, signature):
            return None
        replay = (oauth["oauth_consumer_key"], oauth["oauth_token"], oauth["oauth_nonce"])
        with self._state:
            if replay in self._nonces:
                return None
            self._nonces.add(replay)
        return user

    def _token(self, request: Request) -> Response:
        form = request.form
        if form is None:
            return _oauth_error(400, "invalid_request", "Content-Type must be form-encoded.")
        if self.client_secret is not None:
            expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode())
            if request.headers.get("Authorization", "") != "Basic " + expected.decode():
                return _oauth_error(
                    401, "unauthorized_client", "Missing valid authorization header"
                )
        elif form.get("client_id") != self.client_id:
            return _oauth_error(401, "unauthorized_client", "Missing valid authorization header")
        if form.get("grant_type") != "refresh_token":
            return _oauth_error(400, "unsupported_grant_type", "Grant type is not supported.")
        presented = form.get("refresh_token", "")
        with self._state:
            user = self.refresh_tokens.pop(presented, None)
            if user is None:
                return _oauth_error(
                    400, "invalid_request", "Value passed for the token was invalid."
                )
            self.spent.add(presented)
            rotated = self.issue_refresh_token(user)
            access = self.issue_access_token(user)
            self.rotations.append((presented, rotated))
        return Response(
            200,
            {
                "token_type": "bearer",
                "expires_in": int(self.access_lifetime),
                "access_token": access,
                "scope": SCOPE,
                "refresh_token": rotated,
            },
        )

    # Limits

    def _count(self, user: str, now: float) -> bool:
        """Count one request against the user's and the app's windows (under the lock);
        True when one of them is already spent (the request is refused and not counted)."""
        calls = self._calls.setdefault(user, [])
        calls[:] = [t for t in calls if t > now - self.window]
        day = self._user_day.setdefault(user, [])
        day[:] = [t for t in day if t > now - _DAY]
        self._app_day[:] = [t for t in self._app_day if t > now - _DAY]
        if (
            len(calls) >= self.limit
            or (self.user_daily_limit is not None and len(day) >= self.user_daily_limit)
            or (self.app_daily_limit is not None and len(self._app_day) >= self.app_daily_limit)
        ):
            return True
        calls.append(now)
        day.append(now)
        self._app_day.append(now)
        return False

    def _rate_headers(self, user: str, now: float) -> dict[str, str]:
        with self._state:
            windows = [("rate-limit", self.limit, self._calls.get(user, []), self.window)]
            if self.user_daily_limit is not None:
                day = self._user_day.get(user, [])
                windows.append(("user-limit-24hour", self.user_daily_limit, day, _DAY))
            if self.app_daily_limit is not None:
                windows.append(("app-limit-24hour", self.app_daily_limit, self._app_day, _DAY))
            headers = {}
            for name, limit, calls, length in windows:
                headers[f"x-{name}-limit"] = str(limit)
                headers[f"x-{name}-remaining"] = str(max(0, limit - len(calls)))
                headers[f"x-{name}-reset"] = str(int((min(calls) if calls else now) + length))
        return headers

    # Answers

    @staticmethod
    def _problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None):
        body = {"title": title, "type": "about:blank", "status": status, "detail": detail}
        return Response(status, body, headers or {})

    @staticmethod
    def _invalid(parameter: str, message: str, headers: dict[str, str]) -> Response:
        body = {
            "errors": [{"parameters": {parameter: []}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }
        return Response(400, body, headers)


def _parse_oauth_header(header: str) -> dict[str, str] | None:
    """``OAuth k="v", ...`` as a dict of percent-decoded values, or None when malformed."""
    params: dict[str, str] = {}
    for part in header[len("OAuth ") :].split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or len(value) < 2 or value[0] != '"' or value[-1] != '"':
            return None
        params[urllib.parse.unquote(key)] = urllib.parse.unquote(value[1:-1])
    return params


def _oauth_error(status: int, error: str, description: str) -> Response:
    return Response(status, {"error": error, "error_description": description})
