"""The Instagram adapter against a fake Graph API that really fetches the card over HTTP."""

from __future__ import annotations

import types

import pytest

from bridge.channels import adapter_class
from bridge.channels.base import (
    NotYetError,
    OutcomeUnknownError,
    PermanentError,
    RetryableError,
    SendResult,
    ThrottledError,
)
from bridge.channels.facebook_page import POLICY_BLOCK_WAIT
from bridge.channels.instagram import CHECK_AFTER, QUOTA_WAIT, Adapter
from bridge.public import public_summary, render_card
from bridge.settings import Settings
from tests.fakes.graph import IG_TOKEN, FakeGraph
from tests.fakes.server import FakeServer, Hang, Request, Response

IG_USER = "17841400000000101"
CAPTION = "📢 Aduan warga #WDL-2026-000101\nJalan berlubang\n\nSelengkapnya: https://x.test/a"


class CardHost(FakeServer):
    """Serves one rendered card, like the bridge's card route."""

    def __init__(self) -> None:
        super().__init__()
        complaint = types.SimpleNamespace(
            wadule_id="WDL-2026-000101",
            title="Jalan berlubang",
            body="Isi.",
            category="jalan",
            location=None,
            reporter=None,
            anonymous=True,
            confidential=False,
        )
        summary = public_summary(complaint, opd_slug="dpupr", opd_name="Dinas PU", link="x")
        self.card = render_card(summary)

    def handle(self, request: Request) -> Response:
        if request.path == "/public/cards/WDL-2026-000101.jpg":
            return Response(200, self.card, {"Content-Type": "image/jpeg"})
        return Response(404, "not found")


@pytest.fixture
def graph():
    with FakeGraph(processing_polls=1) as fake:
        yield fake


@pytest.fixture
def host():
    with CardHost() as fake:
        yield fake


def adapter_for(url: str, **extra) -> Adapter:
    return Adapter(Settings(sandbox=True, graph_url=url, **extra))


def send_until_done(adapter, message, *, looks: int = 10):
    """Send as the engine would: after each "not yet", again with the progress it saved."""
    for _ in range(looks):
        try:
            return adapter.send(message)
        except NotYetError:
            continue
    raise AssertionError(f"still not done after {looks} attempts")


@pytest.fixture
def message(make_message, host):
    def make(progress=None, **overrides):
        saved: list[dict] = []
        fields = {
            "kind": "instagram",
            "target": IG_USER,
            "text": CAPTION,
            "payload": {
                "type": "complaint.public",
                "image_url": f"{host.url}/public/cards/WDL-2026-000101.jpg",
            },
            "token": IG_TOKEN,
            "checkpoint": lambda p: saved.append(dict(p)),
            "progress": dict(progress or {}),
        }
        msg = make_message(**(fields | overrides))
        msg.saved = saved
        return msg

    return make


def calls(graph) -> list[str]:
    return [f"{r.method} {r.path.split('/', 2)[2]}" for r in graph.requests]


def test_registered_as_public():
    assert adapter_class("instagram") is Adapter
    assert Adapter.public is True and Adapter.max_length == 2200


def test_publishes_in_three_steps_without_waiting_in_between(graph, host, message):
    msg = message()
    adapter = adapter_for(graph.url)
    # Step 1, and a first look: Meta is still processing. Nobody waits for it.
    with pytest.raises(NotYetError) as caught:
        adapter.send(msg)
    assert caught.value.check_after == CHECK_AFTER[0]
    (container,) = graph.containers_of(IG_USER)
    # The engine comes back with the saved progress: steps 2 and 3.
    result = adapter.send(msg)
    (media,) = graph.published(IG_USER)
    assert result == SendResult(external_id=media.id)
    assert calls(graph) == [
        f"GET {IG_USER}/content_publishing_limit",
        f"POST {IG_USER}/media",
        f"GET {container.id}",
        f"GET {IG_USER}/content_publishing_limit",
        f"GET {container.id}",
        f"POST {IG_USER}/media_publish",
    ]
    create = graph.requests[1]
    assert create.headers["Authorization"] == f"Bearer {IG_TOKEN}"
    assert create.form == {"image_url": msg.payload["image_url"], "caption": CAPTION}
    assert graph.requests[-1].form == {"creation_id": container.id}
    assert container.image == host.card  # Meta's side really fetched the JPEG
    base = {"container_id": container.id}
    assert msg.saved == [
        base | {"publish_requested": False, "checks": 0},
        base | {"publish_requested": False, "checks": 1},
        base | {"publish_requested": True, "checks": 1},
        base | {"publish_requested": True, "checks": 1, "media_id": media.id},
    ]


def test_a_container_ready_at_once_is_published_in_one_attempt(graph, message):
    graph.processing_polls = 0
    result = adapter_for(graph.url).send(message())
    assert result.external_id == graph.published(IG_USER)[0].id


def test_looks_again_later_and_later_then_retries_with_the_same_container(graph, message):
    graph.processing_polls = 50
    adapter = adapter_for(graph.url)
    msg = message()
    waits = []
    for _ in CHECK_AFTER:
        with pytest.raises(NotYetError) as caught:
            adapter.send(msg)
        waits.append(caught.value.check_after)
    assert waits == list(CHECK_AFTER)
    with pytest.raises(RetryableError, match=f"still IN_PROGRESS after {len(CHECK_AFTER)} looks"):
        adapter.send(msg)
    assert msg.progress["checks"] == 0 and not msg.progress["publish_requested"]
    assert len(graph.containers_of(IG_USER)) == 1


