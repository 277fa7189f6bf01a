"""The weekly report to the leadership channels: outbox rows once per week and channel, the same
picture on every attempt, WAHA sendImage and Telegram sendPhoto through the delivery engine,
and beat's schedule."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import logging

import pytest
from celery.schedules import crontab
from PIL import Image
from sqlalchemy import select, update

from bridge import outbox
from bridge.db import new_session
from bridge.models import Attachment, Complaint, Delivery, SandboxMessage, StatusChange, utcnow
from bridge.queue import celery_config, weekly_report_crontab
from bridge.reports import (
    NoLeadership,
    WeekNotOver,
    last_complete_week,
    queue_weekly,
    report_for,
    send_last_week,
)
from bridge.settings import Settings, parse_weekly_report
from bridge.worktime import IsoWeek
from tests.bridge.reports.conftest import DIRECTORY, NOW, WEEK, load_sample, wib
from tests.fakes.server import Delay, Reply, Response
from tests.fakes.telegram import DEFAULT_TOKEN, FakeTelegram
from tests.fakes.waha import DEFAULT_API_KEY, FakeWaha
from tests.support import use_directory

GROUP = "120363000000000999@g.us"
CHAT = "-1001000000000999"


@pytest.fixture
def waha():
    with FakeWaha() as fake:
        yield fake


@pytest.fixture
def telegram():
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def live(make_app, waha, telegram):
    """The sample week, with sends going to the fake WAHA and Telegram (sandbox off)."""

    def build(**overrides):
        app = make_app(
            **{
                **waha.bridge_settings(),
                "BRIDGE_TELEGRAM_API_URL": telegram.url,
                "BRIDGE_TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
                "BRIDGE_PUBLIC_URL": "https://bridge.example",
                "BRIDGE_RATE_LIMITS": "whatsapp_group=100/1,telegram=100/1",
                "BRIDGE_DELIVERY_RETRY_SCHEDULE": "10,20",
                "BRIDGE_HTTP_TIMEOUT": "1",
                **overrides,
            }
        )
        load_sample(app)
        return app

    return build


def queue(app, week=WEEK, now=NOW):
    with app.app_context(), new_session() as db:
        return queue_weekly(db, app.config["BRIDGE_SETTINGS"], week, now=now)


def rows(app) -> dict[str, Delivery]:
    with app.app_context(), new_session() as db:
        return {
            d.kind: d
            for d in db.scalars(select(Delivery).where(Delivery.purpose == "report")).all()
        }


def attachment(app, attachment_id) -> Attachment:
    with app.app_context(), new_session() as db:
        return db.get(Attachment, attachment_id)


def attempt(app, delivery_id):
    with app.app_context():
        return outbox.deliver(delivery_id)


def make_due(app, delivery_id) -> None:
    with app.app_context(), new_session() as db:
        db.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(next_attempt_at=utcnow() - dt.timedelta(seconds=1))
        )
        db.commit()


def expected(app):
    with app.app_context(), new_session() as db:
        return report_for(db, app.config["BRIDGE_SETTINGS"], WEEK, now=NOW)


# Queueing


def test_rows_to_each_leadership_channel_once(sample):
    first = queue(sample)
    assert first.created == (
        ("whatsapp_group", GROUP),
        ("telegram", CHAT),
    )
    made = rows(sample)
    assert set(made) == {"whatsapp_group", "telegram"}
    rendered = expected(sample)
    for delivery in made.values():
        assert delivery.status == "pending" and delivery.complaint_id is None
        assert delivery.text == rendered.text
        assert delivery.dedupe_key == f"report:2026-W10:{delivery.channel_id}"
        assert delivery.lane == "private"
    # One picture for both rows.
    (image_id,) = {d.attachment_id for d in made.values()}
    stored = attachment(sample, image_id)
    assert (stored.content_type, stored.filename) == ("image/png", "laporan-mingguan-2026-W10.png")
    assert stored.data == rendered.png
    # Again (beat after the CLI, or twice): nothing new, and it says what was there.
    again = queue(sample)
    assert again.created == ()
    assert sorted(again.existing) == [
        ("telegram", CHAT, "pending"),
        ("whatsapp_group", GROUP, "pending"),
    ]
    with sample.app_context(), new_session() as db:
        assert len(db.scalars(select(Delivery)).all()) == 2
        assert len(db.scalars(select(Attachment)).all()) == 1


def test_a_week_not_over_is_not_sent(sample):
    with pytest.raises(WeekNotOver, match=r"2026-W10 has not ended yet.*2026-W09"):
        queue(sample, now=dt.datetime(2026, 3, 8, 12, tzinfo=dt.UTC))
    assert rows(sample) == {}


def test_without_leadership_nothing_is_queued(app, caplog):
    use_directory(app, {k: v for k, v in DIRECTORY.items() if k != "leadership"})
    with pytest.raises(NoLeadership, match="no leadership OPD"):
        queue(app)
    caplog.set_level(logging.WARNING)
    with app.app_context(), new_session() as db:
        result = send_last_week(db, app.config["BRIDGE_SETTINGS"], now=NOW)
    assert result == {"week": "2026-W10", "queued": 0, "earlier": 0}
    assert "weekly report 2026-W10 not sent: the directory names no leadership OPD" in caplog.text


def test_leadership_without_a_messaging_channel(app):
    directory = json.loads(json.dumps(DIRECTORY))
    directory["opds"][1]["channels"] = []
    use_directory(app, directory)
    with pytest.raises(NoLeadership, match="'pimpinan' has no active WhatsApp group or Telegram"):
        queue(app)


def test_beat_sends_the_week_that_just_ended(sample):
    with sample.app_context(), new_session() as db:
        # Monday 9 March 07:00 WIB: the week that ended last night is W10.
        monday = dt.datetime(2026, 3, 9, 0, 0, tzinfo=dt.UTC)
        result = send_last_week(db, sample.config["BRIDGE_SETTINGS"], now=monday)
    assert result == {"week": "2026-W10", "queued": 2, "earlier": 0}
    with sample.app_context(), new_session() as db:
        assert send_last_week(db, sample.config["BRIDGE_SETTINGS"], now=monday)["earlier"] == 2


# Through the delivery engine


def test_waha_gets_the_picture_with_the_text_as_caption(live, waha):
    app = live()
    queue(app)
    delivery = rows(app)["whatsapp_group"]
    assert attempt(app, delivery.id).outcome == "sent"
    rendered = expected(app)
    request = waha.last
    assert request.path == "/api/sendImage"
    assert request.headers["X-Api-Key"] == DEFAULT_API_KEY
    assert request.json == {
        "session": "default",
        "chatId": GROUP,
        "file": {
            "mimetype": "image/png",
            "filename": "laporan-mingguan-2026-W10.png",
            "data": base64.b64encode(rendered.png).decode(),
        },
        "caption": rendered.text,
    }
    (message,) = waha.received(GROUP)
    assert message.image == rendered.png and message.text == rendered.text
    sent = rows(app)["whatsapp_group"]
    assert sent.status == "sent" and sent.external_id.endswith(message.id)


def test_telegram_gets_the_picture_by_send_photo(live, telegram):
    app = live()
    queue(app)
    delivery = rows(app)["telegram"]
    assert attempt(app, delivery.id).outcome == "sent"
    rendered = expected(app)
    request = telegram.last
    assert request.path == f"/bot{DEFAULT_TOKEN}/sendPhoto"
    assert request.content_type == "multipart/form-data"
    parts = request.multipart
    assert set(parts) == {"chat_id", "caption", "caption_entities", "photo"}
    assert parts["chat_id"].text == CHAT
    plain = rendered.text.replace("*", "")
    assert parts["caption"].text == plain
    entities = json.loads(parts["caption_entities"].text)
    assert entities[0] == {"type": "bold", "offset": 0, "length": 29}
    assert (parts["photo"].filename, parts["photo"].content_type) == (
        "laporan-mingguan-2026-W10.png",
        "image/png",
    )
    assert parts["photo"].data == rendered.png
    (message,) = telegram.received(CHAT)
    assert message.photo == rendered.png
    assert rows(app)["telegram"].external_id == str(message.message_id)


def test_a_retry_sends_the_same_picture(live, waha):
    app = live()
    queue(app)
    delivery = rows(app)["whatsapp_group"]
    waha.fail_next(1, status=500, body={"message": "boom"})
    assert attempt(app, delivery.id).outcome == "retrying"
    # Meanwhile dishub answers C13: the week's chart would look different now...
    with app.app_context(), new_session() as db:
        c13 = db.scalar(select(Complaint.id).where(Complaint.wadule_id == "C13"))
        db.add(
            StatusChange(
                complaint_id=c13,
                status="acknowledged",
                actor_kind="t",
                actor_name="t",
                at=wib(6, 9),
            )
        )
        db.commit()
    assert expected(app).png != attachment(app, delivery.attachment_id).data
    # ...but the retry sends what was queued.
    make_due(app, delivery.id)
    assert attempt(app, delivery.id).outcome == "sent"
    first, second = waha.requests_to("/api/sendImage")
    assert first.json == second.json
    stored = attachment(app, delivery.attachment_id).data
    assert base64.b64decode(second.json["file"]["data"]) == stored
    Image.open(io.BytesIO(stored)).verify()


def test_old_waha_core_gets_the_text_with_a_link_to_the_picture(live, waha):
    waha.version = "2026.5.1"  # Core before media came to it
    app = live()
    queue(app)
    delivery = rows(app)["whatsapp_group"]
    assert attempt(app, delivery.id).outcome == "sent"
    refused, sent = waha.requests
    assert refused.path == "/api/sendImage" and refused.outcome == 422
    assert sent.path == "/api/sendText"
    stored = attachment(app, delivery.attachment_id)
    link = f"https://bridge.example/public/files/{stored.token}/laporan-mingguan-2026-W10.png"
    assert sent.json == {
        "session": "default",
        "chatId": GROUP,
        "text": f"{delivery.text}\n\nGrafik: {link}",
        "linkPreview": False,
    }
    # The link serves the very picture, without a key; a wrong name or token is 404.
    client = app.test_client()
    served = client.get(link.removeprefix("https://bridge.example"))
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert served.data == stored.data
    assert client.get(f"/public/files/{stored.token}/other.png").status_code == 404
    assert client.get("/public/files/nope/laporan-mingguan-2026-W10.png").status_code == 404


def test_waha_plus_before_2026_6_sends_pictures(live, waha):
    waha.version, waha.tier = "2025.12.1", "PLUS"
    app = live()
    queue(app)
    assert attempt(app, rows(app)["whatsapp_group"].id).outcome == "sent"
    assert [r.path for r in waha.requests] == ["/api/sendImage"]


def test_telegram_long_text_follows_the_picture_and_a_retry_sends_only_the_text(live, telegram):
    app = live()
    queue(app)
    delivery = rows(app)["telegram"]
    long_text = delivery.text + "\n\n" + "Catatan tambahan. " * 80
    with app.app_context(), new_session() as db:
        db.execute(update(Delivery).where(Delivery.id == delivery.id).values(text=long_text))
        db.commit()
    # The picture goes, the text after it fails (a gateway error: nothing was sent).
    telegram.script(
        Delay(0), Reply(Response(502, {"ok": False, "error_code": 502, "description": "Bad"}))
    )
    assert attempt(app, delivery.id).outcome == "retrying"
    photo, text = telegram.requests
    assert photo.path.endswith("/sendPhoto")
    assert (
        photo.multipart["caption"].text
        == "Laporan Mingguan Aduan Wadule\nMinggu 2026-W10 (2\u20138 Mar 2026)"
    )
    assert text.path.endswith("/sendMessage")
    progress = rows(app)["telegram"].progress
    assert progress == {"photo_sent": "1"}
    make_due(app, delivery.id)
    assert attempt(app, delivery.id).outcome == "sent"
    assert [r.path.rsplit("/", 1)[1] for r in telegram.requests] == [
        "sendPhoto",
        "sendMessage",
        "sendMessage",
    ]
    assert telegram.requests[-1].json["text"] == long_text.replace("*", "")
    assert [m.photo is not None for m in telegram.received(CHAT)] == [True, False]


def test_sandbox_keeps_the_picture_in_the_payload(sample):
    queue(sample)
    delivery = rows(sample)["whatsapp_group"]
    assert attempt(sample, delivery.id).outcome == "sent"
    with sample.app_context(), new_session() as db:
        (kept,) = db.scalars(select(SandboxMessage)).all()
        stored = db.get(Attachment, delivery.attachment_id)
        url = f"http://localhost:8000/public/files/{stored.token}/{stored.filename}"
    assert kept.payload == {
        "type": "bridge.report",
        "text": delivery.text,
        "image": {
            "filename": "laporan-mingguan-2026-W10.png",
            "content_type": "image/png",
            "bytes": len(stored.data),
            "url": url,
        },
    }


# Beat


def settings(weekly_report: str) -> Settings:
    # A Redis URL: the embedded broker's configuration would create ./instance.
    return Settings(
        broker_url="redis://127.0.0.1:1/0", weekly_report=parse_weekly_report(weekly_report)
    )


@pytest.mark.parametrize(
    ("setting", "minute", "hour", "day_of_week"),
    [
        ("Mon 07:00", 0, 0, 1),  # Monday 00:00 UTC
        ("Mon 03:30", 30, 20, 0),  # Sunday 20:30 UTC
        ("Sun 06:59", 59, 23, 6),  # Saturday 23:59 UTC
        ("Fri 15:00", 0, 8, 5),
    ],
)
def test_beat_runs_at_bridge_weekly_report_in_utc(setting, minute, hour, day_of_week):
    expected_schedule = crontab(minute=minute, hour=hour, day_of_week=day_of_week)
    assert weekly_report_crontab(parse_weekly_report(setting)) == expected_schedule
    config = celery_config(settings(setting))
    entry = config["beat_schedule"]["weekly-report"]
    assert entry["task"] == "bridge.weekly_report"
    assert entry["schedule"] == expected_schedule


def test_beat_sends_nothing_when_off():
    config = celery_config(settings("off"))
    assert "weekly-report" not in config["beat_schedule"]


def test_the_beat_task_queues_the_last_complete_week(sample):
    from workers import tasks

    assert tasks.weekly_report.name == "bridge.weekly_report"
    with sample.app_context():
        result = tasks.weekly_report()
    assert result == {"week": str(last_complete_week()), "queued": 2, "earlier": 0}


def test_an_iso_week_object_is_accepted(sample):
    assert queue(sample, week=IsoWeek.parse("2026-W10")).week == WEEK
