"""The WhatsApp group adapter against fake WAHA and Fonnte servers."""

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
from bridge.channels.whatsapp_group import (
    Adapter,
    classify_fonnte_reason,
    fonnte_message_id,
    waha_message_id,
)
from bridge.settings import Settings
from tests.fakes.fonnte import DEFAULT_TOKEN, FakeFonnte
from tests.fakes.server import free_port
from tests.fakes.waha import DEFAULT_API_KEY, FakeWaha

GROUP = "120363000000000101@g.us"


def waha_adapter(url: str | None, api_key: str | None = DEFAULT_API_KEY, **extra) -> Adapter:
    env = {"BRIDGE_SANDBOX": "1", "BRIDGE_WHATSAPP_PROVIDER": "waha"}
    if url:
        env["BRIDGE_WAHA_URL"] = url
    if api_key:
        env["BRIDGE_WAHA_API_KEY"] = api_key
    env.update(extra)
    return Adapter(Settings.from_env(env))


def fonnte_adapter(url: str, token: str | None = DEFAULT_TOKEN) -> Adapter:
    return Adapter(
        Settings(sandbox=True, whatsapp_provider="fonnte", fonnte_url=url, fonnte_token=token)
    )


def test_registered_under_its_kind():
    assert adapter_class("whatsapp_group") is Adapter
    assert Adapter.kind == "whatsapp_group"
    assert Adapter.public is False


# WAHA: the request


def test_waha_sends_exact_request(fake_waha: FakeWaha, make_message):
    message = make_message()
    result = waha_adapter(fake_waha.url).send(message)

    request = fake_waha.last
    assert request.method == "POST"
    assert request.path == "/api/sendText"
    assert request.headers["X-Api-Key"] == DEFAULT_API_KEY
    assert request.content_type == "application/json"
    assert request.json == {
        "session": "default",
        "chatId": GROUP,
        "text": message.text,
        "linkPreview": False,
    }
    [accepted] = fake_waha.received(GROUP)
    assert accepted.text == message.text
    assert result == SendResult(external_id=f"true_{GROUP}_{accepted.id}")


def test_waha_uses_configured_session_and_trailing_slash_url(make_message):
    with FakeWaha(sessions={"pacitan": "WORKING"}) as fake:
        adapter = waha_adapter(fake.url + "/", BRIDGE_WAHA_SESSION="pacitan")
        adapter.send(make_message())
        assert fake.last.path == "/api/sendText"
        assert fake.last.json["session"] == "pacitan"


def test_waha_without_api_key_sends_no_header(make_message):
    with FakeWaha(api_key=None) as fake:
        waha_adapter(fake.url, api_key=None).send(make_message())
        assert "X-Api-Key" not in fake.last.headers
        assert len(fake.messages) == 1


@pytest.mark.parametrize(
    ("engine", "expected"),
    [
        ("WEBJS", "true_{chat}_{id}"),
        ("NOWEB", "{id}"),
        # GOWS ends a group message's id with its sender: the session's own number.
        ("GOWS", "true_{chat}_{id}_6281200000000@c.us"),
        ("EMPTY", None),
        ("TEXT", None),
    ],
)
def test_waha_message_id_for_each_engine(fake_waha: FakeWaha, make_message, engine, expected):
    fake_waha.set_engine(engine)
    result = waha_adapter(fake_waha.url).send(make_message())
    [accepted] = fake_waha.received(GROUP)
    if expected is None:
        assert result.external_id is None
    else:
        assert result.external_id == expected.format(chat=GROUP, id=accepted.id)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, None),
        ("", None),
        ([], None),
        ("true_x@g.us_ABC", None),
        ({}, None),
        ({"id": None}, None),
        ({"id": ""}, None),
        ({"id": 17}, None),
        ({"id": {"_serialized": "true_x@g.us_A"}}, "true_x@g.us_A"),
        ({"id": {"id": "A1"}}, "A1"),
        ({"id": "true_x@g.us_B"}, "true_x@g.us_B"),
        ({"key": {"id": "C1"}}, "C1"),
        ({"key": "C1"}, None),
        ({"_data": {"id": {"_serialized": "D1"}}}, "D1"),
        ({"_data": {"key": {"id": "E1"}}}, "E1"),
        ({"_data": {"Info": {"ID": "F1"}}}, "F1"),
        ({"ID": "G1"}, "G1"),
        ({"message": {"id": "H1"}}, "H1"),
        ({"id": "x" * 500}, "x" * 200),
    ],
)
def test_waha_message_id_extraction_never_crashes(body, expected):
    assert waha_message_id(body) == expected


