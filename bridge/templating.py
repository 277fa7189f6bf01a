"""Message wording from Jinja templates that Diskominfo can override without touching code.

The built-in templates live in ``bridge/templates/messages/``: ``private/`` (the message an
OPD's group receives), ``public/`` (the public post's lines) and ``commands/`` (the bridge's
answers to group commands). ``BRIDGE_TEMPLATES_DIR`` names a folder laid out the same way; each
file there replaces the built-in one of the same name, the others stay.

Templates render pieces; the code puts them together and fits them to each channel's length
(:mod:`bridge.messages`, :mod:`bridge.public.summary`), so an override can never make a message
too long. Each template gets a fixed set of variables (:data:`TEMPLATES`); anonymous complaints
get no reporter values at all, and public lines only the redacted summary's. Blank lines are
dropped from what a template renders (so ``{% if %}`` lines need no care), except in
``private/body.txt``, which is used as it is.

Everything is checked when the bridge starts (settings and app factory), never at send time:
each template must parse, use only its variables (undefined ones are errors: StrictUndefined),
render with and without optional values, and the message must still hold the complaint's id and
Wadule link (contract section 5). A problem names the file and the line.
"""

from __future__ import annotations

import functools
import os
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from bridge.settings import SettingsError

BUILT_IN = Path(__file__).parent / "templates" / "messages"

_PRIVATE = (
    "wadule_id",
    "title",
    "office",
    "category",
    "place",
    "maps_link",
    "submitted_at",
    "confidential",
    "anonymous",
    "reporter_name",
    "reporter_phone",
    "reporter_email",
    "link",
    "attachment_urls",
    "attachment_count",
    "example_note",
)
_PUBLIC = ("wadule_id", "reopened", "category", "district", "office", "link")

#: Every template and the variables it is given.
TEMPLATES: Mapping[str, frozenset[str]] = types.MappingProxyType(
    {
        name: frozenset(names)
        for name, names in {
            "private/header.txt": _PRIVATE,
            "private/details.txt": _PRIVATE,
            "private/body.txt": (*_PRIVATE, "body"),
            "private/reporter.txt": _PRIVATE,
            "private/attachments.txt": _PRIVATE,
            "private/attachments_hidden.txt": _PRIVATE,
            "private/link.txt": _PRIVATE,
            "private/reply_help.txt": ("wadule_id", "example_note"),
            "private/minimal.txt": _PRIVATE,
            "private/reopen_header.txt": ("note",),
            "private/reroute_header.txt": ("from_office", "note"),
            "public/header.txt": _PUBLIC,
            "public/details.txt": _PUBLIC,
            "public/office.txt": _PUBLIC,
            "public/link.txt": _PUBLIC,
            "commands/refused_sender.txt": ("tag", "office"),
            "commands/not_found.txt": ("tag",),
            "commands/other_office.txt": ("tag", "office"),
            "commands/illegal_transition.txt": (
                "tag",
                "new_status",
                "new_label",
                "current_status",
                "current_label",
            ),
            "commands/status_recorded.txt": ("tag", "new_status", "new_label"),
            "commands/already_in_triage.txt": ("tag",),
            "commands/returned_to_triage.txt": ("tag", "office", "triage"),
            "commands/reroute_only_from_triage.txt": ("tag",),
            "commands/unknown_office.txt": ("tag", "wadule_id", "slug", "choices"),
            "commands/already_there.txt": ("tag", "office"),
            "commands/rerouted.txt": ("tag", "office"),
            "commands/unknown_word.txt": ("tag", "word"),
        }.items()
    }
)
#: The template used as it is rendered (blank lines kept).
VERBATIM = frozenset({"private/body.txt"})

