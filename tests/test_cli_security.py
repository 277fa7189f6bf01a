"""``wadule-bridge api-key list`` and the operator account commands (contract section 1)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import bridge.cli
from bridge.auth import create_api_key, revoke_api_key
from bridge.cli import cli
from bridge.db import engine_of, new_session
from bridge.models import Operator
from bridge.operators import check_login, create_operator

PASSWORD = "kopi-tubruk-pacitan"
NEW_PASSWORD = "teh-manis-hangat-1"


@pytest.fixture
def run(env, directory, monkeypatch):
    """Run ``wadule-bridge ARGS`` against the test database; the result of click's runner."""
    apps = []
    build = bridge.cli._app

    def keep(*args, **kwargs):
        apps.append(build(*args, **kwargs))
        return apps[-1]

    # A command's process ends after one command; here the runner lives on, so the engine each
    # command made is closed by hand.
    monkeypatch.setattr(bridge.cli, "_app", keep)

    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)

    yield invoke
    for app in apps:
        engine_of(app).dispose()


def account(app, username: str) -> Operator:
    with app.app_context(), new_session() as db:
        return db.scalar(select(Operator).where(Operator.username == username))


def test_api_key_list_shows_every_key_but_never_a_key(run, directory, keys):
    with directory.app_context(), new_session() as db:
        revoke_api_key(db, "dinkes")
    result = run("api-key", "list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["name", "role", "opd", "key", "created", "status"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert sorted(rows) == ["dinkes", "dpupr", "ops", "wadule"]
    assert rows["dpupr"][1:4] == ["opd", "dpupr", keys["dpupr"][:10] + "..."]
    assert rows["wadule"][1:3] == ["wadule", "-"]
    assert rows["ops"][-1] == "active"
    assert rows["dinkes"][-4] == "revoked"
    for key in keys.values():
        assert key not in result.output
        assert key[:14] not in result.output  # no more than the stored prefix


def test_operator_list_disable_enable(run, directory):
    with directory.app_context(), new_session() as db:
        create_operator(db, "siti", PASSWORD)
        create_operator(db, "budi", PASSWORD)
    version = account(directory, "siti").session_version

    result = run("operator", "disable", "siti")
    assert result.exit_code == 0, result.output
    assert "disabled" in result.output
    siti = account(directory, "siti")
    assert (siti.active, siti.session_version) == (False, version + 1)

    listing = run("operator", "list").output.splitlines()
    assert listing[0].split() == ["username", "status", "created", "last", "login"]
    assert [line.split()[:2] for line in listing[1:]] == [["budi", "active"], ["siti", "disabled"]]

    assert run("operator", "enable", "siti").exit_code == 0
    assert account(directory, "siti").active is True

    unknown = run("operator", "disable", "nobody")
    assert unknown.exit_code == 1 and "no operator 'nobody'" in unknown.output


def test_operator_reset_password_reads_stdin_and_never_prints_it(run, directory):
    with directory.app_context(), new_session() as db:
        create_operator(db, "siti", PASSWORD)
    version = account(directory, "siti").session_version

    result = run(
        "operator", "reset-password", "siti", "--password-stdin", input=NEW_PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert NEW_PASSWORD not in result.output
    assert account(directory, "siti").session_version == version + 1
    with directory.app_context(), new_session() as db:
        assert check_login(db, "siti", NEW_PASSWORD) is not None
        assert check_login(db, "siti", PASSWORD) is None

    short = run("operator", "reset-password", "siti", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    missing = run("operator", "reset-password", "siti")
    assert missing.exit_code == 2  # --password-stdin is required: no password on the command line


def test_api_key_list_on_an_empty_database(run):
    result = run("api-key", "list")
    assert result.exit_code == 0
    assert result.output.split() == ["name", "role", "opd", "key", "created", "status"]


def test_created_keys_appear_in_the_list_at_once(run, directory):
    with directory.app_context(), new_session() as db:
        key = create_api_key(db, name="later", role="operator", opd_slug=None)
    assert "later" in run("api-key", "list").output
    assert key not in run("api-key", "list").output