def test_waha_odd_success_bodies_are_sent_without_id(fake_waha: FakeWaha, make_message):
    adapter = waha_adapter(fake_waha.url)
    for body in (b"", b"null", b"[1, 2]", b"{not json", b'"text"'):
        fake_waha.fail_next(status=201, body=body, headers={"Content-Type": "application/json"})
        assert adapter.send(make_message()) == SendResult(external_id=None)
    fake_waha.fail_next(status=200, body={"key": {"id": "BAE5"}})
    assert adapter.send(make_message()).external_id == "BAE5"


# WAHA: errors


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_waha_bad_api_key_is_permanent(fake_waha: FakeWaha, make_message, key):
    with pytest.raises(PermanentError) as caught:
        waha_adapter(fake_waha.url, api_key=key).send(make_message())
    assert caught.value.reason == "waha: bad api key"
    assert fake_waha.last.outcome == 401
    assert fake_waha.messages == []


def test_waha_403_is_bad_api_key(fake_waha: FakeWaha, make_message):
    fake_waha.fail_next(status=403, body={"message": "Forbidden", "statusCode": 403})
    with pytest.raises(PermanentError, match="waha: bad api key"):
        waha_adapter(fake_waha.url).send(make_message())


def test_waha_unknown_session_is_permanent(fake_waha: FakeWaha, make_message):
    adapter = waha_adapter(fake_waha.url, BRIDGE_WAHA_SESSION="nope")
    with pytest.raises(PermanentError) as caught:
        adapter.send(make_message())
    assert caught.value.reason.startswith("waha: not found: We didn't find a session")
    assert "\n" not in caught.value.reason
    assert len(caught.value.reason) < 200


def test_waha_404_without_body_is_permanent(fake_waha: FakeWaha, make_message):
    fake_waha.fail_next(status=404, body=b"")
    with pytest.raises(PermanentError) as caught:
        waha_adapter(fake_waha.url).send(make_message())
    assert caught.value.reason == "waha: not found"


def test_waha_unknown_chat_is_permanent(make_message):
    with (
        FakeWaha(known_chats={"120363000000000999@g.us"}) as fake,
        pytest.raises(PermanentError, match="waha: not found: Chat not found"),
    ):
        waha_adapter(fake.url).send(make_message())


@pytest.mark.parametrize(
    "status",
    [
        "STARTING",
        "SCAN_QR_CODE",
        "PASSKEY_REQUIRED",
        "PASSKEY_CONFIRMATION_REQUIRED",
        "FAILED",
        "STOPPED",
    ],
)
def test_waha_session_not_working_waits_for_an_operator(fake_waha, make_message, status):
    fake_waha.set_session_status(status)
    with pytest.raises(RetryableError) as caught:
        waha_adapter(fake_waha.url).send(make_message())
    assert type(caught.value) is RetryableError
    assert caught.value.retry_after == 60
    assert status in caught.value.reason
    assert fake_waha.last.outcome == 422
    assert fake_waha.last.json is not None  # the request itself was well formed


def test_waha_session_not_working_in_words_only(fake_waha: FakeWaha, make_message):
    fake_waha.fail_next(
        status=422, body={"message": "Session status is not as expected (SCAN_QR_CODE)"}
    )
    with pytest.raises(RetryableError) as caught:
        waha_adapter(fake_waha.url).send(make_message())
    assert caught.value.retry_after == 60
    assert "SCAN_QR_CODE" in caught.value.reason


