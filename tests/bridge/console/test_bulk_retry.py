"""Bulk retry on the deliveries page: ticked rows, or every failing one of a channel or OPD."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select, update

from bridge.db import new_session
from bridge.models import Delivery
from tests.bridge.console.test_console import csrf_of, submit, table

BULK = "/ops/deliveries/retry"


def ids_by_kind(complaint) -> dict[str, int]:
    return {d.kind: d.id for d in complaint.deliveries}


def set_rows(app, ids, **values) -> None:
    with app.app_context(), new_session() as db:
        db.execute(update(Delivery).where(Delivery.id.in_(list(ids))).values(**values))
        db.commit()


def statuses(app, ids) -> dict[int, str]:
    with app.app_context(), new_session() as db:
        rows = db.execute(select(Delivery.id, Delivery.status).where(Delivery.id.in_(list(ids))))
        return dict(rows.all())


def flashes(client, location) -> list[str]:
    html = client.get(location).text
    return [
        unescape(text)
        for text in re.findall(r'<p class="flash [a-z]+" role="status">([^<]*)</p>', html)
    ]


@pytest.fixture
def failing(directory):
    """dpupr's WDL-F1 (four channels) and dinkes's WDL-F2 (three), every row dead but F2's
    WhatsApp row, which needs review; and WDL-F3 whose rows went out."""
    one = ids_by_kind(submit(directory, "WDL-F1"))
    two = ids_by_kind(submit(directory, "WDL-F2", category="kesehatan"))
    three = ids_by_kind(submit(directory, "WDL-F3"))
    set_rows(directory, [*one.values(), *two.values()], status="dead", attempts=2)
    set_rows(directory, [two["whatsapp_group"]], status="needs_review", attempts=1)
    set_rows(directory, three.values(), status="sent", attempts=1)
    return one, two, three


def test_ticked_rows_go_again_and_unchecked_review_rows_stay(ops, directory, failing):
    one, two, _ = failing
    page = ops.get("/ops/deliveries").text
    # Each retryable row has a checkbox that belongs to the bulk form below the table.
    assert page.count('form="bulk"') == 7 and 'id="bulk"' in page
    chosen = [one["whatsapp_group"], one["x"], two["whatsapp_group"]]
    response = ops.post(
        BULK,
        data={
            "csrf_token": csrf_of(page),
            "scope": "selected",
            "ids": chosen,
            "next": "/ops/deliveries",
        },
    )
    assert (response.status_code, response.location) == (302, "/ops/deliveries")
    assert statuses(directory, chosen) == {
        one["whatsapp_group"]: "retrying",
        one["x"]: "retrying",
        two["whatsapp_group"]: "needs_review",
    }
    assert flashes(ops, response.location) == [
        "2 pengiriman dijadwalkan ulang.",
        "1 pengiriman yang perlu diperiksa tidak dikirim ulang: periksa dulu tujuannya, lalu "
        'centang "sudah saya periksa".',
    ]
    # The rows left still failing are the only ones listed now.
    remaining = [row[0:3] for row in table(ops.get("/ops/deliveries").text, "delivery-table")[1:]]
    assert sorted(remaining) == sorted(
        [
            ["WDL-F1", "dpupr", "Halaman Facebook"],
            ["WDL-F1", "dpupr", "Instagram"],
            ["WDL-F2", "dinkes", "Grup WhatsApp"],
            ["WDL-F2", "dinkes", "Halaman Facebook"],
            ["WDL-F2", "dinkes", "X"],
        ]
    )


def test_the_tick_sends_review_rows_too(ops, directory, failing):
    _, two, _ = failing
    token = csrf_of(ops.get("/ops/deliveries").text)
    chosen = [two["whatsapp_group"], two["x"]]
    response = ops.post(
        BULK, data={"csrf_token": token, "scope": "selected", "ids": chosen, "checked": "yes"}
    )
    assert set(statuses(directory, chosen).values()) == {"retrying"}
    assert flashes(ops, response.location) == ["2 pengiriman dijadwalkan ulang."]


def test_all_failing_of_one_channel_kind(ops, directory, failing):
    one, two, three = failing
    page = ops.get("/ops/deliveries?kind=whatsapp_group").text
    assert "Kirim ulang semua 2 di saringan ini" in page
    assert "(1 gagal, 1 perlu diperiksa)" in page
    response = ops.post(
        BULK,
        data={
            "csrf_token": csrf_of(page),
            "scope": "all",
            "kind": "whatsapp_group",
            "status": ["needs_review", "dead"],
            "next": "/ops/deliveries?kind=whatsapp_group",
        },
    )
    assert response.location == "/ops/deliveries?kind=whatsapp_group"
    everything = [*one.values(), *two.values(), *three.values()]
    now = statuses(directory, everything)
    assert [i for i in everything if now[i] == "retrying"] == [one["whatsapp_group"]]
    assert now[two["whatsapp_group"]] == "needs_review"  # not ticked
    assert flashes(ops, response.location)[0] == "1 pengiriman dijadwalkan ulang."


def test_all_failing_of_one_opd_after_its_token_was_fixed(ops, directory, failing):
    one, two, _ = failing
    page = ops.get("/ops/deliveries?opd=dpupr&status=dead").text
    assert "Kirim ulang semua 4 di saringan ini" in page
    response = ops.post(
        BULK,
        data={
            "csrf_token": csrf_of(page),
            "scope": "all",
            "opd": "dpupr",
            "status": "dead",
            "checked": "yes",
        },
    )
    assert set(statuses(directory, one.values()).values()) == {"retrying"}
    assert set(statuses(directory, two.values()).values()) == {"dead", "needs_review"}
    assert flashes(ops, response.location) == ["4 pengiriman dijadwalkan ulang."]


def test_rows_that_changed_meanwhile_are_skipped_and_said_so(ops, directory, failing):
    one, _, three = failing
    token = csrf_of(ops.get("/ops/deliveries").text)
    chosen = [one["whatsapp_group"], three["whatsapp_group"]]  # the second went out meanwhile
    response = ops.post(BULK, data={"csrf_token": token, "scope": "selected", "ids": chosen})
    assert statuses(directory, chosen) == {
        one["whatsapp_group"]: "retrying",
        three["whatsapp_group"]: "sent",
    }
    assert flashes(ops, response.location) == [
        "1 pengiriman dijadwalkan ulang.",
        "1 pengiriman dilewati: statusnya sudah berubah, milik ronde sebelumnya, atau pesan "
        "bridge sendiri.",
    ]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"scope": "all"}, "pilih saluran atau OPD dulu"),
        ({"scope": "all", "status": "retrying", "kind": "x"}, None),
        ({"scope": "all", "kind": "fax"}, "saluran tidak dikenal: fax."),
        ({"scope": "all", "opd": "nope"}, "OPD tidak dikenal: nope."),
        ({"scope": "selected", "ids": ["abc"]}, "pilihan pengiriman tidak valid."),
        ({"scope": "selected", "ids": ["0"]}, "pilihan pengiriman tidak valid."),
        ({"scope": "selected", "ids": ["-3"]}, "pilihan pengiriman tidak valid."),
        ({"scope": "selected", "ids": ["9" * 30]}, "pilihan pengiriman tidak valid."),
        ({"scope": "selected", "ids": [str(n) for n in range(1, 502)]}, "paling banyak 500"),
        ({"scope": "everything"}, "pilihan pengiriman tidak valid."),
        ({}, "pilihan pengiriman tidak valid."),
    ],
)
def test_bad_bulk_requests_change_nothing(ops, directory, failing, form, message):
    one, two, _ = failing
    before = statuses(directory, [*one.values(), *two.values()])
    token = csrf_of(ops.get("/ops/deliveries").text)
    response = ops.post(BULK, data={"csrf_token": token, **form})
    if message is None:  # a filter with nothing to send again: answered, nothing done
        assert response.status_code == 302
        assert flashes(ops, response.location) == ["0 pengiriman dijadwalkan ulang."]
    else:
        assert response.status_code == 400
        assert message in response.text
    assert statuses(directory, [*one.values(), *two.values()]) == before


def test_nothing_ticked_and_no_token(ops, directory, failing):
    one, _, _ = failing
    token = csrf_of(ops.get("/ops/deliveries").text)
    response = ops.post(BULK, data={"csrf_token": token, "scope": "selected"})
    assert flashes(ops, response.location) == ["Tidak ada pengiriman yang dipilih."]
    for form in ({}, {"csrf_token": "forged"}):
        forged = ops.post(BULK, data={**form, "scope": "selected", "ids": [one["x"]]})
        assert forged.status_code == 400
    assert statuses(directory, [one["x"]]) == {one["x"]: "dead"}


def test_the_bar_offers_all_only_for_a_channel_or_an_opd(ops, failing):
    page = ops.get("/ops/deliveries").text
    assert 'value="all"' not in page
    assert "Pilih saluran atau OPD untuk mengirim ulang semua" in page
    assert 'value="all"' in ops.get("/ops/deliveries?opd=dinkes").text
    # Retrying rows cannot be sent again: no bar at all.
    assert 'id="bulk"' not in ops.get("/ops/deliveries?status=retrying&kind=x").text
