"""The Facebook Page adapter against a fake Graph API."""

from __future__ import annotations

import pytest

from bridge.channels import adapter_class
from bridge.channels.base import (
    OutcomeUnknownError,
    PermanentError,
    RetryableError,
    SendResult,
    ThrottledError,
)
from bridge.channels.facebook_page import (
    POLICY_BLOCK_WAIT,
    THROTTLE_WAIT,
    Adapter,
    GraphError,
    Usage,
    classify_graph_error,
)
from bridge.settings import Settings
from tests.fakes.graph import FB_TOKEN, FakeGraph

PAGE = "100000000000101"
LINK = "https://wadul.pacitankab.go.id/aduan/WDL-2026-000101"
TEXT = f"📢 Aduan warga #WDL-2026-000101\nJalan berlubang\n\nSelengkapnya: {LINK}"


@pytest.fixture
def graph():
    with FakeGraph() as fake:
        yield fake


def adapter_for(url: str, **extra) -> Adapter:
    return Adapter(Settings(sandbox=True, graph_url=url, **extra))


@pytest.fixture
def message(make_message):
    saved: list[dict] = []

    def make(**overrides):
        msg = make_message(
            kind="facebook_page",
            target=PAGE,
            text=TEXT,
            payload={"type": "complaint.public", "link": LINK},
            token=FB_TOKEN,
            checkpoint=lambda progress: saved.append(dict(progress)),
        )
        for key, value in overrides.items():
            setattr(msg, key, value)
        return msg

    make.saved = saved
    return make


def test_registered_as_public():
    assert adapter_class("facebook_page") is Adapter
    assert Adapter.public is True and Adapter.max_length == 5000


def test_posts_the_exact_request(graph, message):
    msg = message()
    result = adapter_for(graph.url).send(msg)
    request = graph.last
    assert (request.method, request.path) == ("POST", f"/v24.0/{PAGE}/feed")
    assert request.headers["Authorization"] == f"Bearer {FB_TOKEN}"
    assert request.form == {"message": TEXT, "link": LINK}
    assert "access_token" not in request.text  # the token never travels in the body or URL
    (post,) = graph.page_posts(PAGE)
    assert result == SendResult(external_id=post.id)
    assert message.saved == [{"post_requested": True}]


def test_high_usage_slows_the_target_down_before_the_limit(graph, message):
    graph.set_usage(79)
    assert adapter_for(graph.url).send(message()).slow_down is None
    graph.set_usage(85)
    assert adapter_for(graph.url).send(message(text=TEXT + " 2")).slow_down == 600
    graph.set_usage(92, regain_minutes=45)
    assert adapter_for(graph.url).send(message(text=TEXT + " 3")).slow_down == 45 * 60


def test_usage_parses_every_header():
    usage = Usage()
    usage.read(
        {
            "X-App-Usage": '{"call_count": 12, "total_cputime": 81, "total_time": 30}',
            "X-Business-Use-Case-Usage": '{"123": [{"type": "pages", "call_count": 20,'
            ' "total_cputime": 5, "total_time": 5, "estimated_time_to_regain_access": 3}]}',
            "X-Page-Usage": "not json",
        }
    )
    assert (usage.percent, usage.regain_seconds) == (81.0, 180.0)
    assert usage.slow_down() == 600


def test_bad_token_is_permanent(graph, message):
    with pytest.raises(PermanentError, match="access token invalid") as caught:
        adapter_for(graph.url).send(message(token="wrong-token"))
    assert "wrong-token" not in caught.value.reason
    assert graph.page_posts(PAGE) == []


@pytest.mark.parametrize("code", [4, 17, 32, 341, 613, 80001])
def test_throttling_codes_wait(graph, message, code):
    graph.throttle_next(code)
    with pytest.raises(ThrottledError, match=f"#{code}") as caught:
        adapter_for(graph.url).send(message())
    assert caught.value.retry_after >= THROTTLE_WAIT
    graph.throttle_next(code, regain_minutes=90)
    with pytest.raises(ThrottledError) as caught:
        adapter_for(graph.url).send(message())
    assert caught.value.retry_after == 90 * 60