@pytest.mark.parametrize("status", ["PASSKEY_REQUIRED", "PASSKEY_CONFIRMATION_REQUIRED"])
def test_waha_passkey_states_in_words_only_are_not_read_as_another(fake_waha, make_message, status):
    fake_waha.fail_next(
        status=422, body={"message": f"Session status is not as expected ({status})"}
    )
    with pytest.raises(RetryableError) as caught:
        waha_adapter(fake_waha.url).send(make_message())
    assert type(caught.value) is RetryableError
    assert caught.value.reason == f"waha: session 'default' is {status}, not WORKING"


def test_waha_bad_chat_id_is_permanent(fake_waha: FakeWaha, make_message):
    with pytest.raises(PermanentError) as caught:
        waha_adapter(fake_waha.url).send(make_message(target="6281234"))
    assert caught.value.reason.startswith("waha: refused 422: Invalid chatId")
    assert fake_waha.messages == []


def test_waha_validation_error_is_permanent(fake_waha: FakeWaha, make_message):
    fake_waha.fail_next(
        status=400,
        body={"message": ["text should not be empty"], "error": "Bad Request", "statusCode": 400},
    )
    with pytest.raises(PermanentError) as caught:
        waha_adapter(fake_waha.url).send(make_message())
    assert caught.value.reason == "waha: refused 400: text should not be empty"


def test_waha_429_is_throttled_with_retry_after(fake_waha: FakeWaha, make_message):
    fake_waha.fail_next(status=429, body={"message": "slow down"}, headers={"Retry-After": "7"})
    with pytest.raises(ThrottledError) as caught:
        waha_adapter(fake_waha.url).send(make_message())
    assert caught.value.retry_after == 7


def test_waha_429_without_retry_after(fake_waha: FakeWaha, make_message):
    fake_waha.fail_next(status=429, body=b"")
    with pytest.raises(ThrottledError) as caught:
        waha_adapter(fake_waha.url).send(make_message())
    assert caught.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_waha_5xx_is_retryable(fake_waha: FakeWaha, make_message, status):
    fake_waha.fail_next(
        status=status,
        body={"statusCode": status, "exception": {"message": "server returned error 463"}},
        headers={"Retry-After": "30"},
    )
    with pytest.raises(RetryableError) as caught:
        waha_adapter(fake_waha.url).send(make_message())
    assert type(caught.value) is RetryableError
    assert caught.value.reason == f"waha: server error {status}: server returned error 463"
    assert caught.value.retry_after == 30


def test_waha_redirect_is_permanent_and_not_followed(fake_waha: FakeWaha, make_message):
    fake_waha.fail_next(status=302, headers={"Location": fake_waha.url + "/api/sendText"})
    with pytest.raises(PermanentError, match="redirect 302"):
        waha_adapter(fake_waha.url).send(make_message())
    assert len(fake_waha.requests) == 1


def test_waha_connection_refused_is_retryable(make_message):
    with pytest.raises(RetryableError) as caught:
        waha_adapter(f"http://127.0.0.1:{free_port()}").send(make_message())
    assert type(caught.value) is RetryableError
    assert caught.value.reason == "whatsapp_group: connection refused"


def test_waha_read_timeout_is_outcome_unknown(fake_waha: FakeWaha, make_message):
    adapter = waha_adapter(fake_waha.url)
    adapter.read_timeout = 0.3
    fake_waha.hang_next()
    with pytest.raises(OutcomeUnknownError) as caught:
        adapter.send(make_message())
    assert caught.value.reason == "whatsapp_group: no answer within 0.3s"
    assert fake_waha.last.outcome == "hung"


def test_waha_dropped_connection_is_outcome_unknown(fake_waha: FakeWaha, make_message):
    fake_waha.close_next()
    with pytest.raises(OutcomeUnknownError, match="connection lost after sending"):
        waha_adapter(fake_waha.url).send(make_message())


def test_waha_slow_answer_within_timeout_is_sent(fake_waha: FakeWaha, make_message):
    fake_waha.delay_next(0.2)
    assert waha_adapter(fake_waha.url).send(make_message()).external_id


