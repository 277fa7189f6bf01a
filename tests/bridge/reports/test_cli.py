"""``wadule-bridge report weekly [--week] [--send] [--png]``, run as an operator runs it."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from PIL import Image
from sqlalchemy import select

from bridge.db import new_session
from bridge.models import Delivery
from bridge.reports import last_complete_week
from tests.bridge.reports.conftest import DIRECTORY
from tests.bridge.reports.test_text import EXPECTED
from tests.support import ROOT, use_directory


def run_cli(env: dict[str, str], *args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", "report", "weekly", *args],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def report_rows(app) -> list[tuple[str, str]]:
    with app.app_context(), new_session() as db:
        return sorted(
            (d.kind, d.status)
            for d in db.scalars(select(Delivery).where(Delivery.purpose == "report"))
        )


def test_prints_the_text_and_writes_the_chart(sample, env, tmp_path):
    png = tmp_path / "chart.png"
    result = run_cli(
        {**env, "BRIDGE_PUBLIC_URL": "https://bridge.example"},
        "--week", "2026-W10", "--png", str(png),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED + "\n"
    assert f"chart written to {png}" in result.stderr
    assert Image.open(io.BytesIO(png.read_bytes())).format == "PNG"
    assert report_rows(sample) == []  # printing sends nothing


def test_send_queues_once_even_when_run_twice(sample, env):
    first = run_cli(env, "--week", "2026-W10", "--send")
    assert first.returncode == 0, first.stderr
    assert "queued to whatsapp_group 120363000000000999@g.us" in first.stderr
    assert "queued to telegram -1001000000000999" in first.stderr
    second = run_cli(env, "--week", "2026-W10", "--send")
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert "queued to" not in second.stderr
    assert "queued before to telegram -1001000000000999 (" in second.stderr
    kinds = [kind for kind, _status in report_rows(sample)]
    assert kinds == ["telegram", "whatsapp_group"]


def test_send_without_leadership_says_so_and_fails(app, env):
    use_directory(app, {k: v for k, v in DIRECTORY.items() if k != "leadership"})
    # Without --week: the last complete week.
    result = run_cli(env, "--send")
    assert result.returncode == 1
    week = last_complete_week()
    assert result.stdout.startswith(f"*Laporan Mingguan Aduan Wadule*\nMinggu {week} (")
    assert "not sent: the directory names no leadership OPD" in result.stderr
    assert report_rows(app) == []


def test_bad_weeks_and_weeks_not_over(sample, env):
    bad = run_cli(env, "--week", "2026-49")
    assert bad.returncode == 2
    assert "Not an ISO week: use YYYY-Www, e.g. 2026-W49." in bad.stderr
    assert bad.stdout == ""
    future = run_cli(env, "--week", "2099-W01")
    assert future.returncode == 2 and "2099-W01 has not begun yet" in future.stderr
    # The week in progress prints, but is not sent: its real report would lose its key.
    from bridge.worktime import current_iso_week

    current = run_cli(env, "--week", str(current_iso_week()), "--send")
    assert current.returncode == 1
    assert "has not ended yet; only a complete week's report is sent" in current.stderr
    assert report_rows(sample) == []
