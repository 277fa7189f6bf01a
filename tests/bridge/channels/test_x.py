"""The X adapter and X's weighted length, against a fake X API v2."""

from __future__ import annotations

import time

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.channels import adapter_class
from bridge.channels.base import (
    OutcomeUnknownError,
    PermanentError,
    RetryableError,
    SendResult,
    ThrottledError,
)
from bridge.channels.x import Adapter, weighted_length
from bridge.settings import Settings
from tests.fakes.x_api import X_TOKEN, FakeX, x_length

LINK = "https://wadul.pacitankab.go.id/aduan/WDL-2026-000101"
TEXT = f"📢 Aduan warga #WDL-2026-000101\nJalan berlubang\n\nSelengkapnya: {LINK}"


@pytest.fixture
def x_api():
    with FakeX() as fake:
        yield fake


def adapter_for(url: str) -> Adapter:
    return Adapter(Settings(sandbox=True, x_api_url=url))


@pytest.fixture
def message(make_message):
    def make(progress=None, **overrides):
        fields = {
            "kind": "x",
            "target": "dpupr_pacitan",
            "text": TEXT,
            "payload": {"type": "complaint.public"},
            "token": X_TOKEN,
            "progress": dict(progress or {}),
        }
        return make_message(**(fields | overrides))

    return make


def test_registered_as_public():
    assert adapter_class("x") is Adapter
    assert Adapter.public is True and Adapter.max_length == 280


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("abc", 3),
        ("é", 1),  # U+00E9 is in the light range
        ("e\u0301", 1),  # NFD: normalised to one light character first
        ("道路", 4),
        ("👍", 2),
        ("\u2019", 1),  # right single quotation mark
        (LINK, 23),
        ("https://a.b/c", 23),
        ("lihat wadul.pacitankab.go.id ya", 6 + 23 + 3),
        (f"{LINK} {LINK}", 47),
        ("Rp 500.000", 10),
    ],
)
def test_weighted_length(text, length):
    assert weighted_length(text) == length


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_never_counts_less_than_the_fake(text):
    assert weighted_length(text) >= x_length(text)


def test_posts_the_exact_request(x_api, message):
    msg = message()
    result = adapter_for(x_api.url).send(msg)
    request = x_api.last
    assert (request.method, request.path) == ("POST", "/2/tweets")
    assert request.headers["Authorization"] == f"Bearer {X_TOKEN}"
    assert request.json == {"text": TEXT}
    (tweet,) = x_api.tweets
    assert result == SendResult(external_id=tweet.id)
    assert msg.progress == {"post_requested": True}


def test_rate_limit_waits_until_the_reset(x_api, message):
    x_api.limit = 1
    adapter_for(x_api.url).send(message())
    with pytest.raises(ThrottledError) as caught:
        adapter_for(x_api.url).send(message(text=TEXT + " 2"))
    assert 890 <= caught.value.retry_after <= 900


def test_last_call_of_a_window_slows_down(x_api, message):
    x_api.limit = 1
    assert adapter_for(x_api.url).send(message()).slow_down > 800


def test_reset_header_in_epoch_seconds(x_api, message):
    reset = int(time.time()) + 120
    x_api.fail_next(
        1,
        status=429,
        body={"title": "Too Many Requests", "status": 429},
        headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
    )
    with pytest.raises(ThrottledError) as caught:
        adapter_for(x_api.url).send(message())
    assert 110 <= caught.value.retry_after <= 121


def test_bad_token_is_permanent(x_api, message):
    msg = message(token="revoked")
    with pytest.raises(PermanentError, match="401") as caught:
        adapter_for(x_api.url).send(msg)
    assert "revoked" not in caught.value.reason
    assert msg.progress == {"post_requested": False}


def test_other_forbidden_is_permanent(x_api, message):
    x_api.fail_next(
        1,
        status=403,
        body={"detail": "You are not permitted to perform this action.", "status": 403},
    )
    with pytest.raises(PermanentError, match="not permitted"):
        adapter_for(x_api.url).send(message())


def test_server_error_retries(x_api, message):
    x_api.fail_next(1, status=503, body={"title": "Service Unavailable"})
    with pytest.raises(RetryableError, match="503"):
        adapter_for(x_api.url).send(message())


def test_duplicate_after_our_own_earlier_attempt_counts_as_posted(x_api, message):
    first = message()
    adapter_for(x_api.url).send(first)
    again = adapter_for(x_api.url).send(message(progress=first.progress))
    assert again == SendResult(external_id=None)
    assert len(x_api.tweets) == 1


def test_duplicate_with_no_attempt_on_record_needs_review(x_api, message):
    adapter_for(x_api.url).send(message())
    with pytest.raises(OutcomeUnknownError, match="duplicate"):
        adapter_for(x_api.url).send(message())


def test_too_long_text_is_refused_before_sending(x_api, message):
    with pytest.raises(PermanentError, match="280"):
        adapter_for(x_api.url).send(message(text="a" * 281))
    assert x_api.requests == []


def test_the_fake_refuses_what_x_refuses(x_api):
    response = requests.post(
        f"{x_api.url}/2/tweets",
        json={"text": "道" * 141},
        headers={"Authorization": f"Bearer {X_TOKEN}"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Your Tweet text is too long."
    fits = requests.post(
        f"{x_api.url}/2/tweets",
        json={"text": "道" * 128 + " " + LINK},
        headers={"Authorization": f"Bearer {X_TOKEN}"},
        timeout=5,
    )
    assert fits.status_code == 201 and "https://t.co/" in fits.json()["data"]["text"]