def test_waha_not_configured(make_message):
    adapter = waha_adapter(None)
    assert adapter.missing_configuration() == "provider not configured"
    with pytest.raises(PermanentError) as caught:
        adapter.send(make_message())
    assert caught.value.reason == "provider not configured"


def test_waha_configured(fake_waha: FakeWaha):
    assert waha_adapter(fake_waha.url).missing_configuration() is None
    # The key is optional: WAHA may run without one.
    assert waha_adapter(fake_waha.url, api_key=None).missing_configuration() is None


# Fonnte


def test_fonnte_sends_exact_form(fake_fonnte: FakeFonnte, make_message):
    message = make_message()
    result = fonnte_adapter(fake_fonnte.url).send(message)

    request = fake_fonnte.last
    assert request.method == "POST"
    assert request.path == "/send"
    assert request.headers["Authorization"] == DEFAULT_TOKEN == "fonnte-test-token"
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form == {"target": GROUP, "message": message.text}
    assert fake_fonnte.texts(GROUP) == [message.text]
    assert result == SendResult(external_id="80367170")


def test_fonnte_wrong_token_is_permanent(fake_fonnte: FakeFonnte, make_message):
    fake_fonnte.token = "another-token"
    with pytest.raises(PermanentError) as caught:
        fonnte_adapter(fake_fonnte.url).send(make_message())
    assert caught.value.reason == "fonnte: invalid token"
    assert fake_fonnte.last.outcome == 200  # Fonnte reports it in the body


def test_fonnte_disconnected_device_is_retryable(fake_fonnte: FakeFonnte, make_message):
    fake_fonnte.device_connected = False
    with pytest.raises(RetryableError) as caught:
        fonnte_adapter(fake_fonnte.url).send(make_message())
    assert type(caught.value) is RetryableError
    assert caught.value.reason == "fonnte: device disconnected"
    assert caught.value.retry_after == 300


def test_fonnte_invalid_target_is_permanent(fake_fonnte: FakeFonnte, make_message):
    with pytest.raises(PermanentError, match="fonnte: invalid target"):
        fonnte_adapter(fake_fonnte.url).send(make_message(target="grup-dpupr"))


def test_fonnte_empty_quota_is_retryable_later(make_message):
    with FakeFonnte(quota=1) as fake:
        adapter = fonnte_adapter(fake.url)
        adapter.send(make_message())
        with pytest.raises(RetryableError) as caught:
            adapter.send(make_message())
    assert caught.value.reason == "fonnte: quota exhausted"
    assert caught.value.retry_after == 3600


@pytest.mark.parametrize(
    ("reason", "error", "text", "retry_after"),
    [
        ("invalid token", PermanentError, "fonnte: invalid token", None),
        ("token invalid", PermanentError, "fonnte: invalid token", None),
        ("credential not found", PermanentError, "fonnte: invalid token", None),
        ("invalid device", PermanentError, "fonnte: invalid token", None),
        (
            "request invalid on disconnected device",
            RetryableError,
            "fonnte: device disconnected",
            300,
        ),
        ("device not connected", RetryableError, "fonnte: device disconnected", 300),
        ("target invalid", PermanentError, "fonnte: invalid target", None),
        ("insufficient quota", RetryableError, "fonnte: quota exhausted", 3600),
        ("out of quota", RetryableError, "fonnte: quota exhausted", 3600),
        ("insufficient balance", RetryableError, "fonnte: quota exhausted", 3600),
        ("input invalid", PermanentError, "fonnte: refused: input invalid", None),
        (
            "please wait 10 seconds",
            ThrottledError,
            "fonnte: rate limited (please wait 10 seconds)",
            60,
        ),
        ("something new", RetryableError, "fonnte: refused: something new", None),
        ("", RetryableError, "fonnte: refused", None),
    ],
)
def test_fonnte_reason_classification(reason, error, text, retry_after):
    classified = classify_fonnte_reason(reason)
    assert type(classified) is error
    assert classified.reason == text
    if retry_after is not None:
        assert classified.retry_after == retry_after


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"Status": True, "id": ["123"]}, "123"),
        ({"status": "true", "id": [456]}, "456"),
        ({"status": True, "id": "789"}, "789"),
        ({"status": True}, None),
        ({"status": True, "id": []}, None),
        ({"status": True, "id": [True]}, None),
    ],
)
def test_fonnte_success_variants(fake_fonnte: FakeFonnte, make_message, body, expected):
    fake_fonnte.fail_next(status=200, body=body)
    assert fonnte_adapter(fake_fonnte.url).send(make_message()).external_id == expected


