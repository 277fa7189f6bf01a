"""Changes that race on one complaint are serialised: one wins, the others get 409, and a
complaint is never forwarded to two offices at once (contract section 4; issue 10)."""

from __future__ import annotations

import collections
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bridge.db import new_session
from bridge.models import Complaint, Delivery, Event, StatusChange
from tests.support import auth

URL = "/api/v1/complaints"


@pytest.fixture
def filed(client, keys):
    body = {
        "wadule_id": "WDL-R1",
        "title": "Jalan rusak",
        "body": "Berlubang.",
        "category": "jalan",
    }
    assert client.post(URL, json=body, headers=auth(keys["wadule"])).status_code == 202
    return "WDL-R1"


def together(app, calls):
    """Run each ``(method, url, json, key)`` from its own client at the same moment; the
    status codes, in the order given."""
    barrier = threading.Barrier(len(calls))
    codes: list[int | None] = [None] * len(calls)

    def run(index, call):
        method, url, json, key = call
        client = app.test_client()
        barrier.wait()
        codes[index] = getattr(client, method)(url, json=json, headers=auth(key)).status_code

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def state(app, wadule_id):
    with app.app_context(), new_session() as db:
        complaint = db.scalar(
            select(Complaint)
            .where(Complaint.wadule_id == wadule_id)
            .options(selectinload(Complaint.opd))
        )
        rounds = collections.Counter(
            (opd_round, target)
            for opd_round, target in db.execute(
                select(Delivery.round, Delivery.target).where(
                    Delivery.complaint_id == complaint.id, Delivery.status == "pending"
                )
            )
        )
        reroutes = db.scalar(
            select(func.count()).where(
                Event.complaint_id == complaint.id, Event.type == "complaint.rerouted"
            )
        )
        history = db.scalar(select(func.count()).where(StatusChange.complaint_id == complaint.id))
        return complaint, rounds, reroutes, history


def test_two_assigns_to_different_offices_one_wins(directory, keys, filed):
    url = f"{URL}/{filed}/assign"
    codes = together(
        directory,
        [
            ("post", url, {"opd": "dinkes"}, keys["operator"]),
            ("post", url, {"opd": "dlh"}, keys["operator"]),
        ],
    )
    assert sorted(codes) == [200, 409]
    complaint, pending, reroutes, history = state(directory, filed)
    assert complaint.round == 2 and reroutes == 1 and history == 2
    # Only the winner's office has outbox rows in the new round; the first round's are dead.
    assert {round_ for round_, _target in pending} == {2}
    winner = "dinkes" if codes[0] == 200 else "dlh"
    assert complaint.opd.slug == winner


def test_six_assigns_to_one_office_give_one_200_and_five_409s(directory, keys, filed):
    url = f"{URL}/{filed}/assign"
    codes = together(directory, [("post", url, {"opd": "dinkes"}, keys["operator"])] * 6)
    assert sorted(codes) == [200, 409, 409, 409, 409, 409]
    complaint, pending, reroutes, _history = state(directory, filed)
    assert complaint.round == 2 and reroutes == 1
    assert all(count == 1 for count in pending.values())


def test_a_status_change_and_an_assign_one_wins(directory, keys, filed):
    codes = together(
        directory,
        [
            ("post", f"{URL}/{filed}/status", {"status": "acknowledged"}, keys["dpupr"]),
            ("post", f"{URL}/{filed}/assign", {"opd": "dinkes"}, keys["operator"]),
        ],
    )
    complaint, _pending, reroutes, _history = state(directory, filed)
    if codes == [200, 200]:
        # Serialised the other way round is fine too, as long as the answer belongs to the
        # office that gave it: dpupr answered first, then the complaint moved on.
        assert (complaint.opd.slug, complaint.status, reroutes) == ("dinkes", "received", 1)
    else:
        assert sorted(codes) == [200, 409]
        if codes[0] == 409:
            # The assign won: dpupr's answer must not land on dinkes' assignment.
            assert (complaint.opd.slug, complaint.status) == ("dinkes", "received")
        else:
            assert reroutes == 0


def test_an_answer_read_before_a_reroute_is_refused_after_it(directory, keys, filed):
    """The interleaving the race can produce, made certain: dpupr's request has read the
    complaint, then an assign commits, then dpupr's change is written."""
    from bridge.models import Opd
    from bridge.workflow import Actor, ConcurrentChange, change_status, reroute

    with directory.app_context(), new_session() as stale, new_session() as other:
        mine = stale.scalar(select(Complaint).where(Complaint.wadule_id == filed))
        theirs = other.scalar(select(Complaint).where(Complaint.wadule_id == filed))
        dinkes = other.scalar(select(Opd).where(Opd.slug == "dinkes"))
        reroute(other, theirs, dinkes, note=None, actor=Actor("operator", "ops"))
        other.commit()
        with pytest.raises(ConcurrentChange):
            change_status(stale, mine, "acknowledged", note=None, actor=Actor("opd", "dpupr"))
        stale.rollback()
    complaint, _pending, _reroutes, history = state(directory, filed)
    assert (complaint.status, complaint.opd.slug, history) == ("received", "dinkes", 2)