#: Values to try each template with: a complaint with everything, then one with nothing optional.
_FULL: dict[str, Any] = {
    "wadule_id": "WDL-2026-000123",
    "title": "Jalan berlubang",
    "office": "Dinas Pekerjaan Umum dan Penataan Ruang",
    "category": "jalan",
    "place": "Jl. Raya Arjosari, Desa Arjosari, Kec. Arjosari",
    "maps_link": "https://www.google.com/maps/search/?api=1&query=-8.1,111.1",
    "submitted_at": "20 Nov 2026 08.15 WIB",
    "confidential": True,
    "anonymous": False,
    "reporter_name": "Warga",
    "reporter_phone": "081200000000",
    "reporter_email": "warga@example.org",
    "link": "https://wadul.pacitankab.go.id/aduan/WDL-2026-000123",
    "attachment_urls": ["https://example.org/foto.jpg"],
    "attachment_count": 1,
    "example_note": "Tim survei ke lokasi Senin",
    "body": "Lubang besar di depan pasar.",
    "note": "Bukan kewenangan kami",
    "from_office": "Dinas Kesehatan",
    "reopened": True,
    "district": "Kec. Arjosari",
    "tag": "#WDL-2026-000123",
    "new_status": "in_progress",
    "new_label": "diproses",
    "current_status": "resolved",
    "current_label": "selesai",
    "triage": "Diskominfo",
    "slug": "dpupr",
    "choices": "dpupr, dinkes",
    "word": "halo",
}
_EMPTY: dict[str, Any] = {
    **_FULL,
    "category": None,
    "place": None,
    "maps_link": None,
    "submitted_at": None,
    "confidential": False,
    "anonymous": True,
    "reporter_name": None,
    "reporter_phone": None,
    "reporter_email": None,
    "attachment_urls": [],
    "attachment_count": 0,
    "body": "",
    "note": "",
    "reopened": False,
    "district": None,
    "slug": "",
}


class TemplateProblem(SettingsError):
    """A message template does not load or render; the message names the file."""