def test_fonnte_message_id_helper():
    assert fonnte_message_id(["80367170", "80367171"]) == "80367170"
    assert fonnte_message_id(None) is None
    assert fonnte_message_id({"id": 1}) is None


@pytest.mark.parametrize(
    "body", [b"", b"<html>ok</html>", b"[]", {"detail": "queued?"}, {"status": None}]
)
def test_fonnte_2xx_without_verdict_is_outcome_unknown(fake_fonnte, make_message, body):
    fake_fonnte.fail_next(status=200, body=body)
    with pytest.raises(OutcomeUnknownError, match="fonnte: unexpected answer"):
        fonnte_adapter(fake_fonnte.url).send(make_message())


def test_fonnte_status_false_in_capitals(fake_fonnte: FakeFonnte, make_message):
    fake_fonnte.fail_next(status=200, body={"Status": False, "Reason": "target invalid"})
    with pytest.raises(PermanentError, match="fonnte: invalid target"):
        fonnte_adapter(fake_fonnte.url).send(make_message())


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, RetryableError), (503, RetryableError), (401, PermanentError), (400, PermanentError)],
)
def test_fonnte_http_errors(fake_fonnte: FakeFonnte, make_message, status, error):
    fake_fonnte.fail_next(status=status, body="error")
    with pytest.raises(error) as caught:
        fonnte_adapter(fake_fonnte.url).send(make_message())
    assert type(caught.value) is error


def test_fonnte_429_is_throttled(fake_fonnte: FakeFonnte, make_message):
    fake_fonnte.fail_next(status=429, headers={"Retry-After": "12"})
    with pytest.raises(ThrottledError) as caught:
        fonnte_adapter(fake_fonnte.url).send(make_message())
    assert caught.value.retry_after == 12


def test_fonnte_read_timeout_is_outcome_unknown(fake_fonnte: FakeFonnte, make_message):
    adapter = fonnte_adapter(fake_fonnte.url)
    adapter.read_timeout = 0.3
    fake_fonnte.hang_next()
    with pytest.raises(OutcomeUnknownError):
        adapter.send(make_message())


def test_fonnte_connection_refused_is_retryable(make_message):
    with pytest.raises(RetryableError, match="connection refused"):
        fonnte_adapter(f"http://127.0.0.1:{free_port()}").send(make_message())


def test_fonnte_not_configured(make_message):
    adapter = fonnte_adapter("https://api.fonnte.com", token=None)
    assert adapter.missing_configuration() == "provider not configured"
    with pytest.raises(PermanentError, match=r"^provider not configured$"):
        adapter.send(make_message())


def test_fonnte_ignores_waha_settings(fake_fonnte: FakeFonnte):
    # The provider switch decides which configuration counts.
    settings = Settings(whatsapp_provider="fonnte", waha_url=None, fonnte_token="t")
    assert Adapter(settings).missing_configuration() is None
    settings = Settings(whatsapp_provider="waha", waha_url=None, fonnte_token="t")
    assert Adapter(settings).missing_configuration() == "provider not configured"


def test_reasons_never_carry_the_message_text(fake_waha: FakeWaha, make_message):
    message = make_message(text="Pelapor: Budi Santoso 081300000106")
    fake_waha.fail_next(status=400, body={"message": "bad"})
    with pytest.raises(PermanentError) as caught:
        waha_adapter(fake_waha.url).send(message)
    assert "Budi" not in caught.value.reason
    assert "0813" not in caught.value.reason
    assert "Budi" not in repr(message)


# The fakes themselves: strict like the real APIs, and safe under concurrent senders.