def test_a_failed_status_poll_does_not_create_a_second_container(graph, message):
    msg = message()
    adapter = adapter_for(graph.url)
    # The quota check and the creation pass; the first status poll fails.
    original = graph.handle
    seen = {"polls": 0}

    def failing(request):
        if request.method == "GET" and request.path.count("/") == 2 and not seen["polls"]:
            seen["polls"] += 1
            return Response(500, {"error": {"message": "An unknown error", "code": 1}})
        return original(request)

    graph.handle = failing
    with pytest.raises(RetryableError):
        adapter.send(msg)
    assert len(graph.containers_of(IG_USER)) == 1
    result = send_until_done(adapter, message(progress=msg.progress))
    assert len(graph.containers_of(IG_USER)) == 1
    assert result.external_id == graph.published(IG_USER)[0].id


def test_an_expired_container_is_replaced(graph, message):
    graph.processing_polls = 50
    adapter = adapter_for(graph.url)
    msg = message()
    with pytest.raises(NotYetError):
        adapter.send(msg)
    graph.expire(msg.progress["container_id"])
    graph.processing_polls = 0
    result = adapter.send(message(progress=msg.progress))
    old, new = graph.containers_of(IG_USER)
    assert (old.status, new.status) == ("EXPIRED", "PUBLISHED")
    assert result.external_id == new.media_id


def test_timeout_on_publish_needs_review_and_redelivery_never_posts_twice(graph, message):
    graph.lose_publish_answer()
    msg = message()
    with pytest.raises(OutcomeUnknownError, match="no answer"):
        send_until_done(adapter_for(graph.url, http_timeout=1), msg)
    assert msg.progress["publish_requested"] is True
    assert len(graph.published(IG_USER)) == 1
    # A person redelivers: the container says PUBLISHED, so nothing is published again.
    result = adapter_for(graph.url).send(message(progress=msg.progress))
    assert result == SendResult(external_id=None)
    assert len(graph.published(IG_USER)) == 1
    assert calls(graph)[-1].startswith("GET ")


def test_redelivery_after_a_publish_that_never_happened_publishes_once(graph, message):
    graph.processing_polls = 0
    adapter = adapter_for(graph.url, http_timeout=1)
    original_post = adapter.post

    def post(url, **kwargs):
        if url.endswith("/media_publish"):
            graph.script(Hang(5))  # the publish request hangs before Meta acts on it
        return original_post(url, **kwargs)

    adapter.post = post
    msg = message()
    with pytest.raises(OutcomeUnknownError):
        adapter.send(msg)
    assert graph.published(IG_USER) == []
    # A person redelivers: the container is still FINISHED, so it is published now, once.
    result = adapter_for(graph.url).send(message(progress=msg.progress))
    (media,) = graph.published(IG_USER)
    assert result.external_id == media.id
    assert len(graph.containers_of(IG_USER)) == 1


def test_full_quota_waits_without_creating_a_container(graph, message):
    graph.fill_quota(IG_USER)
    with pytest.raises(ThrottledError, match="quota used up") as caught:
        adapter_for(graph.url).send(message())
    assert caught.value.retry_after == QUOTA_WAIT
    assert graph.containers_of(IG_USER) == []


def test_quota_error_from_publish_waits_and_keeps_the_container(graph, message):
    graph.fill_quota(IG_USER, graph.quota_total - 1)
    graph.processing_polls = 0
    adapter = adapter_for(graph.url)
    original_post = adapter.post

    def post(url, **kwargs):
        if url.endswith("/media_publish"):
            graph.fill_quota(IG_USER, 1)  # someone else published in between
        return original_post(url, **kwargs)

    adapter.post = post
    msg = message()
    with pytest.raises(ThrottledError, match="2207042") as caught:
        adapter.send(msg)
    assert caught.value.retry_after == QUOTA_WAIT
    assert msg.progress["publish_requested"] is False and msg.progress["container_id"]


def test_policy_block_on_publish_waits_and_keeps_the_container(graph, message):
    graph.processing_polls = 0
    adapter = adapter_for(graph.url)
    original_post = adapter.post

    def post(url, **kwargs):
        if url.endswith("/media_publish"):
            graph.fail_next(
                1,
                status=400,
                body={
                    "error": {
                        "message": "Temporarily blocked for policies violations",
                        "type": "OAuthException",
                        "code": 368,
                        "fbtrace_id": "AbCdEfGhIjK",
                    }
                },
            )
        return original_post(url, **kwargs)

    adapter.post = post
    msg = message()
    with pytest.raises(ThrottledError, match="#368") as caught:
        adapter.send(msg)
    assert caught.value.retry_after == POLICY_BLOCK_WAIT
    # Meta refused the publish: the container is kept and published on the next attempt.
    assert msg.progress["publish_requested"] is False and msg.progress["container_id"]
    assert graph.published(IG_USER) == []


def test_unfetchable_card_is_retryable(graph, message, host):
    msg = message()
    msg.payload = {"image_url": f"{host.url}/public/cards/unknown.jpg"}
    with pytest.raises(RetryableError, match="could not fetch the card"):
        adapter_for(graph.url).send(msg)
    assert graph.fetches[-1][1] == 404


def test_bad_token_is_permanent(graph, message):
    with pytest.raises(PermanentError, match="access token invalid"):
        adapter_for(graph.url).send(message(token="expired"))


def test_throttling_on_any_step_waits(graph, message):
    graph.throttle_next(4, regain_minutes=90)
    with pytest.raises(ThrottledError) as caught:
        adapter_for(graph.url).send(message())
    assert caught.value.retry_after == 90 * 60


def test_missing_image_url_is_permanent(graph, message):
    msg = message()
    msg.payload = {}
    with pytest.raises(PermanentError, match="image"):
        adapter_for(graph.url).send(msg)
