"""The channel checks page: each channel's last verdict, and "Periksa sekarang" queueing one."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape

from sqlalchemy import select

from bridge import checks
from bridge.channels.base import Verdict
from bridge.db import new_session
from bridge.models import Channel, ChannelCheck, Opd
from bridge.queue import CHECK_TASK, HOUSEKEEPING_QUEUE
from tests.bridge.console.test_console import PASSWORD, csrf_of, login, table

CHECKED_AT = dt.datetime(2026, 11, 23, 23, 30, 5, tzinfo=dt.UTC)  # 06.30 WIB on the 24th


def store(app, verdicts: dict[tuple[str, str], tuple[Verdict, str]]) -> None:
    """Store last checks for the channels named by (OPD slug, kind)."""
    with app.app_context(), new_session() as db:
        channels = {
            (slug, channel.kind): channel
            for channel, slug in db.execute(select(Channel, Opd.slug).join(Opd))
        }
        results = []
        for (slug, kind), (verdict, reason) in verdicts.items():
            channel = channels[(slug, kind)]
            results.append(
                checks.CheckResult(
                    channel_id=channel.id,
                    opd_slug=slug,
                    kind=kind,
                    target=channel.target,
                    verdict=verdict,
                    reason=reason,
                    details={},
                    checked_at=CHECKED_AT,
                )
            )
        checks.store(db, results)
        db.commit()


def test_no_check_yet_lists_every_channel_unchecked(ops):
    html = ops.get("/ops/checks").text
    assert "Belum pernah ada pemeriksaan saluran." in html
    rows = table(html, "checks")[1:]
    assert len(rows) == 33  # every active channel of examples/pacitan/opds.yaml
    assert rows[0][:4] == [
        "diskominfo",
        "Grup WhatsApp",
        "120363000000000100@g.us",
        "belum diperiksa",
    ]
    assert "0 baik, 0 peringatan, 0 tidak bisa dipakai, 33 belum diperiksa" in html


def test_last_verdicts_in_indonesian_with_the_providers_reasons_as_they_are(ops, directory):
    store(
        directory,
        {
            ("dpupr", "whatsapp_group"): (
                Verdict.OK,
                "session WORKING; the number is in the group",
            ),
            ("dpupr", "facebook_page"): (
                Verdict.UNUSABLE,
                "token expired on 2026-11-20; generate a new Page access token",
            ),
            ("dpupr", "x"): (Verdict.WARNING, "posts as @dpupr_pacitan; <b>rate limited</b>"),
        },
    )
    html = ops.get("/ops/checks").text
    rows = {(row[0], row[1]): row for row in table(html, "checks")[1:]}
    assert rows[("dpupr", "Grup WhatsApp")][3:] == [
        "baik",
        "session WORKING; the number is in the group",
        "24 Nov 2026 06.30 WIB",
    ]
    assert rows[("dpupr", "Halaman Facebook")][3:5] == [
        "tidak bisa dipakai",
        "token expired on 2026-11-20; generate a new Page access token",
    ]
    assert rows[("dpupr", "X")][3] == "peringatan"
    assert rows[("dpupr", "Instagram")][3:] == ["belum diperiksa", "", "\N{EN DASH}"]
    # Colour by verdict, the machine value at hand, the English reason marked as English.
    assert '<span class="vd vd-unusable" title="unusable" data-verdict="unusable">' in html
    assert '<td class="error" data-label="alasan" lang="en">' in html
    assert "&lt;b&gt;rate limited&lt;/b&gt;" in html  # provider text is escaped
    assert "Pemeriksaan terakhir: 24 Nov 2026 06.30 WIB" in html
    assert "1 baik, 1 peringatan, 1 tidak bisa dipakai, 30 belum diperiksa" in html
    # The dashboard counts the unusable one and links here.
    dashboard = ops.get("/ops/").text
    assert re.search(r'id="unusable">1<', dashboard)


def test_check_now_queues_the_task_and_runs_nothing_in_the_request(ops, directory, redis_server):
    redis = redis_server.client()
    redis.delete(HOUSEKEEPING_QUEUE)
    token = csrf_of(ops.get("/ops/checks").text)
    response = ops.post("/ops/checks/run", data={"csrf_token": token})
    assert (response.status_code, response.location) == (302, "/ops/checks")
    queued = [json.loads(raw) for raw in redis.lrange(HOUSEKEEPING_QUEUE, 0, -1)]
    assert [message["headers"]["task"] for message in queued] == [CHECK_TASK]
    with directory.app_context(), new_session() as db:
        assert db.scalars(select(ChannelCheck)).all() == []  # a worker's job, not the request's
    page = unescape(ops.get("/ops/checks").text)
    assert "Pemeriksaan semua saluran sudah dijadwalkan." in page
    # Without the form's token nothing is queued.
    assert ops.post("/ops/checks/run", data={}).status_code == 400
    assert redis.llen(HOUSEKEEPING_QUEUE) == 1


def test_check_now_with_the_broker_down_says_so(make_app):
    from bridge.operators import create_operator
    from tests.support import free_port, use_directory

    app = make_app(BRIDGE_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
    use_directory(app)
    with app.app_context(), new_session() as db:
        create_operator(db, "siti", PASSWORD)
    client = app.test_client()
    assert login(client, "siti", PASSWORD).status_code == 302
    token = csrf_of(client.get("/ops/checks").text)
    response = client.post("/ops/checks/run", data={"csrf_token": token})
    assert response.status_code == 302
    page = client.get("/ops/checks").text
    assert "Pemeriksaan tidak bisa dijadwalkan: broker antrean tidak menjawab." in page
