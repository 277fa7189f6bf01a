"""Prepare the embedded sandbox for ``make run`` and print how to use it.

Migrates the SQLite database, imports the sample Pacitan directory, makes sure a ``wadule`` key
exists (kept in ``instance/sandbox-wadule.key``, readable by this user only) and prints the URLs
and a ``curl`` line that submits a complaint with a fresh id.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

from sqlalchemy import select

from bridge import create_app
from bridge.auth import create_api_key, hash_key
from bridge.db import new_session
from bridge.directory import import_directory, load_directory_file
from bridge.migrate import upgrade
from bridge.models import ApiKey
from bridge.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
KEY_FILE = Path("instance") / "sandbox-wadule.key"


def ensure_key(app) -> str:
    with app.app_context(), new_session() as db:
        if KEY_FILE.exists():
            key = KEY_FILE.read_text().strip()
            row = db.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
            if row is not None and row.revoked_at is None:
                return key
        key = create_api_key(
            db, name=f"sandbox-wadule-{int(time.time())}", role="wadule", opd_slug=None
        )
    KEY_FILE.parent.mkdir(exist_ok=True)
    KEY_FILE.write_text(key + "\n")
    KEY_FILE.chmod(0o600)
    return key


def main(bind: str) -> None:
    settings = Settings.from_env()
    upgrade(settings.database_url)
    app = create_app(settings=settings)
    with app.app_context(), new_session() as db:
        result = import_directory(db, load_directory_file(ROOT / "examples/pacitan/opds.yaml"))
        db.commit()
    key = ensure_key(app)
    base = f"http://{bind}"
    sample = json.loads((ROOT / "examples/pacitan/complaints.jsonl").read_text().splitlines()[0])
    sample["wadule_id"] = f"WDL-DEMO-{time.strftime('%Y%m%d-%H%M%S')}"
    body = json.dumps(sample, ensure_ascii=False)
    auth = f"Authorization: Bearer {key}"
    post = (
        f"curl -sS -w '\\nHTTP %{{http_code}}\\n' -X POST {base}/api/v1/complaints"
        f" -H {shlex.quote(auth)} -H 'Content-Type: application/json' --data {shlex.quote(body)}"
    )
    print(
        f"""
Wadule Bridge (sandbox: every message lands in the built-in inbox, nothing leaves this machine)
  directory: {result.summary()} from examples/pacitan/opds.yaml
  API:       {base}/api/v1/complaints
  API docs:  {base}/api/v1/docs   (OpenAPI: {base}/api/v1/openapi.json)
  health:    {base}/healthz  {base}/readyz  {base}/metrics

Submit a complaint (expect HTTP 202):
  {post}

Read it back (its WhatsApp delivery turns "sent" within seconds):
  curl -sS {base}/api/v1/complaints/{sample["wadule_id"]} -H {shlex.quote(auth)}
""",
        flush=True,
    )


if __name__ == "__main__":
    os.environ.setdefault("BRIDGE_SANDBOX", "1")
    main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:8000")
