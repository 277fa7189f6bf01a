"""What the newcomer's commands promise, without starting the bridge: --version, links that
follow --bind, and `samples load` when something is missing."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from bridge import __version__
from bridge.cli import cli
from bridge.settings import follow_bind, public_url_for_bind
from tests.support import ROOT, free_port


def test_version_prints_the_installed_version():
    result = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "--version"], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout) == (0, f"wadule-bridge {__version__}\n")


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        ("127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("localhost:9000", "http://localhost:9000"),
        ("bridge.internal:80", "http://bridge.internal:80"),
        ("0.0.0.0:8000", "http://localhost:8000"),
        ("[::]:8000", "http://localhost:8000"),
        ("[::1]:8001", "http://[::1]:8001"),
        ("127.0.0.1", "http://127.0.0.1:8000"),
        ("unix:/run/bridge.sock", None),
        ("fd://3", None),
        ("127.0.0.1:http", None),
    ],
)
def test_public_url_for_bind(bind, url):
    assert public_url_for_bind(bind) == url


def test_follow_bind_never_overrides_a_set_public_url():
    env = {"BRIDGE_PUBLIC_URL": "https://bridge.pacitankab.go.id"}
    assert follow_bind(env, "127.0.0.1:8123") is None
    assert env["BRIDGE_PUBLIC_URL"] == "https://bridge.pacitankab.go.id"
    empty = {"BRIDGE_PUBLIC_URL": ""}  # set but empty is unset, as Settings reads it
    assert follow_bind(empty, "127.0.0.1:8123") == "http://127.0.0.1:8123"
    assert empty["BRIDGE_PUBLIC_URL"] == "http://127.0.0.1:8123"


def test_samples_load_without_a_key_says_where_to_get_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no instance/sandbox-wadule.key here
    monkeypatch.delenv("WADULE_API_KEY", raising=False)
    result = CliRunner().invoke(
        cli, ["samples", "load", str(ROOT / "examples/pacitan/complaints.jsonl")]
    )
    assert result.exit_code == 1
    assert "api-key create" in result.output and "--role wadule" in result.output


def test_samples_load_reports_an_unreachable_bridge_and_fails(tmp_path):
    samples = tmp_path / "two.jsonl"
    samples.write_text('{"wadule_id": "WDL-1", "title": "a", "body": "b"}\nnot json\n')
    result = CliRunner().invoke(
        cli,
        [
            "samples",
            "load",
            str(samples),
            "--url",
            f"http://127.0.0.1:{free_port()}",
            "--key",
            "wdl_test",
        ],
    )
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("line 1: WDL-1: no answer from http://127.0.0.1:")
    assert lines[1] == "line 2: ?: not JSON; skipped"
    assert lines[2] == "2 complaints: 0 new, 0 already there, 2 failed"
