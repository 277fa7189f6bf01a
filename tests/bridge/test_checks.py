"""Channel checks end to end: the runner, the stored last result, /readyz and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from bridge import checks, create_app
from bridge.auth import create_api_key
from bridge.channels.base import CheckContext, Finding, Verdict
from bridge.channels.whatsapp_group import Adapter as WhatsAppAdapter
from bridge.db import engine_of, new_session
from bridge.migrate import upgrade
from bridge.models import ChannelCheck
from bridge.settings import Settings
from tests.fakes.server import free_port
from tests.fakes.telegram import DEFAULT_TOKEN as TELEGRAM_TOKEN
from tests.fakes.telegram import FakeTelegram
from tests.fakes.waha import DEFAULT_API_KEY, FakeWaha
from tests.fakes.webhook_receiver import DEFAULT_SECRET, FakeWebhookReceiver
from tests.fakes.x_api import X_CONSUMER_KEY, X_CONSUMER_SECRET, X_SECRET, X_TOKEN, FakeX
from tests.support import ROOT, use_directory

GROUP_OK = "120363000000000100@g.us"
GROUP_WITHOUT_US = "120363000000000101@g.us"
CHAT = "-1001000000000100"
PAGE = "100000000000101"
FB_TOKEN = "fb-page-token-for-the-check"


def directory(hook_url: str) -> dict:
    return {
        "triage": "diskominfo",
        "opds": [
            {
                "slug": "diskominfo",
                "name": "Dinas Komunikasi dan Informatika",
                "channels": [
                    {"kind": "whatsapp_group", "target": GROUP_OK},
                    {"kind": "telegram", "target": CHAT},
                ],
            },
            {
                "slug": "dpupr",
                "name": "Dinas Pekerjaan Umum dan Penataan Ruang",
                "categories": ["jalan"],
                "channels": [
                    {"kind": "whatsapp_group", "target": GROUP_WITHOUT_US},
                    {"kind": "facebook_page", "target": PAGE, "token_env": "FB_TOKEN_DPUPR"},
                    {
                        "kind": "x",
                        "target": "dpupr_pacitan",
                        "auth": "oauth1",
                        "token_env": "X_TOKEN_DPUPR",
                        "secret_env": "X_SECRET_DPUPR",
                    },
                    {"kind": "webhook", "target": hook_url, "secret_env": "HOOK_SECRET_DPUPR"},
                ],
            },
        ],
    }


class Providers:
    """Every fake provider the directory above uses, started for one test."""

    def __init__(self) -> None:
        self.waha = FakeWaha()
        self.telegram = FakeTelegram()
        self.x = FakeX()
        self.hook = FakeWebhookReceiver()
        self.all = (self.waha, self.telegram, self.x, self.hook)

    def __enter__(self) -> Providers:
        for fake in self.all:
            fake.start()
        self.waha.add_group(GROUP_OK, [{"id": "6281200000101@c.us", "role": "admin"}])
        self.waha.add_group(
            GROUP_WITHOUT_US, [{"id": "6281200000101@c.us", "role": "admin"}], with_me=False
        )
        self.telegram.make_admin(CHAT)
        return self

    def __exit__(self, *exc_info) -> None:
        for fake in self.all:
            fake.stop()

    def settings(self) -> dict[str, str]:
        return {
            **self.waha.bridge_settings(),
            "BRIDGE_TELEGRAM_API_URL": self.telegram.url,
            "BRIDGE_TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "BRIDGE_X_API_URL": self.x.url,
            # Nothing listens there: the Facebook check finds Meta unreachable.
            "BRIDGE_GRAPH_URL": f"http://127.0.0.1:{free_port()}",
            "BRIDGE_ALLOW_PRIVATE_WEBHOOKS": "1",
            "FB_TOKEN_DPUPR": FB_TOKEN,
            "BRIDGE_X_CONSUMER_KEY": X_CONSUMER_KEY,
            "BRIDGE_X_CONSUMER_SECRET": X_CONSUMER_SECRET,
            "X_TOKEN_DPUPR": X_TOKEN,
            "X_SECRET_DPUPR": X_SECRET,
            "HOOK_SECRET_DPUPR": DEFAULT_SECRET,
        }

    def request_count(self) -> int:
        return sum(len(fake.requests) for fake in self.all)


@pytest.fixture
def providers():
    with Providers() as fakes:
        yield fakes


@pytest.fixture
def live_app(make_app, providers):
    app = make_app(**providers.settings())
    use_directory(app, directory(providers.hook.url_for()))
    return app


def verdicts(results) -> list[tuple[str, str, str]]:
    return [(r.opd_slug, r.kind, r.verdict.value) for r in results]


EXPECTED = [
    ("diskominfo", "whatsapp_group", "ok"),
    ("diskominfo", "telegram", "ok"),
    ("dpupr", "whatsapp_group", "unusable"),
    ("dpupr", "facebook_page", "unusable"),
    ("dpupr", "x", "ok"),
    ("dpupr", "webhook", "ok"),
]


def test_every_channel_is_checked_and_its_last_result_kept(live_app, providers):
    results = checks.run_checks(live_app)
    assert verdicts(results) == EXPECTED
    by_kind = {(r.opd_slug, r.kind): r for r in results}
    assert by_kind["dpupr", "whatsapp_group"].reason == (
        "the session's number 6281200000000 is not in the group: add it to the group"
    )
    assert by_kind["dpupr", "facebook_page"].reason == (
        "Meta's Graph API does not answer (the connection was refused)"
    )
    with new_session(live_app) as db:
        stored = checks.last_results(db)
        assert db.scalar(select(func.count()).select_from(ChannelCheck)) == 6
    assert stored == results

    # Fixed at WAHA: the next run replaces the channel's row.
    providers.waha.add_group(GROUP_WITHOUT_US, [])
    time.sleep(0.01)
    again = checks.run_checks(live_app, "dpupr")
    assert verdicts(again)[0] == ("dpupr", "whatsapp_group", "ok")
    with new_session(live_app) as db:
        stored = {r.channel_id: r for r in checks.last_results(db)}
        assert db.scalar(select(func.count()).select_from(ChannelCheck)) == 6
    assert stored[again[0].channel_id].verdict is Verdict.OK
    assert stored[again[0].channel_id].checked_at > results[0].checked_at
    # The other OPD's results stay as they were.
    assert stored[results[0].channel_id].checked_at == results[0].checked_at


def test_one_opd_only_and_an_unknown_one(live_app, providers):
    results = checks.run_checks(live_app, "diskominfo")
    assert verdicts(results) == EXPECTED[:2]
    assert providers.x.requests == [] and providers.hook.requests == []
    with pytest.raises(checks.UnknownOpd, match="no active OPD with slug 'nope'"):
        checks.run_checks(live_app, "nope")


def test_missing_channel_secret_is_unusable_without_asking(make_app, providers):
    app = make_app(**{**providers.settings(), "FB_TOKEN_DPUPR": ""})
    use_directory(app, directory(providers.hook.url_for()))
    results = {r.kind: r for r in checks.run_checks(app, "dpupr")}
    assert results["facebook_page"].verdict is Verdict.UNUSABLE
    assert results["facebook_page"].reason == "token not configured: FB_TOKEN_DPUPR is not set"


def test_provider_not_configured_is_unusable(make_app, providers):
    app = make_app(**{**providers.settings(), "BRIDGE_WAHA_URL": ""})
    use_directory(app, directory(providers.hook.url_for()))
    (whatsapp, _telegram) = checks.run_checks(app, "diskominfo")
    assert whatsapp.verdict is Verdict.UNUSABLE
    assert whatsapp.reason == "WAHA is not configured: set BRIDGE_WAHA_URL"


def test_sandbox_mode_asks_no_provider(make_app, providers):
    app = make_app(**{**providers.settings(), "BRIDGE_SANDBOX": "1"})
    use_directory(app, directory(providers.hook.url_for()))
    results = checks.run_checks(app)
    assert {(r.verdict, r.reason) for r in results} == {(Verdict.WARNING, checks.SANDBOX_REASON)}
    assert len(results) == 6
    assert providers.request_count() == 0


def test_deactivated_channels_leave_the_last_results(live_app, providers):
    checks.run_checks(live_app)
    smaller = directory(providers.hook.url_for())
    smaller["opds"] = smaller["opds"][:1]
    use_directory(live_app, smaller)
    with new_session(live_app) as db:
        assert [r.opd_slug for r in checks.last_results(db)] == ["diskominfo", "diskominfo"]
        assert checks.unusable_channels(db) == []


def test_readyz_lists_unusable_channels_as_warnings(live_app):
    with live_app.app_context(), new_session() as db:
        key = create_api_key(db, name="ops", role="operator", opd_slug=None)
    client = live_app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    before = client.get("/readyz", headers=headers).get_json()["checks"]["channels"]
    assert before == {"ok": True, "last_checked_at": None, "unusable": []}

    results = checks.run_checks(live_app)
    response = client.get("/readyz", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert "channels" in response.get_json()["warnings"]
    # Without an operator's key: the verdict only, no targets.
    assert client.get("/readyz").get_json() == {"status": "ready"}
    entry = response.get_json()["checks"]["channels"]
    when = results[0].checked_at.isoformat().replace("+00:00", "Z")
    assert entry == {
        "ok": False,
        "last_checked_at": when,
        "unusable": [
            {
                "opd": "dpupr",
                "kind": "whatsapp_group",
                "target": GROUP_WITHOUT_US,
                "reason": "the session's number 6281200000000 is not in the group: add it to"
                " the group",
                "checked_at": when,
            },
            {
                "opd": "dpupr",
                "kind": "facebook_page",
                "target": PAGE,
                "reason": "Meta's Graph API does not answer (the connection was refused)",
                "checked_at": when,
            },
        ],
        "warning": "2 channel(s) unusable per the last channel check"
        " (wadule-bridge channels check)",
    }


def test_checks_run_side_by_side(live_app, providers):
    # Each of WAHA's 4 answers (2 groups: the session, then the members) takes 1 s: one
    # channel after the other that is 4 s; side by side about 2 s.
    providers.waha.delay_next(1.0, times=4)
    started = time.monotonic()
    results = checks.run_checks(live_app)
    assert time.monotonic() - started < 3.5
    assert verdicts(results) == EXPECTED


def test_a_check_that_crashes_is_a_warning_not_a_verdict_on_the_channel(
    live_app, monkeypatch, caplog
):
    def broken(self, context):
        raise RuntimeError("bug")

    monkeypatch.setattr(WhatsAppAdapter, "check", broken)
    results = checks.run_checks(live_app, "diskominfo")
    assert (results[0].verdict, results[0].reason) == (
        Verdict.WARNING,
        "the check itself failed (RuntimeError); see the logs",
    )
    assert "channel check of channel" in caplog.text


def test_a_secret_an_adapter_let_slip_is_masked(monkeypatch):
    settings = Settings(sandbox=False, waha_url="http://waha", waha_api_key="waha-secret-key")

    class Leaky(WhatsAppAdapter):
        def check(self, context):
            return Finding(
                Verdict.UNUSABLE, "refused key waha-secret-key", {"sent": "waha-secret-key"}
            )

    context = CheckContext(kind="whatsapp_group", target=GROUP_OK, channel_id=1)
    monkeypatch.setattr(checks, "adapter_class", lambda kind: Leaky)
    finding = checks.check_channel(settings, context)
    assert finding.reason == "refused key ***"
    assert finding.details == {"sent": "***"}


def test_results_are_kept_on_sqlite_too(tmp_path, monkeypatch, providers):
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/bridge.db"
    upgrade(url)
    env = {
        "BRIDGE_DATABASE_URL": url,
        "BRIDGE_BROKER_URL": f"sqla+sqlite:///{tmp_path}/broker.db",
        "BRIDGE_SECRET_KEY": "test-secret-key",
        **providers.settings(),
    }
    app = create_app(settings=Settings.from_env(env))
    try:
        use_directory(app, directory(providers.hook.url_for()))
        first = checks.run_checks(app)
        second = checks.run_checks(app)
        with new_session(app) as db:
            stored = checks.last_results(db)
            assert checks.last_checked_at(db) == second[0].checked_at
            assert len(checks.unusable_channels(db)) == 2
    finally:
        engine_of(app).dispose()
    assert verdicts(first) == verdicts(second) == EXPECTED
    assert stored == second


def test_table_known_answer():
    at = dt.datetime(2026, 11, 29, 1, 0, tzinfo=dt.UTC)
    results = [
        checks.CheckResult(1, "diskominfo", "telegram", CHAT, Verdict.OK, "fine", {}, at),
        checks.CheckResult(
            2, "dpupr", "whatsapp_group", GROUP_WITHOUT_US, Verdict.UNUSABLE, "not in group", {}, at
        ),
    ]
    assert checks.format_table(results) == (
        "OPD         KIND            TARGET                   VERDICT   REASON\n"
        "diskominfo  telegram        -1001000000000100        ok        fine\n"
        "dpupr       whatsapp_group  120363000000000101@g.us  unusable  not in group\n"
        "\n"
        "2 channels: 1 ok, 0 warning, 1 unusable"
    )
    assert checks.as_json(results)["summary"] == {"ok": 1, "warning": 0, "unusable": 1}
    assert checks.format_table([]) == "no active channels to check"


# The command, run as an operator runs it


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", "channels", "check", *args],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_json_shape_and_exit_code(live_app, env, providers):
    result = run_cli({**env, **providers.settings()}, "--json")
    assert result.returncode == 1, result.stderr  # two channels are unusable
    document = json.loads(result.stdout)
    assert set(document) == {"checked_at", "summary", "channels"}
    assert document["summary"] == {"ok": 4, "warning": 0, "unusable": 2}
    assert [(c["opd"], c["kind"], c["verdict"]) for c in document["channels"]] == EXPECTED
    first = document["channels"][0]
    assert set(first) == {
        "channel_id",
        "opd",
        "kind",
        "target",
        "verdict",
        "reason",
        "details",
        "checked_at",
    }
    assert first["checked_at"].endswith("Z")
    # No secret anywhere in what the command printed.
    printed = result.stdout + result.stderr
    for secret in (TELEGRAM_TOKEN, X_TOKEN, DEFAULT_API_KEY, DEFAULT_SECRET, FB_TOKEN):
        assert secret not in printed
    assert TELEGRAM_TOKEN.split(":")[1] not in printed


def test_cli_table_exits_0_when_nothing_is_unusable(live_app, env, providers):
    result = run_cli({**env, **providers.settings()}, "--opd", "diskominfo")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["OPD", "KIND", "TARGET", "VERDICT", "REASON"]
    assert lines[1].split()[:4] == ["diskominfo", "whatsapp_group", GROUP_OK, "ok"]
    assert lines[-1] == "2 channels: 2 ok, 0 warning, 0 unusable"


def test_cli_unknown_opd_is_a_usage_error(live_app, env, providers):
    result = run_cli({**env, **providers.settings()}, "--opd", "nope")
    assert result.returncode == 2
    assert "no active OPD with slug 'nope'" in result.stderr
    assert result.stdout == ""