@pytest.mark.parametrize("code", [1, 2])
def test_transient_codes_retry(graph, message, code):
    graph.fail_next(1, status=500, body={"error": {"message": "Temporary", "code": code}})
    with pytest.raises(RetryableError) as caught:
        adapter_for(graph.url).send(message())
    assert not isinstance(caught.value, ThrottledError)


def test_server_error_without_error_object_retries(graph, message):
    graph.fail_next(1, status=502, body="<html>Bad Gateway</html>")
    with pytest.raises(RetryableError, match="server error 502"):
        adapter_for(graph.url).send(message())


def test_policy_block_waits_hours_and_posts_nothing(graph, message):
    # Meta's error guide: 368 "Temporarily blocked for policies violations" - wait and retry.
    graph.fail_next(
        1,
        status=400,
        body={
            "error": {
                "message": "It looks like you were misusing this feature by going too fast.",
                "type": "OAuthException",
                "code": 368,
                "error_subcode": 1390008,
                "fbtrace_id": "AbCdEfGhIjK",
            }
        },
    )
    msg = message()
    with pytest.raises(ThrottledError, match="temporarily blocked by Meta") as caught:
        adapter_for(graph.url).send(msg)
    assert caught.value.retry_after == POLICY_BLOCK_WAIT == 6 * 3600
    assert "#368/1390008" in caught.value.reason
    # A refusal: the next attempt posts straight away instead of searching the feed first.
    assert msg.progress == {"post_requested": False}
    assert graph.page_posts(PAGE) == []


def _graph_error(code: int, status: int = 400) -> GraphError:
    return GraphError(status, code, None, "blocked", "OAuthException", "", False)


def test_policy_block_and_application_limit_are_waits_not_dead_ends():
    usage = Usage()
    block = classify_graph_error("instagram", _graph_error(368), usage)
    limit = classify_graph_error("instagram", _graph_error(341), usage)
    assert isinstance(block, ThrottledError) and block.retry_after == POLICY_BLOCK_WAIT
    assert isinstance(limit, ThrottledError) and limit.retry_after == THROTTLE_WAIT
    # When Meta reports a longer time to regain access, that wins.
    usage.regain_seconds = 9 * 3600
    assert classify_graph_error("x", _graph_error(368), usage).retry_after == 9 * 3600
    assert classify_graph_error("x", _graph_error(341), usage).retry_after == 9 * 3600
    # Neighbouring codes keep their meaning.
    assert isinstance(classify_graph_error("x", _graph_error(200, 403), Usage()), PermanentError)
    assert isinstance(classify_graph_error("x", _graph_error(190), Usage()), PermanentError)


def test_duplicate_of_our_own_post_counts_as_posted(graph, message):
    first = adapter_for(graph.url).send(message())
    # A second attempt with a fresh progress (e.g. another worker's copy of the row).
    second = adapter_for(graph.url).send(message(progress={}))
    assert second.external_id == first.external_id
    assert len(graph.page_posts(PAGE)) == 1
    assert [r.method for r in graph.requests] == ["POST", "POST", "GET"]


def test_duplicate_we_cannot_find_needs_review(graph, message):
    graph.fail_next(
        1, status=400, body={"error": {"message": "(#506) Duplicate status message", "code": 506}}
    )
    with pytest.raises(OutcomeUnknownError, match="duplicate"):
        adapter_for(graph.url).send(message())


def test_lost_answer_then_redelivery_finds_the_post_instead_of_posting_again(graph, message):
    graph.delay_next(1.5)  # Graph posts it, but only after the client gave up
    adapter = adapter_for(graph.url, http_timeout=0.5)
    msg = message()
    with pytest.raises(OutcomeUnknownError):
        adapter.send(msg)
    graph.wait_until(lambda: len(graph.posts) == 1, 5, "the delayed post")
    result = adapter_for(graph.url).send(message(progress=dict(msg.progress)))
    assert result.external_id == graph.page_posts(PAGE)[0].id
    assert len(graph.page_posts(PAGE)) == 1


def test_earlier_attempt_that_did_not_post_is_posted_after_checking(graph, message):
    result = adapter_for(graph.url).send(message(progress={"post_requested": True}))
    assert [r.method for r in graph.requests] == ["GET", "POST"]
    assert result.external_id == graph.page_posts(PAGE)[0].id
