"""Message wording from templates: Diskominfo's folder overrides them by name, a broken one
stops the start (naming the file), and the fitting to each channel's length stays in code."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bridge import create_app, messages, outbox, templating
from bridge.db import new_session
from bridge.models import Complaint, Delivery, SandboxMessage
from bridge.public import public_summary, public_text
from bridge.settings import Settings, SettingsError
from bridge.templating import BUILT_IN, TEMPLATES, TemplateProblem, Wording
from tests.support import ROOT, auth, free_port

LINK = "https://wadul.pacitankab.go.id/aduan/WDL-T1"


def folder(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "wording"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def complaint(**overrides) -> Complaint:
    fields = {
        "wadule_id": "WDL-T1",
        "title": "Jalan berlubang",
        "body": "Lubang besar di depan pasar Arjosari sejak minggu lalu.",
        "category": "jalan",
        "location": {"district": "Arjosari"},
        "reporter": {"name": "Sutrisno", "phone": "081234560101"},
        "anonymous": False,
        "confidential": False,
        "attachments": [],
        "submitted_at": dt.datetime(2026, 11, 20, 1, 15, tzinfo=dt.UTC),
    }
    return Complaint(**(fields | overrides))


def test_the_built_in_templates_are_exactly_those_the_code_uses():
    files = {p.relative_to(BUILT_IN).as_posix() for p in BUILT_IN.rglob("*.txt")}
    assert files == set(TEMPLATES)
    templating.built_in().check()


def test_an_override_changes_only_its_own_piece(tmp_path):
    wording = Wording(
        folder(tmp_path, {"private/header.txt": "🆕 *Pengaduan {{ wadule_id }}* ({{ office }})"})
    ).check()
    built_in = messages.private_text(complaint(), opd_name="DPUPR", link=LINK, limit=4096)
    changed = messages.private_text(
        complaint(), opd_name="DPUPR", link=LINK, limit=4096, wording=wording
    )
    assert changed.splitlines()[0] == "🆕 *Pengaduan WDL-T1* (DPUPR)"
    assert changed.split("\n\n", 1)[1] == built_in.split("\n\n", 1)[1]


def test_an_override_folder_reaches_what_a_group_receives(tmp_path, make_app, keys):
    templates = folder(
        tmp_path,
        {
            "private/header.txt": "🆕 *Pengaduan masuk #{{ wadule_id }}*",
            "private/reply_help.txt": "Jawab: #{{ wadule_id }} terima|proses|selesai|tolak|bukan",
        },
    )
    app = make_app(BRIDGE_TEMPLATES_DIR=str(templates))
    from tests.support import use_directory

    use_directory(app)
    client = app.test_client()
    body = {"wadule_id": "WDL-T2", "title": "Jalan", "body": "Lubang.", "category": "jalan"}
    assert client.post("/api/v1/complaints", json=body, headers=auth(keys["wadule"])).status_code
    with app.app_context(), new_session() as db:
        row = db.scalar(
            select(Delivery.id).where(Delivery.kind == "whatsapp_group").order_by(Delivery.id)
        )
    with app.app_context():
        assert outbox.deliver(row).outcome == "sent"
    with app.app_context(), new_session() as db:
        text = db.scalar(select(SandboxMessage.text).where(SandboxMessage.delivery_id == row))
    assert text.startswith("🆕 *Pengaduan masuk #WDL-T2*\n\n*Judul:* Jalan\n")
    assert text.endswith("\n\nJawab: #WDL-T2 terima|proses|selesai|tolak|bukan")


def test_an_override_words_the_command_answers(tmp_path, make_app, fake_waha, fake_telegram):
    from tests.bridge.groups import DPUPR, RESPONDER, make_bridge

    templates = folder(
        tmp_path, {"commands/status_recorded.txt": "👍 {{ tag }} kini {{ new_label | upper }}"}
    )
    bridge = make_bridge(make_app, fake_waha, fake_telegram, BRIDGE_TEMPLATES_DIR=str(templates))
    bridge.say(DPUPR, "#WDL-I1 proses", RESPONDER)
    assert bridge.replies() == [(DPUPR, "👍 #WDL-I1 kini DIPROSES")]


def test_an_override_words_the_public_post(tmp_path):
    wording = Wording(
        folder(tmp_path, {"public/link.txt": "Pantau di {{ link }}", "public/office.txt": ""})
    ).check()
    summary = public_summary(complaint(), opd_slug="dpupr", opd_name="DPUPR", link=LINK)
    text = public_text(summary, limit=280, wording=wording)
    assert text.endswith("Kategori: jalan · Kec. Arjosari\nPantau di " + LINK)
    assert "Ditangani" not in text


def test_the_fitting_stays_in_code_whatever_a_template_does(tmp_path):
    # A body template that shows the body twice still yields a message within the limit.
    wording = Wording(
        folder(tmp_path, {"private/body.txt": "*Isi:*\n{{ body }}\n\n_{{ body }}_"})
    ).check()
    long = complaint(body="kata " * 500)
    for limit in (4096, 1500, 900):
        text = messages.private_text(
            long, opd_name="DPUPR", link=LINK, limit=limit, wording=wording
        )
        assert messages.text_length(text) <= limit
        assert "WDL-T1" in text and LINK in text and text.count("…") == 2


def test_an_anonymous_reporter_is_never_handed_to_a_template(tmp_path):
    wording = Wording(
        folder(
            tmp_path, {"private/reporter.txt": "Pelapor: {{ reporter_name }} {{ reporter_phone }}"}
        )
    ).check()
    text = messages.private_text(
        complaint(anonymous=True), opd_name="DPUPR", link=LINK, limit=4096, wording=wording
    )
    assert "Sutrisno" not in text and "081234560101" not in text


# A broken folder stops the start, naming the file


def problem(tmp_path, files) -> str:
    templates = folder(tmp_path, files)
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"BRIDGE_SANDBOX": "1", "BRIDGE_TEMPLATES_DIR": str(templates)})
    message = str(caught.value)
    assert message.startswith("BRIDGE_TEMPLATES_DIR: ")
    # The app factory refuses it too (settings built in code skip from_env's check).
    with pytest.raises(TemplateProblem):
        create_app(settings=Settings(sandbox=True, templates_dir=str(templates)))
    return message


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    message = problem(
        tmp_path, {"private/details.txt": "*Judul:* {{ title }}\n*Untuk:* {{ office "}
    )
    path = tmp_path / "wording" / "private" / "details.txt"
    assert f"message template private/details.txt ({path}), line 2:" in message


def test_an_unknown_variable_is_found_even_in_a_branch_never_taken(tmp_path):
    text = "{% if confidential and anonymous %}{{ reporter_nama }}{% endif %}"
    message = problem(tmp_path, {"private/details.txt": text})
    assert "private/details.txt" in message and "unknown variable(s) reporter_nama" in message
    assert "reporter_name" in message  # what it may use


def test_a_template_that_fails_when_rendered_names_its_line(tmp_path):
    text = "📎 {{ attachment_count }}\n{{ attachment_count + 'x' }}"
    message = problem(tmp_path, {"private/attachments_hidden.txt": text})
    assert "private/attachments_hidden.txt" in message and ", line 2: TypeError" in message


def test_a_file_the_bridge_does_not_use_is_refused(tmp_path):
    message = problem(tmp_path, {"private/headr.txt": "x"})
    assert "private/headr.txt is not a message template the bridge uses" in message


def test_a_message_that_loses_the_link_is_refused(tmp_path):
    message = problem(tmp_path, {"private/link.txt": "🔗 lihat di Wadule"})
    assert "lost 'https://wadul.pacitankab.go.id/aduan/WDL-2026-000123'" in message


def test_hidden_files_in_the_folder_are_left_alone(tmp_path):
    templates = folder(tmp_path, {".git/config": "x", "private/.header.txt.swp": "x"})
    assert Settings.from_env(
        {"BRIDGE_SANDBOX": "1", "BRIDGE_TEMPLATES_DIR": str(templates)}
    ).templates_dir == str(templates)


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(SettingsError, match=r"BRIDGE_TEMPLATES_DIR: .* is not a folder"):
        Settings.from_env({"BRIDGE_SANDBOX": "1", "BRIDGE_TEMPLATES_DIR": str(tmp_path / "no")})


def test_serve_does_not_start_with_a_broken_template(tmp_path):
    templates = folder(tmp_path, {"public/header.txt": "{% if reopened %}🔁"})
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BRIDGE_SANDBOX": "1",
        "BRIDGE_TEMPLATES_DIR": str(templates),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "serve", "--bind", f"127.0.0.1:{free_port()}"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "Error: BRIDGE_TEMPLATES_DIR: message template public/header.txt" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_code_must_hand_a_template_exactly_its_variables():
    with pytest.raises(TypeError, match=r"private/header\.txt takes"):
        templating.built_in().render("private/header.txt", wadule_id="WDL-1")
