"""docs/ stays true: every setting, command, event type and error is documented, every link
resolves, and the signature-verification examples verify what the bridge really signs."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import time
import types
from pathlib import Path

import click
import pytest

from bridge.api.openapi import ERRORS
from bridge.callbacks import signed_request
from bridge.cli import cli
from schemas.events import EVENT_TYPES
from tests.support import ROOT
from tests.test_deployment import env_example, services, settings_read_from_env

DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md", ROOT / "config" / "README.md"]
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def text(name: str) -> str:
    return (DOCS / name).read_text()


def test_the_readme_documents_itself():
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme and "CONTRACT.md" not in readme
    for page in (
        "docs/README.md",
        "docs/api.md",
        "docs/events.md",
        "docs/operations.md",
        "docs/providers/README.md",
        "docs/settings.md",
        "docs/commands.md",
    ):
        assert f"]({page})" in readme, page


def test_every_setting_is_documented_in_docs_and_env_example():
    settings = text("settings.md")
    example = env_example()
    for name in settings_read_from_env():
        assert re.search(rf"^\| `{name}` \|", settings, re.M), f"{name} not in docs/settings.md"
        assert name in example, f"{name} not in .env.example"


def _commands(group: click.Group, prefix: str = "wadule-bridge"):
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _commands(command, path)
        else:
            yield path


def test_every_command_is_documented():
    commands = text("commands.md")
    found = list(_commands(cli))
    assert len(found) >= 19
    for command in found:
        assert f"`{command}" in commands, f"{command} not in docs/commands.md"
    assert "`wadule-bridge --version`" in commands


def test_every_event_type_and_error_is_documented():
    events = text("events.md")
    for event_type in EVENT_TYPES:
        assert f"| `{event_type}` |" in events, event_type
    api = text("api.md")
    for code in ERRORS:
        assert f"| `{code}` |" in api, code


def test_operations_covers_every_compose_service():
    operations = text("operations.md")
    for name in services():
        assert f"| `{name}` |" in operations, name
    for topic in ("## Backups", "## Upgrades", "## Retention", "## First set-up", "## Monitoring"):
        assert topic in operations, topic


def test_every_provider_has_a_set_up_page():
    index = text("providers/README.md")
    for page in ("waha.md", "fonnte.md", "telegram.md", "meta.md", "x.md"):
        assert (DOCS / "providers" / page).exists(), page
        assert f"]({page})" in index, page
    meta = text("providers/meta.md")
    assert "pages_manage_posts" in meta and "instagram_content_publish" in meta
    x = text("providers/x.md")
    assert "BRIDGE_X_CONSUMER_KEY" in x and "auth: oauth2" in x
    assert "message.ack.group" in text("providers/waha.md")
    assert "/setprivacy" in text("providers/telegram.md")


LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", page.read_text(), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("/"):
            continue  # a web address, or a path on a running bridge
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.name}: {target}"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved), f"{page.name}: {target}"


def _code_block(page: str, language: str, containing: str) -> str:
    for block in re.findall(rf"```{language}\n(.*?)```", text(page), re.S):
        if containing in block:
            return block
    raise AssertionError(f"no {language} block with {containing!r} in {page}")


def _push(now: float | None = None) -> tuple[bytes, dict]:
    """A push exactly as the bridge signs one (bridge.callbacks.signed_request)."""
    event = types.SimpleNamespace(
        seq=41,
        type="complaint.status_changed",
        occurred_at=dt.datetime(2026, 11, 28, 2, 59, 58, tzinfo=dt.UTC),
        data={
            "seq": 41,
            "wadule_id": "WDL-2026-000123",
            "status": "in_progress",
            "note": "Sudah dicek ✓",
            "opd": "dpupr",
        },
    )
    return signed_request(SECRET, event, now=now)


def test_the_node_example_verifies_what_the_bridge_signs(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the Node.js example (apt-get install nodejs)")
    (tmp_path / "verify-bridge-event.js").write_text(
        _code_block("events.md", "js", "verifyBridgeEvent")
    )
    body, headers = _push()
    stale_body, stale_headers = _push(now=time.time() - 600)
    cases = [
        ("good", body.decode(), headers, True),
        ("tampered", body.decode().replace("in_progress", "resolved"), headers, False),
        ("other secret", body.decode(), {**headers, "webhook-signature": "v1,AAAA"}, False),
        ("stale", stale_body.decode(), stale_headers, False),
    ]
    script = (
        "const { verifyBridgeEvent } = require('./verify-bridge-event.js');"
        "const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const out = cases.map(([name, body, headers]) => {"
        f"  const secret = {json.dumps(SECRET)};"
        "  try { return verifyBridgeEvent(secret, headers, Buffer.from(body)).data.seq; }"
        "  catch (e) { return null; } });"
        "process.stdout.write(JSON.stringify(out));"
    )
    result = subprocess.run(
        [node, "-e", script],
        input=json.dumps([[n, b, h] for n, b, h, _ in cases]),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=30,
        check=True,
    )
    verdicts = json.loads(result.stdout)
    assert verdicts == [41 if ok else None for *_, ok in cases]


def test_the_python_example_verifies_what_the_bridge_signs(monkeypatch):
    monkeypatch.setenv("BRIDGE_WEBHOOK_SECRET", SECRET)
    stored = []
    namespace = {"__name__": "bridge_events_example", "store_once": lambda *a: stored.append(a)}
    exec(_code_block("events.md", "python", "standardwebhooks"), namespace)  # noqa: S102
    client = namespace["app"].test_client()
    body, headers = _push()
    answer = client.post("/api/bridge-events", data=body, headers=headers)
    assert answer.status_code == 204
    assert stored[0][0] == "evt_41" and stored[0][1]["data"]["seq"] == 41
    forged = client.post(
        "/api/bridge-events", data=body.replace(b"in_progress", b"resolved"), headers=headers
    )
    assert forged.status_code == 401 and len(stored) == 1
