"""Logs never hold reporter data, also when a database statement fails (contract section 8)."""

from __future__ import annotations

import contextlib
import logging

import pytest
from sqlalchemy import event, func, select

from bridge.db import engine_of, new_session
from bridge.models import Complaint
from bridge.operators import create_operator
from tests.support import auth

PHONE = "081234567890"
EMAIL = "budi.rahasia@contoh.id"
NAME = "Budi Rahasia"
SECRETS = (PHONE, EMAIL, NAME)
#: Every logger the app and its libraries write to, at their most talkative.
LOGGERS = (None, "bridge", "sqlalchemy", "sqlalchemy.engine", "werkzeug", "flask_smorest")


@pytest.fixture
def every_log(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def logged_text(records: list[logging.LogRecord]) -> str:
    """Each record as a handler would write it (message, traceback, stack), plus its raw parts."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    parts = []
    for record in records:
        parts.append(formatter.format(record))
        parts.append(repr(record.msg))
        parts.append(repr(record.args))
        parts.append(repr(record.exc_text))
    return "\n".join(parts)


def assert_nothing_personal(records: list[logging.LogRecord]) -> None:
    text = logged_text(records)
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} was logged:\n{text}"


@contextlib.contextmanager
def complaint_insert_without_opd(app):
    """Make the complaint's INSERT fail in PostgreSQL, whose error then quotes the whole row
    ("Failing row contains (..., {"phone": ...})"), reporter included."""

    def strip_opd(conn, cursor, statement, parameters, context, executemany):
        # On PostgreSQL the complaint's INSERT sits in a WITH clause (bridge.complaints).
        if "INSERT INTO complaints " in statement and isinstance(parameters, dict):
            parameters = {**parameters, "opd_id": None}
        return statement, parameters

    engine = engine_of(app)
    event.listen(engine, "before_cursor_execute", strip_opd, retval=True)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", strip_opd)


def test_a_failed_insert_logs_no_reporter_data(directory, keys, every_log):
    directory.config["TESTING"] = False  # Flask logs unhandled errors itself only outside tests
    client = directory.test_client()
    body = {
        "wadule_id": "WDL-LOG-1",
        "title": "Jalan rusak",
        "body": f"Hubungi saya di {PHONE} atau {EMAIL}.",
        "category": "jalan",
        "reporter": {"name": NAME, "phone": PHONE, "email": EMAIL},
    }
    with complaint_insert_without_opd(directory):
        response = client.post("/api/v1/complaints", json=body, headers=auth(keys["wadule"]))

    assert response.status_code == 500
    assert response.get_json() == {"code": 500, "message": "internal error"}
    assert_nothing_personal(every_log.records)
    errors = [r for r in every_log.records if r.levelno >= logging.ERROR]
    # Logged once, with the exception's type and where it happened.
    assert len(errors) == 1, logged_text(errors)
    message = errors[0].getMessage()
    assert (
        "unhandled exception in POST /api/v1/complaints: sqlalchemy.exc.IntegrityError"
        " <- psycopg.errors.NotNullViolation" in message
    )
    assert "POST /api/v1/complaints" in message and "bridge/complaints.py" in message
    with directory.app_context(), new_session() as db:
        assert db.scalar(select(func.count()).select_from(Complaint)) == 0


def test_the_failed_insert_really_carries_the_data(directory, keys):
    # The premise of the test above: the driver's own message quotes the reporter.
    from sqlalchemy.exc import IntegrityError

    from bridge.complaints import ingest
    from bridge.workflow import Actor

    data = {
        "wadule_id": "WDL-LOG-2",
        "title": "t",
        "body": "b",
        "reporter": {"name": NAME, "phone": PHONE},
        "anonymous": False,
        "confidential": False,
    }
    with (
        complaint_insert_without_opd(directory),
        directory.app_context(),
        new_session() as db,
        pytest.raises(IntegrityError) as caught,
    ):
        ingest(db, data, Actor("wadule", "test"))
    assert PHONE in str(caught.value.orig)
    assert PHONE not in str(caught.value).replace(str(caught.value.orig), "")


def _fail_every_statement(app):
    def fail(*_args):
        raise RuntimeError(f"driver says: row ({NAME}, {PHONE}, {EMAIL}) refused")

    event.listen(engine_of(app), "before_cursor_execute", fail)
    return lambda: event.remove(engine_of(app), "before_cursor_execute", fail)


@pytest.mark.parametrize("path", ["/ops/", "/metrics", "/api/v1/complaints/WDL-1", "/readyz"])
def test_no_route_logs_an_exception_message(directory, keys, every_log, path):
    directory.config["TESTING"] = False
    with directory.app_context(), new_session() as db:
        create_operator(db, "siti", "kopi-tubruk-pacitan")
    client = directory.test_client()
    page = client.get("/ops/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"csrf_token": token, "username": "siti", "password": "kopi-tubruk-pacitan"}
    assert client.post("/ops/login", data=form).status_code == 302
    every_log.clear()

    restore = _fail_every_statement(directory)
    try:
        response = client.get(path, headers=auth(keys["operator"]))
    finally:
        restore()
    assert response.status_code in (500, 503)
    assert PHONE not in response.get_data(as_text=True)
    assert every_log.records, "the failure was not logged at all"
    assert_nothing_personal(every_log.records)