def test_fake_waha_is_strict(fake_waha: FakeWaha):
    import requests

    url = fake_waha.url + "/api/sendText"
    key = {"X-Api-Key": DEFAULT_API_KEY}
    as_form = requests.post(
        url, data={"session": "default", "chatId": GROUP, "text": "x"}, headers=key
    )
    assert as_form.status_code == 400
    missing = requests.post(url, json={"session": "default", "chatId": GROUP}, headers=key)
    assert missing.json()["message"] == ["text should not be empty"]
    fake_waha.set_session_status("SCAN_QR_CODE")
    not_ready = requests.post(
        url, json={"session": "default", "chatId": GROUP, "text": "x"}, headers=key
    )
    assert not_ready.status_code == 422
    assert not_ready.json() == {
        "error": "Session status is not as expected. Try again later or restart the session",
        "session": "default",
        "status": "SCAN_QR_CODE",
        "expected": ["WORKING"],
    }
    session = requests.get(fake_waha.url + "/api/sessions/default", headers=key).json()
    assert session["status"] == "SCAN_QR_CODE"
    assert fake_waha.messages == []


def test_fake_waha_lid_api_answers_like_waha(fake_waha: FakeWaha):
    import requests

    key = {"X-Api-Key": DEFAULT_API_KEY}
    fake_waha.lids["139884413590101@lid"] = "6281200000101@c.us"
    base = fake_waha.url + "/api/default/lids/"
    assert requests.get(base + "139884413590101%40lid", headers=key).json() == {
        "lid": "139884413590101@lid",
        "pn": "6281200000101@c.us",
    }
    # Without the "@lid" it is meant; an unknown LID is a 200 with no number.
    assert requests.get(base + "139884413590101", headers=key).json()["pn"] == "6281200000101@c.us"
    unknown = requests.get(base + "1%40lid", headers=key)
    assert (unknown.status_code, unknown.json()) == (200, {"lid": "1@lid", "pn": None})
    assert requests.get(base + "628%40c.us", headers=key).status_code == 422
    assert requests.get(base + "1%40lid").status_code == 401
    fake_waha.set_session_status("PASSKEY_REQUIRED")
    assert requests.get(base + "1%40lid", headers=key).status_code == 422
    assert fake_waha.lid_lookups() == [
        "139884413590101@lid",
        "139884413590101",
        "1@lid",
        "628@c.us",
        "1@lid",
        "1@lid",
    ]


def test_fake_waha_before_the_lid_api_has_no_such_route():
    import requests

    with FakeWaha(version="2025.5.3") as old:
        answer = requests.get(
            old.url + "/api/default/lids/1%40lid", headers={"X-Api-Key": DEFAULT_API_KEY}
        )
    assert answer.status_code == 404
    assert answer.json()["message"] == "Cannot GET /api/default/lids/1%40lid"


def test_fake_fonnte_requires_a_form(fake_fonnte: FakeFonnte):
    import requests

    answer = requests.post(
        fake_fonnte.url + "/send",
        json={"target": GROUP, "message": "x"},
        headers={"Authorization": DEFAULT_TOKEN},
    )
    assert answer.status_code == 200
    assert answer.json() == {"reason": "input invalid", "status": False}
    bearer = requests.post(
        fake_fonnte.url + "/send",
        data={"target": GROUP, "message": "x"},
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
    )
    assert bearer.json() == {"reason": "invalid token", "status": False}


def test_concurrent_sends_are_all_recorded(fake_waha: FakeWaha, make_message):
    import concurrent.futures

    chats = [f"12036300000000010{i}@g.us" for i in range(4)]

    def send(n: int) -> str | None:
        # One adapter (and connection pool) per worker, like separate worker processes.
        adapter = waha_adapter(fake_waha.url)
        return adapter.send(make_message(target=chats[n % 4], text=f"pesan {n}")).external_id

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        ids = list(pool.map(send, range(80)))

    assert len(set(ids)) == 80
    assert len(fake_waha.requests) == 80
    assert sorted(m.text for m in fake_waha.messages) == sorted(f"pesan {n}" for n in range(80))
    for chat in chats:
        assert len(fake_waha.received(chat)) == 20
        assert all(gap >= 0 for gap in fake_waha.gaps(chat))
    assert fake_waha.wait_for_messages(80, timeout=1)


