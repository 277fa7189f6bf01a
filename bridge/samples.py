"""``wadule-bridge samples load``: sample complaints sent through the API, as Wadule sends them.

They go through ``POST /api/v1/complaints`` like real ones (validated, routed, forwarded), so a
newcomer sees the whole path: the sandbox inbox, the console, the events. Only ids and outcomes
are printed, never the complaints' reporters.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import requests

from bridge.instance import INSTANCE

#: Where ``make run`` (scripts/quickstart.py) keeps the sandbox's wadule key.
SANDBOX_KEY_FILE = INSTANCE / "sandbox-wadule.key"
DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT = 30
OUTCOMES = {202: "received (new)", 200: "already there (same content)"}


class SampleError(Exception):
    """The samples cannot be sent at all (no file, no key); the message says what to do."""


@dataclasses.dataclass
class Result:
    """What the API answered for one line of the file."""

    number: int
    wadule_id: str | None
    status: int | None
    message: str

    @property
    def ok(self) -> bool:
        return self.status in OUTCOMES

    def describe(self) -> str:
        return f"line {self.number}: {self.wadule_id or '?'}: {self.message}"


def default_url() -> str:
    """``BRIDGE_PUBLIC_URL`` when set (``serve`` sets it from ``--bind``), else the default."""
    return os.environ.get("BRIDGE_PUBLIC_URL") or DEFAULT_URL


def sandbox_key() -> str | None:
    """The wadule key ``make run`` created, if this folder has one."""
    try:
        return SANDBOX_KEY_FILE.read_text().strip() or None
    except OSError:
        return None


def load_file(path: str | Path, *, url: str, key: str | None) -> list[Result]:
    """POST every complaint of the JSON Lines file at ``path`` to the bridge at ``url``."""
    if not key:
        raise SampleError(
            "no API key: pass --key (or set WADULE_API_KEY) with a wadule key, e.g. from"
            " `wadule-bridge api-key create --name samples --role wadule`; `make run` keeps"
            f" one in {SANDBOX_KEY_FILE}"
        )
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SampleError(f"cannot read {path}: {exc.strerror}") from None
    endpoint = url.rstrip("/") + "/api/v1/complaints"
    results = []
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {key}"
        for number, line in enumerate(lines, start=1):
            if line.strip():
                results.append(_send(session, endpoint, number, line))
    return results


def _send(session: requests.Session, endpoint: str, number: int, line: str) -> Result:
    try:
        complaint = json.loads(line)
    except ValueError:
        return Result(number, None, None, "not JSON; skipped")
    wadule_id = complaint.get("wadule_id") if isinstance(complaint, dict) else None
    try:
        response = session.post(endpoint, json=complaint, timeout=TIMEOUT)
    except requests.RequestException as exc:
        return Result(number, wadule_id, None, f"no answer from {endpoint} ({type(exc).__name__})")
    if response.status_code in OUTCOMES:
        return Result(number, wadule_id, response.status_code, OUTCOMES[response.status_code])
    try:
        message = response.json().get("message", "")
    except ValueError:
        message = response.reason
    return Result(number, wadule_id, response.status_code, f"HTTP {response.status_code} {message}")


def summary(results: list[Result]) -> str:
    """One line: how many were new, already there, refused."""
    new = sum(r.status == 202 for r in results)
    known = sum(r.status == 200 for r in results)
    failed = len(results) - new - known
    return f"{len(results)} complaints: {new} new, {known} already there, {failed} failed"