class Wording:
    """The message templates: an override folder's over the built-in ones."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder else None
        loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(BUILT_IN)]
        if self.folder is not None:
            loaders.insert(0, jinja2.FileSystemLoader(self.folder))
        # Text for WhatsApp and Telegram, not HTML: nothing to escape. Sandboxed all the same:
        # a template is configuration, not code.
        self.env = SandboxedEnvironment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,
        )
        self.templates: dict[str, jinja2.Template] = {}

    def where(self, name: str) -> str:
        """The file ``name`` is read from (the override's, or the built-in one)."""
        if self.folder is not None and (self.folder / name).is_file():
            return str(self.folder / name)
        return str(BUILT_IN / name)

    def render(self, name: str, **values: Any) -> str:
        """Template ``name`` rendered with ``values`` (exactly its variables); blank lines
        dropped except for :data:`VERBATIM` templates."""
        expected = TEMPLATES[name]
        if set(values) != expected:
            # A bug in the caller, not in the template: the check at startup used TEMPLATES.
            raise TypeError(f"{name} takes {sorted(expected)}, was given {sorted(values)}")
        template = self.templates.get(name)
        if template is None:
            template = self.templates[name] = self.env.get_template(name)
        text = template.render(values)
        if name in VERBATIM:
            return text
        return "\n".join(line for line in text.split("\n") if line.strip())

    def check(self) -> Wording:
        """Load and try every template; raise :class:`TemplateProblem` naming the file."""
        if self.folder is not None:
            self._check_folder()
        for name, names in TEMPLATES.items():
            path = self.where(name)
            try:
                source = Path(path).read_text(encoding="utf-8")
                parsed = self.env.parse(source, name, path)
                self.templates[name] = self.env.get_template(name)
            except UnicodeDecodeError:
                raise TemplateProblem(f"message template {name} ({path}) is not UTF-8") from None
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateProblem(
                    f"message template {name} ({path}), line {exc.lineno}: {exc.message}"
                ) from None
            unknown = meta.find_undeclared_variables(parsed) - names
            if unknown:
                raise TemplateProblem(
                    f"message template {name} ({path}) uses unknown variable(s)"
                    f" {', '.join(sorted(unknown))}; it may use {', '.join(sorted(names))}"
                )
            for sample in (_FULL, _EMPTY):
                try:
                    self.render(name, **{key: sample[key] for key in names})
                except Exception as exc:
                    raise TemplateProblem(
                        f"message template {name} ({path}){_line_of(exc, path)}:"
                        f" {type(exc).__name__}: {exc}"
                    ) from None
        self._check_contract()
        return self

    def _check_folder(self) -> None:
        if not self.folder.is_dir():
            raise TemplateProblem(f"{self.folder} is not a folder")
        for path in sorted(self.folder.rglob("*")):
            relative = path.relative_to(self.folder)
            if path.is_dir() or any(part.startswith(".") for part in relative.parts):
                continue  # folders, and hidden files (editors, version control)
            relative = relative.as_posix()
            if relative not in TEMPLATES:
                raise TemplateProblem(
                    f"{path} is not a message template the bridge uses (the names are those of"
                    f" bridge/templates/messages, e.g. private/header.txt)"
                )

    def _check_contract(self) -> None:
        """Every message still carries the complaint's id and Wadule link, in full and at
        its shortest (contract section 5)."""
        from bridge import messages
        from bridge.public import summary

        complaint = types.SimpleNamespace(
            wadule_id=_FULL["wadule_id"],
            title=_FULL["title"],
            body=_FULL["body"] * 40,
            category="jalan",
            location={"district": "Arjosari", "lat": -8.1, "lon": 111.1},
            reporter={"name": "Warga", "phone": "081200000000"},
            anonymous=False,
            confidential=False,
            attachments=[{"url": "https://example.org/foto.jpg"}],
            submitted_at=None,
        )
        link = _FULL["link"]
        texts = {
            "the private message": messages.private_text(
                complaint, opd_name=_FULL["office"], link=link, limit=4096, wording=self
            ),
            "the shortest private message": messages.private_text(
                complaint, opd_name=_FULL["office"], link=link, limit=600, wording=self
            ),
        }
        public = summary.public_summary(
            complaint, opd_slug="dpupr", opd_name=_FULL["office"], link=link
        )
        for limit in (2200, 280):
            texts[f"the public post ({limit})"] = summary.public_text(
                public, limit=limit, wording=self
            )
        for what, text in texts.items():
            for needed in (_FULL["wadule_id"], link):
                if needed not in text:
                    raise TemplateProblem(
                        f"message templates in {self.folder}: {what} lost {needed!r}"
                        " (every message carries the complaint's id and Wadule link)"
                    )


def _line_of(error: BaseException, path: str) -> str:
    """``, line N`` of ``path`` where ``error`` happened (Jinja puts template frames in the
    traceback), or nothing."""
    line = None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f", line {line}" if line is not None else ""


def check_folder(folder: str | os.PathLike) -> Wording:
    """The templates with ``folder``'s overrides, checked (see :meth:`Wording.check`)."""
    try:
        return Wording(folder).check()
    except TemplateProblem:
        raise
    except (OSError, jinja2.TemplateError) as exc:
        raise TemplateProblem(f"message templates in {folder}: {type(exc).__name__}") from None


@functools.cache
def built_in() -> Wording:
    """The built-in templates (used outside an app, e.g. by unit tests)."""
    return Wording().check()


def current() -> Wording:
    """The templates of the current app, or the built-in ones outside an app context."""
    from flask import current_app, has_app_context

    if has_app_context():
        wording = current_app.extensions.get("bridge.wording")
        if wording is not None:
            return wording
    return built_in()


def init_app(app) -> None:
    """Load and check the app's templates (``BRIDGE_TEMPLATES_DIR`` over the built-in ones):
    a broken template stops the app from starting."""
    folder = app.config["BRIDGE_SETTINGS"].templates_dir
    app.extensions["bridge.wording"] = check_folder(folder) if folder else built_in()