# Pictures (the weekly report's chart)


def small_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 20), "#2E7D32").save(out, "PNG")
    return out.getvalue()


PICTURE = {
    "image_name": "laporan-mingguan-2026-W10.png",
    "image_type": "image/png",
    "image_url": "https://bridge.example/public/files/tok/laporan-mingguan-2026-W10.png",
}


def test_waha_sends_a_picture_with_the_text_as_caption(fake_waha: FakeWaha, make_message):
    import base64

    png = small_png()
    message = make_message(text="*Laporan*\nMinggu 2026-W10", image=png, **PICTURE)
    result = waha_adapter(fake_waha.url).send(message)
    request = fake_waha.last
    assert request.path == "/api/sendImage"
    assert request.json == {
        "session": "default",
        "chatId": GROUP,
        "file": {
            "mimetype": "image/png",
            "filename": "laporan-mingguan-2026-W10.png",
            "data": base64.b64encode(png).decode(),
        },
        "caption": "*Laporan*\nMinggu 2026-W10",
    }
    (sent,) = fake_waha.received(GROUP)
    assert sent.image == png and sent.text == "*Laporan*\nMinggu 2026-W10"
    assert result == SendResult(external_id=f"true_{GROUP}_{sent.id}")


def test_waha_text_over_the_caption_limit_follows_the_picture(fake_waha: FakeWaha, make_message):
    from bridge.channels.whatsapp_group import CAPTION_LIMIT

    text = "*Laporan*\nMinggu 2026-W10\n\n" + "x" * CAPTION_LIMIT
    saved = []
    message = make_message(text=text, image=small_png(), checkpoint=saved.append, **PICTURE)
    result = waha_adapter(fake_waha.url).send(message)
    image, after = fake_waha.requests
    assert image.path == "/api/sendImage"
    assert image.json["caption"] == "*Laporan*\nMinggu 2026-W10"
    assert (after.path, after.json["text"]) == ("/api/sendText", text)
    first, second = fake_waha.received(GROUP)
    assert saved == [{"image_sent": f"true_{GROUP}_{first.id}"}]
    assert result.external_id == f"true_{GROUP}_{second.id}"
    # A retry after the picture went out sends only the text.
    fake_waha.reset()
    retry = make_message(text=text, image=small_png(), progress=saved[0], **PICTURE)
    waha_adapter(fake_waha.url).send(retry)
    assert [r.path for r in fake_waha.requests] == ["/api/sendText"]


def test_waha_core_before_2026_6_gets_text_with_a_link(fake_waha: FakeWaha, make_message):
    fake_waha.version = "2025.12.1"
    message = make_message(text="*Laporan*", image=small_png(), **PICTURE)
    result = waha_adapter(fake_waha.url).send(message)
    refused, sent = fake_waha.requests
    assert refused.path == "/api/sendImage" and refused.outcome == 422
    assert sent.json == {
        "session": "default",
        "chatId": GROUP,
        "text": f"*Laporan*\n\nGrafik: {PICTURE['image_url']}",
        "linkPreview": False,
    }
    assert fake_waha.received(GROUP)[0].image is None
    assert result.external_id is not None


def test_waha_picture_to_a_session_not_working_is_retryable(fake_waha: FakeWaha, make_message):
    fake_waha.set_session_status("SCAN_QR_CODE")
    with pytest.raises(RetryableError, match="SCAN_QR_CODE"):
        waha_adapter(fake_waha.url).send(make_message(image=small_png(), **PICTURE))


def test_fonnte_sends_the_text_with_a_link_to_the_picture(fake_fonnte: FakeFonnte, make_message):
    message = make_message(text="*Laporan*", image=small_png(), **PICTURE)
    fonnte_adapter(fake_fonnte.url).send(message)
    assert fake_fonnte.last.form == {
        "target": GROUP,
        "message": f"*Laporan*\n\nGrafik: {PICTURE['image_url']}",
    }
