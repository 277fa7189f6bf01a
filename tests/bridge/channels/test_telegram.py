"""The Telegram adapter against a fake Bot API."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from bridge.channels import adapter_class
from bridge.channels.base import (
    ChannelError,
    OutcomeUnknownError,
    PermanentError,
    RetryableError,
    SendResult,
    ThrottledError,
)
from bridge.channels.telegram import Adapter, bold_entities, chat_id_value, utf16_len
from bridge.messages import private_text
from bridge.models import Complaint
from bridge.settings import Settings
from tests.fakes.server import free_port
from tests.fakes.telegram import DEFAULT_TOKEN, FakeTelegram

CHAT = "-1001000000000001"


def adapter_for(url: str, token: str | None = DEFAULT_TOKEN) -> Adapter:
    return Adapter(Settings(sandbox=True, telegram_api_url=url, telegram_bot_token=token))


def utf16_slice(text: str, offset: int, length: int) -> str:
    data = text.encode("utf-16-le")
    return data[offset * 2 : (offset + length) * 2].decode("utf-16-le")


def assert_token_hidden(error: ChannelError) -> None:
    assert DEFAULT_TOKEN not in error.reason
    assert DEFAULT_TOKEN not in str(error)
    assert DEFAULT_TOKEN.split(":")[1] not in repr(error)
    # Not even chained: a traceback printer would show the requests error and its URL.
    assert error.__cause__ is None
    assert error.__context__ is None


def test_registered_under_its_kind():
    assert adapter_class("telegram") is Adapter
    assert Adapter.max_length == 4096
    assert Adapter.public is False


def test_sends_exact_request(fake_telegram: FakeTelegram, make_message):
    message = make_message(kind="telegram", target=CHAT)
    result = adapter_for(fake_telegram.url).send(message)

    request = fake_telegram.last
    assert request.method == "POST"
    assert request.path == f"/bot{DEFAULT_TOKEN}/sendMessage"
    assert request.content_type == "application/json"
    plain, entities = bold_entities(message.text)
    assert request.json == {
        "chat_id": -1001000000000001,
        "text": plain,
        "link_preview_options": {"is_disabled": True},
        "entities": entities,
    }
    assert result == SendResult(external_id="1")
    assert fake_telegram.texts(CHAT) == [plain]
    assert adapter_for(fake_telegram.url).send(message).external_id == "2"


def test_bold_markers_become_entities(fake_telegram: FakeTelegram, make_message):
    adapter_for(fake_telegram.url).send(make_message(target=CHAT))
    sent = fake_telegram.last.json
    assert "*" not in sent["text"]
    bold = [utf16_slice(sent["text"], e["offset"], e["length"]) for e in sent["entities"]]
    # The header holds an emoji before it (two UTF-16 units): offsets must still line up.
    assert bold == ["Aduan baru #WDL-2026-000101", "Judul:"]
    assert sent["text"].endswith(
        "Balas: #WDL-2026-000101 terima|proses|selesai|tolak|bukan [catatan]"
    )


@pytest.mark.parametrize(
    ("text", "plain", "bold"),
    [
        ("no markup", "no markup", []),
        ("*a*", "a", ["a"]),
        ("😀 *ab* c *d e*", "😀 ab c d e", ["ab", "d e"]),
        ("2*3*4", "2*3*4", []),
        ("* not bold *", "* not bold *", []),
        ("*open only", "*open only", []),
        ("*two\nlines*", "*two\nlines*", []),
        ("**", "**", []),
    ],
)
def test_bold_entities(text, plain, bold):
    out, entities = bold_entities(text)
    assert out == plain
    assert [utf16_slice(out, e["offset"], e["length"]) for e in entities] == bold
    assert all(e["type"] == "bold" for e in entities)


def test_channel_username_stays_a_string(fake_telegram: FakeTelegram, make_message):
    adapter_for(fake_telegram.url).send(make_message(target="@dinkes_pacitan"))
    assert fake_telegram.last.json["chat_id"] == "@dinkes_pacitan"
    assert chat_id_value(" -42 ") == -42


def test_no_entities_key_without_markup(fake_telegram: FakeTelegram, make_message):
    adapter_for(fake_telegram.url).send(make_message(target=CHAT, text="plain text"))
    assert "entities" not in fake_telegram.last.json


def test_wrong_token_is_permanent_and_hidden(fake_telegram: FakeTelegram, make_message):
    fake_telegram.token = "999:other"
    with pytest.raises(PermanentError) as caught:
        adapter_for(fake_telegram.url).send(make_message(target=CHAT))
    assert caught.value.reason == "telegram: bad bot token"
    assert fake_telegram.last.outcome == 401
    assert_token_hidden(caught.value)


def test_404_is_bad_token(fake_telegram: FakeTelegram, make_message):
    fake_telegram.fail_next(
        status=404, body={"ok": False, "error_code": 404, "description": "Not Found"}
    )
    with pytest.raises(PermanentError, match=r"^telegram: bad bot token$"):
        adapter_for(fake_telegram.url).send(make_message(target=CHAT))


def test_flood_is_throttled_with_retry_after(fake_telegram: FakeTelegram, make_message):
    fake_telegram.flood(retry_after=17)
    adapter = adapter_for(fake_telegram.url)
    with pytest.raises(ThrottledError) as caught:
        adapter.send(make_message(target=CHAT))
    assert caught.value.retry_after == 17
    assert fake_telegram.messages == []
    assert adapter.send(make_message(target=CHAT)).external_id == "1"


def test_429_falls_back_to_retry_after_header(fake_telegram: FakeTelegram, make_message):
    fake_telegram.fail_next(status=429, body={"ok": False}, headers={"Retry-After": "9"})
    with pytest.raises(ThrottledError) as caught:
        adapter_for(fake_telegram.url).send(make_message(target=CHAT))
    assert caught.value.retry_after == 9


def test_migrated_chat_is_resent_once(fake_telegram: FakeTelegram, make_message):
    fake_telegram.migrate(CHAT, "-1002000000000001")
    result = adapter_for(fake_telegram.url).send(make_message(target=CHAT))

    first, second = fake_telegram.requests
    assert first.json["chat_id"] == -1001000000000001
    assert first.outcome == 400
    assert second.json["chat_id"] == -1002000000000001
    assert second.json["text"] == first.json["text"]
    assert result == SendResult(external_id="1", new_target="-1002000000000001")
    assert len(fake_telegram.received("-1002000000000001")) == 1
    assert fake_telegram.received(CHAT) == []


def test_migration_loop_stops(fake_telegram: FakeTelegram, make_message):
    fake_telegram.migrate(CHAT, "-1002")
    fake_telegram.migrate("-1002", "-1003")
    with pytest.raises(PermanentError, match="migrated again"):
        adapter_for(fake_telegram.url).send(make_message(target=CHAT))
    assert len(fake_telegram.requests) == 2


def test_errors_after_migration_propagate(fake_telegram: FakeTelegram, make_message):
    fake_telegram.migrate(CHAT, "-1002")
    fake_telegram.kick("-1002")
    with pytest.raises(PermanentError, match="kicked"):
        adapter_for(fake_telegram.url).send(make_message(target=CHAT))


def test_kicked_bot_is_permanent(fake_telegram: FakeTelegram, make_message):
    fake_telegram.chat_types[CHAT] = "group"  # a basic group; supergroups say "supergroup"
    fake_telegram.kick(CHAT)
    with pytest.raises(PermanentError) as caught:
        adapter_for(fake_telegram.url).send(make_message(target=CHAT))
    assert (
        caught.value.reason == "telegram: forbidden: Forbidden: bot was kicked from the group chat"
    )


def test_chat_not_found_is_permanent(make_message):
    with FakeTelegram(known_chats=["-100999"]) as fake, pytest.raises(PermanentError) as caught:
        adapter_for(fake.url).send(make_message(target=CHAT))
    assert caught.value.reason == "telegram: chat not found"


def test_other_bad_request_is_permanent(fake_telegram: FakeTelegram, make_message):
    fake_telegram.fail_next(
        status=400,
        body={"ok": False, "error_code": 400, "description": "Bad Request: message is too long"},
    )
    with pytest.raises(PermanentError) as caught:
        adapter_for(fake_telegram.url).send(make_message(target=CHAT))
    assert caught.value.reason == "telegram: bad request: Bad Request: message is too long"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retryable(fake_telegram: FakeTelegram, make_message, status):
    fake_telegram.fail_next(status=status, body="<html>Bad Gateway</html>")
    with pytest.raises(RetryableError) as caught:
        adapter_for(fake_telegram.url).send(make_message(target=CHAT))
    assert type(caught.value) is RetryableError
    assert caught.value.reason == f"telegram: server error {status}"


def test_odd_2xx_bodies_count_as_sent(fake_telegram: FakeTelegram, make_message):
    adapter = adapter_for(fake_telegram.url)
    for body in (b"", {"ok": True}, {"ok": True, "result": True}, {"ok": True, "result": {}}):
        fake_telegram.fail_next(status=200, body=body)
        assert adapter.send(make_message(target=CHAT)) == SendResult(external_id=None)


def test_connection_refused_is_retryable_without_token(make_message, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RetryableError) as caught:
        adapter_for(f"http://127.0.0.1:{free_port()}").send(make_message(target=CHAT))
    assert caught.value.reason == "telegram: connection refused"
    assert_token_hidden(caught.value)
    assert DEFAULT_TOKEN not in caplog.text


def test_read_timeout_is_outcome_unknown_without_token(fake_telegram, make_message, caplog):
    caplog.set_level(logging.DEBUG)
    adapter = adapter_for(fake_telegram.url)
    adapter.read_timeout = 0.3
    fake_telegram.hang_next()
    with pytest.raises(OutcomeUnknownError) as caught:
        adapter.send(make_message(target=CHAT))
    assert_token_hidden(caught.value)
    assert DEFAULT_TOKEN not in caplog.text


def test_dropped_connection_is_outcome_unknown(fake_telegram: FakeTelegram, make_message):
    fake_telegram.close_next()
    with pytest.raises(OutcomeUnknownError) as caught:
        adapter_for(fake_telegram.url).send(make_message(target=CHAT))
    assert_token_hidden(caught.value)


@pytest.mark.parametrize("url", ["http://[::1", "ftp://api.telegram.org", "api.telegram.org"])
def test_unusable_api_url_is_permanent_without_token(make_message, url):
    with pytest.raises(PermanentError) as caught:
        adapter_for(url).send(make_message(target=CHAT))
    assert caught.value.reason.startswith("telegram: request could not be built")
    assert_token_hidden(caught.value)


def test_not_configured(make_message):
    adapter = adapter_for("https://api.telegram.org", token=None)
    assert adapter.missing_configuration() == "provider not configured"
    with pytest.raises(PermanentError, match=r"^provider not configured$"):
        adapter.send(make_message(target=CHAT))
    assert adapter_for("https://api.telegram.org").missing_configuration() is None


def test_longest_rendered_complaint_fits_telegram(fake_telegram: FakeTelegram, make_message):
    # Emoji count two UTF-16 units in Telegram's limit; the renderer counts the same way.
    complaint = Complaint(
        wadule_id="WDL-2026-000999",
        title="Banjir 🌊 " * 20,
        body="Air naik 🌊🌊 sampai lutut, mohon bantuan segera. " * 200,
        category="bencana",
        location={"address": "Jl. Gatot Subroto", "lat": -8.2, "lon": 111.1},
        reporter={"name": "Sutrisno", "phone": "081234560101"},
        anonymous=False,
        confidential=False,
        attachments=[],
        submitted_at=dt.datetime(2026, 11, 20, 1, 15, tzinfo=dt.UTC),
    )
    text = private_text(
        complaint,
        opd_name="Badan Penanggulangan Bencana Daerah",
        link="https://wadul.pacitankab.go.id/aduan/WDL-2026-000999",
        limit=Adapter.max_length,
    )
    assert utf16_len(text) <= 4096 < utf16_len(complaint.body)
    assert adapter_for(fake_telegram.url).send(make_message(target=CHAT, text=text)).external_id


# Pictures (the weekly report's chart): sendPhoto


def small_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 20), "#2E7D32").save(out, "PNG")
    return out.getvalue()


PICTURE = {"image_name": "laporan.png", "image_type": "image/png", "image_url": "https://b/x"}


def test_sends_a_photo_with_the_text_as_caption(fake_telegram: FakeTelegram, make_message):
    png = small_png()
    message = make_message(
        kind="telegram", target=CHAT, text="*Laporan*\nMinggu 2026-W10", image=png, **PICTURE
    )
    result = adapter_for(fake_telegram.url).send(message)
    request = fake_telegram.last
    assert request.path == f"/bot{DEFAULT_TOKEN}/sendPhoto"
    assert request.content_type == "multipart/form-data"
    parts = request.multipart
    assert {name: part.text for name, part in parts.items() if name != "photo"} == {
        "chat_id": CHAT,
        "caption": "Laporan\nMinggu 2026-W10",
        "caption_entities": '[{"type": "bold", "offset": 0, "length": 7}]',
    }
    photo = parts["photo"]
    assert (photo.filename, photo.content_type, photo.data) == ("laporan.png", "image/png", png)
    (sent,) = fake_telegram.received(CHAT)
    assert sent.photo == png and sent.text == "Laporan\nMinggu 2026-W10"
    assert result == SendResult(external_id="1")


def test_a_caption_of_exactly_1024_units_goes_with_the_photo(
    fake_telegram: FakeTelegram, make_message
):
    text = "📊" + "x" * 1022  # the emoji is two UTF-16 units: 1024 in all
    assert utf16_len(text) == 1024
    adapter_for(fake_telegram.url).send(
        make_message(kind="telegram", target=CHAT, text=text, image=small_png(), **PICTURE)
    )
    assert [r.path.rsplit("/", 1)[1] for r in fake_telegram.requests] == ["sendPhoto"]


def test_a_longer_text_follows_the_photo(fake_telegram: FakeTelegram, make_message):
    text = "*Laporan*\nMinggu 2026-W10\n\n" + "📊" + "x" * 1022
    saved = []
    message = make_message(
        kind="telegram", target=CHAT, text=text, image=small_png(), checkpoint=saved.append,
        **PICTURE,
    )  # fmt: skip
    result = adapter_for(fake_telegram.url).send(message)
    photo, after = fake_telegram.requests
    assert photo.multipart["caption"].text == "Laporan\nMinggu 2026-W10"
    assert after.path.endswith("/sendMessage")
    assert after.json["text"] == text.replace("*", "")
    assert saved == [{"photo_sent": "1"}]
    assert result == SendResult(external_id="2")
    # A retry after the photo went out sends only the text.
    fake_telegram.reset()
    retry = make_message(
        kind="telegram", target=CHAT, text=text, image=small_png(), progress=saved[0], **PICTURE
    )
    adapter_for(fake_telegram.url).send(retry)
    assert [r.path.rsplit("/", 1)[1] for r in fake_telegram.requests] == ["sendMessage"]


def test_a_photo_to_a_migrated_chat_moves_with_it(fake_telegram: FakeTelegram, make_message):
    fake_telegram.migrate(CHAT, "-1002000000000001")
    result = adapter_for(fake_telegram.url).send(
        make_message(kind="telegram", target=CHAT, text="*Laporan*", image=small_png(), **PICTURE)
    )
    assert result.new_target == "-1002000000000001"
    assert [m.chat_id for m in fake_telegram.messages] == ["-1002000000000001"]


def test_the_fake_holds_the_bot_apis_photo_rules(fake_telegram: FakeTelegram):
    import requests

    url = f"{fake_telegram.url}/bot{DEFAULT_TOKEN}/sendPhoto"
    png = ("p.png", small_png(), "image/png")

    def ask(fields, files=None):
        return requests.post(url, data=fields, files=files, timeout=5).json()

    too_long = ask({"chat_id": CHAT, "caption": "x" * 1025}, {"photo": png})
    assert too_long["description"] == "Bad Request: message caption is too long"
    assert ask({"chat_id": CHAT})["description"] == "Bad Request: there is no photo in the request"
    not_an_image = ask({"chat_id": CHAT}, {"photo": ("p.png", b"nope", "image/png")})
    assert not_an_image["description"] == "Bad Request: IMAGE_PROCESS_FAILED"
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (2100, 100)).save(out, "PNG")
    thin = ask({"chat_id": CHAT}, {"photo": ("p.png", out.getvalue(), "image/png")})
    assert thin["description"] == "Bad Request: PHOTO_INVALID_DIMENSIONS"
    assert fake_telegram.messages == []
