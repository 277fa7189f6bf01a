"""A fake Meta Graph API (Facebook Pages, Instagram content publishing), strict like the real one.

Every call needs ``/v<major>.<minor>/`` in its path and an access token (``Authorization: Bearer``,
``OAuth`` or an ``access_token`` parameter); an unknown token gets Graph's 400 ``OAuthException``
code 190. Errors use Graph's error object ``{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id"}}``. Every answer carries ``X-App-Usage`` and
``X-Business-Use-Case-Usage`` headers with the usage set by :meth:`FakeGraph.set_usage`.

Supported:

- ``POST /{page-id}/feed`` (``message``, ``link``): a message identical to one of the page's
  recent posts gets code 506 "Duplicate status message"; ``GET /{page-id}/feed`` lists posts,
  newest first, with ``fields=id,message``.
- ``POST /{ig-user-id}/media`` (``image_url``, ``caption`` ≤ 2200): the fake *fetches*
  ``image_url`` over HTTP and requires a JPEG (else code 9004 subcode 2207052), then keeps the
  container ``IN_PROGRESS`` for ``processing_polls`` status reads before ``FINISHED``, or, with
  ``processing_seconds``, until that long after its creation whatever the reads (Meta processes
  the media on its own time; the Content Publishing guide has clients look again later).
- ``GET /{container-id}?fields=status_code`` → ``IN_PROGRESS`` | ``FINISHED`` | ``PUBLISHED`` |
  ``ERROR`` | ``EXPIRED``.
- ``POST /{ig-user-id}/media_publish`` (``creation_id``): only a ``FINISHED`` container of that
  user (else 9007/2207027 "not ready"); a container publishes once (a second call is refused);
  beyond ``quota_total`` posts in 24 hours, code 9 subcode 2207042.
- ``GET /{ig-user-id}/content_publishing_limit`` → ``{"data": [{"quota_usage", "config"}]}``.

What the channel check reads:

- ``GET /debug_token?input_token=…`` (https://developers.facebook.com/docs/graph-api/reference/
  debug_token): ``{"data": {"app_id", "type", "application", "expires_at" (0: never),
  "data_access_expires_at", "is_valid", "issued_at", "profile_id", "scopes", "granular_scopes",
  "user_id"}}``. The reference requires "an app access token or an app developer's user access
  token" to call it, so a token not marked with :meth:`FakeGraph.allow_debug` gets code 100
  "(#100) You must provide an app access token, or a user access token that is an owner or
  developer of the app" (the wording Meta answers with; the page states the rule);
- ``GET /{page-id}?fields=id,name`` and ``GET /{ig-user-id}?fields=id,username`` for the objects
  in ``pages``/``ig_users``; another object, or one the token may not act for, gets code 100
  subcode 33 ("does not exist, cannot be loaded due to missing permissions…");
- :meth:`FakeGraph.expire_token`: every call with that token gets code 190 subcode 463
  "Error validating access token: Session has expired…" (the error guide's expired-token case).

Fault helpers: :meth:`throttle_next` (codes 4/17/32/341/613/80001 with usage at 100 %),
:meth:`lose_publish_answer` (publish, then answer too late for the client).
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import re
import threading
import time
import urllib.parse
from typing import Any

import requests
from PIL import Image

from tests.fakes.server import FakeServer, Reply, Request, Response

FB_TOKEN = "fb-page-token-test"
IG_TOKEN = "ig-user-token-test"
QUOTA_TOTAL = 50
_VERSION = re.compile(r"^/v\d+\.\d+(/.*)$")


@dataclasses.dataclass
class Post:
    id: str
    page_id: str
    message: str
    link: str | None
    at: float


@dataclasses.dataclass
class Container:
    id: str
    ig_user_id: str
    image_url: str
    caption: str
    image: bytes
    polls_left: int
    status: str = "IN_PROGRESS"
    #: ``time.monotonic()`` from which it is FINISHED (time-based processing), or None.
    ready_at: float | None = None
    media_id: str | None = None


@dataclasses.dataclass
class Media:
    id: str
    ig_user_id: str
    container_id: str
    caption: str
    at: float


class FakeGraph(FakeServer):
    """Fake Graph API. ``tokens`` maps each valid token to the object ids it may act for."""

    def __init__(
        self,
        *,
        tokens: dict[str, set[str] | None] | None = None,
        processing_polls: int = 1,
        processing_seconds: float | None = None,
        quota_total: int = QUOTA_TOTAL,
        duplicate_window: int = 10,
    ) -> None:
        super().__init__()
        # None as the id set: the token may act for any object.
        self.tokens = dict(tokens if tokens is not None else {FB_TOKEN: None, IG_TOKEN: None})
        self.processing_polls = processing_polls
        self.processing_seconds = processing_seconds
        self.quota_total = quota_total
        self.duplicate_window = duplicate_window
        self.usage = {"call_count": 5, "total_cputime": 3, "total_time": 4}
        self.regain_minutes = 0
        self.posts: list[Post] = []
        self.containers: dict[str, Container] = {}
        self.media: list[Media] = []
        self.fetches: list[tuple[str, int, str]] = []
        self._ids = itertools.count(17_900_000_000_000_001)
        self._state = threading.RLock()
        self._lose_publish_answers = 0
        #: Objects GET /{id} describes: Page id -> name, IG user id -> username.
        self.pages: dict[str, str] = {}
        self.ig_users: dict[str, str] = {}
        #: Tokens Meta lets call debug_token, and what it says about each inspected token.
        self.token_data: dict[str, dict[str, Any]] = {}
        self._debuggers: set[str] = set()
        self._expired: set[str] = set()

    # Modes and helpers

    def set_usage(self, percent: int, *, regain_minutes: int = 0) -> None:
        """Usage reported in every answer's headers from now on."""
        self.usage = {"call_count": percent, "total_cputime": percent // 2, "total_time": percent}
        self.regain_minutes = regain_minutes

    def throttle_next(self, code: int = 4, times: int = 1, *, regain_minutes: int = 0) -> None:
        """Answer the next ``times`` requests with a throttling error and usage at 100 %."""
        messages = {
            4: "(#4) Application request limit reached",
            17: "(#17) User request limit reached",
            32: "(#32) Page request limit reached",
            341: "(#341) Application limit reached",
            613: "(#613) Calls to this api have exceeded the rate limit.",
            80001: "(#80001) There have been too many calls to this Page account.",
        }
        headers = self._usage_headers(
            {"call_count": 100, "total_cputime": 40, "total_time": 100}, regain_minutes
        )
        body = _error(messages.get(code, f"(#{code}) Rate limited"), code, type_="OAuthException")
        self.script(*[Reply(Response(400, body, headers))] * times)

    def allow_debug(self, token: str, **data: Any) -> None:
        """Let ``token`` inspect itself through debug_token, which then answers ``data`` (over
        a valid Page token's defaults) for it."""
        now = int(time.time())
        with self._state:
            self._debuggers.add(token)
            self.token_data[token] = {
                "app_id": "1000000000001",
                "type": "PAGE",
                "application": "Wadule Bridge",
                "data_access_expires_at": now + 60 * 86400,
                "expires_at": 0,
                "is_valid": True,
                "issued_at": now - 86400,
                "scopes": [],
                "granular_scopes": [],
                "user_id": "100000000000999",
                **data,
            }

    def expire_token(self, token: str) -> None:
        with self._state:
            self._expired.add(token)

    def lose_publish_answer(self, times: int = 1) -> None:
        """The next ``times`` media_publish calls publish, then answer only after 30 s."""
        with self._state:
            self._lose_publish_answers += times

    def page_posts(self, page_id: str) -> list[Post]:
        with self._state:
            return [p for p in self.posts if p.page_id == page_id]

    def published(self, ig_user_id: str) -> list[Media]:
        with self._state:
            return [m for m in self.media if m.ig_user_id == ig_user_id]

    def containers_of(self, ig_user_id: str) -> list[Container]:
        with self._state:
            return [c for c in self.containers.values() if c.ig_user_id == ig_user_id]

    def expire(self, container_id: str) -> None:
        with self._state:
            self.containers[container_id].status = "EXPIRED"

    def fill_quota(self, ig_user_id: str, count: int | None = None) -> None:
        """Record ``count`` (default: the whole quota) publishes made elsewhere in the window."""
        with self._state:
            for _ in range(self.quota_total if count is None else count):
                self.media.append(Media(self._next_id(), ig_user_id, "", "", time.time()))

    def reset(self) -> None:
        super().reset()
        with self._state:
            self.posts.clear()
            self.containers.clear()
            self.media.clear()
            self.fetches.clear()

    # API

    def handle(self, request: Request) -> Response:
        match = _VERSION.match(request.path)
        if not match:
            return self._answer(400, _error("Unknown path components: version missing", 2500))
        parts = [urllib.parse.unquote(p) for p in match.group(1).strip("/").split("/")]
        token = self._token(request)
        if token is None:
            return self._answer(
                400, _error("An active access token must be used to query information.", 2500)
            )
        if token not in self.tokens:
            return self._answer(
                400,
                _error(
                    "Invalid OAuth access token - Cannot parse access token",
                    190,
                    type_="OAuthException",
                ),
            )
        if token in self._expired:
            return self._answer(
                400,
                _error(
                    "Error validating access token: Session has expired on Friday, 27-Nov-26"
                    " 08:00:00 PST. The current time is Saturday, 28-Nov-26 03:00:00 PST.",
                    190,
                    subcode=463,
                ),
            )
        allowed = self.tokens[token]
        params = self._params(request)
        if request.method == "GET" and parts == ["debug_token"]:
            return self._debug_token(token, params.get("input_token", ""))
        if (
            request.method == "GET"
            and len(parts) == 1
            and (parts[0] in self.pages or parts[0] in self.ig_users)
        ):
            return self._describe(parts[0], allowed)
        if (
            len(parts) == 2
            and parts[1] in ("feed", "media", "media_publish")
            and allowed is not None
            and parts[0] not in allowed
        ):
            return self._answer(
                403, _error("(#200) Permissions error", 200, type_="OAuthException")
            )
        if request.method == "POST" and len(parts) == 2 and parts[1] == "feed":
            return self._post_feed(parts[0], params)
        if request.method == "GET" and len(parts) == 2 and parts[1] == "feed":
            return self._read_feed(parts[0], params)
        if request.method == "POST" and len(parts) == 2 and parts[1] == "media":
            return self._create_container(parts[0], params)
        if request.method == "POST" and len(parts) == 2 and parts[1] == "media_publish":
            return self._publish(parts[0], params)
        if request.method == "GET" and len(parts) == 2 and parts[1] == "content_publishing_limit":
            return self._publishing_limit(parts[0])
        if request.method == "GET" and len(parts) == 1:
            return self._container_status(parts[0])
        return self._answer(
            400,
            _error(
                f"Unsupported {request.method} request. Object with ID '{parts[0]}' does not"
                " exist, cannot be loaded due to missing permissions, or does not support"
                " this operation.",
                100,
                subcode=33,
            ),
        )

    # Tokens and objects

    def _debug_token(self, token: str, input_token: str) -> Response:
        with self._state:
            if token not in self._debuggers:
                return self._answer(
                    400,
                    _error(
                        "(#100) You must provide an app access token, or a user access token"
                        " that is an owner or developer of the app",
                        100,
                    ),
                )
            data = self.token_data.get(input_token)
            expired = input_token in self._expired
        if data is None or input_token not in self.tokens:
            data = {
                "is_valid": False,
                "scopes": [],
                "error": {"code": 190, "message": "Invalid OAuth access token."},
            }
        elif expired:
            data = {**data, "is_valid": False, "error": {"code": 190, "subcode": 463}}
        return self._answer(200, {"data": data})

    def _describe(self, object_id: str, allowed: set[str] | None) -> Response:
        if allowed is not None and object_id not in allowed:
            return self._answer(
                400,
                _error(
                    f"Unsupported get request. Object with ID '{object_id}' does not exist,"
                    " cannot be loaded due to missing permissions, or does not support this"
                    " operation.",
                    100,
                    subcode=33,
                ),
            )
        if object_id in self.pages:
            return self._answer(200, {"id": object_id, "name": self.pages[object_id]})
        return self._answer(200, {"id": object_id, "username": self.ig_users[object_id]})

    # Pages

    def _post_feed(self, page_id: str, params: dict[str, str]) -> Response:
        message, link = params.get("message", ""), params.get("link")
        if not message and not link:
            return self._answer(400, _error("(#100) Missing message or attachment", 100))
        with self._state:
            recent = [p for p in self.posts if p.page_id == page_id][-self.duplicate_window :]
            if message and any(p.message == message for p in recent):
                return self._answer(400, _error("(#506) Duplicate status message", 506))
            post = Post(f"{page_id}_{self._next_id()}", page_id, message, link, time.time())
            self.posts.append(post)
        return self._answer(200, {"id": post.id})

    def _read_feed(self, page_id: str, params: dict[str, str]) -> Response:
        limit = int(params.get("limit") or 25)
        with self._state:
            posts = [p for p in self.posts if p.page_id == page_id][::-1][:limit]
        return self._answer(
            200,
            {
                "data": [{"id": p.id, "message": p.message, "created_time": p.at} for p in posts],
                "paging": {},
            },
        )

    # Instagram

    def _create_container(self, ig_user_id: str, params: dict[str, str]) -> Response:
        image_url, caption = params.get("image_url"), params.get("caption", "")
        if not image_url:
            return self._answer(400, _error("(#100) The parameter image_url is required", 100))
        if len(caption) > 2200:
            return self._answer(
                400, _error("(#100) Param caption must be at most 2200 characters long.", 100)
            )
        image = self._fetch_jpeg(image_url)
        if image is None:
            return self._answer(
                400,
                _error(
                    "Only photo or video can be accepted as media type.",
                    9004,
                    subcode=2207052,
                    type_="OAuthException",
                ),
            )
        with self._state:
            container = Container(
                self._next_id(), ig_user_id, image_url, caption, image, self.processing_polls
            )
            if self.processing_seconds is not None:
                container.ready_at = time.monotonic() + self.processing_seconds
            elif container.polls_left <= 0:
                container.status = "FINISHED"
            self.containers[container.id] = container
        return self._answer(200, {"id": container.id})

    def _fetch_jpeg(self, url: str) -> bytes | None:
        try:
            response = requests.get(url, timeout=5)
        except requests.RequestException as exc:
            self.fetches.append((url, 0, type(exc).__name__))
            return None
        content_type = response.headers.get("Content-Type", "")
        self.fetches.append((url, response.status_code, content_type))
        if response.status_code != 200 or not content_type.startswith("image/jpeg"):
            return None
        try:
            with Image.open(io.BytesIO(response.content)) as image:
                if image.format != "JPEG":
                    return None
                image.verify()
        except Exception:
            return None
        return response.content

    def _container_status(self, object_id: str) -> Response:
        with self._state:
            container = self.containers.get(object_id)
            if container is None:
                return self._answer(
                    400,
                    _error(
                        f"Unsupported get request. Object with ID '{object_id}' does not exist",
                        100,
                        subcode=33,
                    ),
                )
            if container.status == "IN_PROGRESS":
                if container.ready_at is not None:
                    if time.monotonic() >= container.ready_at:
                        container.status = "FINISHED"
                else:
                    container.polls_left -= 1
                    if container.polls_left < 0:
                        container.status = "FINISHED"
            return self._answer(200, {"status_code": container.status, "id": container.id})

    def _publish(self, ig_user_id: str, params: dict[str, str]) -> Response:
        creation_id = params.get("creation_id", "")
        lose = False
        with self._state:
            container = self.containers.get(creation_id)
            if container is None or container.ig_user_id != ig_user_id:
                return self._answer(400, _error("Media ID is not available", 9007, subcode=2207006))
            if container.status == "PUBLISHED":
                return self._answer(
                    400, _error("The media has already been published", 9007, subcode=2207006)
                )
            if container.status != "FINISHED":
                return self._answer(
                    400,
                    _error(
                        "The media is not ready for publishing, please wait for a moment",
                        9007,
                        subcode=2207027,
                    ),
                )
            since = time.time() - 86400
            used = sum(1 for m in self.media if m.ig_user_id == ig_user_id and m.at >= since)
            if used >= self.quota_total:
                return self._answer(
                    400,
                    _error("Application request limit reached", 9, subcode=2207042),
                )
            media = Media(self._next_id(), ig_user_id, container.id, container.caption, time.time())
            self.media.append(media)
            container.status = "PUBLISHED"
            container.media_id = media.id
            if self._lose_publish_answers:
                self._lose_publish_answers -= 1
                lose = True
        if lose:
            # Published, but the answer comes after the client gave up.
            self._stopping.wait(30)
        return self._answer(200, {"id": media.id})

    def _publishing_limit(self, ig_user_id: str) -> Response:
        since = time.time() - 86400
        with self._state:
            used = sum(1 for m in self.media if m.ig_user_id == ig_user_id and m.at >= since)
        return self._answer(
            200,
            {
                "data": [
                    {
                        "quota_usage": used,
                        "config": {"quota_total": self.quota_total, "quota_duration": 86400},
                    }
                ]
            },
        )

    # Plumbing

    def _answer(self, status: int, body: Any) -> Response:
        return Response(status, body, self._usage_headers(self.usage, self.regain_minutes))

    @staticmethod
    def _usage_headers(usage: dict[str, int], regain_minutes: int) -> dict[str, str]:
        buc = {
            "1000000000001": [
                {
                    "type": "pages",
                    **usage,
                    "estimated_time_to_regain_access": regain_minutes,
                }
            ]
        }
        return {"X-App-Usage": json.dumps(usage), "X-Business-Use-Case-Usage": json.dumps(buc)}

    @staticmethod
    def _token(request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        for scheme in ("Bearer ", "OAuth "):
            if header.startswith(scheme):
                return header[len(scheme) :].strip() or None
        values = request.query.get("access_token") or []
        if values:
            return values[-1]
        form = request.form or {}
        return form.get("access_token")

    @staticmethod
    def _params(request: Request) -> dict[str, str]:
        params = {k: v[-1] for k, v in request.query.items() if v}
        params.update(request.form or {})
        if isinstance(request.json, dict):
            params.update({k: str(v) for k, v in request.json.items()})
        return params

    def _next_id(self) -> str:
        return str(next(self._ids))


def _error(message: str, code: int, *, subcode: int | None = None, type_: str = "OAuthException"):
    error: dict[str, Any] = {
        "message": message,
        "type": type_,
        "code": code,
        "fbtrace_id": "AbCdEfGhIjK",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}
