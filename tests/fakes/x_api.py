"""A fake X API v2 (``POST /2/tweets``, ``GET /2/users/me``), as strict as the real one.

- ``Authorization: Bearer <user token>`` must name a known token: else 401 in X's problem shape
  ``{"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}``;
- the body must be JSON with a non-empty ``text``; a text over 280 *weighted* (counted here
  independently of the bridge: URLs 23, code points outside twitter-text's light ranges 2) gets
  400 invalid-request;
- the same text as one of the account's earlier posts gets 403 "You are not allowed to create a
  Tweet with duplicate content.";
- beyond ``limit`` posts per window, 429 with ``x-rate-limit-limit/remaining/reset`` (reset in
  epoch seconds), which every answer carries;
- success is 201 ``{"data": {"id", "text"}}`` with URLs shortened to ``https://t.co/…``;
- ``GET /2/users/me`` answers the account the token acts for, ``{"data": {"id", "name",
  "username"}}`` (https://docs.x.com/x-api/users/lookup/quickstart/authenticated-lookup;
  ``accounts`` maps each token to one), with the same 401 for an unknown token.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import threading
import time
import unicodedata

from tests.fakes.server import FakeServer, Request, Response

X_TOKEN = "x-user-token-test"
_URL = re.compile(
    r"(?i)https?://\S+|\b(?:[a-z0-9-]+\.)+(?:com|id|org|net|co|io|go\.id|ly|me)\b(?:/\S*)?"
)
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


def x_length(text: str) -> int:
    """The fake's own weighted count (twitter-text v3), kept apart from the bridge's."""
    text = unicodedata.normalize("NFC", text)
    urls = list(_URL.finditer(text))
    length = 23 * len(urls)
    stripped = _URL.sub("", text)
    for char in stripped:
        length += 1 if any(lo <= ord(char) <= hi for lo, hi in _LIGHT) else 2
    return length


@dataclasses.dataclass(frozen=True)
class Tweet:
    id: str
    token: str
    text: str
    at: float


class FakeX(FakeServer):
    """Fake X API. ``tokens`` are the valid user tokens."""

    def __init__(
        self,
        *,
        tokens: set[str] | None = None,
        limit: int = 100,
        window: float = 900.0,
    ) -> None:
        super().__init__()
        self.tokens = set(tokens if tokens is not None else {X_TOKEN})
        self.limit = limit
        self.window = window
        self.tweets: list[Tweet] = []
        #: Token -> the account it posts as.
        self.accounts: dict[str, dict[str, str]] = {
            X_TOKEN: {
                "id": "1500000000000000101",
                "name": "DPUPR Pacitan",
                "username": "dpupr_pacitan",
            }
        }
        self._calls: list[float] = []
        self._ids = itertools.count(1_860_000_000_000_000_001)
        self._state = threading.RLock()

    def texts(self, token: str = X_TOKEN) -> list[str]:
        with self._state:
            return [t.text for t in self.tweets if t.token == token]

    def reset(self) -> None:
        super().reset()
        with self._state:
            self.tweets.clear()
            self._calls.clear()

    def handle(self, request: Request) -> Response:
        route = (request.method, request.path)
        if route not in (("POST", "/2/tweets"), ("GET", "/2/users/me")):
            return self._problem(404, "Not Found", "Sorry, that page does not exist.")
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else None
        if token not in self.tokens:
            return self._problem(401, "Unauthorized", "Unauthorized")
        if request.method == "GET":
            account = self.accounts.get(token) or {
                "id": "1500000000000000999",
                "name": "Some account",
                "username": "some_account",
            }
            return Response(200, {"data": dict(account)}, self._rate_headers(time.time()))
        now = time.time()
        with self._state:
            self._calls = [t for t in self._calls if t > now - self.window]
            if len(self._calls) >= self.limit:
                return self._problem(429, "Too Many Requests", "Too Many Requests", now=now)
            self._calls.append(now)
        body = request.json
        if not isinstance(body, dict) or not isinstance(body.get("text"), str) or not body["text"]:
            return self._invalid("text", "The `text` field is required.")
        text = body["text"]
        if x_length(text) > 280:
            return self._invalid("text", "Your Tweet text is too long.")
        with self._state:
            if any(t.token == token and t.text == text for t in self.tweets):
                duplicate = True
            else:
                duplicate = False
                tweet = Tweet(str(next(self._ids)), token, text, now)
                self.tweets.append(tweet)
        if duplicate:
            return self._problem(
                403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
            )
        shown = _URL.sub("https://t.co/AbCdEf1234", text)
        return Response(201, {"data": {"id": tweet.id, "text": shown}}, self._rate_headers(now))

    def _rate_headers(self, now: float) -> dict[str, str]:
        with self._state:
            remaining = max(0, self.limit - len(self._calls))
            oldest = min(self._calls) if self._calls else now
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(oldest + self.window)),
        }

    def _problem(self, status: int, title: str, detail: str, now: float | None = None):
        body = {"title": title, "type": "about:blank", "status": status, "detail": detail}
        return Response(status, body, self._rate_headers(now or time.time()))

    def _invalid(self, parameter: str, message: str) -> Response:
        body = {
            "errors": [{"parameters": {parameter: []}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }
        return Response(400, body, self._rate_headers(time.time()))
