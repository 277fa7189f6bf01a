"""Prepare the embedded sandbox for ``make run`` and print how to use it.

Migrates the SQLite database, imports the sample Pacitan directory, makes sure a ``wadule`` key
and a console account exist (kept in ``instance/sandbox-wadule.key`` and
``instance/sandbox-operator.password``, readable by this user only), and prints the URLs, the
console log-in and a ``curl`` line that submits a complaint with a fresh id.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import sys
import time
from pathlib import Path

from sqlalchemy import select

from bridge import create_app
from bridge.auth import create_api_key, hash_key
from bridge.db import new_session
from bridge.directory import import_directory, load_directory_file
from bridge.instance import INSTANCE, private_dir
from bridge.migrate import upgrade
from bridge.models import ApiKey, Operator
from bridge.operators import check_login, create_operator, reset_password, set_active
from bridge.samples import SANDBOX_KEY_FILE
from bridge.settings import Settings, follow_bind

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BIND = "127.0.0.1:8000"  # the Makefile's BIND
OPERATOR = "sandbox"
OPERATOR_FILE = INSTANCE / "sandbox-operator.password"


def _keep(path: Path, secret: str) -> None:
    """Write ``secret`` to ``path``, created ``0600`` before anything is written to it."""
    private_dir(path.parent)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(secret + "\n")


def ensure_key(app) -> str:
    """The sandbox's wadule key: the one kept in instance/ while it works, else a new one."""
    with app.app_context(), new_session() as db:
        if SANDBOX_KEY_FILE.exists():
            key = SANDBOX_KEY_FILE.read_text().strip()
            row = db.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))
            if row is not None and row.revoked_at is None:
                return key
        key = create_api_key(
            db, name=f"sandbox-wadule-{int(time.time())}", role="wadule", opd_slug=None
        )
    _keep(SANDBOX_KEY_FILE, key)
    return key


def ensure_operator(app) -> str:
    """The sandbox console account's password: the kept one while it logs in, else a new
    random one (the account is created, or its password reset and the account enabled)."""
    with app.app_context(), new_session() as db:
        if OPERATOR_FILE.exists():
            password = OPERATOR_FILE.read_text().strip()
            if check_login(db, OPERATOR, password) is not None:
                return password
        password = secrets.token_urlsafe(12)
        if db.scalar(select(Operator).where(Operator.username == OPERATOR)) is None:
            create_operator(db, OPERATOR, password)
        else:
            reset_password(db, OPERATOR, password)
            set_active(db, OPERATOR, True)
    _keep(OPERATOR_FILE, password)
    return password


def main(bind: str) -> None:
    follow_bind(os.environ, bind)
    settings = Settings.from_env()
    upgrade(settings.database_url)
    app = create_app(settings=settings)
    with app.app_context(), new_session() as db:
        result = import_directory(db, load_directory_file(ROOT / "examples/pacitan/opds.yaml"))
        db.commit()
    key = ensure_key(app)
    password = ensure_operator(app)
    base = settings.public_url
    samples = "make samples" if bind == DEFAULT_BIND else f"make samples BIND={bind}"
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
  home:      {base}/
  API docs:  {base}/api/v1/docs   (OpenAPI: {base}/api/v1/openapi.json)
  console:   {base}/ops/   user {OPERATOR}, password {password}
  health:    {base}/healthz  {base}/readyz  {base}/metrics
  secrets:   {SANDBOX_KEY_FILE} (wadule API key), {OPERATOR_FILE}

Submit a complaint (expect HTTP 202):
  {post}

Read it back (its WhatsApp delivery turns "sent" within seconds):
  curl -sS {base}/api/v1/complaints/{sample["wadule_id"]} -H {shlex.quote(auth)}

Load the 20 sample complaints of examples/pacitan (in another terminal):
  {samples}
""",
        flush=True,
    )


if __name__ == "__main__":
    os.environ.setdefault("BRIDGE_SANDBOX", "1")
    main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_BIND)
